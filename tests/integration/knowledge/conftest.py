"""Knowledge-base fixtures: a collection of each test's own in this process's
local Qdrant, media files under the test's tmp dir, and Celery tasks run
eagerly at commit (the upload → task → search chain in one test)."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def knowledge(settings, tmp_path):
    from project.celery import app

    settings.QDRANT_COLLECTION = f"test_{uuid.uuid4().hex[:12]}"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OPENAI_API_KEY = None
    settings.CELERY_EMBEDDED = False
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    # Not propagating, like the embedded runner (apply(throw=False)): a task's
    # retries then run in a loop, and tests assert the outcome on the row.
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield settings
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """POST a file as the given client; the index task runs when the request commits."""

    def do(client, name: str, data: bytes, title: str | None = None):
        body = {"file": SimpleUploadedFile(name, data)}
        if title is not None:
            body["title"] = title
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/knowledge/documents/", body, format="multipart")

    return do


@pytest.fixture
def replace(django_capture_on_commit_callbacks):
    def do(client, document_id: str, name: str, data: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            return client.put(f"/api/v1/knowledge/documents/{document_id}/",
                              {"file": SimpleUploadedFile(name, data)}, format="multipart")

    return do
