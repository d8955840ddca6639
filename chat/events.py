"""Announcements that start in synchronous code (REST views, tasks)."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat.hub import hub, leads_group


def announce_key_revoked(*, agency_id, key_id) -> None:
    """Close every open lead socket that came in through a revoked widget key."""
    message = {"type": "hub.key_revoked", "agency": str(agency_id), "key": str(key_id)}
    loop = hub.loop
    if loop is not None and loop.is_running():
        asyncio.run_coroutine_threadsafe(hub.publish_agency(str(agency_id), message), loop).result(timeout=10)
    else:
        async_to_sync(get_channel_layer().group_send)(leads_group(agency_id), {**message, "origin": None})
