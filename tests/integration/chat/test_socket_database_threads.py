"""The sockets' database work runs on a pool of threads (project/db/aio.py),
not on asgiref's one shared thread: a conversation whose write waits on a
row lock must not hold up another conversation's socket in the same process."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

FAST = {"OFFLINE_TOKENS_PER_SECOND": "400"}


def _hold_row_lock(conversation_id: str, locked: threading.Event, release: threading.Event) -> None:
    """Another client (an admin's query, a slow worker) holding the conversation's row."""
    from chat.models import Conversation

    try:
        with scopes_disabled(), transaction.atomic():
            Conversation.objects.select_for_update().filter(id=conversation_id).exists()
            locked.set()
            release.wait(8)
    finally:
        connection.close()


@sync_to_async
def _lead_messages(conversation_id):
    from chat.models import Turn

    with scopes_disabled():
        return list(Turn.objects.filter(conversation_id=conversation_id, role="lead").values_list("text", flat=True))


async def test_a_conversation_waiting_on_a_row_lock_does_not_stall_another(web_pool, transactional_db, make_agency,
                                                                            session_for, lead_socket):
    server = web_pool(0, **FAST)
    agency = await sync_to_async(make_agency)()
    first, second = session_for(server, agency.key.key), session_for(server, agency.key.key)
    blocked = await lead_socket.connect(server, first["visitor_token"])
    other = await lead_socket.connect(server, second["visitor_token"])
    await blocked.assistant_reply()
    await other.assistant_reply()

    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_row_lock, args=(first["conversation"], locked, release))
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5)
        await blocked.say("Sí, acepto")
        await asyncio.sleep(0.3)  # the first conversation's write is now waiting for the lock
        started = time.monotonic()
        await other.say("Sí, acepto")
        ack = await other.until_type("message", timeout=5)
        waited = time.monotonic() - started
        # On one shared database thread this ack would wait for the lock holder (8 s).
        assert waited < 2.0, f"the other conversation waited {waited:.1f} s behind a row lock"
        assert ack["text"] == "Sí, acepto"
        assert await _lead_messages(first["conversation"]) == []  # still waiting for the lock
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    # Once the lock is released the first message goes through, stored once.
    ack = await blocked.until_type("message", timeout=10)
    assert ack["text"] == "Sí, acepto"
    assert await _lead_messages(first["conversation"]) == ["Sí, acepto"]
    assert await _lead_messages(second["conversation"]) == ["Sí, acepto"]
    await blocked.close()
    await other.close()
