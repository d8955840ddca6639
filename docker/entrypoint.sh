#!/usr/bin/env bash
# Entrypoint for every Markezy container: web | worker | beat | migrate | manage ARGS...
set -euo pipefail

# Docker/Swarm secrets: FOO_FILE=/run/secrets/foo becomes FOO=<contents>.
for var in SECRET_KEY FIELD_ENCRYPTION_KEYS BLIND_INDEX_KEY DATABASE_URL OPENAI_API_KEY EMAIL_URL; do
  file_var="${var}_FILE"
  if [[ -n "${!file_var:-}" && -f "${!file_var}" ]]; then
    export "$var"="$(cat "${!file_var}")"
  fi
done

wait_for_database() {
  python - <<'PY'
import sys, time
import django
django.setup()
from django.db import connection
for attempt in range(60):
    try:
        connection.ensure_connection()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001
        print(f"waiting for the database: {exc}", file=sys.stderr)
        time.sleep(2)
sys.exit(1)
PY
}

role=${1:-web}
shift || true
case "$role" in
  web)
    wait_for_database
    if [[ "${MIGRATE_ON_START:-0}" == "1" ]]; then python manage.py migrate --noinput; fi
    exec daphne -b 0.0.0.0 -p 8000 --proxy-headers --websocket_timeout 86400 \
      --application-close-timeout 10 --websocket_connect_timeout 10 project.asgi:application
    ;;
  worker)
    wait_for_database
    exec celery -A project worker -Q "${CELERY_QUEUES:-realtime,strategy,crm}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" -O fair --max-tasks-per-child 200 --without-gossip
    ;;
  beat)
    exec celery -A project beat --schedule /app/var/celerybeat-schedule
    ;;
  migrate)
    wait_for_database
    exec python manage.py migrate --noinput
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    echo "usage: entrypoint.sh web|worker|beat|migrate|manage ARGS..." >&2
    exit 2
    ;;
esac
