"""Server versions: which the gateway accepts, and each message encoded for the agreed one.

The encoders (``orderwire``, ``contracts``, ``session``) build every message as TWS sends it
at :data:`SERVER_VERSION`; :func:`for_version` turns one into what TWS sends at an older
agreed version, field by field as the clients decode them (ib_async 2.1.0 and ib_insync
0.9.86 ``decoder.py``, ibapi 9.81.1 ``decoder.py``/``orderdecoder.py``):

==========  ==========================================================================
message     below the version ...
==========  ==========================================================================
error (4)   166: no advancedOrderRejectJson
openOrder   177: faProfile after faPercentage; 170: no minTradeQty, minCompeteSize,
(5)         competeAgainstBestOffset, midOffsetAtWhole, midOffsetAtHalf; 162: no
            autoCancelParent; 160: no postToAts; 159: no duration
contract    164: a version field (8) after the message id, mdSizeMultiplier after minTick,
Details     no minSize/sizeIncrement/suggestedSizeIncrement (163 keeps the last one)
(10)
execDetails 178: no pendingPriceRevision
(11)
==========  ==========================================================================

Every other message the gateway sends is the same across the accepted range.
"""

from __future__ import annotations

from condordesk.gateway.codec import Field

SERVER_VERSION = 178
MIN_CLIENT_VERSION = 157
"""The oldest version the gateway speaks (ibapi 9.81 announces v100..157, ib_insync 0.9.86
v157..176, ib_async 2.1.0 v157..178)."""

ERROR, OPEN_ORDER, CONTRACT_DETAILS, EXEC_DETAILS = 4, 5, 10, 11

OPEN_ORDER_FA_END = 2 + 11 + 21
"""Index just after faPercentage in an openOrder (msg id, order id, the 11-field contract
block, the 21 fields from action to faPercentage): where faProfile goes below v177."""
_OPEN_ORDER_TAIL = (
    (170, 5),  # minTradeQty minCompeteSize competeAgainstBestOffset midOffsetAtWhole/Half
    (162, 1),  # autoCancelParent
    (160, 1),  # postToAts
    (159, 1),  # duration
)
"""The last fields of an openOrder at v178, from the end: (version that added them, count)."""
_DETAILS_MIN_TICK = 13
"""Index of minTick in a contractDetails at v164+ (msg id, reqId, 11 contract fields)."""
_DETAILS_VERSION = 8


def agreed_version(low: int, high: int) -> int | None:
    """The version TWS agrees for a client announcing ``low..high``; None when refused."""
    if high < MIN_CLIENT_VERSION or low > SERVER_VERSION:
        return None
    return min(high, SERVER_VERSION)


REFUSED = 502


def refusal(high: int) -> list[Field]:
    """The error (id -1, code 502, no advancedOrderRejectJson: no version is agreed yet) that
    answers a hello whose newest version is below :data:`MIN_CLIENT_VERSION`."""
    text = (
        f"Couldn't connect to TWS. Unsupported API client version {high}: "
        f"accepted v{MIN_CLIENT_VERSION}..{SERVER_VERSION}"
    )
    return [ERROR, 2, -1, REFUSED, text]


def _open_order(fields: list[Field], version: int) -> list[Field]:
    out = list(fields)
    end = len(out)
    for since, count in _OPEN_ORDER_TAIL:
        if version < since:
            del out[end - count : end]
        end -= count
    if version < 177:
        out.insert(OPEN_ORDER_FA_END, "")  # faProfile
    return out


def _contract_details(fields: list[Field], version: int) -> list[Field]:
    if version >= 164:
        return list(fields)
    head = fields[: _DETAILS_MIN_TICK + 1]
    tail = fields[_DETAILS_MIN_TICK + 1 : -3]
    sizes = fields[-1:] if version == 163 else []  # suggestedSizeIncrement only
    return [head[0], _DETAILS_VERSION, *head[1:], 1, *tail, *sizes]


def for_version(fields: list[Field], version: int) -> list[Field]:
    """``fields`` (a message as TWS sends it at v178) as TWS sends it at ``version``."""
    if version >= SERVER_VERSION or not fields:
        return fields
    msg_id = fields[0]
    if msg_id == ERROR and version < 166:
        return fields[:-1]
    if msg_id == EXEC_DETAILS:
        return fields[:-1]
    if msg_id == OPEN_ORDER:
        return _open_order(fields, version)
    if msg_id == CONTRACT_DETAILS:
        return _contract_details(fields, version)
    return fields
