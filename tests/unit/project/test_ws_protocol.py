"""What an idle socket keeps after its handshake, on the image's server
(project/ws_protocol.py, uvicorn's sans-I/O protocol): not the handshake's
response nor the request's parsed headers, and, once the socket has
authenticated, not the ASGI scope's headers either."""

from __future__ import annotations

import asyncio
import json

import pytest
import uvicorn
import websockets

from chat.consumers import _JsonSocket
from project.ws_protocol import LeanWebSocketsProtocol


class EchoSocket(_JsonSocket):
    kind = "test"

    async def authenticate(self, frame: dict) -> None:
        self.origin_seen = dict(self.scope["headers"]).get(b"origin", b"").decode()
        self._authenticated()
        await self.send_json({"type": "ready", "origin": self.origin_seen})

    async def handle(self, frame: dict) -> None:
        await self.send_json({"type": "echo", "text": frame.get("text")})


@pytest.fixture
async def server():
    config = uvicorn.Config(EchoSocket.as_asgi(), host="127.0.0.1", port=0, ws=LeanWebSocketsProtocol,
                            lifespan="off", log_level="warning", ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield server, f"ws://127.0.0.1:{port}/"
    server.should_exit = True
    await task


async def test_an_authenticated_socket_keeps_neither_the_handshake_response_nor_the_headers(server):
    server, url = server
    async with websockets.connect(url, origin="https://agencia.example", compression=None,
                                  additional_headers={"User-Agent": "Mozilla/5.0 " + "x" * 200}) as ws:
        [protocol] = [c for c in server.server_state.connections if isinstance(c, LeanWebSocketsProtocol)]
        # websockets' parser keeps the handshake request for the connection's life (a local of its generator).
        [request] = [v for v in protocol.conn.parser.gi_frame.f_locals.values() if type(v).__name__ == "Request"]
        await ws.send(json.dumps({"type": "auth"}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
        # What authentication needs was there when it ran...
        assert ready == {"type": "ready", "origin": "https://agencia.example"}
        # ...and afterwards neither the server nor the consumer holds it.
        assert protocol.response is None and protocol.request is None
        assert len(request.headers) == 0
        assert protocol.scope["headers"] == []
        # The socket works on as before: frames both ways, pings included.
        await ws.send(json.dumps({"type": "message", "text": "hola"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "echo", "text": "hola"}
        await asyncio.wait_for(await ws.ping(), 5)
