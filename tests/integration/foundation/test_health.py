"""Health and metrics (CONTRACT §5): readiness names a failing dependency."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, so stopping it disturbs nothing else."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required (scripts/test.sh installs it)")
    port = _free_port()

    def start():
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    state = {"proc": start()}
    yield {"url": f"redis://127.0.0.1:{port}/0", "stop": lambda: (state["proc"].terminate(), state["proc"].wait()),
           "start": lambda: state.update(proc=start())}
    state["proc"].terminate()


def test_live(client):
    assert client.get("/health/live").json() == {"status": "ok"}


def test_ready_ok_then_503_naming_redis_then_ok(client, settings, own_redis):
    settings.REDIS_URL = own_redis["url"]
    settings.CELERY_BROKER_URL = None
    ok = client.get("/health/ready")
    assert ok.status_code == 200, ok.content
    assert ok.json()["checks"]["redis"] == "ok"

    own_redis["stop"]()
    down = client.get("/health/ready")
    assert down.status_code == 503
    body = down.json()
    assert body["error"]["fields"]["failing"] == ["redis"]
    assert "redis" in body["error"]["message"]
    assert body["checks"]["database"] == "ok"

    own_redis["start"]()
    assert client.get("/health/ready").status_code == 200


def test_ready_names_broker(client, settings, own_redis):
    settings.REDIS_URL = None
    settings.CELERY_BROKER_URL = own_redis["url"]
    own_redis["stop"]()
    down = client.get("/health/ready")
    assert down.status_code == 503
    assert down.json()["error"]["fields"]["failing"] == ["broker"]


def test_metrics_prometheus_text(client):
    client.get("/health/live")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "markezy_http_requests_total" in text
    assert "markezy_http_request_duration_seconds_bucket" in text
    assert "markezy_open_sockets" in text


def test_request_id_echoed(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abcdef123456")
    assert response["X-Request-ID"] == "abcdef123456"
    assert len(client.get("/health/live")["X-Request-ID"]) == 32


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/auth/token" in text and "/api/v1/widget/sessions" in text
    assert client.get("/api/docs/").status_code == 200
