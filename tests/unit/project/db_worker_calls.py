"""Calls for tests/unit/project/test_db_processes.py to send to a database
worker: importable by the worker under this name (a test module is not)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from project.api.errors import ApplicationError


def worker_identity() -> dict:
    from django.conf import settings

    return {"pid": os.getpid(), "worker": os.environ.get("MARKEZY_DB_WORKER"),
            "db": str(settings.DATABASES["default"]["NAME"])}


def refuse(*, code: str) -> None:
    raise ApplicationError("No.", code=code, fields={"text": "largo"})


def slow_echo(*, value, seconds: float):
    time.sleep(seconds)
    return value


def die_once(*, marker: str) -> str:
    # The first call kills its worker outright (as the OOM killer would); the retry finds the marker.
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(9)
    return "stored"
