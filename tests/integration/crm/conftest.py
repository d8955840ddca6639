"""Fixtures of the CRM sync tests: the Clientify emulator as a real loopback
server, an agency connected to it, and qualified leads."""

from __future__ import annotations

import threading

import pytest

from tests.doubles.clientify_server import ClientifyEmulator
from tests.integration.crm.helpers import TOKEN_A, TOKEN_B


@pytest.fixture
def crm(settings):
    with ClientifyEmulator(tokens=[TOKEN_A, TOKEN_B], seed=8) as emulator:
        settings.CLIENTIFY_BASE_URL = emulator.base_url
        # Short reads, so "timeout after commit" resolves quickly.
        settings.CRM_HTTP_TIMEOUT = (1.0, 0.5)
        settings.CRM_RETRY_BASE_SECONDS = 0.05
        settings.CRM_RETRY_CAP_SECONDS = 0.2
        yield emulator


class Queue:
    """Tasks enqueued by the code under test, recorded instead of run: tests call
    the task bodies themselves, deterministically (the lead engineer's real
    worker fixture covers the broker path)."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.options: list[dict] = []
        self.lock = threading.Lock()

    def named(self, name: str) -> list[dict]:
        with self.lock:
            return [kwargs for task, kwargs in self.calls if task == name]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.options.clear()


@pytest.fixture
def queued(monkeypatch):
    from project.celery import MarkezyTask

    queue = Queue()

    def record(self, args=None, kwargs=None, **options):
        with queue.lock:
            queue.calls.append((self.name, dict(kwargs or {})))
            queue.options.append(dict(options))

    monkeypatch.setattr(MarkezyTask, "apply_async", record)
    return queue


