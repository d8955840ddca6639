"""A database worker of a web process (project/db/processes.py): reads calls
from stdin, runs them one at a time, writes each answer to stdout.

    python -m project.db.worker

Frames both ways are a 4-byte length and a pickle: `(call_id, func, kwargs)`
in, `(call_id, ok, result_or_exception)` out. Closed stdin (the web process
exited or shut it) ends the worker.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys

HEADER = struct.Struct("!I")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.conf import settings

    # The web process's database names, not what the environment says: under
    # the test runner they are the test databases (pytest-django renames them).
    for item in filter(None, os.environ.get("MARKEZY_DB_WORKER_DATABASES", "").split(",")):
        alias, _, name = item.partition("=")
        settings.DATABASES[alias]["NAME"] = name
    from project.runtime import tune_gc

    tune_gc()


def _answer(func, kwargs: dict):
    from django.db import close_old_connections

    # What DatabaseSyncToAsync does around each call: a connection past its
    # age or broken by a database restart is replaced, not reused.
    close_old_connections()
    try:
        return True, func(**kwargs)
    except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
        return False, exc
    finally:
        close_old_connections()


def _read_exactly(stream, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Anything else that prints (a stray print, a library) must not corrupt the frames.
    sys.stdout = sys.stderr
    _setup()
    stdout.write(b"markezy-db-worker-ready\n")
    stdout.flush()
    while True:
        header = _read_exactly(stdin, HEADER.size)
        if header is None:
            return
        body = _read_exactly(stdin, HEADER.unpack(header)[0])
        if body is None:
            return
        try:
            call_id, func, kwargs = pickle.loads(body)
        except Exception as exc:  # noqa: BLE001 - a call that cannot be read cannot be answered by id
            print(f"database worker: unreadable call: {exc!r}", file=sys.stderr)
            continue
        ok, value = _answer(func, kwargs)
        try:
            out = pickle.dumps((call_id, ok, value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not pickle
            out = pickle.dumps((call_id, False, RuntimeError(f"{type(value).__name__}: {value}; {exc!r}")),
                               protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(HEADER.pack(len(out)) + out)
        stdout.flush()


if __name__ == "__main__":
    main()
