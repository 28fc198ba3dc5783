"""The contract table: SPX index and SPXW options <-> TWS contract fields and conIds.

Option conIds are a pure function of (expiry, strike, right), so they are stable across
gateway restarts and can be decoded back without a lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from condordesk.domain.options import OptionContract, Right
from condordesk.gateway.codec import Field, FieldReader

INDEX_CONID = 416904
SYMBOL = "SPX"
TRADING_CLASS = "SPXW"
MULTIPLIER = "100"
CURRENCY = "USD"
EXCHANGE = "SMART"
_OPTION_BASE = 600_000_000
_DAY0 = date(2020, 1, 1).toordinal()
_PER_DAY = 40_000  # 2 rights x strikes below 20000


@dataclass(frozen=True, slots=True)
class WireContract:
    """The 12-field contract block a client sends."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade: str
    strike: float | None
    right: str
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str

    @classmethod
    def read(cls, r: FieldReader) -> WireContract:
        return cls(
            r.read_int(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
            r.read_float(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
            r.read_str(),
        )


def option_conid(contract: OptionContract) -> int:
    """The deterministic conId of an SPXW option."""
    days = contract.expiry.toordinal() - _DAY0
    strike = int(contract.strike)
    return _OPTION_BASE + days * _PER_DAY + strike * 2 + (1 if contract.right is Right.CALL else 0)


def option_from_conid(con_id: int) -> OptionContract | None:
    """Inverse of :func:`option_conid`; None for conIds that are not SPXW options."""
    if con_id < _OPTION_BASE:
        return None
    days, rest = divmod(con_id - _OPTION_BASE, _PER_DAY)
    strike, call = divmod(rest, 2)
    right = Right.CALL if call else Right.PUT
    return OptionContract(date.fromordinal(_DAY0 + days), Decimal(strike), right)


def _expiry(text: str) -> date | None:
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()  # noqa: DTZ007 - a date only
    except ValueError:
        return None


def resolve(wire: WireContract) -> OptionContract | int | None:
    """The option a client means, ``INDEX_CONID`` for the index, or None if unknown."""
    if wire.con_id == INDEX_CONID or (wire.sec_type == "IND" and wire.symbol == SYMBOL):
        return INDEX_CONID
    if wire.con_id:
        return option_from_conid(wire.con_id)
    if wire.sec_type not in ("OPT", "") or wire.symbol not in (SYMBOL, TRADING_CLASS):
        return None
    if wire.trading_class not in ("", TRADING_CLASS) or wire.right[:1] not in ("P", "C"):
        return None
    expiry = _expiry(wire.last_trade)
    if expiry is None or wire.strike is None:
        return None
    return OptionContract(expiry, Decimal(str(wire.strike)).normalize(), Right(wire.right[:1]))


def local_symbol(contract: OptionContract) -> str:
    """The OCC symbol, e.g. ``SPXW  261127P06000000``."""
    strike = int(contract.strike * 1000)
    return f"{TRADING_CLASS:<6}{contract.expiry:%y%m%d}{contract.right.value}{strike:08d}"


def strike_text(strike: Decimal) -> str:
    return repr(float(strike))


def option_fields(contract: OptionContract, exchange: str = EXCHANGE) -> list[Field]:
    """conId|symbol|secType|lastTradeDate|strike|right|multiplier|exchange|currency|
    localSymbol|tradingClass (the block of position, execDetails and openOrder)."""
    return [
        option_conid(contract),
        SYMBOL,
        "OPT",
        f"{contract.expiry:%Y%m%d}",
        strike_text(contract.strike),
        contract.right.value,
        MULTIPLIER,
        exchange,
        CURRENCY,
        local_symbol(contract),
        TRADING_CLASS,
    ]


def index_fields(exchange: str = "CBOE") -> list[Field]:
    return [INDEX_CONID, SYMBOL, "IND", "", "0", "", "", exchange, CURRENCY, SYMBOL, SYMBOL]


def bag_fields() -> list[Field]:
    """The BAG contract block (conId 28812380 is what IB reports for SPX combos)."""
    return [28812380, SYMBOL, "BAG", "", "0", "", "", EXCHANGE, CURRENCY, "", SYMBOL]


def _details_tail(
    *,
    min_tick: str,
    multiplier: str,
    under_conid: int | str,
    long_name: str,
    primary: str,
    month: str,
    under: tuple[str, str],
    real_expiry: str,
) -> list[Field]:
    return [
        min_tick,
        multiplier,
        "LMT,STP,STP LMT,MKT",
        "SMART,CBOE",
        "1",
        under_conid,
        long_name,
        primary,
        month,
        "",
        "",
        "",
        "US/Eastern",
        "",
        "",
        "",
        "",
        "0",  # no secIds
        "",
        under[0],
        under[1],
        "",
        real_expiry,
        "",
        "1",
        "1",
        "1",
    ]


def index_details(req_id: int) -> list[Field]:
    """contractDetails (msg 10) for ``Index("SPX", "CBOE")``."""
    head: list[Field] = [10, req_id, SYMBOL, "IND", "", "0", "", "CBOE", CURRENCY, SYMBOL]
    head += [SYMBOL, SYMBOL, INDEX_CONID]
    return head + _details_tail(
        min_tick="0.01",
        multiplier="",
        under_conid="",
        long_name="S&P 500 Stock Index",
        primary="",
        month="",
        under=("", ""),
        real_expiry="",
    )


def option_details(req_id: int, contract: OptionContract, exchange: str) -> list[Field]:
    """contractDetails (msg 10) for one SPXW option."""
    expiry = f"{contract.expiry:%Y%m%d}"
    head: list[Field] = [10, req_id, SYMBOL, "OPT", expiry, strike_text(contract.strike)]
    head += [contract.right.value, exchange, CURRENCY, local_symbol(contract), TRADING_CLASS]
    head += [TRADING_CLASS, option_conid(contract)]
    return head + _details_tail(
        min_tick="0.05",
        multiplier=MULTIPLIER,
        under_conid=INDEX_CONID,
        long_name="S&P 500 Stock Index",
        primary="",
        month=expiry[:6],
        under=(SYMBOL, "IND"),
        real_expiry=expiry,
    )
