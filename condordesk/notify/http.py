"""A small HTTP/1.1 client over asyncio streams (stdlib only): one JSON request per
connection, plain HTTP for a loopback server, TLS for the real one.

It exists so the notifier needs no extra dependency; it speaks just what the Telegram Bot
API needs (a POST of JSON, an answer with ``Content-Length``, chunked, or read to the end).
Errors never include the URL's path or query (a bot token travels in the path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from condordesk.notify.base import Unreachable

MAX_BODY = 1 << 20  # Bot API answers are small; anything bigger is not one
_MAX_HEADERS = 100


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, lower-cased headers and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None if it is not JSON, or nested too deep to parse)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # a hostile server's [[[[...]]]] too
            return None


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context()
    return _tls


async def post_json(url: str, payload: dict[str, Any], timeout_s: float) -> Response:
    """POST ``payload`` as JSON to ``url`` and read the answer.

    Args:
        url: ``http://`` or ``https://`` URL.
        payload: The JSON body.
        timeout_s: Loop seconds for the whole exchange (connect, send, read).

    Raises:
        Unreachable: no connection, a timeout, or an answer that is not HTTP.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
        "User-Agent: condordesk\r\nAccept: application/json\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=_tls_context() if secure else None
            )
            writer.write(head + body)
            await writer.drain()
            return await _read_response(reader)
    except TimeoutError:
        raise Unreachable(f"{host}: no answer within {timeout_s:g} s") from None
    except (OSError, EOFError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as exc:
        raise Unreachable(f"{host}: {type(exc).__name__}: {_reason(exc)}") from None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "connection broken" if isinstance(exc, EOFError | asyncio.IncompleteReadError) else ""


async def _read_response(reader: asyncio.StreamReader) -> Response:
    status_line = (await reader.readline()).decode("latin-1")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/") or not rest[:3].isdigit():
        raise ValueError("not an HTTP answer")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = (await reader.readline()).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length > MAX_BODY:
            raise ValueError("answer too large")
        body = await reader.readexactly(length)
    else:
        body = await reader.read(MAX_BODY)
    return Response(status, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise ValueError("answer too large")
        body += await reader.readexactly(size)
        await reader.readline()
