"""Django's MySQL/MariaDB backend with a cheaper connection health check.

With CONN_HEALTH_CHECKS, Django pings a persistent connection before its first
query of every "request"; for Channels that is every `database_sync_to_async`
call, three pings per lead message (bench/README.md: Com_admin_commands 3 per
turn). A connection that answered a query less than
`DB_HEALTH_CHECK_IDLE_SECONDS` ago (default 5) is not pinged again: the ping
only guards connections that sat idle, which is when the server may have
dropped them. A server restart within that window fails one call on that
connection, as it would without health checks, and Django then discards it.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.backends.mysql import base


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at = float("-inf")

    def close_if_health_check_failed(self):
        now = time.monotonic()
        recent = now - self._used_at < getattr(settings, "DB_HEALTH_CHECK_IDLE_SECONDS", 5.0)
        self._used_at = now
        if recent and self.connection is not None and self.health_check_enabled:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close(self):
        # A new connection has no recent use to vouch for it.
        self._used_at = float("-inf")
        super().close()
