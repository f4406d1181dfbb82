#!/usr/bin/env bash
# Installs the Debian packages netshop needs to build, run and test, when any is missing.
# Idempotent and quiet when everything is already there. Needs root (or sudo) only to install.
# `scripts/deps.sh bench` also installs the peers the benchmarks under bench/ measure netshop against
# (PostgreSQL with pgbench, nginx, memcached).
set -euo pipefail

packages=(
  gcc make pkg-config
  libssl-dev openssl
  libevent-dev
  libsqlite3-dev
  libsodium-dev
  libcmocka-dev
  libedit-dev
  python3 python3-openssl python3-cryptography
)
if [[ ${1:-} == bench ]]; then
  packages+=(postgresql postgresql-contrib nginx memcached procps)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}" >&2
sudo=()
((EUID == 0)) || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
