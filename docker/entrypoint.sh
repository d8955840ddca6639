#!/usr/bin/env bash
# Entrypoint of every Markezy container (PID 1 is tini, which forwards signals
# and reaps zombies). Usage: entrypoint.sh web|worker|beat|migrate|manage ARGS...
# Each role ends in `exec`, so SIGTERM from `docker stop` or a Swarm update
# reaches the ASGI server or Celery directly and they shut down gracefully.
set -euo pipefail

# Docker/Swarm secrets: FOO_FILE=/run/secrets/foo becomes FOO=<file contents>
# (trailing newlines dropped, so `echo ... | docker secret create` is fine).
# A missing file or both FOO and FOO_FILE set is a deployment error: stop here
# rather than start with a generated, empty or surprising value.
readonly SECRET_VARS=(
  SECRET_KEY FIELD_ENCRYPTION_KEYS BLIND_INDEX_KEY JWT_SIGNING_KEY PROMPT_CANARY
  OPENAI_API_KEY DATABASE_URL DATABASE_PASSWORD REDIS_URL CELERY_BROKER_URL
  EMAIL_URL EMAIL_HOST_PASSWORD
)
for var in "${SECRET_VARS[@]}"; do
  file_var="${var}_FILE"
  [[ -n "${!file_var:-}" ]] || continue
  if [[ -n "${!var:-}" ]]; then
    echo "entrypoint: both ${var} and ${file_var} are set; set only one" >&2
    exit 64
  fi
  if [[ ! -r "${!file_var}" ]]; then
    echo "entrypoint: ${file_var}=${!file_var} is not a readable file" >&2
    exit 64
  fi
  export "${var}=$(<"${!file_var}")"
  unset "${file_var}"
done

# DATABASE_URL carries no password in the stack file; the MySQL password comes
# from the same secret the mysql service uses, so it lives in one place only.
if [[ -n "${DATABASE_PASSWORD:-}" ]]; then
  DATABASE_URL="$(python - <<'PY'
import os
from urllib.parse import quote, urlsplit, urlunsplit

url = urlsplit(os.environ["DATABASE_URL"])
user = quote(url.username or "", safe="")
password = quote(os.environ["DATABASE_PASSWORD"], safe="")
host = url.hostname or ""
netloc = f"{user}:{password}@{host}" + (f":{url.port}" if url.port else "")
print(urlunsplit((url.scheme, netloc, url.path, url.query, url.fragment)))
PY
)"
  export DATABASE_URL
  unset DATABASE_PASSWORD
fi

# Until the database answers (the mysql task may still be starting after a
# reboot); gives up after DB_WAIT_SECONDS so Swarm's restart policy takes over.
wait_for_database() {
  python - <<'PY'
import os
import sys
import time

import django

django.setup()
from django.db import connection

deadline = time.monotonic() + int(os.environ.get("DB_WAIT_SECONDS", "120"))
while True:
    try:
        connection.ensure_connection()
        break
    except Exception as exc:  # noqa: BLE001 - any driver error means "not yet"
        if time.monotonic() > deadline:
            print(f"entrypoint: the database is still unreachable: {exc}", file=sys.stderr)
            sys.exit(1)
        print(f"entrypoint: waiting for the database: {exc}", file=sys.stderr)
        time.sleep(2)
PY
}

role="${1:-web}"
shift || true

case "${role}" in
  web)
    wait_for_database
    # Off in the stack: several replicas starting together must not race to
    # migrate. Migrations run once per release with the `migrate` role.
    if [[ "${MIGRATE_ON_START:-0}" == "1" ]]; then
      python manage.py migrate --noinput
    fi
    # uvicorn (default) or daphne per ASGI_SERVER, with the same limits and
    # pings: one launcher for the image, the tests and the benchmark.
    exec python -m project.serve --host 0.0.0.0 --port 8000 "$@"
    ;;
  worker)
    wait_for_database
    # Fair scheduling: a 60 s strategy PDF does not hold up a queue of short CRM
    # calls prefetched behind it; recycled children bound WeasyPrint's memory.
    exec celery -A project worker \
      -Q "${CELERY_QUEUES:-realtime,strategy,crm}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" -O fair --max-tasks-per-child 200 \
      --without-gossip --without-mingle --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    # The schedule's last-run times survive restarts in the `state` volume, so a
    # redeploy neither skips nor repeats the daily jobs.
    mkdir -p /app/var/state
    exec celery -A project beat --schedule /app/var/state/celerybeat-schedule \
      --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  migrate)
    wait_for_database
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    echo "usage: entrypoint.sh web|worker|beat|migrate|manage ARGS..." >&2
    exit 64
    ;;
esac
