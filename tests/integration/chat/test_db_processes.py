"""The lead's messages and the finished replies stored by database worker
processes (DB_PROCESSES, project/db/processes.py) in a real web process:
the same frames and rows as on the database thread, domain errors that
cross the process boundary with their codes, and a killed worker that
loses nothing."""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

WORKERS = {"DB_PROCESSES": "1", "OFFLINE_TOKENS_PER_SECOND": "400"}


@sync_to_async
def _turns(conversation_id):
    from chat.models import Turn

    with scopes_disabled():
        return list(Turn.objects.filter(conversation_id=conversation_id).order_by("seq")
                    .values_list("role", "text", "seq", "stopped"))


@sync_to_async
def _close(conversation_id):
    from chat.models import Conversation

    with scopes_disabled():
        Conversation.objects.filter(id=conversation_id).update(status=Conversation.Status.CLOSED)


def _db_workers(server) -> list[psutil.Process]:
    children = psutil.Process(server.proc.pid).children(recursive=True)
    return [c for c in children if "project.db.worker" in c.cmdline()]


async def _wait_for_workers(server, *, other_than: int | None = None) -> list[psutil.Process]:
    deadline = time.time() + 15
    while time.time() < deadline:
        workers = [w for w in _db_workers(server) if w.pid != other_than]
        if workers:
            return workers
        await asyncio.sleep(0.1)
    raise AssertionError("the web process has no database worker")


async def test_messages_and_replies_through_a_worker_process(web_pool, make_agency, session_for, lead_socket):
    server = web_pool(0, **WORKERS)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    # The first lead socket started it; one per web process (DB_PROCESSES=1).
    assert len(await _wait_for_workers(server)) == 1
    client_id = await lead.say("Sí, acepto")
    ack = await lead.until_type("message")
    assert ack["client_id"] == client_id and ack["text"] == "Sí, acepto"
    reply = await lead.assistant_reply()
    assert lead.streamed_text(reply["turn"]) == reply["text"]
    seqs = [f["seq"] for f in lead.frames if "seq" in f]
    assert seqs == list(range(1, len(seqs) + 1))
    # A resend answers the stored frame, through the worker too.
    await lead.say("Sí, acepto", client_id=client_id)
    assert await lead.until_type("message") == ack
    turns = await _turns(session["conversation"])
    assert [t[0] for t in turns] == ["assistant", "lead", "assistant"]
    assert turns[1] == ("lead", "Sí, acepto", ack["seq"], False)
    assert turns[2][1] == reply["text"]
    await lead.close()


async def test_domain_error_crosses_the_process_boundary_with_its_code(web_pool, make_agency, session_for,
                                                                        lead_socket):
    server = web_pool(0, **WORKERS)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    await _close(session["conversation"])
    await lead.say("¿Seguís ahí?")
    error = await lead.until_type("error")
    assert error["code"] == "conversation_closed"
    assert [t[0] for t in await _turns(session["conversation"])] == ["assistant"]
    await lead.close()


async def test_a_killed_worker_is_replaced_and_nothing_is_lost(web_pool, make_agency, session_for, lead_socket):
    server = web_pool(0, **WORKERS)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    (worker,) = await _wait_for_workers(server)
    worker.kill()  # SIGKILL, as the OOM killer would
    worker.wait(10)
    client_id = await lead.say("Sí, acepto")
    ack = await lead.until_type("message", timeout=30)
    assert ack["client_id"] == client_id
    reply = await lead.assistant_reply(timeout=30)
    turns = await _turns(session["conversation"])
    assert [(t[0], t[1]) for t in turns] == [("assistant", turns[0][1]), ("lead", "Sí, acepto"),
                                              ("assistant", reply["text"])]
    assert await _wait_for_workers(server, other_than=worker.pid)
    await lead.close()
