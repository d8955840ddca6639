"""project/channel_layer.py on real Redis: the hub's reader takes every
message waiting on its process channel in one round trip, in order, whether
sent directly or through a group; with none waiting it blocks for the first."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.conf import settings

from project.channel_layer import HubRedisChannelLayer

pytestmark = [pytest.mark.services]


def _layer() -> HubRedisChannelLayer:
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    return HubRedisChannelLayer(**config)


async def test_waiting_messages_come_in_one_batch_in_order_without_the_routing_key():
    sender, receiver = _layer(), _layer()
    channel = await receiver.new_channel("hub.")
    await receiver.group_add("batch-test", channel)
    try:
        for i in range(40):
            await sender.send(channel, {"type": "hub.deltas", "n": i})
        await sender.group_send("batch-test", {"type": "hub.frames", "n": 40, "origin": "someone-else"})
        batch = await receiver.receive_batch(channel)
        assert [m["n"] for m in batch] == list(range(41))
        assert all("__asgi_channel__" not in m for m in batch)
        assert batch[-1]["type"] == "hub.frames"
        # The sender's own channel is left out of its group messages.
        await sender.group_send("batch-test", {"type": "hub.frames", "n": 99, "origin": channel})
        await sender.send(channel, {"type": "hub.deltas", "n": 100})
        assert [m["n"] for m in await receiver.receive_batch(channel)] == [100]
    finally:
        await receiver.group_discard("batch-test", channel)
        await sender.close_pools()
        await receiver.close_pools()


async def test_limit_and_blocking_for_the_first_message():
    sender, receiver = _layer(), _layer()
    channel = await receiver.new_channel("hub.")
    try:
        for i in range(5):
            await sender.send(channel, {"type": "x", "n": i})
        assert [m["n"] for m in await receiver.receive_batch(channel, limit=3)] == [0, 1, 2]
        assert [m["n"] for m in await receiver.receive_batch(channel, limit=3)] == [3, 4]

        async def later():
            await asyncio.sleep(0.3)
            await sender.send(channel, {"type": "x", "n": 5})

        task = asyncio.create_task(later())
        started = time.monotonic()
        assert [m["n"] for m in await receiver.receive_batch(channel)] == [5]
        assert 0.2 < time.monotonic() - started < 3
        await task
    finally:
        await sender.close_pools()
        await receiver.close_pools()


async def test_send_in_one_round_trip_keeps_channels_redis_rules():
    from channels.exceptions import ChannelFull

    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    sender = HubRedisChannelLayer(**{**config, "capacity": 3})
    receiver = _layer()
    channel = await receiver.new_channel("hub.")
    try:
        for i in range(3):
            await sender.send(channel, {"type": "x", "n": i})
        with pytest.raises(ChannelFull):
            await sender.send(channel, {"type": "x", "n": 3})
        # channels_redis' own receive() reads what our send() wrote.
        assert (await receiver.receive(channel))["n"] == 0
        assert [m["n"] for m in await receiver.receive_batch(channel)] == [1, 2]
        # A general (non-process) channel too.
        await sender.send("plain.channel", {"type": "y"})
        assert (await receiver.receive("plain.channel")) == {"type": "y"}
        # Expired messages are dropped by the next send.
        short = HubRedisChannelLayer(**{**config, "expiry": 1})
        await short.send(channel, {"type": "x", "n": "old"})
        await asyncio.sleep(2.1)
        await short.send(channel, {"type": "x", "n": "new"})
        assert [m["n"] for m in await receiver.receive_batch(channel)] == ["new"]
        await short.close_pools()
    finally:
        await sender.close_pools()
        await receiver.close_pools()
