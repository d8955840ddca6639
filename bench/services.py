"""What the benchmarks that need MariaDB (and Redis) share: a private pair of
servers from `scripts/services.sh` unless the environment names some, and a
database of the benchmark's own on that server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]


def services_start(*, redis: bool = True) -> str | None:
    """Start a private MariaDB and Redis and export their URLs, unless
    `DATABASE_URL` (and, with `redis`, `REDIS_URL`) are set already. Returns
    the directory to hand to services_stop, or None when nothing was started."""
    if os.environ.get("DATABASE_URL") and (not redis or os.environ.get("REDIS_URL")):
        return None
    out = subprocess.run([str(ROOT / "scripts/services.sh"), "start"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = value
    return os.environ["MARKEZY_SERVICES_DIR"]


def services_stop(services_dir: str | None) -> None:
    if services_dir:
        subprocess.run([str(ROOT / "scripts/services.sh"), "stop", services_dir], capture_output=True, check=False)


def database_own(name: str) -> None:
    """Point `DATABASE_URL` at the database `name` on the same server, created if missing."""
    import MySQLdb

    os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    url = urlparse(os.environ["DATABASE_URL"])
    conn = MySQLdb.connect(host=url.hostname, port=url.port, user=url.username, passwd=url.password)
    try:
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
