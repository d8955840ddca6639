"""uvicorn's sans-I/O WebSocket protocol, holding less per idle socket.

A lead's socket stays open, mostly idle, for as long as the page does, and
one web process holds thousands of them (the target is ≤ 30 KB each). After
the handshake two copies of it stay alive that nothing reads again: the
response uvicorn keeps (~2 KB), and the request's parsed headers (~5 KB with
a browser's), which `websockets` keeps in its parser's generator frame for
the connection's life. Both are let go once the handshake's response has
been sent; the ASGI scope's own copy of the headers (which the consumers
read at connect and authentication) is not touched here. Measured with
`bench/bench_socket_heap.py`.

`project/serve.py` passes this class to uvicorn (`--ws`).
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class LeanWebSocketsProtocol(WebSocketsSansIOProtocol):
    def start_keepalive(self) -> None:
        # Called once, right after the accepted handshake's response was written:
        # from here on neither uvicorn nor websockets reads the request or the response.
        super().start_keepalive()
        if self.request is not None:
            # Emptied in place: websockets' parser holds this very object.
            self.request.headers.clear()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
