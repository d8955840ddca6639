"""project/http_threads.py: HTTP requests' thread-sensitive work runs on a
fixed set of long-lived threads, one call at a time per thread."""

from __future__ import annotations

import asyncio
import threading
import time

from asgiref.sync import ThreadSensitiveContext, sync_to_async

from project.http_threads import PersistentRequestThreads


def _app(seen: list, *, hold: float = 0.0):
    def work():
        time.sleep(hold)
        return threading.get_ident()

    async def app(scope, receive, send):
        # As Django's ASGIHandler does: its own (inner) context, then sync work.
        async with ThreadSensitiveContext():
            seen.append(await sync_to_async(work)())
            seen.append(await sync_to_async(work)())

    return app


async def test_requests_reuse_the_same_few_threads():
    seen: list[int] = []
    app = PersistentRequestThreads(_app(seen), threads=2)
    for _ in range(10):
        await app({"type": "http"}, None, None)
    assert len(set(seen)) == 1  # one request at a time: always the least busy, the first
    assert threading.get_ident() not in seen


async def test_concurrent_requests_spread_over_the_threads_and_a_request_keeps_its_thread():
    seen: list[int] = []
    app = PersistentRequestThreads(_app(seen, hold=0.1), threads=3)
    started = time.monotonic()
    await asyncio.gather(*(app({"type": "http"}, None, None) for _ in range(3)))
    # Three requests of 2 × 0.1 s at once on three threads: about 0.2 s, not 0.6 s.
    assert time.monotonic() - started < 0.5
    assert len(set(seen)) == 3


async def test_other_scopes_pass_through():
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["type"])

    await PersistentRequestThreads(app, threads=1)({"type": "lifespan"}, None, None)
    assert calls == ["lifespan"]
