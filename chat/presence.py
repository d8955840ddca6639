"""Which staff members are watching a conversation (issue 5, presence).

Kept in Redis (a hash per conversation, entries that expire unless refreshed)
so watchers on every web process are counted; in-process without Redis.
Changes are announced to the conversation's staff sockets as an unstored
`presence` frame.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

TTL_SECONDS = 120
_local: dict[str, dict[str, dict]] = {}


def _redis():
    from project.redis_async import async_redis

    return async_redis()


def _key(conversation_id: str) -> str:
    return f"mkz:presence:{conversation_id}"


async def _entries(conversation_id: str) -> dict[str, dict]:
    now = time.time()
    if settings.REDIS_URL:
        raw = await _redis().hgetall(_key(conversation_id))
        entries = {k.decode(): json.loads(v) for k, v in raw.items()}
    else:
        entries = dict(_local.get(conversation_id, {}))
    return {user: entry for user, entry in entries.items() if entry["expires"] > now}


async def presence_update(conversation_id: str, *, user_id: str, name: str, watching: bool) -> list[dict]:
    """Record that a staff member started (or stopped) watching; return who watches now."""
    entry = {"name": name, "expires": time.time() + TTL_SECONDS}
    if settings.REDIS_URL:
        client = _redis()
        if watching:
            await client.hset(_key(conversation_id), user_id, json.dumps(entry))
            await client.expire(_key(conversation_id), TTL_SECONDS)
        else:
            await client.hdel(_key(conversation_id), user_id)
    elif watching:
        _local.setdefault(conversation_id, {})[user_id] = entry
    else:
        _local.get(conversation_id, {}).pop(user_id, None)
    entries = await _entries(conversation_id)
    return [{"user": user, "name": entry["name"]} for user, entry in sorted(entries.items())]


def presence_frame(watchers: list[dict]) -> dict:
    return {"type": "presence", "watchers": watchers}
