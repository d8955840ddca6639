"""Writes of the knowledge base: uploads, replacements, deletions, indexing.

Consistency between the row and the vector store rests on two rules. The
row's sha256 names the current file; an index task reads it at the start and,
under the row lock at the end, writes its points only if it is still the
same, so a task that lost a race to a newer upload leaves no trace. Deleting
a document removes its points under the same row lock before the row goes,
and a failure to reach Qdrant leaves the document in place.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import structlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled

from project.api.errors import ApplicationError, Conflict
from project.celery import enqueue_on_commit
from strategy.knowledge import extraction, lexical
from strategy.knowledge.chunking import chunk_sections
from strategy.knowledge.embeddings import EmbeddingsUnavailable, embedder
from strategy.knowledge.store import DENSE, LEXICAL, collection, point_id, store
from strategy.models import KnowledgeDocument
from tenancy.actors import StaffActor

log = structlog.get_logger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo"
_ERROR_MAX = 500
# About 10 MB of plain text; beyond it a document is a data dump, not agency knowledge.
MAX_CHUNKS = 10_000


class FileTooLarge(ApplicationError):
    status = 413
    code = "file_too_large"


class VectorStoreUnavailable(ApplicationError):
    status = 503
    code = "vector_store_unavailable"


def _read_upload(file) -> bytes:
    """The upload's bytes, refused before reading when it is too large or empty."""
    limit = settings.KNOWLEDGE_MAX_BYTES
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise FileTooLarge(f"El archivo supera el máximo de {limit // (1024 * 1024)} MB.",
                           fields={"file": ["file_too_large"]})
    data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"El archivo supera el máximo de {limit // (1024 * 1024)} MB.",
                           fields={"file": ["file_too_large"]})
    if not data:
        raise ApplicationError("El archivo está vacío.", code="empty_file", fields={"file": ["empty_file"]})
    return data


def _default_title(filename: str) -> str:
    stem = Path(filename or "").stem.replace("_", " ").replace("-", " ").strip()
    return (stem[:1].upper() + stem[1:])[:200] if stem else "Documento"


def _create(*, agency_id, filename: str, data: bytes, title: str, uploaded_by=None) -> tuple[KnowledgeDocument, bool]:
    kind = extraction.detect_kind(data=data, filename=filename)
    digest = hashlib.sha256(data).hexdigest()
    filename = Path(filename or "documento").name[:255] or "documento"
    with scope(agency=agency_id):
        existing = KnowledgeDocument.objects.filter(agency_id=agency_id, sha256=digest).first()
        if existing is not None:
            # The same bytes again: nothing to do, unless the last attempt failed.
            if existing.status == KnowledgeDocument.Status.FAILED:
                _requeue(existing)
            return existing, False
        document = KnowledgeDocument(
            agency_id=agency_id, title=(title or _default_title(filename))[:200], filename=filename, kind=kind,
            content_type=extraction.CONTENT_TYPES[kind], size=len(data), sha256=digest, uploaded_by=uploaded_by,
        )
        document.file.save("upload", ContentFile(data), save=False)
        try:
            with transaction.atomic():
                document.save()
        except IntegrityError:
            # A concurrent upload of the same bytes won.
            document.file.delete(save=False)
            return KnowledgeDocument.objects.get(agency_id=agency_id, sha256=digest), False
    from strategy.tasks import knowledge_document_index as task

    enqueue_on_commit(task, str(document.id))
    return document, True


def _requeue(document: KnowledgeDocument) -> None:
    from strategy.tasks import knowledge_document_index as task

    KnowledgeDocument.objects.filter(id=document.id).update(status=KnowledgeDocument.Status.QUEUED, error="")
    document.status, document.error = KnowledgeDocument.Status.QUEUED, ""
    enqueue_on_commit(task, str(document.id))


def knowledge_document_upload(*, actor: StaffActor, file, title: str = "") -> tuple[KnowledgeDocument, bool]:
    """Store an uploaded document and queue its indexing.

    Preconditions: the actor is admin+. Returns (document, created); the same
    bytes uploaded again return the existing document and change nothing
    (except that a document whose indexing failed is queued again).
    Refuses a file over KNOWLEDGE_MAX_BYTES (413), an empty one, or one whose
    content is not PDF, DOCX, Markdown or UTF-8 text (400), storing nothing.
    """
    data = _read_upload(file)
    document, created = _create(agency_id=actor.agency_id, filename=getattr(file, "name", "") or "", data=data,
                                title=title.strip(), uploaded_by=actor.user_id)
    if created:
        from tenancy.audit import audit_record

        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="knowledge.upload",
                     target=str(document.id), data={"sha256": document.sha256, "size": document.size})
    return document, created


