#!/usr/bin/env bash
# setup.sh - install what building and testing need (Debian 12), once.
# Runs apt-get only for packages that are missing; needs root for that.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libxml2-dev libxml2-utils libjansson-dev liblmdb-dev lmdb-utils
  libssl-dev libzip-dev libsqlite3-dev graphviz)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages: run as root or install them yourself" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Test peers: moto_server (AWS API emulator), python3 with boto3, the aws CLI.
for c in python3 moto_server aws; do
  command -v "$c" >/dev/null || echo "setup: warning: '$c' not found; the AWS integration tests need it" >&2
done
