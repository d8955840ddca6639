#!/usr/bin/env bash
# Sets up and runs Markezy on its embedded defaults: SQLite under var/, the
# in-process channel layer and task runner, the offline LLM provider, local
# Qdrant, file email. No MySQL, Redis or API key needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
PORT=${PORT:-8000}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
creds=$(.venv/bin/python manage.py seed_demo --json --origin "http://localhost:$PORT" --origin "http://127.0.0.1:$PORT")
.venv/bin/python - "$creds" "$PORT" <<'PY'
import json, pathlib, sys
c = json.loads(sys.argv[1]); port = sys.argv[2]
lines = [f"  Markezy is running on http://localhost:{port}",
         f"    staff login     {c['owner']['email']} / {c['owner']['password']}",
         f"    widget key      {c['widget_key']}",
         f"    API docs        http://localhost:{port}/api/docs/"]
if pathlib.Path("console/dist/index.html").exists():
    lines.append(f"    staff console   http://localhost:{port}/console/")
if pathlib.Path("widget/dist/manifest.json").exists():
    lines.append(f"    widget demo     http://localhost:{port}/widget/demo/")
print("\n" + "\n".join(lines) + "\n", flush=True)
PY
exec .venv/bin/daphne -b 127.0.0.1 -p "$PORT" project.asgi:application
