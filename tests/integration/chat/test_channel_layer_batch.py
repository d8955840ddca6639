"""project/channel_layer.py on real Redis: the hub's reader takes every
message waiting on its process channel in one round trip, in order, whether
sent directly or through a group; with none waiting it blocks for the first.
Sends and group sends keep channels_redis' rules in fewer round trips."""

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


def _count_commands(layer: HubRedisChannelLayer) -> list[str]:
    """The commands this layer's client sends from now on (on this loop), by name:
    the server's own statistics would count any other client of the test Redis."""
    sent: list[str] = []
    client = layer.connection(0)
    original = client.execute_command

    async def counting(*args, **options):
        sent.append(str(args[0]).upper())
        return await original(*args, **options)

    client.execute_command = counting
    return sent


async def test_group_send_to_nobody_else_is_one_round_trip():
    sender, receiver = _layer(), _layer()
    mine = await sender.new_channel("hub.")
    other = await receiver.new_channel("hub.")
    await sender.group_add("lonely-test", mine)
    try:
        sent = _count_commands(sender)
        for _ in range(10):
            await sender.group_send("lonely-test", {"type": "hub.frames", "origin": mine})
            await sender.group_send("nobody-test", {"type": "hub.frames", "origin": mine})
        # 20 group messages: one lookup script each, nothing queued.
        assert sent == ["EVALSHA"] * 20 or sent == ["EVAL"] * 20, sent
        # With someone else in the group: the lookup and one delivery script.
        await receiver.group_add("lonely-test", other)
        sent.clear()
        await sender.group_send("lonely-test", {"type": "hub.frames", "n": 1, "origin": mine})
        assert len(sent) == 2, sent
        assert [m["n"] for m in await receiver.receive_batch(other)] == [1]
    finally:
        await sender.group_discard("lonely-test", mine)
        await receiver.group_discard("lonely-test", other)
        await sender.close_pools()
        await receiver.close_pools()


async def test_group_send_keeps_channels_redis_rules():
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    sender = HubRedisChannelLayer(**{**config, "capacity": 2})
    # Two processes (a layer's process channels share one Redis key, and its capacity).
    receiver, other_process = _layer(), _layer()
    full = await receiver.new_channel("hub.")
    roomy = await other_process.new_channel("hub.")
    try:
        for channel in (full, roomy, "plain.group-member"):
            await receiver.group_add("rules-test", channel)
        for i in range(2):
            await sender.send(full, {"type": "x", "n": f"old{i}"})
        await sender.group_send("rules-test", {"type": "hub.frames", "n": 1})
        # The channel at capacity misses it, the others get it; channels_redis' receive() reads it too.
        assert [m["n"] for m in await receiver.receive_batch(full)] == ["old0", "old1"]
        assert [m["n"] for m in await other_process.receive_batch(roomy)] == [1]
        assert (await receiver.receive("plain.group-member"))["n"] == 1
        # Messages past expiry are dropped by the next delivery to their channel.
        brief = HubRedisChannelLayer(**{**config, "expiry": 1})
        await brief.send(roomy, {"type": "x", "n": "stale"})
        await asyncio.sleep(1.2)
        await brief.group_send("rules-test", {"type": "hub.frames", "n": "fresh"})
        assert [m["n"] for m in await other_process.receive_batch(roomy)] == ["fresh"]
        await receiver.receive_batch(full)
        await receiver.receive("plain.group-member")
        await brief.close_pools()
        # Members past group_expiry are dropped by the lookup and get nothing.
        short = HubRedisChannelLayer(**{**config, "group_expiry": 1})
        await asyncio.sleep(2.1)
        await short.group_send("rules-test", {"type": "hub.frames", "n": 2})
        connection = short.connection(short.consistent_hash("rules-test"))
        assert await connection.zcard(short._group_key("rules-test")) == 0
        await sender.send(roomy, {"type": "x", "n": 3})
        assert [m["n"] for m in await other_process.receive_batch(roomy)] == [3]
        await short.close_pools()
    finally:
        for channel in (full, roomy, "plain.group-member"):
            await receiver.group_discard("rules-test", channel)
        await sender.close_pools()
        await receiver.close_pools()
        await other_process.close_pools()


async def test_group_send_many_looks_every_group_up_in_one_round_trip():
    sender, receiver = _layer(), _layer()
    mine = await sender.new_channel("hub.")
    other = await receiver.new_channel("hub.")
    await sender.group_add("many-conv", mine)
    await sender.group_add("many-staff", mine)
    try:
        sent = _count_commands(sender)
        # Nobody else in either group (a turn's frames and summary, usually): one lookup for both.
        await sender.group_send_many([("many-conv", {"type": "hub.frames", "n": 0, "origin": mine}),
                                      ("many-staff", {"type": "hub.summary", "n": 0, "origin": mine})])
        assert len(sent) == 1, sent
        # Another process in both: the lookup, then one delivery per group, each message to its own group.
        await receiver.group_add("many-conv", other)
        await receiver.group_add("many-staff", other)
        await receiver.group_add("many-empty", "plain.somebody")
        sent.clear()
        await sender.group_send_many([("many-conv", {"type": "hub.frames", "n": 1, "origin": mine}),
                                      ("many-staff", {"type": "hub.summary", "n": 2, "origin": mine}),
                                      ("many-nobody", {"type": "hub.summary", "n": 3, "origin": mine})])
        assert len(sent) == 3, sent
        batch = await receiver.receive_batch(other)
        assert [(m["type"], m["n"]) for m in batch] == [("hub.frames", 1), ("hub.summary", 2)]
    finally:
        for group in ("many-conv", "many-staff"):
            await sender.group_discard(group, mine)
            await receiver.group_discard(group, other)
        await receiver.group_discard("many-empty", "plain.somebody")
        await sender.close_pools()
        await receiver.close_pools()