@transaction.atomic
def knowledge_document_replace(*, actor: StaffActor, document: KnowledgeDocument, file,
                               title: str | None = None) -> tuple[KnowledgeDocument, bool]:
    """Replace a document's file; its chunks are re-indexed (old ones removed).

    Preconditions: the actor is admin+ and `document` was fetched with
    `access_knowledge_document`. Identical bytes are a no-op (the title may
    still change); bytes identical to another document of the agency are a
    409. Returns (document, content_changed).
    """
    data = _read_upload(file)
    filename = getattr(file, "name", "") or document.filename
    kind = extraction.detect_kind(data=data, filename=filename)
    digest = hashlib.sha256(data).hexdigest()
    with scope(agency=actor.agency_id):
        locked = KnowledgeDocument.objects.select_for_update().get(id=document.id, agency_id=actor.agency_id)
        if title:
            locked.title = title.strip()[:200]
        if digest == locked.sha256:
            if title:
                locked.save(update_fields=["title", "updated"])
            return locked, False
        if KnowledgeDocument.objects.filter(agency_id=actor.agency_id, sha256=digest).exclude(id=locked.id).exists():
            raise Conflict("Otro documento de la agencia ya tiene exactamente este contenido.",
                           code="duplicate_document", fields={"file": ["duplicate_document"]})
        old_file = locked.file.name
        locked.file.save("upload", ContentFile(data), save=False)
        locked.filename = Path(filename).name[:255] or locked.filename
        locked.kind, locked.content_type = kind, extraction.CONTENT_TYPES[kind]
        locked.size, locked.sha256 = len(data), digest
        locked.status, locked.error = KnowledgeDocument.Status.QUEUED, ""
        locked.save()
    storage = locked.file.storage
    transaction.on_commit(lambda: storage.delete(old_file) if old_file else None)
    from strategy.tasks import knowledge_document_index as task
    from tenancy.audit import audit_record

    enqueue_on_commit(task, str(locked.id))
    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="knowledge.replace",
                 target=str(locked.id), data={"sha256": digest, "size": len(data)})
    return locked, True


@transaction.atomic
def knowledge_document_delete(*, actor: StaffActor, document: KnowledgeDocument) -> None:
    """Delete a document, its points and its file.

    Preconditions: the actor is admin+ and `document` was fetched with
    `access_knowledge_document`. The points go first, under the row lock (an
    index task finishing now waits, then finds no row); if Qdrant cannot be
    reached nothing is deleted (503).
    """
    with scope(agency=actor.agency_id):
        locked = KnowledgeDocument.objects.select_for_update().filter(id=document.id,
                                                                      agency_id=actor.agency_id).first()
        if locked is None:
            return
        try:
            store().delete(collection(), agency_id=actor.agency_id, document_id=locked.id)
        except Exception as exc:  # any store failure must keep the row and its points together
            log.warning("knowledge_delete_store_failed", document=str(locked.id), error=type(exc).__name__)
            raise VectorStoreUnavailable("El índice de conocimiento no responde; inténtalo de nuevo.") from exc
        file_name, storage = locked.file.name, locked.file.storage
        locked.delete()
    transaction.on_commit(lambda: storage.delete(file_name) if file_name else None)
    from tenancy.audit import audit_record

    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="knowledge.delete",
                 target=str(document.id))


def knowledge_delete_for_agency(*, agency_id) -> int:
    """Remove an agency's whole knowledge base: points, files and rows.

    Preconditions: called as part of deleting the agency (owner action).
    Returns how many documents were removed.
    """
    if agency_id is None:
        raise ValueError("agency_id is required")
    store().delete(collection(), agency_id=agency_id)
    with scope(agency=agency_id):
        documents = list(KnowledgeDocument.objects.filter(agency_id=agency_id))
        for document in documents:
            if document.file.name:
                document.file.storage.delete(document.file.name)
        KnowledgeDocument.objects.filter(agency_id=agency_id).delete()
    return len(documents)


def _finish(*, document_id, agency_id, digest: str, points: list | None, error: str = "") -> str:
    """Write the outcome if `digest` is still the document's file: points (or
    none, on failure) replace the document's old ones under the row lock."""
    with transaction.atomic(), scope(agency=agency_id):
        locked = KnowledgeDocument.objects.select_for_update().filter(id=document_id).first()
        if locked is None or locked.sha256 != digest:
            return "superseded"
        store().replace_document(collection(), agency_id=agency_id, document_id=document_id, points=points or [])
        locked.status = KnowledgeDocument.Status.READY if points else KnowledgeDocument.Status.FAILED
        locked.chunk_count = len(points or [])
        locked.indexed_sha256 = digest if points else ""
        locked.error = error[:_ERROR_MAX]
        locked.save(update_fields=["status", "chunk_count", "indexed_sha256", "error", "updated"])
        return locked.status


