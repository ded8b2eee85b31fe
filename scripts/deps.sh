#!/usr/bin/env bash
# Installs everything Latchkey needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already present are skipped, so a second run costs a few dpkg queries.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh bench    also the benchmark tools (wrk, Node.js for the peer server)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libyaml-cpp-dev libcli11-dev
  libargon2-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  python3-jwcrypto python3-authlib python3-requests
  curl
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(wrk nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# node/npm may come from outside apt on some images; accept a working binary.
if [[ "${1:-}" == "bench" ]] && command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
