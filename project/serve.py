"""The web role's ASGI server, as production runs it: one process, HTTP and
WebSockets, the same limits and pings whichever server it is.

    python -m project.serve [--host 0.0.0.0] [--port 8000] [EXTRA SERVER ARGS...]

`ASGI_SERVER` picks the server:

- `uvicorn` (default) with the sans-I/O `websockets` protocol: in the
  streaming benchmark of issue 13 it spends 20–40 % less CPU per relayed token
  than daphne (Twisted registers a writer with epoll for every frame), and it
  keeps 50 streaming conversations within 5 ms per token where daphne does not
  (bench/README.md);
- `daphne`, the reference server of Channels (and `manage.py runserver`'s),
  with the same limits.

uvicorn runs its event loop on uvloop (`ASGI_LOOP`, default `uvloop`;
`asyncio` is the standard loop): the loop's wake-ups and socket reads and
writes are C instead of Python, and in the streaming benchmark's same-run
comparisons the added per-token p95 at 50 conversations was 2.2–4.7 ms
against 4.7–10.1 ms, and lower at 200 in 7 pairs of 8 (bench/README.md,
"Streaming, 2026-12-02 evening").

The image's entrypoint, the integration tests' servers and the streaming
benchmark all start the web process through here, so what is tested and
measured is what ships. The process replaces itself with the server (exec):
signals from tini or Swarm reach it directly.
"""

from __future__ import annotations

import argparse
import os
import sys

SERVERS = ("uvicorn", "daphne")
LOOPS = ("uvloop", "asyncio")


def command(server: str, *, host: str, port: int, extra: list[str] | None = None) -> list[str]:
    """The server's command line with the production flags."""
    # The server's message limit sits well above the app's own (CHAT_MAX_FRAME_BYTES,
    # 16 KiB) so that the app answers an oversized frame with its 4413 close code;
    # the server's limit only stops memory exhaustion before the app sees a frame.
    # Past it the servers differ (uvicorn closes with 1009, daphne drops the
    # connection), so it is daphne's own default, 1 MiB, for both.
    max_bytes = os.environ.get("WEBSOCKET_MAX_MESSAGE_BYTES", "1048576")
    # permessage-deflate is declined (daphne never accepts it): browsers always
    # offer it, and accepted it keeps a zlib compressor and decompressor per
    # socket, 39.7 KB held per idle lead socket against 0.1 KB without (the
    # target is 30 KB), and deflates every ~100-byte token frame (bench/README.md).
    if server == "uvicorn":
        loop = os.environ.get("ASGI_LOOP", "uvloop")
        if loop not in LOOPS:
            raise SystemExit(f"ASGI_LOOP must be one of {', '.join(LOOPS)}, not {loop!r}")
        args = [sys.executable, "-m", "uvicorn", "--host", host, "--port", str(port),
                "--proxy-headers", "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "*"),
                # websockets-sansio, less the handshake's copies it keeps per socket (project/ws_protocol.py).
                "--http", "httptools", "--ws", "project.ws_protocol:LeanWebSocketsProtocol", "--loop", loop,
                "--lifespan", "off",
                "--ws-max-size", max_bytes, "--ws-per-message-deflate", "false",
                "--ws-ping-interval", "20", "--ws-ping-timeout", "30",
                "--timeout-graceful-shutdown", "10", "--no-server-header", "--no-access-log",
                "--log-level", os.environ.get("ASGI_SERVER_LOG_LEVEL", "warning")]
    elif server == "daphne":
        args = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "--proxy-headers",
                "--websocket_timeout", "86400", "--websocket_connect_timeout", "10",
                "--websocket-max-message-size", max_bytes, "--websocket-max-frame-size", max_bytes,
                "--ping-interval", "20", "--ping-timeout", "30", "--application-close-timeout", "10",
                "--no-server-name"]
    else:
        raise SystemExit(f"ASGI_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
    return [*args, *(extra or []), "project.asgi:application"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    known, extra = parser.parse_known_args(argv)
    args = command(os.environ.get("ASGI_SERVER", "uvicorn"), host=known.host, port=known.port, extra=extra)
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
