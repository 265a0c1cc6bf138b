"""A lean HTTP/1.1 client on asyncio for load benches: keep-alive connections, one request at a time on each.

Why not httpx: on this 2-core machine the load generator shares the CPUs with the servers it measures, and every
millisecond the client spends is one the servers do not get. Measured here against a minimal asyncio server in
the same process, a keep-alive GET cost 1.96 ms of CPU through httpx's AsyncClient (its models, transport layers,
anyio) and 0.16 ms through this module (both figures include the toy server's share): writing the request bytes
and reading the status line, headers and a ``Content-Length`` (or chunked) body straight from asyncio streams
keeps the generator off the critical path. It speaks only what our own servers answer (uvicorn on 127.0.0.1): no TLS,
no redirects, no compression, no proxies.

A :class:`Pool` is one client's connections to one server, as a kiosk's or a counter PC's HTTP client keeps them:
an idle connection is reused unless the server may already have closed it (uvicorn closes a keep-alive connection
after 5 s idle), and a request that finds its reused connection closed before any answer is sent once more on a
new one — what httpx does too, and safe here because every request the benches send is idempotent (request ids,
Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from dataclasses import dataclass
from typing import Any

IDLE_REUSE_S = 4.0  # below uvicorn's 5 s keep-alive timeout: a connection idle longer is not trusted
MAX_HEAD = 64 * 1024


class HttpFailure(Exception):
    """No HTTP answer: the connection could not be made, broke, timed out, or the answer was not HTTP/1.1."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host
        self.last_used = time.monotonic()
        self.open = True

    @classmethod
    async def connect(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
        return cls(reader, writer, host)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}", *(f"{k}: {v}" for k, v in headers.items())]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        if not status_line.startswith("HTTP/1.1 "):
            raise HttpFailure(f"not an HTTP/1.1 answer: {status_line[:40]!r}")
        status = int(status_line[9:12])
        answer_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        data = await self._body(method, status, answer_headers)
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        self.last_used = time.monotonic()
        return Answer(status, answer_headers, data)

    async def _body(self, method: str, status: int, headers: dict[str, str]) -> bytes:
        if method == "HEAD" or status in (204, 304) or status < 200:
            return b""
        if "content-length" in headers:
            return await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self._reader.readexactly(size))
                await self._reader.readexactly(2)
            await self._reader.readuntil(b"\r\n")  # the end of the (empty) trailer
            return b"".join(parts)
        self.open = False  # the body runs to the end of the connection
        return await self._reader.read()

    def close(self) -> None:
        self.open = False
        self._writer.close()


class Pool:
    """One client's keep-alive connections to one server (``host``:``port``); requests may run concurrently."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None, timeout_s: float = 30.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.headers = dict(headers or {})
        self._idle: list[Connection] = []
        self.connects = 0

    async def request(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
                      body: bytes = b"", content_type: str | None = None) -> Answer:
        """The server's answer, whatever its status.

        :raises HttpFailure: no answer (refused, reset, timed out, garbled).
        """
        all_headers = {**self.headers, **(headers or {})}
        if json is not None:
            body, content_type = jsonlib.dumps(json, ensure_ascii=False).encode(), "application/json"
        if content_type:
            all_headers["Content-Type"] = content_type
        try:
            async with asyncio.timeout(self.timeout_s):  # not wait_for: that starts a task per request
                return await self._send(method, path, all_headers, body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise HttpFailure(f"{type(exc).__name__}: {exc}"[:200]) from None

    async def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        conn = self._take_idle()
        if conn is not None:
            try:
                return self._give_back(conn, await conn.request(method, path, headers, body))
            except (ConnectionError, asyncio.IncompleteReadError):
                conn.close()  # the server closed it while idle: once more on a new connection
            except BaseException:
                conn.close()
                raise
        conn = await Connection.connect(self.host, self.port)
        self.connects += 1
        try:
            return self._give_back(conn, await conn.request(method, path, headers, body))
        except BaseException:
            conn.close()
            raise

    def _take_idle(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.open and now - conn.last_used < IDLE_REUSE_S:
                return conn
            conn.close()
        return None

    def _give_back(self, conn: Connection, answer: Answer) -> Answer:
        if conn.open:
            self._idle.append(conn)
        return answer

    def clone(self) -> Pool:
        """A pool to the same server with the same headers and no connection yet."""
        return Pool(self.host, self.port, self.headers, self.timeout_s)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
