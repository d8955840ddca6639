"""The knowledge base end to end on MariaDB and local Qdrant: upload through
the API → index task → search finds the chunk; replace, delete, redelivery,
refusals and the role matrix."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db

TARIFAS = """# Tarifas

## Paquete Arranque

Gestión de campañas de Google Ads por 490 € al mes, con informe mensual.

## Paquete Crecimiento

Google Ads, Meta Ads y SEO local por 990 € al mes.
"""


def point_count(agency_id, document_id=None) -> int:
    from strategy.knowledge.store import collection, store

    return store().count(collection(), agency_id=agency_id, document_id=document_id)


def _documents(agency):
    from strategy.models import KnowledgeDocument

    with scopes_disabled():
        return list(KnowledgeDocument.objects.filter(agency=agency))


def _search(client, q: str) -> list[dict]:
    response = client.get("/api/v1/knowledge/search", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_upload_indexes_and_search_finds_the_chunk(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    response = upload(admin, "tarifas.md", TARIFAS.encode())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "markdown" and body["title"] == "Tarifas"
    document = admin.get(f"/api/v1/knowledge/documents/{body['id']}/").json()
    assert document["status"] == "ready" and document["chunks"] == 2 and document["error"] is None
    assert point_count(a.agency.id, body["id"]) == 2

    viewer, _ = login(a.viewer)
    results = _search(viewer, "¿Cuánto cuesta la campaña de Google Ads?")
    assert results[0]["document_id"] == body["id"]
    assert results[0]["title"] == "Tarifas › Paquete Arranque"
    assert "490 €" in results[0]["text"]
    assert set(results[0]) == {"document_id", "index", "title", "text", "score"}
    assert isinstance(results[0]["index"], int) and isinstance(results[0]["score"], float)
    listing = viewer.get("/api/v1/knowledge/documents/").json()
    assert [d["id"] for d in listing["results"]] == [body["id"]]


def test_identical_reupload_is_a_no_op(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    first = upload(admin, "tarifas.md", TARIFAS.encode()).json()
    again = upload(admin, "otra-copia.md", TARIFAS.encode())
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert len(_documents(a.agency)) == 1 and point_count(a.agency.id) == 2


def test_replace_removes_the_old_chunks(knowledge, make_agency, login, upload, replace):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "tarifas.md", TARIFAS.encode()).json()
    assert _search(admin, "paquete arranque")
    new = "# Tarifas 2026\n\nAuditoría SEO por 650 € en pago único.\n"
    response = replace(admin, doc["id"], "tarifas-2026.md", new.encode())
    assert response.status_code == 200, response.content
    after = admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").json()
    assert after["status"] == "ready" and after["chunks"] == 1 and after["sha256"] != doc["sha256"]
    assert after["filename"] == "tarifas-2026.md"
    assert point_count(a.agency.id, doc["id"]) == 1
    assert _search(admin, "paquete arranque crecimiento") == []
    assert "650 €" in _search(admin, "auditoría seo")[0]["text"]
    # The replaced file is gone from storage; only the new one is left.
    (document,) = _documents(a.agency)
    files = [p for p in (knowledge.MEDIA_ROOT / "knowledge" / str(a.agency.id)).iterdir()]
    assert [p.name for p in files] == [document.file.name.rsplit("/", 1)[-1]]


def test_delete_removes_points_and_file(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "tarifas.md", TARIFAS.encode()).json()
    (document,) = _documents(a.agency)
    path = knowledge.MEDIA_ROOT / document.file.name
    assert path.exists() and point_count(a.agency.id, doc["id"]) == 2
    response = admin.delete(f"/api/v1/knowledge/documents/{doc['id']}/")
    assert response.status_code == 204
    assert point_count(a.agency.id, doc["id"]) == 0
    assert admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").status_code == 404
    assert _search(admin, "paquete arranque") == []


def test_redelivered_index_task_does_not_duplicate_points(knowledge, make_agency, login, upload):
    from strategy.models import KnowledgeDocument
    from strategy.tasks import knowledge_document_index

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "tarifas.md", TARIFAS.encode()).json()
    assert point_count(a.agency.id) == 2
    # A worker died after writing the points but before acknowledging: the task
    # arrives again, even with the row still saying "indexing".
    with scopes_disabled():
        KnowledgeDocument.objects.filter(id=doc["id"]).update(status="indexing", indexed_sha256="")
    assert knowledge_document_index.apply(args=[doc["id"]]).get() == "ready"
    assert knowledge_document_index.apply(args=[doc["id"]]).get() == "unchanged"
    assert point_count(a.agency.id) == 2
    assert len(_search(admin, "paquete google ads")) == 2


def test_a_stale_index_task_leaves_no_trace(knowledge, make_agency, login, upload, replace):
    """A task that read the old file finishes after the replacement: its chunks are not written."""
    from strategy.knowledge import services

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    doc = upload(admin, "tarifas.md", TARIFAS.encode()).json()
    finish = services._finish
    with scopes_disabled():
        from strategy.models import KnowledgeDocument

        old_sha = KnowledgeDocument.objects.get(id=doc["id"]).sha256
    replace(admin, doc["id"], "nuevo.md", b"# Nuevo\n\nSolo redes sociales a 450 euros.\n")
    outcome = finish(document_id=doc["id"], agency_id=a.agency.id, digest=old_sha, points=[])
    assert outcome == "superseded"
    assert point_count(a.agency.id, doc["id"]) == 1 and "redes sociales" in _search(admin, "redes")[0]["text"]


def test_unreadable_document_fails_with_a_reason(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    response = upload(admin, "roto.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20)
    assert response.status_code == 201
    document = admin.get(f"/api/v1/knowledge/documents/{response.json()['id']}/").json()
    assert document["status"] == "failed" and "PDF" in document["error"] and document["chunks"] == 0


def test_refusals_store_nothing(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    big = upload(admin, "enorme.pdf", b"%PDF-1.7\n" + b"0" * (30 * 1024 * 1024))
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "file_too_large"
    exe = upload(admin, "catalogo.pdf", b"MZ\x90\x00" + bytes(range(256)) * 64)
    assert exe.status_code == 400 and exe.json()["error"]["code"] == "unsupported_type"
    program = upload(admin, "setup.exe", b"MZ\x90\x00" + bytes(range(256)) * 64)
    assert program.status_code == 400 and program.json()["error"]["code"] == "unsupported_type"
    junk = upload(admin, "datos.txt", bytes(range(256)) * 64)
    assert junk.status_code == 400 and junk.json()["error"]["code"] == "unsupported_type"
    empty = upload(admin, "vacio.txt", b"")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_file"
    missing = admin.post("/api/v1/knowledge/documents/", {"title": "sin archivo"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    assert _documents(a.agency) == [] and point_count(a.agency.id) == 0
    assert not (knowledge.MEDIA_ROOT / "knowledge").exists() or not any((knowledge.MEDIA_ROOT / "knowledge").rglob("*.*"))
    assert not list((knowledge.MEDIA_ROOT).rglob("*")) or all(p.is_dir() for p in knowledge.MEDIA_ROOT.rglob("*"))


def test_max_bytes_setting_is_honoured(knowledge, make_agency, login, upload):
    knowledge.KNOWLEDGE_MAX_BYTES = 1000
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    assert upload(admin, "notas.txt", b"a" * 1001).status_code == 413
    assert upload(admin, "notas.txt", b"a " * 500).status_code == 201


@pytest.mark.parametrize("role, upload_status", [("viewer", 403), ("agent", 403), ("admin", 201), ("owner", 201)])
def test_role_matrix(knowledge, make_agency, login, upload, replace, role, upload_status):
    a = make_agency("Alfa")
    client, _ = login(a.user(role))
    response = upload(client, f"{role}.md", f"# Nota de {role}\n\nTexto de prueba.".encode())
    assert response.status_code == upload_status, response.content
    assert client.get("/api/v1/knowledge/documents/").status_code == 200
    assert client.get("/api/v1/knowledge/search", {"q": "texto"}).status_code == 200
    admin, _ = login(a.admin)
    doc = upload(admin, "base.md", b"# Base\n\nDocumento base de la agencia.").json()
    allowed = upload_status == 201
    assert client.get(f"/api/v1/knowledge/documents/{doc['id']}/").status_code == 200
    put = replace(client, doc["id"], "base.md", b"# Base\n\nVersion nueva.")
    assert put.status_code == (200 if allowed else 403)
    assert client.delete(f"/api/v1/knowledge/documents/{doc['id']}/").status_code == (204 if allowed else 403)


def test_another_agencys_document_is_404(knowledge, two_agencies, login, upload, replace):
    a, b = two_agencies
    b_admin, _ = login(b.admin)
    doc_b = upload(b_admin, "b.md", b"# Beta\n\nDocumento de Beta.").json()
    a_owner, _ = login(a.owner)
    url = f"/api/v1/knowledge/documents/{doc_b['id']}/"
    assert a_owner.get(url).status_code == 404
    assert replace(a_owner, doc_b["id"], "x.md", b"# X\n\nsecuestro").status_code == 404
    assert a_owner.delete(url).status_code == 404
    assert a_owner.get("/api/v1/knowledge/documents/not-a-uuid/").status_code == 404
    assert b_admin.get(url).json()["chunks"] == 1 and point_count(b.agency.id, doc_b["id"]) == 1


def test_search_requires_a_query(knowledge, make_agency, login):
    a = make_agency("Alfa")
    viewer, _ = login(a.viewer)
    response = viewer.get("/api/v1/knowledge/search")
    assert response.status_code == 400 and response.json()["error"]["fields"]["q"]
    assert viewer.get("/api/v1/knowledge/search", {"q": "nada indexado"}).json() == {"results": []}


def test_a_question_of_stopwords_retrieves_nothing(knowledge, make_agency, login, upload):
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    upload(admin, "tarifas.md", TARIFAS.encode())
    assert _search(admin, "de la para con") == []
    assert _search(admin, "PAQUETE arranque")[0]["title"] == "Tarifas › Paquete Arranque"


def test_the_service_checks_the_size_itself(knowledge, make_agency):
    """Behind a proxy that strips Content-Length, the file's own size still decides."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from strategy.knowledge.services import FileTooLarge, knowledge_document_upload
    from tenancy.actors import StaffActor

    a = make_agency("Alfa")
    actor = StaffActor(user_id=a.admin.id, agency_id=a.agency.id, role="admin")
    with pytest.raises(FileTooLarge) as excinfo:
        knowledge_document_upload(actor=actor, file=SimpleUploadedFile("big.txt", b"a" * (30 * 1024 * 1024)))
    assert excinfo.value.status == 413
    assert _documents(a.agency) == []


