#!/usr/bin/env bash
# Installs (when missing) and starts PostgreSQL and Redis on loopback for Unbundled, without Docker.
# Idempotent: a second run finds them running and only prints the settings.
# Usage: eval "$(compose/local-services.sh)"   — progress goes to stderr, export lines to stdout.
set -euo pipefail

PG_PORT=${UNBUNDLED_PG_PORT:-55432}
REDIS_PORT=${UNBUNDLED_REDIS_PORT:-56379}
STATE_DIR=${UNBUNDLED_SERVICES_DIR:-/var/lib/unbundled}
PG_DATA="$STATE_DIR/pg"
PG_USER=unbundled
PG_PASSWORD=unbundled
PG_DB=unbundled

say() { echo "local-services: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

install_missing() {
  local packages=()
  [ -n "$(pg_bin)" ] || packages+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
  if [ ${#packages[@]} -gt 0 ]; then
    say "installing ${packages[*]}"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >&2
  fi
}

start_postgres() {
  local bin
  bin=$(pg_bin)
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
    return
  fi
  as_root mkdir -p "$STATE_DIR"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $PG_DATA"
    as_root mkdir -p "$PG_DATA"
    as_root chown postgres:postgres "$PG_DATA"
    as_root chmod 700 "$PG_DATA"
    as_root runuser -u postgres -- "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >&2
    cat <<CONF | as_root tee -a "$PG_DATA/postgresql.conf" >/dev/null
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 40
max_connections = 200
shared_buffers = 256MB
CONF
  fi
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_root runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >&2
  as_root runuser -u postgres -- "$bin/psql" -h "$PG_DATA" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB REPLICATION PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    say "Redis already running on 127.0.0.1:$REDIS_PORT"
    return
  fi
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  as_root mkdir -p "$STATE_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
    --dir "$STATE_DIR/redis" --logfile "$STATE_DIR/redis/redis.log" --pidfile "$STATE_DIR/redis/redis.pid" >&2
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  say "Redis did not answer on 127.0.0.1:$REDIS_PORT"; exit 1
}

install_missing
start_postgres
start_redis
echo "export UNBUNDLED_POSTGRES='Host=127.0.0.1;Port=$PG_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=$PG_DB'"
echo "export UNBUNDLED_REDIS='127.0.0.1:$REDIS_PORT'"
