#!/usr/bin/env bash
# The whole test suite against real servers: installs what is missing, starts
# a private MariaDB and Redis on loopback, runs pytest, tears everything down.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test

eval "$(scripts/services.sh start)"
cleanup() { scripts/services.sh stop "$MARKEZY_SERVICES_DIR"; }
trap cleanup EXIT INT TERM

export MARKEZY_TESTING=1
export MARKEZY_VAR_DIR=${MARKEZY_VAR_DIR:-$PWD/var/test}
mkdir -p "$MARKEZY_VAR_DIR" var/screenshots
status=0
.venv/bin/python -m pytest -p no:cacheprovider "${@:-tests}" || status=$?
# pytest exits 5 when it collected nothing: a run that tested nothing fails.
exit $status