def knowledge_document_index(*, document_id, lexical_only_on_failure: bool = False) -> str:
    """Extract, chunk, embed and upsert one document; idempotent.

    Preconditions: none (a missing or replaced document is a no-op). Raises
    EmbeddingsUnavailable when dense embeddings fail, unless
    `lexical_only_on_failure` (the task's last attempt), which indexes with
    the lexical vectors alone and says so in the document's error.
    Returns the outcome: ready, failed, superseded, missing or unchanged.
    """
    with scopes_disabled():
        document = KnowledgeDocument.objects.filter(id=document_id).first()
    if document is None:
        return "missing"
    agency_id, digest = document.agency_id, document.sha256
    if document.status == KnowledgeDocument.Status.READY and document.indexed_sha256 == digest:
        return "unchanged"  # a redelivered task: the points are already there
    with scope(agency=agency_id):
        KnowledgeDocument.objects.filter(id=document.id, sha256=digest).update(status=KnowledgeDocument.Status.INDEXING)
    try:
        with document.file.open("rb") as handle:
            data = handle.read()
        sections = extraction.extract_sections(data=data, kind=document.kind)
    except (extraction.UnreadableDocument, OSError) as exc:
        message = str(exc) if isinstance(exc, extraction.UnreadableDocument) else "No se pudo leer el archivo."
        log.info("knowledge_index_unreadable", document=str(document.id), error=message)
        return _finish(document_id=document.id, agency_id=agency_id, digest=digest, points=None, error=message)
    chunks = chunk_sections(sections, document_title=document.title)
    if len(chunks) > MAX_CHUNKS:
        return _finish(document_id=document.id, agency_id=agency_id, digest=digest, points=None,
                       error=f"El documento es demasiado largo ({len(chunks)} fragmentos; máximo {MAX_CHUNKS}).")
    texts = [f"{chunk.title}\n\n{chunk.text}" for chunk in chunks]
    dense, note = None, ""
    model = embedder()
    if model is not None:
        try:
            dense = model.embed(texts)
        except EmbeddingsUnavailable:
            if not lexical_only_on_failure:
                raise
            note = "Indexado solo con búsqueda léxica: el servicio de embeddings no respondió."
            log.warning("knowledge_index_lexical_only", document=str(document.id))
    layout = store().ensure(collection(), dense_size=len(dense[0]) if dense else None)
    if dense and layout.dense_size != len(dense[0]):
        log.warning("knowledge_dense_layout_mismatch", collection=collection(), expected=layout.dense_size,
                    got=len(dense[0]))
        dense = None
    from qdrant_client import models

    points = []
    for position, chunk in enumerate(chunks):
        vector = {LEXICAL: lexical.document_vector(texts[position])}
        if dense:
            vector[DENSE] = dense[position]
        points.append(models.PointStruct(
            id=point_id(document.id, chunk.index), vector=vector,
            payload={"agency_id": str(agency_id), "document_id": str(document.id), "index": chunk.index,
                     "title": chunk.title, "text": chunk.text},
        ))
    return _finish(document_id=document.id, agency_id=agency_id, digest=digest, points=points, error=note)


def knowledge_seed_demo(*, agency) -> list[KnowledgeDocument]:
    """Load the demo agency's knowledge base (strategy/knowledge/demo/*.md).

    Idempotent: files already loaded (same sha256) are left as they are.
    """
    documents = []
    for path in sorted(DEMO_DIR.glob("*.md")):
        data = path.read_bytes()
        first = data.decode("utf-8").lstrip().splitlines()[0] if data.strip() else ""
        title = first.lstrip("#").strip() if first.startswith("#") else ""
        document, _ = _create(agency_id=agency.id, filename=path.name, data=data, title=title)
        documents.append(document)
    return documents


def knowledge_document_fail(*, document_id, error: str) -> None:
    """Mark a document failed after its index task gave up (its points stay as they were)."""
    with scopes_disabled():
        KnowledgeDocument.objects.filter(id=document_id).exclude(status=KnowledgeDocument.Status.READY).update(
            status=KnowledgeDocument.Status.FAILED, error=error[:_ERROR_MAX])


def knowledge_reindex(*, agency_id=None, recreate: bool = False) -> int:
    """Queue every document (of one agency, or all) for indexing again.

    Preconditions: an operator action. `recreate` drops the shared collection
    first, so its layout is decided anew (e.g. dense vectors after an
    embeddings key was configured); it concerns every agency, so it is refused
    together with `agency_id`. Returns how many documents were queued.
    """
    from strategy.tasks import knowledge_document_index as task

    if recreate and agency_id is not None:
        raise ValueError("recreate drops the collection of every agency: do not combine it with agency_id")
    if recreate:
        store().drop(collection())
    with scopes_disabled():
        documents = KnowledgeDocument.objects.all()
        if agency_id is not None:
            documents = documents.filter(agency_id=agency_id)
        ids = [str(i) for i in documents.values_list("id", flat=True)]
        KnowledgeDocument.objects.filter(id__in=ids).update(status=KnowledgeDocument.Status.QUEUED,
                                                            indexed_sha256="", error="")
    for document_id in ids:
        enqueue_on_commit(task, document_id)
    return len(ids)
