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
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
