#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever the build, the demo and the
# test suites need and the machine lacks. Idempotent; needs root for apt.
set -euo pipefail

PACKAGES=(
  make g++ cmake pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  libssl-dev libpqxx-dev libgtest-dev
  pgbouncer libipc-run-perl
  clang libclang-rt-14-dev
  postgresql-15-pgaudit
  libcpp-httplib-dev nlohmann-json3-dev
  chromium chromium-driver python3-selenium curl
  patroni etcd-server python3-psycopg2
  python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  # The package's state alone ("installed"), whatever its selection (a held
  # package is installed too): a machine that has everything never runs apt.
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "insight_keys: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "insight_keys: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Installing postgresql-15 would also create the system cluster 15/main on
# port 5432 (and start it on a systemd host); the project runs throwaway
# clusters of its own and needs none. postgresql-common reads
# createcluster.d/ when a version is installed: a drop-in says "no main
# cluster" for this install only and is removed afterwards, leaving the
# host's settings as they were.
dropin=/etc/postgresql-common/createcluster.d/insight_keys-no-main-cluster.conf
if [ ! -e "$dropin" ]; then
  mkdir -p "$(dirname "$dropin")"
  echo "create_main_cluster = false" >"$dropin"
  trap 'rm -f "$dropin"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
