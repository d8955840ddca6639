#!/usr/bin/env bash
# Starts a private MariaDB and Redis on free loopback ports, with data in a
# temporary directory, for the test suite and benchmarks. Prints the
# environment to use; `scripts/services.sh stop DIR` tears them down.
#   eval "$(scripts/services.sh start)"   # exports DATABASE_URL, REDIS_URL, MARKEZY_SERVICES_DIR
set -euo pipefail

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start() {
  local dir; dir=$(mktemp -d /tmp/markezy-services.XXXXXX)
  local db_port redis_port; db_port=$(free_port); redis_port=$(free_port)
  mariadb-install-db --no-defaults --datadir="$dir/mysql" --user="$(id -un)" --auth-root-authentication-method=normal >"$dir/install.log" 2>&1
  mariadbd --no-defaults --datadir="$dir/mysql" --port="$db_port" --bind-address=127.0.0.1 \
    --socket="$dir/mysql.sock" --pid-file="$dir/mysql.pid" --user="$(id -un)" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 --skip-log-bin \
    --innodb-buffer-pool-size=256M --max-connections=500 --skip-name-resolve >"$dir/mysql.log" 2>&1 &
  echo $! > "$dir/mysqld.pidfile"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
  for _ in $(seq 1 100); do
    mariadb-admin --socket="$dir/mysql.sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  mariadb-admin --socket="$dir/mysql.sock" -uroot ping >/dev/null 2>&1 || { cat "$dir/mysql.log" >&2; exit 1; }
  mariadb --socket="$dir/mysql.sock" -uroot <<SQL
DROP USER IF EXISTS ''@'localhost';
CREATE DATABASE IF NOT EXISTS markezy CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'markezy'@'127.0.0.1' IDENTIFIED BY 'markezy';
CREATE USER IF NOT EXISTS 'markezy'@'localhost' IDENTIFIED BY 'markezy';
GRANT ALL PRIVILEGES ON *.* TO 'markezy'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'markezy'@'localhost';
FLUSH PRIVILEGES;
SQL
  for _ in $(seq 1 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  cat <<ENV
export MARKEZY_SERVICES_DIR=$dir
export DATABASE_URL=mysql://markezy:markezy@127.0.0.1:$db_port/markezy
export REDIS_URL=redis://127.0.0.1:$redis_port/0
export MARKEZY_MYSQL_SOCKET=$dir/mysql.sock
export MARKEZY_REDIS_PORT=$redis_port
ENV
}

stop() {
  local dir=${1:?services dir}
  [[ -f "$dir/redis.pid" ]] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  if [[ -f "$dir/mysqld.pidfile" ]]; then
    local pid; pid=$(cat "$dir/mysqld.pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
