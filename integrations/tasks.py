"""Celery tasks of the CRM sync and the webhooks (queue `crm`): take ids, call one service.

Retries are scheduled by the tasks themselves from what the service returns
(the attempt count lives in the database, not in Celery): each countdown stays
below the broker's visibility timeout, and a longer wait is carried as
`due_at` and reached in several hops instead of being slept.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from integrations.retry import MAX_HOP_SECONDS, backoff_delay, due, next_hop
from project.celery import app


def _later(task, countdown: float, **kwargs) -> None:
    """Run ``task`` again in ``countdown`` seconds (at most one hop)."""
    task.apply_async(kwargs=kwargs, countdown=max(0.0, min(countdown, MAX_HOP_SECONDS)))


def _wait_for(due_at: str | None) -> float:
    return next_hop(datetime.fromisoformat(due_at) if due_at else None, now=timezone.now())


def _reschedule(task, delay: float, **kwargs) -> None:
    _later(task, delay, **kwargs, due_at=due(timezone.now(), delay).isoformat())


@app.task(name="integrations.tasks.crm_sync", acks_late=True)
def crm_sync(lead_id: str, agency_id: str, reset: bool = False, due_at: str | None = None) -> str:
    from integrations.services import crm_sync_run

    if (wait := _wait_for(due_at)) > 0:
        _later(crm_sync, wait, lead_id=lead_id, agency_id=agency_id, reset=reset, due_at=due_at)
        return "waiting"
    try:
        outcome = crm_sync_run(lead_id=lead_id, agency_id=agency_id, reset=reset)
    except OperationalError:
        # Lock wait timeout or deadlock on the lead's row: another sync held it; try again soon.
        _reschedule(crm_sync, backoff_delay(1, base=settings.CRM_RETRY_BASE_SECONDS, cap=60),
                    lead_id=lead_id, agency_id=agency_id, reset=reset)
        return "locked"
    if outcome.retry_in is not None:
        _reschedule(crm_sync, outcome.retry_in, lead_id=lead_id, agency_id=agency_id)
    return outcome.status


@app.task(name="integrations.tasks.crm_erase", acks_late=True)
def crm_erase(lead_id: str, agency_id: str, due_at: str | None = None) -> None:
    from integrations.services import crm_erase_run

    if (wait := _wait_for(due_at)) > 0:
        _later(crm_erase, wait, lead_id=lead_id, agency_id=agency_id, due_at=due_at)
        return
    retry_in = crm_erase_run(lead_id=lead_id, agency_id=agency_id)
    if retry_in is not None:
        _reschedule(crm_erase, retry_in, lead_id=lead_id, agency_id=agency_id)


@app.task(name="integrations.tasks.webhook_deliver", acks_late=True)
def webhook_deliver(delivery_id: str, agency_id: str, due_at: str | None = None) -> None:
    from integrations.services import webhook_deliver_run

    if (wait := _wait_for(due_at)) > 0:
        _later(webhook_deliver, wait, delivery_id=delivery_id, agency_id=agency_id, due_at=due_at)
        return
    retry_in = webhook_deliver_run(delivery_id=delivery_id, agency_id=agency_id)
    if retry_in is not None:
        _reschedule(webhook_deliver, retry_in, delivery_id=delivery_id, agency_id=agency_id)


@app.task(name="integrations.tasks.integrations_reconcile", acks_late=True)
def integrations_reconcile() -> dict:
    """On the beat schedule: queue again the syncs and deliveries a lost enqueue left without a task."""
    from integrations.services import integrations_reconcile as reconcile

    return reconcile()
