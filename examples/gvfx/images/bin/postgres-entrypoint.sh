#!/bin/sh
# Starts PostgreSQL as the postgres user (uid 999): initdb first when PGDATA is empty, with
# POSTGRES_USER/POSTGRES_PASSWORD as the superuser and POSTGRES_DB created, as the official
# image does. PGDATA sits on the host volume the job mounts, so the data outlives the container.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
# as_pg PROG ARGS...: runs PROG as the postgres user, keeping the environment.
as_pg() { runas 999 "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql
# the mounted volume (PGDATA or its parent) belongs to postgres too, so initdb can reach PGDATA
chown 999:999 "$PGDATA" "$(dirname "$PGDATA")" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "postgres: POSTGRES_PASSWORD is empty; set it in the secrets variable" >&2; exit 1; }
  pw="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
  chown 999:999 "$pw"
  as_pg initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | as_pg postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres: initialised $PGDATA"
fi
exec runas 999 postgres -D "$PGDATA" \
  -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
