"""TWS API framing: 4-byte big-endian length, then NUL-terminated fields.

Values go on the wire as text: integers as ``"1"``, booleans ``"0"``/``"1"``, unset ``""``,
prices as plain floats (the only place condordesk turns a Decimal into a float).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from decimal import Decimal

Field = str | int | float | bool | Decimal | None
MAX_MESSAGE = 16 * 1024 * 1024


READ_TIMEOUT_S = 10.0
"""Clock seconds a message body may take to arrive once its length prefix has."""


class ProtocolError(Exception):
    """The peer sent something that is not a TWS API message."""


class BadField(ProtocolError):
    """A field that is not the number it should be; ``text`` is TWS's error 320 wording."""

    def __init__(self, raw: str) -> None:
        self.text = (
            "Error reading request. Unable to parse data. "
            f'java.lang.NumberFormatException: For input string: "{raw}"'
        )
        super().__init__(self.text)


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise BadField(raw) from None


def text(value: Field) -> str:
    """One field as TWS puts it on the wire."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return repr(float(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode(fields: Iterable[Field]) -> bytes:
    """A length-prefixed message of ``fields``."""
    body = b"".join(text(f).encode() + b"\0" for f in fields)
    return struct.pack(">I", len(body)) + body


def split_fields(body: bytes) -> list[str]:
    """The NUL-terminated fields of one message body."""
    parts = body.decode(errors="backslashreplace").split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


async def read_body(reader: asyncio.StreamReader, body_timeout: float | None = None) -> bytes:
    """One length-prefixed message body (raises IncompleteReadError at EOF, ProtocolError
    when the body does not follow its prefix within ``body_timeout`` loop seconds)."""
    header = await reader.readexactly(4)
    (size,) = struct.unpack(">I", header)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes")
    try:
        async with asyncio.timeout(body_timeout):
            return await reader.readexactly(size)
    except TimeoutError:
        raise ProtocolError(f"a {size}-byte body did not arrive") from None


async def read_hello(reader: asyncio.StreamReader) -> str:
    """The client hello: ``API\\0`` then a length-prefixed version range like ``v157..178``."""
    magic = await reader.readexactly(4)
    if magic != b"API\0":
        raise ProtocolError(f"bad hello {magic!r}")
    return (await read_body(reader)).decode(errors="replace")


def parse_versions(hello: str) -> tuple[int, int]:
    """(min, max) client versions from ``v157..178`` (options after a space ignored)."""
    spec = hello.split(" ", 1)[0].lstrip("v")
    low, _, high = spec.partition("..")
    try:
        return int(low), int(high or low)
    except ValueError as exc:
        raise ProtocolError(f"bad version range {hello!r}") from exc


class FieldReader:
    """Sequential reading of an incoming message's fields."""

    def __init__(self, fields: list[str]) -> None:
        self._fields = fields
        self._pos = 0

    def read_str(self) -> str:
        if self._pos >= len(self._fields):
            raise ProtocolError("message too short")
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def peek_int(self) -> int:
        """The next field as an integer without reading it (-1 if it is none)."""
        if self._pos >= len(self._fields):
            return -1
        try:
            return int(float(self._fields[self._pos]))
        except ValueError:
            return -1

    def read_int(self, default: int = 0) -> int:
        raw = self.read_str()
        return int(_number(raw)) if raw else default

    def read_float(self) -> float | None:
        raw = self.read_str()
        if not raw or raw == "Infinite":
            return None
        value = _number(raw)
        return None if value >= 1.7e308 else value

    def read_decimal(self) -> Decimal | None:
        raw = self.read_str()
        if not raw or raw == "Infinite" or _number(raw) >= 1.7e308:
            return None
        return Decimal(raw)

    def read_bool(self) -> bool:
        return self.read_str() not in ("", "0")

    def skip(self, n: int = 1) -> None:
        self._pos += n

    @property
    def remaining(self) -> int:
        return len(self._fields) - self._pos
