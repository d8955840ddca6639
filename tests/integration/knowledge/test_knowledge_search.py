"""`knowledge_search`, the one retrieval function: tenant filter by
construction, hybrid dense + sparse with RRF through the OpenAI double, the
lexical fallback, the embedded task path, the demo knowledge base, health."""

from __future__ import annotations

import socket
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from strategy.knowledge.selectors import knowledge_search
from tests.doubles.openai_server import OpenAIDouble

SHARED_WORDS = "# Paquete Crecimiento\n\nGestión de campañas de Google Ads y SEO local para clínicas: {price} al mes.\n"
THREE_SECTIONS = ("# Precios\n\nGoogle Ads cuesta 490 euros mensuales.\n\n# Equipo\n\nDoce personas en Valencia.\n\n"
                  "# Horario\n\nDe lunes a viernes, mañanas y tardes.\n")


def point_count(agency_id, document_id=None) -> int:
    from strategy.knowledge.store import collection, store

    return store().count(collection(), agency_id=agency_id, document_id=document_id)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def double():
    with OpenAIDouble() as d:
        yield d


@pytest.mark.django_db
@pytest.mark.parametrize("dense", [False, True], ids=["lexical", "hybrid"])
def test_agency_b_never_appears_in_agency_a(knowledge, two_agencies, login, upload, double, dense):
    if dense:
        knowledge.OPENAI_API_KEY, knowledge.OPENAI_BASE_URL = "sk-test", double.base_url
    a, b = two_agencies
    a_admin, _ = login(a.admin)
    b_admin, _ = login(b.admin)
    doc_a = upload(a_admin, "a.md", SHARED_WORDS.format(price="990 €").encode()).json()
    doc_b = upload(b_admin, "b.md", SHARED_WORDS.format(price="1.500 €").encode()).json()
    extra_b = upload(b_admin, "b2.md", b"# Otro\n\nCampa\xc3\xb1as de Google Ads para cl\xc3\xadnicas dentales.").json()
    for query in ("paquete crecimiento google ads clínicas", "campañas", "1.500 €", "Otro"):
        found_a = knowledge_search(agency_id=a.agency.id, query=query, limit=50)
        assert {r["document_id"] for r in found_a} <= {doc_a["id"]}, query
        found_b = knowledge_search(agency_id=str(b.agency.id), query=query, limit=50)
        assert {r["document_id"] for r in found_b} <= {doc_b["id"], extra_b["id"]}, query
        api = a_admin.get("/api/v1/knowledge/search", {"q": query, "limit": 50}).json()["results"]
        assert all(r["document_id"] == doc_a["id"] and "1.500" not in r["text"] for r in api), query
    assert knowledge_search(agency_id=a.agency.id, query="campañas")[0]["text"].endswith("990 € al mes.")
    with pytest.raises(ValueError):
        knowledge_search(agency_id=None, query="campañas")
    with pytest.raises(ValueError):
        knowledge_search(agency_id="", query="campañas")


@pytest.mark.django_db
def test_hybrid_search_fuses_dense_and_sparse(knowledge, make_agency, login, upload, double):
    from strategy.knowledge.store import collection, store

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "lexical.md", THREE_SECTIONS.encode()).json()
    # Lexical only (no key): only the chunk that shares words with the question.
    lexical = knowledge_search(agency_id=a.agency.id, query="¿Cuánto cuesta Google Ads?")
    assert [r["title"] for r in lexical] == ["Precios"]

    knowledge.QDRANT_COLLECTION += "_dense"
    knowledge.OPENAI_API_KEY, knowledge.OPENAI_BASE_URL = "sk-test", double.base_url
    with scopes_disabled():
        from strategy.models import KnowledgeDocument

        KnowledgeDocument.objects.filter(id=doc["id"]).delete()
    doc = upload(admin, "hybrid.md", THREE_SECTIONS.encode()).json()
    assert admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").json()["status"] == "ready"
    assert store().layout(collection()).dense_size == 64
    embedded = [r["body"] for r in double.requests if r["path"] == "/v1/embeddings"]
    assert embedded[0]["model"] == knowledge.OPENAI_EMBEDDING_MODEL and len(embedded[0]["input"]) == 3
    assert embedded[0]["input"][0].startswith("Precios\n\nGoogle Ads")

    hybrid = knowledge_search(agency_id=a.agency.id, query="¿Cuánto cuesta Google Ads?")
    # The dense prefetch brings chunks with no word in common; RRF still puts
    # the chunk that both lists rank first on top.
    assert hybrid[0]["title"] == "Precios"
    assert {r["title"] for r in hybrid} == {"Precios", "Equipo", "Horario"}
    assert hybrid[0]["score"] > hybrid[1]["score"]
    assert double.requests[-1]["body"]["input"] == ["¿Cuánto cuesta Google Ads?"]


