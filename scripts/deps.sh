#!/usr/bin/env bash
# Installs everything Latchkey needs to build, test and benchmark, from Debian 12 packages.
# Idempotent: packages already present are skipped, so a second run costs a few dpkg queries.
#   scripts/deps.sh          build + test dependencies (incl. Debian's Chromium and playwright-core for the
#                            browser sign-in test in tests/browser)
#   scripts/deps.sh bench    also the benchmark tools (wrk; python3-jwt for the PyJWT reference validator)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libyaml-cpp-dev libcli11-dev
  postgresql libpq-dev
  libargon2-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  python3-jwcrypto python3-authlib python3-requests
  curl
  nodejs npm chromium
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(wrk python3-jwt)
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

# npm_ci_locked DIR PACKAGE [ENV=VALUE...]: `npm ci` in DIR, only when DIR/node_modules is missing
# PACKAGE or was installed from another lock file (a stamp holds the lock's hash), so a re-run with
# everything in place needs no network. The exact versions are those of DIR/package-lock.json.
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_ci_locked() {
  local name="$1" package="$2"
  local dir="$root_dir/$name"
  shift 2
  [[ -f "$dir/package-lock.json" ]] || return 0
  local stamp="$dir/node_modules/.latchkey-lock.sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -d "$dir/node_modules/$package" ]]; then
    echo "deps: npm ci in $name"
    (cd "$dir" && env "$@" npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

# Browser sign-in test: playwright-core drives /usr/bin/chromium; no browser is downloaded.
npm_ci_locked tests/browser playwright-core PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# Interop test of the client SDK (tests/interop/test_sdk_oidc_provider.py): panva's oidc-provider.
npm_ci_locked tests/interop/oidc_provider oidc-provider
