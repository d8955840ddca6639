"""The index task: on the `strategy` queue, late-acked, redelivered when a worker dies."""

from __future__ import annotations

from project.celery import app
from strategy.tasks import knowledge_document_index


def test_routed_to_the_strategy_queue_and_acked_late():
    route = app.amqp.router.route({}, knowledge_document_index.name, args=("x",), kwargs={})
    assert route["queue"].name == "strategy"
    assert knowledge_document_index.name == "strategy.tasks.knowledge_document_index"
    assert knowledge_document_index.acks_late and knowledge_document_index.reject_on_worker_lost
    assert knowledge_document_index.max_retries == 3