@pytest.mark.django_db
def test_embeddings_down_degrade_to_lexical(knowledge, make_agency, login, upload, double):
    knowledge.OPENAI_API_KEY, knowledge.OPENAI_BASE_URL = "sk-test", double.base_url
    knowledge.OPENAI_MAX_RETRIES = 0
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    upload(admin, "uno.md", THREE_SECTIONS.encode())
    # The embeddings service goes away: indexing retries, then indexes lexically and says so.
    knowledge.OPENAI_BASE_URL = f"http://127.0.0.1:{_closed_port()}/v1"
    doc = upload(admin, "dos.md", b"# Redes\n\nGestion de redes sociales por 450 euros.").json()
    document = admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").json()
    assert document["status"] == "ready" and "léxica" in document["error"]
    results = knowledge_search(agency_id=a.agency.id, query="redes sociales")
    assert results[0]["document_id"] == doc["id"]


@pytest.mark.django_db
def test_delete_for_agency_removes_only_that_agency(knowledge, two_agencies, login, upload):
    from strategy.knowledge.services import knowledge_delete_for_agency

    a, b = two_agencies
    a_admin, _ = login(a.admin)
    b_admin, _ = login(b.admin)
    upload(a_admin, "a.md", SHARED_WORDS.format(price="990 €").encode())
    upload(b_admin, "b.md", SHARED_WORDS.format(price="1.500 €").encode())
    assert knowledge_delete_for_agency(agency_id=a.agency.id) == 1
    assert point_count(a.agency.id) == 0 and point_count(b.agency.id) == 1
    assert knowledge_search(agency_id=a.agency.id, query="campañas") == []
    assert len(knowledge_search(agency_id=b.agency.id, query="campañas")) == 1
    with pytest.raises(ValueError):
        knowledge_delete_for_agency(agency_id=None)


@pytest.mark.django_db
def test_seed_demo_loads_the_demo_knowledge_base_once(knowledge, django_capture_on_commit_callbacks):
    from strategy.models import KnowledgeDocument
    from tenancy.models import Agency

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("seed_demo", "--json", stdout=StringIO())
    assert len(callbacks) == 4
    with scopes_disabled():
        agency = Agency.objects.get(slug="agencia-demo")
        documents = list(KnowledgeDocument.objects.filter(agency=agency).order_by("filename"))
    assert [d.status for d in documents] == ["ready"] * 4
    assert [d.title for d in documents][:2] == ["Servicios de Agencia Demo", "Tarifas y paquetes 2025"]
    results = knowledge_search(agency_id=agency.id, query="¿Cuánto cuesta el paquete Crecimiento?")
    assert results[0]["title"] == "Tarifas y paquetes 2025 › Paquete Crecimiento"
    assert "990 €" in results[0]["text"]
    case = knowledge_search(agency_id=agency.id, query="caso de éxito clínica dental reseñas")
    assert case[0]["title"].startswith("Caso de éxito: Clínica Dental")

    with django_capture_on_commit_callbacks(execute=True) as again:
        call_command("seed_demo", "--json", stdout=StringIO())
    assert again == []
    with scopes_disabled():
        assert KnowledgeDocument.objects.filter(agency=agency).count() == 4


