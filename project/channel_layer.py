"""The Redis channel layer, minus the messages a process sends itself.

Every web process joins the groups of its own conversations with one process
channel (chat.hub), and the hub ignores a message whose `origin` is its own
channel. With channels_redis as it is, each `group_send` of a persisted frame
was still serialised, encrypted, queued in Redis for that channel, popped,
decrypted and dropped again: per turn, 5 Redis commands and two Fernet
operations per group message for nothing (bench/README.md). Here the sender's
own channel is left out of the recipients, so a conversation nobody else
watches costs the group lookup only.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer


class HubRedisChannelLayer(RedisChannelLayer):
    def _map_channel_keys_to_connection(self, channel_names, message):
        # group_send resolves the group's channels, then maps them here; `origin`
        # is the sending process's channel (chat.hub): it never needs its own message.
        origin = message.get("origin") if isinstance(message, dict) else None
        if origin:
            channel_names = [name for name in channel_names if name != origin]
        return super()._map_channel_keys_to_connection(channel_names, message)
