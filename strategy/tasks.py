"""Celery tasks of the strategy app (queue `strategy`): thin, idempotent, one service each."""

from __future__ import annotations

from project.celery import MAX_COUNTDOWN, app

_INDEX_RETRIES = 3


@app.task(name="strategy.tasks.knowledge_document_index", bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=_INDEX_RETRIES)
def knowledge_document_index(self, document_id: str) -> str:
    """Index one knowledge document. Point ids are derived from the document id
    and chunk index, so a redelivered or retried run writes the same points.
    Embeddings or the vector store failing are retried with backoff; the last
    attempt indexes without dense vectors, or marks the document failed."""
    from strategy.knowledge.services import knowledge_document_fail
    from strategy.knowledge.services import knowledge_document_index as index

    last_attempt = self.request.retries >= _INDEX_RETRIES
    try:
        return index(document_id=document_id, lexical_only_on_failure=last_attempt)
    except Exception as exc:
        if last_attempt:
            knowledge_document_fail(document_id=document_id, error=f"No se pudo indexar ({type(exc).__name__}).")
            raise
        raise self.retry(exc=exc, countdown=min(MAX_COUNTDOWN, 15 * 2 ** self.request.retries)) from exc
