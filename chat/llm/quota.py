"""LLM tokens per agency per day (issue 9): past the agency's quota the
assistant answers with the offline provider, politely and without any call
upstream, until the day (UTC) turns."""

from __future__ import annotations

import time

from django.conf import settings

_local: dict[str, int] = {}


def _key(agency_id) -> str:
    return f"mkz:llm-tokens:{agency_id}:{time.strftime('%Y%m%d', time.gmtime())}"


def _redis():
    from project.redis_async import async_redis

    return async_redis()


async def tokens_used(agency_id) -> int:
    if settings.REDIS_URL:
        return int(await _redis().get(_key(agency_id)) or 0)
    return _local.get(_key(agency_id), 0)


async def tokens_add(agency_id, tokens: int) -> None:
    if tokens <= 0:
        return
    if settings.REDIS_URL:
        key = _key(agency_id)
        # One round trip: this runs once per streamed turn.
        async with _redis().pipeline(transaction=False) as pipe:
            pipe.incrby(key, tokens)
            pipe.expire(key, 2 * 86400)
            await pipe.execute()
    else:
        key = _key(agency_id)
        _local[key] = _local.get(key, 0) + tokens


async def over_quota(agency_id, agency_settings: dict | None) -> bool:
    limit = (agency_settings or {}).get("llm_daily_token_quota")
    if limit is None:
        from tenancy.models import default_settings

        limit = default_settings()["llm_daily_token_quota"]
    try:
        return await tokens_used(agency_id) >= int(limit)
    except Exception as exc:  # noqa: BLE001 - a Redis hiccup must not drop the lead's message
        import structlog

        structlog.get_logger(__name__).warning("llm_quota_unavailable", error=str(exc))
        return False
