"""Adversarial checks that span processes: background tasks of one agency
named with another's ids, ciphertext in the strategy tables, and an erasure
that must leave the lead's words nowhere — not in any MariaDB column, not in
Redis, not in stored files, not in the web server's log."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet, MultiFernet
from django.db import connection
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

FAST = {"OFFLINE_TOKENS_PER_SECOND": "0", "CHAT_RATE_BURST": "100", "CHAT_RATE_MESSAGES": "1000"}


def _qualified(agency_users):
    from tests.integration.leads import qualified_lead
    from tests.integration.strategy.test_strategy_services import _ready

    lead = qualified_lead(agency_users.agency)
    return lead, _ready(lead)


def test_tasks_named_with_another_agencys_ids_do_nothing(two_agencies):
    from strategy.models import Strategy
    from strategy.services import strategy_deliver, strategy_generate, strategy_request

    a, b = two_agencies
    lead_b, strategy_b = _qualified(b)
    with scopes_disabled():
        before = Strategy.objects.filter(lead=lead_b).count()
    # B's ids with A's agency: the task finds nothing, so it changes nothing.
    assert strategy_request(lead_id=lead_b.id, agency_id=a.agency.id) is None
    strategy_generate(strategy_id=strategy_b.id, agency_id=a.agency.id)
    strategy_deliver(strategy_id=strategy_b.id, agency_id=a.agency.id)
    with scopes_disabled():
        assert Strategy.objects.filter(lead=lead_b).count() == before
        assert Strategy.objects.filter(agency=a.agency).count() == 0
        unchanged = Strategy.objects.get(id=strategy_b.id)
    assert unchanged.attempts == strategy_b.attempts and unchanged.updated == strategy_b.updated


def test_strategy_text_is_ciphertext_at_rest(make_agency, settings):
    keys = MultiFernet([Fernet(k.encode()) for k in settings.FIELD_ENCRYPTION_KEYS])
    _, strategy = _qualified(make_agency("Cipher"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT content, summary FROM strategy_strategy WHERE id = %s", [strategy.id.hex])
        content, summary = cursor.fetchone()
    assert "Panadería Sol" in keys.decrypt(content.encode()).decode()
    assert keys.decrypt(summary.encode()).decode() == strategy.summary
    assert "Panadería" not in content and "Panadería" not in summary


def _mariadb_text_hits(needles: list[str]) -> list[str]:
    """Every character column of every table of the test database that holds a needle."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND data_type IN ('char', 'varchar', 'text', 'mediumtext', 'longtext', 'tinytext', 'json')")
        columns = cursor.fetchall()
        for table, column in columns:
            for needle in needles:
                cursor.execute(f"SELECT COUNT(*) FROM `{table}` WHERE `{column}` LIKE %s", [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column}: {needle}")
    return hits


def _redis_hits(url: str, needles: list[bytes]) -> list[str]:
    client = redis.Redis.from_url(url)
    hits = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b"string":
                values = [client.get(key) or b""]
            elif kind == b"hash":
                values = [k + b"=" + v for k, v in client.hgetall(key).items()]
            elif kind == b"list":
                values = client.lrange(key, 0, -1)
            elif kind == b"set":
                values = list(client.smembers(key))
            elif kind == b"zset":
                values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
            else:
                values = []
            for value in [key, *values]:
                for needle in needles:
                    if needle in value:
                        hits.append(f"{key!r}: {needle!r}")
    finally:
        client.close()
    return hits


def _file_hits(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    if root.exists():
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                hits += [f"{path}: {n!r}" for n in needles if n in data]
    return hits


async def test_erasure_leaves_the_leads_words_nowhere(web_pool, make_agency, session_for, lead_socket, login,
                                                      settings):
    """A lead chats through the real socket (frames through Redis, the
    web server logging), qualifies, gets a strategy PDF; then it is erased."""
    from tests.integration.strategy.conftest import await_until

    server = web_pool(0, **FAST)
    agency = await sync_to_async(make_agency)("Trace")
    tag = uuid.uuid4().hex[:6]
    name, company, email = f"Zacarías Quintanilla{tag}", f"Ebanistería Ñandú{tag}", f"zq{tag}@correo-unico.es"
    session = session_for(server, agency.key.key)
    socket = await lead_socket.connect(server, session["visitor_token"])
    await socket.until_type("qualification")
    await socket.assistant_reply()
    for text in ["Sí, acepto", f"Me llamo {name}", company, "Vendemos por internet, es una tienda online",
                 "Shopify", "ebanisteria.es", "Vender más", "Familias", "Instagram", "unos 2.000 € al mes",
                 "cuanto antes", email, "+34 612 34 56 78"]:
        await socket.say(text)
        frame = await socket.until_type("qualification")
        await socket.assistant_reply()
        if frame["step"] == "done":
            break
    await socket.until_type("strategy", timeout=90, status="ready")
    await socket.close()

    from qualification.models import Lead
    from strategy.models import Strategy

    def load():
        with scopes_disabled():
            found = Lead.objects.get(conversation_id=session["conversation"])
            return found, Strategy.objects.get(lead=found).pdf_name

    lead, pdf_name = await sync_to_async(load)()
    media = Path(settings.MEDIA_ROOT)
    assert (media / pdf_name).exists()
    needles = [name, company, email]
    raw = [n.encode() for n in needles]
    client, _ = await sync_to_async(login)(agency.owner)
    response = await sync_to_async(client.delete)(f"/api/v1/leads/{lead.id}/")
    assert response.status_code == 204

    async def pdf_gone():
        return not (media / pdf_name).exists()

    await await_until(pdf_gone, timeout=20)
    assert await sync_to_async(_mariadb_text_hits)(needles) == []
    assert _redis_hits(settings.REDIS_URL, raw) == []
    assert _file_hits(media, raw) == []
    log = server.log_path.read_bytes()
    assert [n for n in raw if n in log] == []
