"""project/db/concurrent.py on MariaDB: a request's independent aggregates run
on several connections at the same time, in order, with errors raised, and
in the caller's thread whenever the caller holds a transaction."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from project.db.concurrent import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _server_thread_and_sleep(seconds: float):
    def job():
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID(), SLEEP(%s)", [seconds])
            return cursor.fetchone()[0], threading.get_ident()

    return job


def test_jobs_run_at_the_same_time_on_their_own_connections_and_keep_their_order():
    started = time.monotonic()
    results = run_concurrently(*(_server_thread_and_sleep(0.4) for _ in range(3)))
    elapsed = time.monotonic() - started
    # Three 0.4 s sleeps on the server, one after another, would take 1.2 s.
    assert elapsed < 1.0, elapsed
    assert len({connection_id for connection_id, _ in results}) == 3
    assert results[0][1] == threading.get_ident()  # the caller runs the first job itself
    assert [r for r in run_concurrently(lambda: 1, lambda: 2, lambda: 3)] == [1, 2, 3]


def test_a_failing_job_raises_after_the_others_finish():
    finished = []

    def slow():
        time.sleep(0.2)
        finished.append("slow")
        return "slow"

    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")

    with pytest.raises(Exception) as caught:
        run_concurrently(slow, broken)
    assert "no_such_table_here" in str(caught.value)
    assert finished == ["slow"]
    # The pool's connection that failed still answers the next job.
    assert run_concurrently(lambda: 0, _server_thread_and_sleep(0))[1][0] > 0


def test_inside_a_transaction_every_job_runs_on_the_callers_connection():
    from tenancy.services import agency_create

    with transaction.atomic():
        agency = agency_create(name="Uncommitted", owner_email="uncommitted@example.com", owner_password=None)

        def sees_it():
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM tenancy_agency WHERE id = %s", [agency.id.hex])
                return cursor.fetchone()[0], threading.get_ident()

        results = run_concurrently(sees_it, sees_it, sees_it)
    # Another connection could not see the uncommitted agency.
    assert results == [(1, threading.get_ident())] * 3


def test_no_workers_runs_them_in_turn(settings, monkeypatch):
    import project.db.concurrent as concurrent

    monkeypatch.setattr(concurrent, "_pool", None)
    settings.DB_CONCURRENT_QUERIES = 0
    assert [r[1] for r in run_concurrently(*(_server_thread_and_sleep(0) for _ in range(2)))] == [
        threading.get_ident()] * 2


def test_a_worker_reconnects_after_its_connection_was_killed():
    # The workers' connections outlive requests: one the server dropped must be replaced, not reused.
    ids = run_concurrently(*(_server_thread_and_sleep(0) for _ in range(3)))
    worker_ids = {connection_id for connection_id, _ in ids[1:]}  # one worker may have run both
    with connection.cursor() as cursor:
        for connection_id in worker_ids:
            cursor.execute("KILL %s", [connection_id])
    for _ in range(3):  # the first job on a killed connection may fail; the pool must recover
        try:
            again = run_concurrently(*(_server_thread_and_sleep(0) for _ in range(3)))
            break
        except OperationalError:
            continue
    else:
        pytest.fail("the pool kept its dead connections")
    assert not set(worker_ids) & {connection_id for connection_id, _ in again[1:]}
