"""One asyncio Redis client per event loop, on a *blocking* pool: under a
burst, callers wait a moment for a free connection instead of failing with
"Too many connections" (measured at 200 concurrent conversations)."""

from __future__ import annotations

import asyncio

from django.conf import settings

_clients: dict[int, object] = {}


def async_redis():
    import redis.asyncio as aioredis

    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=64, timeout=5, socket_timeout=5, socket_connect_timeout=5
        )
        client = _clients[loop_id] = aioredis.Redis(connection_pool=pool)
    return client
