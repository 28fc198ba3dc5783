"""Test doubles for alerts and secrets: an in-memory keyring backend and a fake Telegram Bot
API server (real HTTP on 127.0.0.1, asyncio) whose answers a test scripts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import keyring.backend
import keyring.errors

from condordesk.market.clock import Clock


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A dict-backed keyring (what ``keyring.set_keyring`` installs in the tests)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


@dataclass
class Request:
    """One request the fake server received."""

    method: str  # the Bot API method (sendMessage, getUpdates, ...)
    token: str
    body: dict[str, Any]
    at: datetime  # the test clock's time on arrival


@dataclass(frozen=True)
class Raw:
    """A scripted answer sent as it is: any status, any body (hostile or broken servers)."""

    status: int
    body: bytes


@dataclass
class FakeBotApi:
    """A fake Telegram Bot API on 127.0.0.1.

    ``script`` holds answers for the next sendMessage requests, consumed in order: ``"ok"``,
    ``429`` (with ``retry_after`` seconds), any other status, or ``"drop"`` (close the
    connection without an answer). When it is empty every request gets ``default``.
    ``updates`` feed getUpdates (answered at once, with whatever is queued); ``poll_script``
    holds :class:`Raw` answers for the next getUpdates requests, consumed in order. A
    :class:`Raw` in ``script`` answers a sendMessage the same way.
    """

    clock: Clock
    default: Any = "ok"
    retry_after: float = 3.0
    script: deque[Any] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    poll_script: deque[Raw] = field(default_factory=deque)
    echo_path: bool = False  # put the request path in error descriptions (a leaky server)
    _server: asyncio.Server | None = None
    _next_update: int = 1
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def sent(self) -> list[Request]:
        """The sendMessage requests, in order."""
        return [r for r in self.requests if r.method == "sendMessage"]

    def texts(self) -> list[str]:
        return [str(r.body.get("text")) for r in self.sent()]

    def push_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, chat_type: str = ""
    ) -> None:
        """``user_id`` writes ``text`` in a chat (delivered by the next getUpdates). By default
        a private chat of the user whose id is the chat's (a positive id), otherwise a group."""
        user = chat_id if user_id is None else user_id
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        self.updates.append(
            {
                "update_id": self._next_update,
                "message": {
                    "message_id": self._next_update,
                    "from": {"id": user, "is_bot": False, "first_name": "someone"},
                    "chat": {"id": chat_id, "type": kind},
                    "text": text,
                },
            }
        )
        self._next_update += 1
        self._arrived.set()

    async def __aenter__(self) -> FakeBotApi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            _, path, _ = request_line.split(" ", 2)
            headers = {}
            while (line := (await reader.readline()).decode()) not in ("\r\n", ""):
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            body = json.loads(await reader.readexactly(int(headers["content-length"])))
            _, bot, method = path.split("/", 2)
            request = Request(method, bot.removeprefix("bot"), body, self.clock.now())
            self.requests.append(request)
            answer: tuple[int, dict[str, Any]] | Raw | None
            if request.method == "getUpdates":
                answer = self.poll_script.popleft() if self.poll_script else None
                answer = answer or await self._updates(request)
            else:
                answer = self._answer(request, path)
            if answer is None:
                return  # "drop": close without a word
            if isinstance(answer, Raw):
                status, data = answer.status, answer.body
            else:
                status, data = answer[0], json.dumps(answer[1]).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _updates(self, request: Request) -> tuple[int, dict[str, Any]]:
        """Long polling: answer when an update is there, or after a short while with none."""
        offset = int(request.body.get("offset", 0))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                while not [u for u in self.updates if u["update_id"] >= offset]:
                    self._arrived.clear()
                    await self._arrived.wait()
        pending = [u for u in self.updates if u["update_id"] >= offset]
        return 200, {"ok": True, "result": pending}

    def _answer(self, request: Request, path: str) -> tuple[int, dict[str, Any]] | Raw | None:
        how = self.script.popleft() if self.script and request.method == "sendMessage" else None
        how = self.default if how is None else how
        if isinstance(how, Raw):
            return how
        if how == "drop":
            return None
        if how == "ok":
            return 200, {"ok": True, "result": {"message_id": len(self.requests)}}
        description = f"failed {path}" if self.echo_path else "Something failed"
        reply: dict[str, Any] = {"ok": False, "error_code": how, "description": description}
        if how == 429:
            reply["parameters"] = {"retry_after": self.retry_after}
            reply["description"] = "Too Many Requests: retry after"
        return int(how), reply


@contextlib.contextmanager
def threaded_fake(**settings: Any) -> Iterator[FakeBotApi]:
    """A :class:`FakeBotApi` serving from a thread of its own (for code that runs its own
    event loop, like the CLI's ``notify test``)."""
    from condordesk.market.clock import LiveClock

    loop = asyncio.new_event_loop()
    fake = FakeBotApi(LiveClock(), **settings)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.__aenter__())
        started.set()
        loop.run_forever()
        loop.run_until_complete(fake.__aexit__())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
