"""Atomic abuse counters in the cache (Redis in any real deployment).

Two shapes: a sliding-window counter (logins, sign-ups and sessions per IP) and a token bucket
(lead messages: a steady rate with a small burst). Both are single round trips
on Redis so concurrent web processes share one count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


# A window is counted in slices: the count "in the last window" is the sum of
# the slices that overlap it, the current one included. A fixed window keyed by
# the clock let twice the limit through across a boundary (five failed logins
# at 11:59:59 and five more at 12:00:00); with slices the oldest one counts
# whole until it is a full window old, so a count never misses an event of the
# last window (it may keep one for up to a slice longer: the safe side).
_SLICES = 6


def _slices(key: str, window_seconds: int, now: float) -> tuple[list[str], list[int], float]:
    width = window_seconds / _SLICES
    current = int(now // width)
    indexes = list(range(current - _SLICES, current + 1))
    return [f"rl:{key}:{window_seconds}:{i}" for i in indexes], indexes, width


def window_hit(key: str, *, limit: int, window_seconds: int) -> Verdict:
    """Count one event; allowed while the events of the last window (this one
    included) are at most `limit`."""
    now = time.time()
    keys, indexes, width = _slices(key, window_seconds, now)
    current, expiry = keys[-1], int(window_seconds + width) + 1
    cache.add(current, 0, timeout=expiry)
    try:
        cache.incr(current)
    except ValueError:  # expired between add and incr
        cache.add(current, 1, timeout=expiry)
    counts = cache.get_many(keys)
    per_slice = [int(counts.get(k, 0) or 0) for k in keys]
    total = sum(per_slice)
    if total <= limit:
        return Verdict(True)
    # Wait until enough of the oldest slices have aged out for the count to fit.
    for index, count in zip(indexes, per_slice, strict=True):
        total -= count
        if total <= limit:
            leaves_at = (index + _SLICES + 1) * width
            return Verdict(False, retry_after=max(1, int(leaves_at - now) + 1))
    return Verdict(False, retry_after=int(window_seconds))  # pragma: no cover - the current slice alone is over


def window_count(key: str, *, window_seconds: int) -> int:
    """The events counted in the last window."""
    keys, _, _ = _slices(key, window_seconds, time.time())
    return sum(int(v or 0) for v in cache.get_many(keys).values())


def window_reset(key: str, *, window_seconds: int) -> None:
    keys, _, _ = _slices(key, window_seconds, time.time())
    cache.delete_many(keys)


_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
return {allowed, tostring(wait)}
"""

_local_buckets: dict[str, tuple[float, float]] = {}


async def bucket_take(key: str, *, rate_per_second: float, burst: int) -> Verdict:
    """Take one token from a bucket refilled at `rate_per_second`, holding at most `burst`.

    Awaited on the lead socket's message path: the event loop's own Redis
    client (one EVAL round trip), not a sync client on a worker thread, whose
    hop and GIL hand-offs cost more than the script."""
    now = time.time()
    if settings.REDIS_URL:
        from project.redis_async import async_redis

        allowed, wait = await async_redis().eval(_BUCKET_LUA, 1, f"mkz:tb:{key}", rate_per_second, burst, now)
        return Verdict(bool(int(allowed)), retry_after=int(float(wait)) + 1 if not int(allowed) else 0)
    tokens, ts = _local_buckets.get(key, (float(burst), now))
    tokens = min(burst, tokens + (now - ts) * rate_per_second)
    if tokens >= 1:
        _local_buckets[key] = (tokens - 1, now)
        return Verdict(True)
    _local_buckets[key] = (tokens, now)
    return Verdict(False, retry_after=int((1 - tokens) / rate_per_second) + 1)


def client_ip(meta_or_scope_headers: dict, peer: str | None) -> str:
    """The client's IP: the socket peer, unless TRUSTED_PROXY_COUNT proxies are in
    front, in which case the address that many hops from the right of
    X-Forwarded-For. A spoofed header cannot reset a limit: with no trusted
    proxy it is ignored, and with one only the proxy's own append is believed."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return peer or "unknown"
    forwarded = meta_or_scope_headers.get("x-forwarded-for", "")
    parts = [p.strip() for p in forwarded.split(",") if p.strip()]
    if len(parts) >= hops:
        return parts[-hops]
    return peer or "unknown"


def request_ip(request) -> str:
    return client_ip({"x-forwarded-for": request.META.get("HTTP_X_FORWARDED_FOR", "")}, request.META.get("REMOTE_ADDR"))
