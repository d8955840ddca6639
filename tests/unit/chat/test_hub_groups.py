"""A web process renews its channel-layer group memberships, so a process that
dies without leaving them drops out after the layer's group_expiry."""

from __future__ import annotations

import asyncio

from chat.hub import Hub

CHANNEL = "hub.test!1"


class RecordingLayer:
    group_expiry = 0.03  # renewed every 10 ms

    def __init__(self):
        self.added: list[str] = []

    async def group_add(self, group: str, channel: str) -> None:
        assert channel == CHANNEL
        self.added.append(group)


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def test_memberships_are_renewed_and_left_groups_are_not():
    async def scenario():
        hub = Hub()
        hub.layer, hub.channel = RecordingLayer(), CHANNEL
        hub.groups = {"conv.a", "staff.b"}
        task = asyncio.get_running_loop().create_task(hub._refresh_forever())
        added = hub.layer.added
        await _until(lambda: added.count("conv.a") >= 2 and added.count("staff.b") >= 2)
        hub.groups.discard("staff.b")
        left_at, conv_at = added.count("staff.b"), added.count("conv.a")
        await _until(lambda: added.count("conv.a") >= conv_at + 2)
        task.cancel()
        return added.count("staff.b") - left_at

    assert asyncio.run(scenario()) == 0
