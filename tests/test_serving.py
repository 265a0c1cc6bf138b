"""kiosk.cli.serving: the socket uvicorn's workers accept on gets TCP_NODELAY on its connections (without it every
keep-alive answer after the first waited ~40 ms for the client's delayed ACK: uvicorn issue #3149)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from kiosk.cli.serving import _tcp_socket


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def accepted(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    port = sock.getsockname()[1]
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def _bound() -> socket.socket:
    return uvicorn.Config(lambda *_: None, host="127.0.0.1", port=0).bind_socket()


def test_uvicorns_bound_socket_alone_leaves_nagle_on() -> None:
    # the reason for the fix: if uvicorn starts naming the protocol, this fails and _tcp_socket can go
    assert asyncio.run(_nodelay_of_accepted(_bound())) == 0


def test_the_named_socket_gets_nodelay_on_every_connection() -> None:
    sock = _tcp_socket(_bound())
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    assert asyncio.run(_nodelay_of_accepted(sock)) != 0
