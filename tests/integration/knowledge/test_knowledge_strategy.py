"""Agency B's documents never reach agency A's strategy: not in the prompt the
LLM receives, not among the citations of the document the lead gets. Both
agencies hold documents with the same words; the strategy task runs on the
embedded pool against MariaDB and this process's local Qdrant."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from tests.doubles.openai_server import OpenAIDouble
from tests.integration.leads import qualified_lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

PRICES = ("# Tarifas\n\n## Redes sociales\n\nGestión de redes sociales e Instagram para tiendas online: {price} al mes.\n\n"
          "## SEO\n\nPosicionamiento SEO para tiendas online: {seo} al mes.\n")


def _wait(predicate, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _upload_ready(client, name: str, text: str) -> str:
    from strategy.models import KnowledgeDocument

    response = client.post("/api/v1/knowledge/documents/", {"file": SimpleUploadedFile(name, text.encode())},
                           format="multipart")
    assert response.status_code == 201, response.content

    def ready():
        with scopes_disabled():
            return KnowledgeDocument.objects.filter(id=response.json()["id"], status="ready").exists()

    _wait(ready)
    return response.json()["id"]


@pytest.fixture
def double(settings, tmp_path):
    server = OpenAIDouble().start()
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-test", server.base_url
    settings.QDRANT_COLLECTION = f"test_{uuid.uuid4().hex[:12]}"
    settings.MEDIA_ROOT = tmp_path / "media"
    yield server
    server.stop()


def test_agency_b_documents_never_reach_agency_a_strategy(two_agencies, login, double):
    from strategy.models import Strategy

    a, b = two_agencies
    a_admin, _ = login(a.admin)
    b_admin, _ = login(b.admin)
    doc_a = _upload_ready(a_admin, "tarifas.md", PRICES.format(price="390 €", seo="590 €"))
    doc_b = _upload_ready(b_admin, "tarifas.md", PRICES.format(price="777 €", seo="888 €"))
    extra_b = _upload_ready(b_admin, "instagram.md", "# Instagram\n\nCampañas de Instagram para panaderías: 999 € al mes.")

    lead = qualified_lead(a.agency)
    assert lead.status == "qualified"

    def finished():
        with scopes_disabled():
            return Strategy.objects.filter(lead=lead, status__in=("ready", "failed")).first()

    strategy = _wait(finished, timeout=90)
    assert strategy.status == "ready", strategy.error

    prompts = [message["content"] for request in double.requests if request["path"] == "/v1/chat/completions"
               for message in request["body"]["messages"]
               if message["role"] == "user" and "<documentos_agencia>" in (message.get("content") or "")]
    assert prompts, "the LLM was asked for a strategy with the agency's documents"
    for prompt in prompts:
        assert doc_a in prompt and "390 €" in prompt
        for foreign in (doc_b, extra_b, "777 €", "888 €", "999 €"):
            assert foreign not in prompt
    cited = {citation["document_id"] for citation in strategy.content.get("citations", [])}
    assert cited == {doc_a}  # the template writer quotes the agency's own prices
    # Ids (random UUIDs, which may well contain "777") are not text a lead reads.
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", str(strategy.content))
    assert "777" not in text and "888" not in text and "999 €" not in text