@pytest.mark.django_db(transaction=True)
def test_embedded_default_runs_the_task_in_process(knowledge, make_agency, login):
    """The development default: no broker, the task runs in this process's pool after commit."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    knowledge.CELERY_EMBEDDED = True
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    response = admin.post("/api/v1/knowledge/documents/",
                          {"file": SimpleUploadedFile("notas.txt", "Hacemos campañas de email marketing.".encode())},
                          format="multipart")
    assert response.status_code == 201
    deadline = time.time() + 20
    while time.time() < deadline:
        status = admin.get(f"/api/v1/knowledge/documents/{response.json()['id']}/").json()["status"]
        if status == "ready":
            break
        time.sleep(0.1)
    assert status == "ready"
    assert knowledge_search(agency_id=a.agency.id, query="campaña email")[0]["title"] == "Notas"


@pytest.mark.django_db
def test_ready_checks_the_vector_store(knowledge, client):
    knowledge.REDIS_URL = None
    knowledge.CELERY_BROKER_URL = None
    ok = client.get("/health/ready")
    assert ok.status_code == 200 and ok.json()["checks"]["vector_store"] == "ok"
    knowledge.QDRANT_URL = f"http://127.0.0.1:{_closed_port()}"
    down = client.get("/health/ready")
    assert down.status_code == 503 and down.json()["checks"]["vector_store"].startswith("error")
    assert "vector_store" in down.json()["error"]["fields"]["failing"]


@pytest.mark.django_db
def test_reindex_recreate_gains_dense_vectors(knowledge, make_agency, login, upload, double,
                                             django_capture_on_commit_callbacks):
    """Documents indexed lexically get dense vectors once a key is configured and the collection recreated."""
    from strategy.knowledge.store import collection, store

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "tres.md", THREE_SECTIONS.encode()).json()
    assert store().layout(collection()).dense_size is None
    knowledge.OPENAI_API_KEY, knowledge.OPENAI_BASE_URL = "sk-test", double.base_url
    with pytest.raises(Exception, match="recreate"):
        call_command("knowledge_reindex", "--recreate", "--agency", str(a.agency.id), stdout=StringIO())
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("knowledge_reindex", "--recreate", stdout=out)
    assert "1 documents queued" in out.getvalue()
    assert store().layout(collection()).dense_size == 64
    assert admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").json()["status"] == "ready"
    assert point_count(a.agency.id, doc["id"]) == 3
    assert {r["title"] for r in knowledge_search(agency_id=a.agency.id, query="Google Ads")} == {
        "Precios", "Equipo", "Horario"}


@pytest.mark.django_db
def test_knowledge_for_strategy_brings_prices_and_the_sector_case(knowledge, django_capture_on_commit_callbacks):
    from strategy.knowledge.selectors import knowledge_for_strategy
    from tenancy.models import Agency

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--json", stdout=StringIO())
    with scopes_disabled():
        agency = Agency.objects.get(slug="agencia-demo")
    clinic = knowledge_for_strategy(agency_id=agency.id, answers={
        "company": "Clínica Vera", "sector": "salud_belleza", "goals": ["captar_clientes"],
        "channels": ["google_business", "sem"], "budget_monthly": 1200, "audience": "pacientes de Valencia"})
    titles = [c["title"] for c in clinic]
    assert len(clinic) == 6 and len({(c["document_id"], c["index"]) for c in clinic}) == 6
    assert any(t.startswith("Caso de éxito: Clínica Dental") for t in titles), titles
    assert any(t.startswith("Tarifas y paquetes 2025") and "€" in c["text"] for t, c in zip(titles, clinic)), titles
    assert not any(t.startswith("Caso de éxito: Olivar") for t in titles[:3]), titles
    shop = knowledge_for_strategy(agency_id=agency.id, answers={"sector": "ecommerce", "goals": ["ventas"]}, limit=4)
    assert any(c["title"].startswith("Caso de éxito: Olivar") for c in shop), [c["title"] for c in shop]
    assert all(set(c) == {"document_id", "index", "title", "text", "score"} for c in shop)
    with pytest.raises(ValueError):
        knowledge_for_strategy(agency_id=None, answers={"sector": "ecommerce"})
