"""HTTP requests on a fixed set of long-lived threads.

Django's ASGI handler gives every request a thread of its own (a new
`ThreadSensitiveContext`, so a new single-thread executor). Database
connections are per thread, so every request opened a new MySQL connection
(TCP, authentication, `init_command`) and its `CONN_MAX_AGE` never came into
play: the dead thread's connection stayed open until the garbage collector
found it (measured: 51 new connections and 22 still open after 50
`POST widget/sessions`). Here each request's thread-sensitive work runs on the
least busy of `HTTP_THREADS` persistent threads, so connections are reused
and closed by Django's own `close_old_connections` rules, and the number of
connections a web process holds is bounded.

An executor given to `ThreadSensitiveContext` wins over the context Django's
handler then enters (asgiref ≥ 3.10), and runs one call at a time, as
thread-sensitive code expects. Two concurrent requests on one thread take
turns call by call; with more requests than threads they queue, which is the
back-pressure a fixed pool of workers gives.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

from project.sched import request_thread_tune


class PersistentRequestThreads:
    """ASGI middleware for the `http` scope (WebSockets use project/db/aio.py)."""

    def __init__(self, app, *, threads: int):
        self.app = app
        self.executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{i}", initializer=request_thread_tune)
                          for i in range(max(1, threads))]
        self.in_flight = [0] * len(self.executors)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        index = min(range(len(self.in_flight)), key=self.in_flight.__getitem__)
        self.in_flight[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self.executors[index]):
                return await self.app(scope, receive, send)
        finally:
            self.in_flight[index] -= 1
