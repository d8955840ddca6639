"""The production path: the upload commits, the task goes through the Redis
broker to a real Celery worker process consuming the `strategy` queue, which
indexes into its own Qdrant and marks the document ready in MariaDB."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled


@pytest.fixture
def broker(settings):
    """A Redis database of this test's own as the broker, for this process and the worker."""
    from project.celery import app

    if not settings.REDIS_URL:
        pytest.fail("this test needs the Redis that scripts/test.sh starts")
    url = settings.REDIS_URL.rsplit("/", 1)[0] + "/11"
    def forget_connections():
        # Celery caches its connection and producer pools per app: drop them so
        # the next publish connects to the broker configured now.
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    app.conf.broker_url = url
    forget_connections()
    settings.CELERY_EMBEDDED = False
    yield url
    app.conf.broker_url = previous
    forget_connections()


@pytest.fixture
def worker(broker, tmp_path, transactional_db):
    from tests.integration.conftest import _test_database_url
    from tests.integration.workers import start_worker

    started = start_worker({"DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": broker,
                            "QDRANT_PATH": str(tmp_path / "worker-qdrant")}, tmp_path / "worker.log", queues="strategy")
    yield started.proc, started.log_path
    started.stop()


def test_a_real_worker_indexes_the_upload(knowledge, worker, make_agency, login):
    from strategy.models import KnowledgeDocument

    proc, log = worker
    # The worker reads the file the web process stored: both see the same media root.
    knowledge.MEDIA_ROOT = Path(knowledge.VAR_DIR) / "media"
    knowledge.CELERY_EMBEDDED = False
    from project.celery import app

    app.conf.task_always_eager = False
    a = make_agency("Alfa")
    admin, _ = login(a.admin)
    body = "# Tarifas\n\n## Arranque\n\nGoogle Ads por 490 € al mes.\n\n## Crecimiento\n\nSEO local por 990 €.\n"
    response = admin.post("/api/v1/knowledge/documents/", {"file": SimpleUploadedFile("tarifas.md", body.encode())},
                          format="multipart")
    assert response.status_code == 201, response.content
    deadline = time.time() + 60
    document = None
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        with scopes_disabled():
            document = KnowledgeDocument.objects.get(id=response.json()["id"])
        if document.status in ("ready", "failed"):
            break
        time.sleep(0.25)
    assert document is not None and document.status == "ready", log.read_text()[-3000:]
    assert document.chunk_count == 2 and document.indexed_sha256 == document.sha256
    assert "strategy.tasks.knowledge_document_index" in log.read_text()
