#!/usr/bin/env bash
# Starts PostgreSQL and Redis for the scaled-mode tests when they are not already answering.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done
  echo "$2 did not start on 127.0.0.1:$1" >&2
  return 1
}

if ! answers 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  else
    echo "PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is not installed." >&2
    exit 1
  fi
  wait_for 5432 PostgreSQL
fi

if ! answers 6379; then
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/deskhand-tests.log
  else
    echo "Redis is not running on 127.0.0.1:6379 and redis-server is not installed." >&2
    exit 1
  fi
  wait_for 6379 Redis
fi
