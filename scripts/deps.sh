#!/usr/bin/env bash
# Installs everything Latchkey needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already present are skipped, so a second run costs a few dpkg queries.
#   scripts/deps.sh          build + test dependencies (incl. Debian's Chromium and playwright-core for the
#                            browser sign-in test in tests/browser)
#   scripts/deps.sh bench    also the benchmark tools (wrk)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libyaml-cpp-dev libcli11-dev
  libargon2-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  python3-jwcrypto python3-authlib python3-requests
  curl
  nodejs npm chromium
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(wrk)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# node/npm may come from outside apt on some images; accept a working binary.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]} > 0)); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Browser sign-in test: playwright-core (exact version in tests/browser/package-lock.json) drives
# /usr/bin/chromium; no browser is downloaded. `npm ci` runs only when node_modules is missing or was
# installed from another lock file, so a re-run with everything in place needs no network.
browser_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
if [[ -f "$browser_dir/package-lock.json" ]]; then
  stamp="$browser_dir/node_modules/.latchkey-lock.sha256"
  want="$(sha256sum "$browser_dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -d "$browser_dir/node_modules/playwright-core" ]]; then
    echo "deps: npm ci in tests/browser"
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund \
      --loglevel=error)
    echo "$want" >"$stamp"
  fi
fi
