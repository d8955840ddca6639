"""The image's HEALTHCHECK: standard library only, so the image needs no curl.

One image runs every role, and Docker gives the healthcheck no arguments, so the
role is read from PID 1's command line (`tini -- entrypoint.sh ROLE ...`):

- `web` asks `/health/live`, not `/health/ready`: a Redis or Qdrant outage must
  not get every web replica killed and restarted by Swarm at once.
- `worker` must answer a Celery ping addressed to this container's node name: a
  worker whose main loop is stuck is as good as dead. Plain Celery, no Django:
  the healthcheck does not get the secrets the entrypoint read from files.
- `beat`, `migrate` and `manage` are healthy while their process runs (Swarm
  restarts them when it exits).

The request carries a Host from ALLOWED_HOSTS: Django answers 400 to
`127.0.0.1:8000` in production, where it is not an allowed host.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

LIVE_URL = "http://127.0.0.1:8000/health/live"


def container_role() -> str:
    """The entrypoint's first argument, or `web` when it cannot be told."""
    try:
        args = [a.decode() for a in Path("/proc/1/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return "web"
    for position, arg in enumerate(args[:-1]):
        if arg.endswith("entrypoint.sh"):
            return args[position + 1]
    return "web"


def allowed_host() -> str:
    """The first ALLOWED_HOSTS entry, usable as a Host header (`.example.com`
    allows every subdomain, so the bare domain matches it)."""
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    return hosts[0].lstrip(".") if hosts else "localhost"


def web_is_live(*, timeout: float = 3.0) -> bool:
    request = urllib.request.Request(LIVE_URL, headers={"Host": allowed_host()})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - fixed loopback URL
            return response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return False


def worker_answers_ping(*, timeout: float = 5.0) -> bool:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker:
        return True  # embedded mode: tasks run in the web process, nothing to ping
    from celery import Celery
    from kombu.exceptions import OperationalError

    app = Celery("healthcheck", broker=broker)
    try:
        # The worker's default node name is celery@<hostname>, the container's.
        replies = app.control.ping(destination=[f"celery@{socket.gethostname()}"], timeout=timeout)
    except (OperationalError, OSError) as exc:
        print(f"unhealthy: broker unreachable: {exc}", file=sys.stderr)
        return False
    finally:
        app.close()
    if not replies:
        print("unhealthy: the worker did not answer a ping", file=sys.stderr)
    return bool(replies)


CHECKS = {"web": web_is_live, "worker": worker_answers_ping}


if __name__ == "__main__":
    check = CHECKS.get(container_role())
    sys.exit(0 if check is None or check() else 1)
