#!/usr/bin/env bash
# Checks the include rules of DESIGN.md: dependencies point one way
# (server -> oauth/oidc/identity -> jose/store -> crypto -> common), Beast/Asio only in http/,
# OpenSSL only in crypto/, each database client library only in its backend, and backends never
# include each other. Prints every violation; exits non-zero when there is one.
set -uo pipefail
cd "$(dirname "$0")/.."

# module -> modules it may include (besides itself)
declare -A allowed=(
  [common]=""
  [crypto]="common"
  [jose]="common crypto"
  [store]="common"
  [http]="common"
  [oauth]="common crypto jose store"
  [oidc]="common crypto jose store oauth"
  [identity]="common crypto jose store"
  [ui]="common"
  [server]="common crypto jose store http oauth oidc identity ui"
  [cli]="common crypto jose store http oauth oidc identity ui server"
)

fail=0
report() { echo "layering: $1"; fail=1; }

while IFS= read -r file; do
  rel=${file#src/}
  module=${rel%%/*}
  [[ -n "${allowed[$module]+x}" ]] || { report "$file: module '$module' has no rule in scripts/check-layering.sh"; continue; }
  while IFS= read -r line; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$line")
    case "$inc" in
      boost/beast*|boost/asio*)
        [[ $module == http ]] || report "$file includes <$inc>: Beast/Asio belong in src/http/ only" ;;
      openssl/*)
        [[ $module == crypto ]] || report "$file includes <$inc>: OpenSSL belongs in src/crypto/ only" ;;
      sqlite3.h)
        # The importer reads SQLite files as plain tables without depending on the SQLite store.
        [[ $rel == store/sqlite/* || $rel == store/postgres/import_sqlite.cpp ]] \
          || report "$file includes <sqlite3.h>: only src/store/sqlite/ (and the PostgreSQL importer) may" ;;
      libpq-fe.h)
        [[ $rel == store/postgres/* ]] || report "$file includes <libpq-fe.h>: only src/store/postgres/ may" ;;
    esac
    target=${inc%%/*}
    if [[ "$inc" == */* && -d "src/$target" ]]; then
      if [[ $target != "$module" && " ${allowed[$module]} " != *" $target "* ]]; then
        report "$file includes \"$inc\": $module may not depend on $target"
      fi
      # Storage backends never include each other.
      if [[ $rel == store/*/* && $inc == store/*/* ]]; then
        mine=$(cut -d/ -f2 <<<"$rel"); theirs=$(cut -d/ -f2 <<<"$inc")
        # Except the importer's test, which fills its SQLite source through the SQLite store.
        if [[ $mine != testing && $theirs != testing && $mine != "$theirs" \
              && $rel != store/postgres/import_sqlite_test.cpp ]]; then
          report "$file includes \"$inc\": a store backend may not include another backend"
        fi
      fi
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(find src -name '*.hpp' -o -name '*.cpp' | sort)

# The SDK (DESIGN.md): public headers in include/latchkey/ include only the standard library, Boost
# and other public headers; the implementation in sdk/ may use the shared common, crypto and jose
# code but never the server's modules; libcurl only in the transport; Beast only in the validator's
# Beast adapter (and tests).
while IFS= read -r file; do
  while IFS= read -r line; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$line")
    case "$inc" in
      latchkey/*|../*|./*) continue ;;
      curl/*)
        [[ $file == sdk/client/curl_transport.cpp ]] || report "$file includes <$inc>: libcurl belongs in sdk/client/curl_transport.cpp only" ;;
      openssl/*) report "$file includes <$inc>: the SDK reaches OpenSSL through src/crypto only" ;;
      boost/beast*|boost/asio*)
        [[ $file == include/latchkey/validator/beast.hpp || $file == *_test.cpp ]] \
          || report "$file includes <$inc>: Beast/Asio only in the validator's Beast adapter" ;;
    esac
    target=${inc%%/*}
    if [[ "$inc" == */* && -d "src/$target" ]]; then
      if [[ $file == include/* ]]; then
        report "$file includes \"$inc\": a public header may include only latchkey/ headers"
      elif [[ " common crypto jose " != *" $target "* && ! ( $file == *_test.cpp && $target == http ) ]]; then
        report "$file includes \"$inc\": the SDK may not depend on $target"
      fi
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(find include sdk -name '*.hpp' -o -name '*.cpp' | sort)

if ((fail)); then exit 1; fi
echo "layering: ok ($(find src include sdk -name '*.hpp' -o -name '*.cpp' | wc -l) files)"
