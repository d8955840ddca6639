"""The strategy pipeline end to end: the web process that qualifies the lead,
a real Celery worker on a private Redis database as broker, and an SMTP sink."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from tests.doubles.smtp_sink import SmtpSink
from tests.integration.workers import start_worker

from tests.integration.leads import LEAD_EMAIL, SCRIPT  # noqa: F401 - re-exported for the pipeline tests

# Leads here answer faster than a person types.
FAST = {"OFFLINE_TOKENS_PER_SECOND": "0", "CHAT_RATE_BURST": "100", "CHAT_RATE_MESSAGES": "1000"}


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def broker_url(settings):
    """A Redis database of its own, emptied: no task of another test is waiting there."""
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    url = f"{base}/3"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def workers(tmp_path, broker_url, smtp_sink, transactional_db):
    """Starts real Celery workers on demand; all are stopped at the end."""
    from tests.integration.conftest import _test_database_url

    started = []

    def start(**env: str):
        base = {"DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": broker_url, "EMAIL_URL": smtp_sink.url,
                "QDRANT_PATH": str(tmp_path / f"qdrant-{len(started)}")}
        worker = start_worker({**base, **env}, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


async def qualify(socket) -> dict:
    """Walk the default flow to `done` through the lead socket; the last qualification frame."""
    first = await socket.until_type("qualification")
    assert first["step"] == "consent"
    await socket.assistant_reply()
    frame = first
    steps = []
    for text in SCRIPT:
        await socket.say(text)
        try:
            frame = await socket.until_type("qualification")
        except AssertionError as exc:
            raise AssertionError(f"no qualification frame after {text!r}; steps so far {steps}") from exc
        steps.append(frame["step"])
        await socket.assistant_reply()
        if frame["step"] == "done":
            break
    assert frame["step"] == "done", steps
    return frame


def wait_until(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


async def await_until(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")
