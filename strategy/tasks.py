"""Celery tasks of the strategy app (queue `strategy`): ids in, one service called."""

from __future__ import annotations

from celery import shared_task

from project.celery import retry_countdown


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def strategy_queue(self, lead_id: str, agency_id: str) -> None:
    """Queued by the commit that qualified a lead. A task, not a call inside
    that commit: the lead's message stays as cheap as any other, and the
    `strategy` frame (a later seq) is announced after the message's own."""
    from strategy.services import strategy_request

    try:
        strategy_request(lead_id=lead_id, agency_id=agency_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries, base=1.0))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def strategy_reconcile() -> dict:
    """On the beat schedule: re-queue what a lost enqueue or worker left undone."""
    from strategy.services import strategy_reconcile as reconcile

    return reconcile()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=4)
def strategy_generate(self, strategy_id: str, agency_id: str) -> None:
    from strategy import services

    try:
        services.strategy_generate(strategy_id=strategy_id, agency_id=agency_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            services.strategy_fail(strategy_id=strategy_id, agency_id=agency_id, error=f"{type(exc).__name__}: {exc}")
            raise
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries))


_INDEX_RETRIES = 3


@shared_task(name="strategy.tasks.knowledge_document_index", bind=True, acks_late=True, reject_on_worker_lost=True,
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
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries, base=15.0))