def test_pdf_and_docx_uploads_are_searchable_by_page_and_heading(knowledge, make_agency, login, upload):
    from tests.unit.strategy.test_knowledge_extraction import make_docx, make_pdf

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    pdf = upload(admin, "folleto.pdf", make_pdf(["Somos una agencia de Valencia.", "Fotografía de producto para tiendas."]),
                 title="Folleto 2025")
    docx = upload(admin, "servicios.docx", make_docx())
    assert pdf.status_code == docx.status_code == 201
    assert pdf.json()["kind"] == "pdf" and docx.json()["kind"] == "docx"
    photo = _search(admin, "fotografía de productos")
    assert photo[0]["title"] == "Folleto 2025 › Página 2" and photo[0]["document_id"] == pdf.json()["id"]
    maps = _search(admin, "reseñas en el perfil de empresa")
    assert maps[0]["title"] == "Servicios › SEO local" and "990 €" in maps[0]["text"]


def test_many_chunks_are_upserted_in_batches_and_too_many_fail(knowledge, make_agency, login, upload, monkeypatch):
    from strategy.knowledge import services

    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    body = "\n\n".join(f"# Servicio {n}\n\nDescripción del servicio número {n}." for n in range(300))
    doc = upload(admin, "catalogo.md", body.encode()).json()
    assert admin.get(f"/api/v1/knowledge/documents/{doc['id']}/").json()["chunks"] == 300
    assert point_count(a.agency.id, doc["id"]) == 300
    assert _search(admin, "servicio número 287")[0]["title"] == "Servicio 287"

    monkeypatch.setattr(services, "MAX_CHUNKS", 5)
    big = upload(admin, "otro.md", body.replace("Servicio", "Producto").encode()).json()
    failed = admin.get(f"/api/v1/knowledge/documents/{big['id']}/").json()
    assert failed["status"] == "failed" and "demasiado largo" in failed["error"]
    assert point_count(a.agency.id, big["id"]) == 0
