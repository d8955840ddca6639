"""Django's Redis cache with one connection pool per process.

Django keeps a cache backend instance per thread/async context, and its
`RedisCacheClient` owns the connection pools. Under ASGI every HTTP request
runs in a thread of its own, so every request built a new pool and opened a
new TCP connection to Redis (HELLO, and on Redis < 7.2 three refused CLIENT
commands whose exceptions became garbage-collector work): measured 51 new
connections for 50 `POST widget/sessions`. The pools here are shared by every
instance of the process; redis-py's pools are thread-safe and reset
themselves in a forked child (Celery's prefork workers).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], self._pool_class, tuple(sorted((k, repr(v)) for k, v in self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(self._servers[index], **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
