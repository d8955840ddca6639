"""project.db.mysql begins an atomic block with BEGIN and leaves the session
in autocommit mode, one round trip less per side than Django's backend: the
blocks must still commit, roll back, nest and lock as before."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "test_mysql_transactions"


@pytest.fixture
def table():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


@pytest.fixture
def other():
    """A second session, to see what is committed and what is locked."""
    conn = connections.create_connection("default")
    yield conn
    conn.close()


def _status(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE %s", [name])
        return int(cursor.fetchone()[1])


def _ids(conn) -> list[int]:
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {TABLE} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_a_block_is_begin_and_commit_without_switching_autocommit(table, other):
    connection.ensure_connection()
    before = {name: _status(name) for name in ("Com_set_option", "Com_begin", "Com_commit")}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 'uno')")
        assert _ids(other) == []  # not committed yet
    after = {name: _status(name) for name in before}
    assert {name: after[name] - before[name] for name in before} == {"Com_set_option": 0, "Com_begin": 1, "Com_commit": 1}
    assert _ids(other) == [1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone()[0] == 1
    assert connection.get_autocommit() and not connection.in_atomic_block


def test_a_failed_block_rolls_back_and_the_session_still_autocommits(table, other):
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 'uno')")
            1 / 0
    assert _ids(other) == []
    with connection.cursor() as cursor:  # outside any block: committed at once
        cursor.execute(f"INSERT INTO {TABLE} VALUES (2, 'dos')")
    assert _ids(other) == [2]


def test_a_nested_block_rolls_back_to_its_savepoint_only(table, other):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 'uno')")
        with pytest.raises(ZeroDivisionError):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"INSERT INTO {TABLE} VALUES (2, 'dos')")
                1 / 0
    assert _ids(other) == [1]


def test_a_row_locked_in_a_block_stays_locked_until_its_commit(table, other):
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 'uno')")
    locked, release, done = threading.Event(), threading.Event(), []

    def holder():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT note FROM {TABLE} WHERE id = 1 FOR UPDATE")
                locked.set()
                release.wait(10)
                cursor.execute(f"UPDATE {TABLE} SET note = 'suyo' WHERE id = 1")
        connection.close()
        done.append(True)

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    with other.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        with pytest.raises(Exception, match="Lock wait timeout"):
            cursor.execute(f"UPDATE {TABLE} SET note = 'mío' WHERE id = 1")
    release.set()
    thread.join(10)
    assert done
    with other.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {TABLE} WHERE id = 1")
        assert cursor.fetchone()[0] == "suyo"
