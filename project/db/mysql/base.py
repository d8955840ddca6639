"""Django's MySQL/MariaDB backend with a cheaper connection health check and
transactions that cost one round trip less.

With CONN_HEALTH_CHECKS, Django pings a persistent connection before its first
query of every "request"; for Channels that is every `database_sync_to_async`
call, three pings per lead message (bench/README.md: Com_admin_commands 3 per
turn). A connection that answered a query less than
`DB_HEALTH_CHECK_IDLE_SECONDS` ago (default 5) is not pinged again: the ping
only guards connections that sat idle, which is when the server may have
dropped them. A server restart within that window fails one call on that
connection, as it would without health checks, and Django then discards it.

An `atomic()` block on Django's backend is three round trips besides its
statements: `SET autocommit=0`, `COMMIT`, `SET autocommit=1`. Here it begins
with `BEGIN` and leaves the session in autocommit mode, so after the
`COMMIT` (or `ROLLBACK`) there is nothing to switch back: mysqlclient skips
`autocommit(True)` when the server reports it on. A lead message and its
reply are two transactions: two round trips fewer per turn, on the database
thread whose Python between statements holds up the streamed tokens. Django
uses the same hook for SQLite (`_start_transaction_under_autocommit`).
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

    def _start_transaction_under_autocommit(self):
        # Called by atomic() for its outermost block, with the connection open and in
        # autocommit mode. Straight on the driver: this is not one of the block's queries.
        # Its errors as Django's (a dropped connection is an OperationalError to retry on).
        with self.wrap_database_errors:
            self.connection.begin()

    def close(self):
        # A new connection has no recent use to vouch for it.
        self._used_at = float("-inf")
        super().close()
