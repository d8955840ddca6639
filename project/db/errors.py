"""Database errors that say "not now" rather than "never"."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# A connection refused or lost (a restart, a failover), a lock wait timeout or
# a deadlock: the transaction was rolled back, so the same work may run again.
TRANSIENT = (OperationalError, InterfaceError)
