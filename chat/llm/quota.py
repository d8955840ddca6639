"""LLM tokens per agency per day (issue 9): past the agency's quota the
assistant answers with the offline provider, politely and without any call
upstream, until the day (UTC) turns."""

from __future__ import annotations

import time

from django.conf import settings

_local: dict[str, int] = {}

# The day's count as this process last read or wrote it: key -> (count, monotonic time).
# Every lead message checks the quota; a busy agency's messages within this many
# seconds share one Redis read, and its replies' additions keep it current. Another
# process's spending shows here at most this late: an overshoot of a second's tokens.
FRESH_SECONDS = 1.0
_seen: dict[str, tuple[int, float]] = {}


def _key(agency_id) -> str:
    return f"mkz:llm-tokens:{agency_id}:{time.strftime('%Y%m%d', time.gmtime())}"


def _redis():
    from project.redis_async import async_redis

    return async_redis()


async def tokens_used(agency_id) -> int:
    if settings.REDIS_URL:
        key = _key(agency_id)
        seen = _seen.get(key)
        now = time.monotonic()
        if seen is not None and now - seen[1] < FRESH_SECONDS:
            return seen[0]
        used = int(await _redis().get(key) or 0)
        _remember(key, used, now)
        return used
    return _local.get(_key(agency_id), 0)


def _remember(key: str, used: int, now: float) -> None:
    if len(_seen) > 10_000:
        # Yesterday's keys and agencies gone quiet: nothing here is worth more than a second.
        _seen.clear()
    _seen[key] = (used, now)


async def tokens_add(agency_id, tokens: int) -> None:
    if tokens <= 0:
        return
    if settings.REDIS_URL:
        key = _key(agency_id)
        # One round trip: this runs once per streamed turn.
        async with _redis().pipeline(transaction=False) as pipe:
            pipe.incrby(key, tokens)
            pipe.expire(key, 2 * 86400)
            used, _ = await pipe.execute()
        _remember(key, int(used), time.monotonic())
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
