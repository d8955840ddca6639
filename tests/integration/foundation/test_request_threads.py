"""Under ASGI Django runs every request in a new thread, and database
connections are per thread: each request opened a MySQL connection, and the
dead threads' connections stayed open until garbage collection. The web
process's HTTP requests now run on HTTP_THREADS long-lived threads
(project/http_threads.py)."""

from __future__ import annotations

import MySQLdb
import pytest
from django.db import connection

from tests.integration.conftest import open_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _status(name: str) -> int:
    params = connection.get_connection_params()
    conn = MySQLdb.connect(**{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "passwd",
                                                                        "unix_socket")})
    try:
        cursor = conn.cursor()
        cursor.execute("SHOW GLOBAL STATUS LIKE %s", [name])
        return int(cursor.fetchone()[1])
    finally:
        conn.close()


def test_requests_reuse_a_few_database_connections(web, make_agency):
    agency = make_agency()

    for _ in range(3):
        open_session(web, agency.key.key)
    before = _status("Connections")
    for _ in range(20):
        open_session(web, agency.key.key)
    opened = _status("Connections") - before - 1  # our own status connection
    # Django's thread per request: 20 new connections here, never closed until GC.
    assert opened <= 2, f"{opened} new MySQL connections for 20 requests"
