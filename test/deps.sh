#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine: the
# compiler tool chain, libcurl and json-c headers, libuv (for the socket-loop
# test), Node.js (for the local Alternator cluster) and the cluster's npm
# packages from its lock file. Does nothing that is already there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libjson-c-dev
      zlib1g-dev libuv1-dev curl openssl golang-go)
# Node.js and npm may come from elsewhere than Debian's packages.
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d "$here/cluster/node_modules" ]; then
    echo "deps: npm ci in test/cluster"
    (cd "$here/cluster" && npm ci --no-audit --no-fund --loglevel=error)
fi
