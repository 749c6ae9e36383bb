#!/usr/bin/env bash
# Makes postgres://postgres@127.0.0.1:5432/postgres reachable on a Debian
# machine: installs Debian's postgresql when absent, trusts loopback
# connections for the test user, and starts the cluster.
set -euo pipefail

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "postgres: already running on 127.0.0.1:5432"
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  $SUDO pg_createcluster "$version" main >/dev/null
fi
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! $SUDO grep -q '# qualys-connector tests' "$hba"; then
  # Loopback only: the test database URL carries no password.
  $SUDO sed -i '1i # qualys-connector tests\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
fi
$SUDO pg_ctlcluster "$version" main restart || $SUDO pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select version()'
