"""Real servers for integration tests: web processes running the project
(started as the image does, project/serve.py: uvicorn unless ASGI_SERVER says
daphne) against the test database and the test Redis, started once per
session and per configuration (e.g. with the OpenAI double as upstream)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://cliente.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebServer:
    base_url: str
    ws_url: str
    proc: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] not in ("django.db.backends.mysql", "project.db.mysql"):
        pytest.fail("integration tests need MariaDB: run them through scripts/test.sh")
    return f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_web(env_overrides: dict[str, str], tmp_dir: Path) -> WebServer:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "MARKEZY_TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONUNBUFFERED": "1",
        # Local Qdrant locks its directory: each server process has its own.
        "QDRANT_PATH": str(tmp_dir / f"qdrant-{port}"),
        **env_overrides,
    }
    env.pop("OPENAI_API_KEY", None) if "OPENAI_API_KEY" not in env_overrides else None
    log_path = tmp_dir / f"web-{port}.log"
    # The web role as the image starts it (project/serve.py: ASGI_SERVER, production flags).
    proc = subprocess.Popen(
        [sys.executable, "-m", "project.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"web server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                return WebServer(base, f"ws://127.0.0.1:{port}", proc, log_path)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"web server did not start:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def web_pool(django_db_setup, django_db_blocker, tmp_path_factory):
    """Starts servers on demand, one per distinct configuration and index."""
    servers: dict[tuple, WebServer] = {}
    tmp_dir = tmp_path_factory.mktemp("web")

    def get(index: int = 0, **env: str) -> WebServer:
        key = (index, tuple(sorted(env.items())))
        server = servers.get(key)
        if server is None or server.proc.poll() is not None:
            server = servers[key] = start_web(env, tmp_dir)
        return server

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def web(web_pool, transactional_db):
    return web_pool(0)


@pytest.fixture
def web2(web_pool, transactional_db):
    return web_pool(1)


def open_session(server: WebServer, key: str, *, origin: str = ORIGIN, visitor_token: str | None = None) -> dict:
    body = {"key": key, "page_url": f"{origin}/contacto"}
    if visitor_token:
        body["visitor_token"] = visitor_token
    response = httpx.post(server.base_url + "/api/v1/widget/sessions", json=body, headers={"Origin": origin}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


class LeadSocket:
    """A lead's socket with helpers to wait for frames and rebuild turns."""

    def __init__(self, ws):
        self.ws = ws
        self.frames: list[dict] = []

    @classmethod
    async def connect(cls, server: WebServer, token: str, *, origin: str = ORIGIN, last_seq: int | None = None,
                      path: str = "/ws/v1/chat") -> "LeadSocket":
        ws = await websockets.connect(server.ws_url + path, origin=origin, max_size=2**22)
        auth = {"type": "auth", "token": token}
        if last_seq is not None:
            auth["last_seq"] = last_seq
        await ws.send(json.dumps(auth))
        return cls(ws)

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        await self.send({"type": "message", "client_id": client_id, "text": text})
        return client_id

    async def recv(self, timeout: float = 10) -> dict:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def until(self, predicate, timeout: float = 15) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; frames so far: {self.frames[-8:]}")
            try:
                frame = await self.recv(remaining)
            except (asyncio.TimeoutError, TimeoutError):
                raise AssertionError(f"timed out; frames so far: {self.frames[-8:]}") from None
            if predicate(frame):
                return frame

    async def until_type(self, kind: str, timeout: float = 15, **match) -> dict:
        return await self.until(lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in match.items()), timeout)

    async def assistant_reply(self, timeout: float = 20) -> dict:
        return await self.until(lambda f: f.get("type") == "turn.completed" and f.get("role") == "assistant", timeout)

    async def close(self) -> None:
        await self.ws.close()

    def last_seq(self) -> int:
        return max((f["seq"] for f in self.frames if "seq" in f), default=0)

    def streamed_text(self, turn: str) -> str:
        """The turn's text as a client rebuilds it from deltas (dedup by offset)."""
        text = ""
        for f in self.frames:
            if f.get("type") == "turn.delta" and f["turn"] == turn:
                if f["offset"] + len(f["text"]) > len(text):
                    assert f["offset"] <= len(text), f"gap at {f['offset']} (have {len(text)})"
                    text = text[: f["offset"]] + f["text"]
        return text


async def close_code(ws, timeout: float = 15) -> int:
    """Read until the server closes the socket; the close code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else exc.code


@pytest.fixture
def lead_socket():
    return LeadSocket


@pytest.fixture
def session_for():
    return open_session
