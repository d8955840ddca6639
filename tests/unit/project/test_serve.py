"""project/serve.py: the web role's command line, the one the image, the
integration tests and the streaming benchmark start."""

from __future__ import annotations

from pathlib import Path

import pytest

from project.serve import command

ROOT = Path(__file__).resolve().parents[3]


def test_uvicorn_is_the_default_with_the_production_flags(monkeypatch):
    monkeypatch.delenv("WEBSOCKET_MAX_MESSAGE_BYTES", raising=False)
    monkeypatch.delenv("ASGI_LOOP", raising=False)
    args = command("uvicorn", host="0.0.0.0", port=8000)
    assert args[1:3] == ["-m", "uvicorn"] and args[-1] == "project.asgi:application"
    joined = " ".join(args)
    assert "--ws project.ws_protocol:LeanWebSocketsProtocol" in joined and "--http httptools" in joined and "--proxy-headers" in joined
    assert "--ws-max-size 1048576" in joined and "--ws-ping-interval 20" in joined
    assert "--lifespan off" in joined and "--no-access-log" in joined
    assert "--loop uvloop" in joined
    # Browsers offer permessage-deflate; per socket it holds ~40 KB of zlib state.
    assert "--ws-per-message-deflate false" in joined


def test_the_standard_loop_can_be_chosen_and_nothing_else(monkeypatch):
    monkeypatch.setenv("ASGI_LOOP", "asyncio")
    assert "--loop asyncio" in " ".join(command("uvicorn", host="0.0.0.0", port=8000))
    monkeypatch.setenv("ASGI_LOOP", "trio")
    with pytest.raises(SystemExit, match="ASGI_LOOP must be one of uvloop, asyncio"):
        command("uvicorn", host="0.0.0.0", port=8000)


def test_daphne_has_the_same_limits_and_pings(monkeypatch):
    monkeypatch.setenv("WEBSOCKET_MAX_MESSAGE_BYTES", "131072")
    joined = " ".join(command("daphne", host="127.0.0.1", port=9000))
    assert "-m daphne -b 127.0.0.1 -p 9000" in joined and "--proxy-headers" in joined
    assert "--websocket-max-message-size 131072" in joined and "--websocket-max-frame-size 131072" in joined
    assert "--ping-interval 20" in joined and "--ping-timeout 30" in joined


def test_an_unknown_server_is_refused():
    with pytest.raises(SystemExit, match="ASGI_SERVER must be one of uvicorn, daphne"):
        command("gunicorn", host="0.0.0.0", port=8000)


def test_the_image_starts_the_web_role_through_it():
    entrypoint = (ROOT / "docker/entrypoint.sh").read_text()
    assert 'exec python -m project.serve --host 0.0.0.0 --port 8000 "$@"' in entrypoint
    assert "exec daphne" not in entrypoint and "exec uvicorn" not in entrypoint
