"""The Redis channel layer, tuned for the hub (chat.hub).

- A process's own messages are left out. Every web process joins the groups
  of its own conversations with one process channel, and the hub ignores a
  message whose `origin` is its own channel. With channels_redis as it is,
  each `group_send` of a persisted frame was still serialised, encrypted,
  queued in Redis for that channel, popped, decrypted and dropped again: per
  turn, 5 Redis commands and two Fernet operations per group message for
  nothing (bench/README.md). Here the sender's own channel is left out of the
  recipients, so a conversation nobody else watches costs the group lookup only.
- `group_send()` looks the group up in one round trip instead of two and
  delivers in one instead of two: a conversation's persisted frames and
  summaries (about five group messages per turn) usually have nobody in
  another process to go to, and then the lookup is all they cost.
- `group_send_many()` looks several groups up in that one round trip: a
  persisted frame goes to its conversation's group and its summary to the
  agency's staff group, twice per turn.
- `send()` is one round trip instead of four, and `receive_batch()` takes
  every waiting message in one instead of four per message: on a process busy
  streaming its own leads each round trip waits about a loop iteration, and the
  delta batches of the conversations a staff monitor watches on another
  process arrived seconds late.
"""

from __future__ import annotations

import logging
import time

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

# channels_redis' send() as one script: drop expired messages, refuse past
# capacity, add, renew the expiry.
_SEND = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[2]) - tonumber(ARGV[3]))
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[4]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# channels_redis' group lookup (drop members past group_expiry, list the rest) as one
# script, for any number of groups: one list of members per key.
_GROUPS_MEMBERS = """
local members = {}
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, tonumber(ARGV[1]))
    members[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
end
return members
"""

# channels_redis' group delivery as one script: per channel key, drop expired
# messages, then add unless at capacity, renew the expiry; answer how many were full.
# ARGV: the messages (one per key), the capacities (one per key), now, expiry.
_GROUP_DELIVER = """
local n = #KEYS
local now, expiry = ARGV[2 * n + 1], ARGV[2 * n + 2]
local oldest = tonumber(now) - tonumber(expiry)
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class HubRedisChannelLayer(RedisChannelLayer):
    def _map_channel_keys_to_connection(self, channel_names, message):
        # group_send resolves the group's channels, then maps them here; `origin`
        # is the sending process's channel (chat.hub): it never needs its own message.
        origin = message.get("origin") if isinstance(message, dict) else None
        if origin:
            channel_names = [name for name in channel_names if name != origin]
        return super()._map_channel_keys_to_connection(channel_names, message)

    async def group_send(self, group, message):
        """channels_redis' group_send() (same expiry and capacity rules) in one
        round trip when no one but the sender is in the group, two otherwise
        (channels_redis: two and four)."""
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict]]) -> None:
        """group_send() of each (group, message), with the groups of one Redis
        host looked up in one round trip. Sends are delivered in order within
        each host (with one host, as given); across hosts, host by host."""
        by_connection: dict[int, list[tuple[str, dict]]] = {}
        for group, message in sends:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_connection.setdefault(self.consistent_hash(group), []).append((group, message))
        for index, items in by_connection.items():
            members = await self.connection(index).eval(
                _GROUPS_MEMBERS, len(items), *(self._group_key(group) for group, _ in items),
                int(time.time()) - self.group_expiry)
            for (group, message), group_members in zip(items, members, strict=True):
                await self._deliver(group, message, group_members)

    async def _deliver(self, group: str, message: dict, members: list[bytes]) -> None:
        if not members:
            return
        channel_names = [member.decode("utf8") for member in members]
        keys_by_connection, message_by_key, capacity_by_key = self._map_channel_keys_to_connection(
            channel_names, message)
        for index, keys in keys_by_connection.items():
            over_capacity = await self.connection(index).eval(
                _GROUP_DELIVER, len(keys), *keys, *(message_by_key[k] for k in keys),
                *(capacity_by_key[k] for k in keys), time.time(), int(self.expiry))
            if over_capacity:
                logger.info("%s of %s channels over capacity in group %s", over_capacity, len(channel_names), group)

    async def send(self, channel, message):
        """channels_redis' send() in one round trip (same checks, same order)."""
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        non_local = channel
        if "!" in channel:
            message = {**message, "__asgi_channel__": channel}
            non_local = self.non_local_name(channel)
            index = self.consistent_hash(channel)
        else:
            index = next(self._send_index_generator)
        connection = self.connection(index)
        now = time.time()
        added = await connection.eval(_SEND, 1, self.prefix + non_local, self.serialize(message), repr(now),
                                      int(self.expiry), self.get_capacity(channel))
        if not added:
            raise ChannelFull()

    async def receive_batch(self, channel: str, *, limit: int = 256) -> list[dict]:
        """Every message waiting on a process-specific channel (up to `limit`),
        in order, in one round trip; if none waits, block for the first.

        channels_redis' receive() costs four sequential Redis round trips per
        message (a cleanup script, BZPOPMIN, a backup ZADD and its ZPOPMIN) and
        two tasks; a web process busy streaming its own leads then received
        the other processes' delta batches more slowly than they came, and a
        staff monitor watching their conversations fell seconds behind
        (bench/README.md, "Streaming, 2026-12-02"). The backup queue it keeps
        is for receivers that may be cancelled mid-receive and live on; the
        hub's reader is cancelled only with its process, whose sockets go
        with it, so nothing it pops would have had anyone to go to.

        Precondition: `channel` comes from new_channel() on this layer and only
        receive_batch() reads it (the hub's one channel)."""
        assert "!" in channel, "receive_batch reads a process-specific channel"
        real_channel = self.non_local_name(channel)
        key = self.prefix + real_channel
        connection = self.connection(self.consistent_hash(real_channel))
        popped = await connection.zpopmin(key, limit)
        if not popped:
            first = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            if first is None:
                return []
            popped = [(first[1], first[2])]
            if limit > 1:
                popped += await connection.zpopmin(key, limit - 1)
        messages = []
        for member, *_score in popped:
            message = self.deserialize(member)
            message.pop("__asgi_channel__", None)
            messages.append(message)
        return messages
