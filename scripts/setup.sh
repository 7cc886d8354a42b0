#!/usr/bin/env bash
# setup.sh - install what building and testing need (Debian 12), once.
#
#   scripts/setup.sh            the build's packages (demo.sh calls this)
#   scripts/setup.sh --peers    also install the Debian test peers (chromium) and
#                               check the others (test.sh calls this):
#                               exits 1, listing each missing one, if any is
#
# Packages are installed only when missing, with apt-get run directly as
# root and through sudo otherwise (so the README's commands work in a root
# shell without sudo, and for a user with sudo).
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libxml2-dev libxml2-utils libjansson-dev liblmdb-dev lmdb-utils
  libssl-dev libzip-dev libsqlite3-dev graphviz libgraphviz-dev libmicrohttpd-dev openssl
  python3 groff-base xsltproc)
# Test peers that Debian packages (scripts/test.sh, with --peers): the
# browser of smctl serve's tests.
peer_pkgs=(chromium)

# Run a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup: need root to run '$*': run this script as root, or install sudo," \
      "or install the packages yourself" >&2
    exit 1
  fi
}

[ "${1:-}" = --peers ] && pkgs+=("${peer_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ "${1:-}" = --peers ] || exit 0

# Test peers: every test that talks to one is Skipped without it, and
# scripts/test.sh runs with SM_REQUIRE_PEERS=1, where a skip is a failure;
# say here, before building, what is missing and how to get it.
need=()
command -v python3 >/dev/null 2>&1 || need+=("python3 (apt-get install python3)")
command -v moto_server >/dev/null 2>&1 || need+=("moto_server (pip install 'moto[server]')")
python3 -c 'import boto3' >/dev/null 2>&1 || need+=("boto3 for python3 (pip install boto3, or apt-get install python3-boto3)")
python3 -c 'import ssl' >/dev/null 2>&1 || need+=("python3 with ssl (faultd's TLS tests)")
command -v aws >/dev/null 2>&1 || need+=("the aws CLI (pip install awscli, or apt-get install awscli)")
command -v chromium >/dev/null 2>&1 || need+=("chromium, for smctl serve's browser tests (apt-get install chromium)")
for c in openssl dot xmllint xsltproc mdb_dump mdb_load clang groff; do
  command -v "$c" >/dev/null 2>&1 || need+=("$c (scripts/setup.sh installs it)")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: test peers missing; every test must run, none may be skipped:" >&2
  printf '  - %s\n' "${need[@]}" >&2
  exit 1
fi
