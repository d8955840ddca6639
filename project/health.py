"""Liveness, readiness and metrics endpoints (CONTRACT §5).

Readiness checks each dependency the deployment configured, with short
timeouts, and names every one that fails so an operator (or Swarm's
healthcheck log) sees at once what is down.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from project import metrics

_TIMEOUT = 1.5


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _ping_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=_TIMEOUT, socket_timeout=_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def _check_redis() -> None:
    if settings.REDIS_URL:
        _ping_redis(settings.REDIS_URL)


def _check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if not url:
        return
    if url.startswith(("redis://", "rediss://")):
        _ping_redis(url)
        return
    from kombu import Connection

    with Connection(url, connect_timeout=_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1)


def _check_vector_store() -> None:
    """The knowledge collection can be asked about: the server answers with our
    key, or this process holds the local store's directory. A collection not
    created yet (no document indexed) is fine; an unreachable store is not."""
    if settings.QDRANT_URL:
        headers = {"api-key": settings.QDRANT_API_KEY} if settings.QDRANT_API_KEY else {}
        response = httpx.get(f"{settings.QDRANT_URL.rstrip('/')}/collections/{settings.QDRANT_COLLECTION}/exists",
                             headers=headers, timeout=_TIMEOUT)
        response.raise_for_status()
        if "exists" not in (response.json().get("result") or {}):
            raise RuntimeError("unexpected answer from the vector store")
    else:
        from strategy.knowledge.store import store

        store().ping(settings.QDRANT_COLLECTION)


CHECKS = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
    "vector_store": _check_vector_store,
}

# Network checks run concurrently so a dead dependency costs one timeout, not four.
_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="health")


@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request):
    results: dict[str, str] = {}
    futures = {name: _pool.submit(fn) for name, fn in CHECKS.items() if name != "database"}
    try:
        _check_database()
        results["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        results["database"] = f"error: {type(exc).__name__}"
    for name, future in futures.items():
        try:
            future.result(timeout=_TIMEOUT * 2 + 0.5)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001
            results[name] = f"error: {type(exc).__name__}"
    failing = [name for name, value in results.items() if value != "ok"]
    if failing:
        return JsonResponse(
            {
                "status": "unavailable",
                "checks": results,
                "error": {"code": "not_ready", "message": "Not ready: " + ", ".join(failing), "fields": {"failing": failing}},
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": results})


@require_GET
def metrics_view(request):
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")



