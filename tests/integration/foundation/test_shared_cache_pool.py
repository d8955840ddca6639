"""Django's Redis cache keeps one backend per thread, and under ASGI every
HTTP request has a thread of its own: with Django's client every request
opened a new Redis connection. project/cache.py shares one pool per process."""

from __future__ import annotations

import threading

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

from tests.integration.conftest import open_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _connections_received() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_threads_share_one_pool():
    pools = []

    def use_cache():
        cache = caches["default"]  # a new backend instance in each thread
        cache.set("shared-pool-probe", 1, 30)
        pools.append(cache._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=use_cache) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pools) == 8 and len({id(p) for p in pools}) == 1


def test_requests_reuse_the_processes_redis_connections(web, make_agency):
    agency = make_agency()

    open_session(web, agency.key.key)  # the process's pool exists from here on
    before = _connections_received()
    for _ in range(20):
        open_session(web, agency.key.key)  # each one counts its IP's sessions in the cache
    opened = _connections_received() - before - 1  # our own INFO connection
    # Django's own client: one new connection per request (20 here).
    assert opened <= 3, f"{opened} new Redis connections for 20 requests"
