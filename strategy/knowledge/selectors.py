"""Reads of the knowledge base. `knowledge_search` is THE retrieval function
(the strategy writer and the search API both call it); it cannot run without
an agency, and the agency filter is applied inside, on every query."""

from __future__ import annotations

import uuid

import structlog
from django_scopes import scope

from project.api.errors import NotFound
from strategy.knowledge import lexical
from strategy.knowledge.embeddings import EmbeddingsUnavailable, embedder
from strategy.knowledge.store import collection, store
from strategy.models import KnowledgeDocument
from tenancy.actors import StaffActor

log = structlog.get_logger(__name__)

MAX_LIMIT = 50
MAX_QUERY_CHARS = 2000


def _uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound() from None


def access_knowledge_document(actor: StaffActor, document_id) -> KnowledgeDocument:
    """The actor's agency's document; NotFound alike for missing and another agency's."""
    with scope(agency=actor.agency_id):
        try:
            return KnowledgeDocument.objects.get(id=_uuid(document_id), agency_id=actor.agency_id)
        except KnowledgeDocument.DoesNotExist:
            raise NotFound() from None


def knowledge_documents_list(actor: StaffActor):
    """The agency's documents, for cursor pagination (newest first)."""
    with scope(agency=actor.agency_id):
        return KnowledgeDocument.objects.filter(agency_id=actor.agency_id)


def knowledge_search(*, agency_id, query: str, limit: int = 6) -> list[dict]:
    """The agency's chunks that best answer `query`, best first.

    Hybrid when embeddings are configured and the collection has dense
    vectors (sparse and dense candidates fused with RRF), lexical otherwise;
    a failing embeddings call degrades to lexical rather than failing the
    caller. Each result: {"document_id", "index", "title", "text", "score"}.
    Raises ValueError without an agency: there is no cross-tenant search.
    """
    if agency_id is None:
        raise ValueError("knowledge_search needs an agency_id")
    agency = str(uuid.UUID(str(agency_id)))
    text = (query or "").strip()[:MAX_QUERY_CHARS]
    limit = max(1, min(int(limit), MAX_LIMIT))
    if not text:
        return []
    target = store()
    layout = target.layout(collection())
    if layout is None:
        return []
    dense = None
    model = embedder()
    if model is not None and layout.dense_size:
        try:
            dense = model.embed([text])[0]
        except EmbeddingsUnavailable as exc:
            log.warning("knowledge_search_lexical_only", error=str(exc))
    points = target.query(collection(), agency_id=agency, sparse=lexical.query_vector(text), dense=dense,
                          limit=limit)
    results = []
    for point in points:
        payload = point.payload or {}
        if payload.get("agency_id") != agency:
            # Unreachable through the filter above; kept so a bug there cannot leak a tenant's text.
            log.error("knowledge_search_foreign_point", point=str(point.id))
            continue
        results.append({"document_id": str(payload.get("document_id")), "index": int(payload.get("index", 0)),
                        "title": str(payload.get("title") or ""), "text": str(payload.get("text") or ""),
                        "score": float(point.score)})
    if results:
        # Chunks of a document deleted a moment ago (or left by a crash) are never returned.
        with scope(agency=agency):
            alive = {str(i) for i in KnowledgeDocument.objects.filter(
                agency_id=agency, id__in={r["document_id"] for r in results}).values_list("id", flat=True)}
        results = [r for r in results if r["document_id"] in alive]
    return results


_RRF_K = 60
# The words an agency's case studies use for each sector of the flow: a sector
# value ("salud_belleza") rarely appears in a document as such.
_SECTOR_WORDS = {
    "ecommerce": "tienda online comercio electrónico ventas online catálogo",
    "servicios_locales": "negocio local servicios a domicilio zona clientes cercanos",
    "b2b": "empresas B2B clientes industriales equipo comercial",
    "hosteleria": "restaurante hotel bar reservas turismo",
    "salud_belleza": "clínica salud estética belleza dental pacientes tratamientos",
}


def _answer_words(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v).replace("_", " ") for v in value if v)
    return str(value or "").replace("_", " ")


def knowledge_for_strategy(*, agency_id, answers: dict, limit: int = 6) -> list[dict]:
    """The agency's chunks a strategy for these answers should draw on.

    Four questions, each through `knowledge_search` (so the agency filter
    holds): the lead's business and goals, the agency's prices, its services
    for the channels that fit (the lead's, or the sector template's), and a
    case study from the same sector. The questions take turns, each adding
    its best chunk not chosen yet, so every facet is represented; the result
    has the shape of `knowledge_search`, its score being the chunk's RRF score
    over all four rankings.
    """
    from strategy.writer.templates import CHANNELS, get_template

    template = get_template(answers.get("sector"))
    channel_keys = [c for c in (answers.get("channels") or []) if c in CHANNELS] or [
        c.key for c in template.channels[:3]]
    channels = " ".join(f"{CHANNELS[key].label} {CHANNELS[key].default_service}" for key in channel_keys)
    sector_words = f"{template.label} {_SECTOR_WORDS.get(str(answers.get('sector') or ''), '')}"
    questions = [
        f"{sector_words} {_answer_words(answers.get('goals'))} {_answer_words(answers.get('audience'))}",
        "tarifas precios paquetes euros al mes",
        channels,
        f"caso de éxito {sector_words} resultados",
    ]
    rankings = [knowledge_search(agency_id=agency_id, query=question, limit=limit * 2) for question in questions]
    fused: dict[tuple[str, int], float] = {}
    for ranking in rankings:
        for rank, chunk in enumerate(ranking):
            key = (chunk["document_id"], chunk["index"])
            fused[key] = fused.get(key, 0.0) + 1.0 / (_RRF_K + rank + 1)
    # Each question in turn contributes its best chunk not taken yet: prices and a
    # case study are not crowded out by a document that answers every question.
    chosen: dict[tuple[str, int], dict] = {}
    cursors = [iter(ranking) for ranking in rankings]
    while len(chosen) < limit and cursors:
        for cursor in list(cursors):
            chunk = next((c for c in cursor if (c["document_id"], c["index"]) not in chosen), None)
            if chunk is None:
                cursors.remove(cursor)
                continue
            key = (chunk["document_id"], chunk["index"])
            chosen[key] = {**chunk, "score": fused[key]}
            if len(chosen) >= limit:
                break
    return list(chosen.values())
