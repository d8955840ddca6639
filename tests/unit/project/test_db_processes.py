"""project/db/processes.py: calls run in a Django worker process on the
parent's database, in order, with domain errors that keep their codes; a
dead worker is replaced and its call runs once more; with DB_PROCESSES=0
the call stays on the database thread."""

from __future__ import annotations

import asyncio
import os

import pytest

from project.api.errors import ApplicationError
from project.db.processes import DbProcessPool, db_process, db_process_pool
from tests.unit.project.db_worker_calls import die_once, refuse, slow_echo, worker_identity


@pytest.fixture
async def pool():
    pool = DbProcessPool(workers=1)
    yield pool
    await pool.shutdown()


async def test_a_call_runs_in_a_django_worker_on_the_parents_database(pool):
    from django.conf import settings

    seen = await pool.call(worker_identity, {})
    assert seen["pid"] != os.getpid() and seen["worker"] == "1"
    assert seen["db"] == str(settings.DATABASES["default"]["NAME"])
    # The same worker serves the next call: set up once, not per call.
    assert (await pool.call(worker_identity, {}))["pid"] == seen["pid"]
    assert pool.worker_pids() == [seen["pid"]]


async def test_calls_in_flight_are_answered_each_with_its_own_result(pool):
    values = await asyncio.gather(*(pool.call(slow_echo, {"value": i, "seconds": 0.01}) for i in range(20)))
    assert values == list(range(20))


async def test_domain_errors_keep_their_code_and_fields(pool):
    with pytest.raises(ApplicationError) as caught:
        await pool.call(refuse, {"code": "conversation_closed"})
    assert caught.value.code == "conversation_closed" and caught.value.fields == {"text": "largo"}
    # The worker lives on.
    assert (await pool.call(slow_echo, {"value": "ok", "seconds": 0})) == "ok"


async def test_a_dead_worker_is_replaced_and_the_call_runs_again(pool, tmp_path):
    first = (await pool.call(worker_identity, {}))["pid"]
    assert await pool.call(die_once, {"marker": str(tmp_path / "marker")}) == "stored"
    assert (tmp_path / "marker").read_text() == "died"
    assert (await pool.call(worker_identity, {}))["pid"] != first


@pytest.mark.django_db
async def test_without_workers_the_call_runs_on_the_database_thread(settings):
    settings.DB_PROCESSES = 0
    assert db_process_pool() is None
    seen = await db_process(worker_identity)()
    assert seen["pid"] == os.getpid() and seen["worker"] is None
