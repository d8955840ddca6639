"""Celery tasks of the strategy pipeline: ids in, one service called."""

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
