#!/usr/bin/env bash
# Latchkey vs oidc-provider benchmark (run as `make bench` or `bash bench/run.sh`).
#
# Starts each server on 127.0.0.1 in turn, checks that its token endpoint really
# issues tokens, drives it with the same wrk load, and records throughput,
# latency, server CPU time and RSS. Then starts each server again and drives the
# sign-in flows with bench/flows.mjs (wrk cannot follow a flow): authorization
# code + PKCE with an existing session, refresh-token grants, password logins,
# and the memory / store growth per session. Then the token lifecycle (bench/lifecycle.lua):
# introspection of opaque and JWT access tokens, revocation of pre-issued tokens, polling of
# pending device codes, and (Latchkey only) a housekeeping soak that issues short-lived opaque
# tokens and watches the access_tokens table. Then the client SDK (Latchkey only, no server for the
# first half): bench/validator_bench.cpp times latchkey::validator on ES256 and RS256 access tokens
# against the openssl speed verify ceiling and the same tokens checked by the jose npm package
# (bench/validator_jose.mjs) and PyJWT (bench/validator_pyjwt.py); bench/sdk_login_bench.cpp
# measures the SDK's own CPU time per code-flow login against a running Latchkey. Then PostgreSQL
# (BENCH_PARTS=pg): a throw-away PostgreSQL server, Latchkey and oidc-provider (with a PostgreSQL
# adapter) on it with one and two nodes each: client_credentials, code flows and refresh grants,
# the CPU of the servers, of PostgreSQL and of the machine, and a pgbench round trip.
# Writes bench/results/latest.md and prints it.
#
# Environment knobs (defaults in brackets):
#   LATCHKEY_BIN          Latchkey binary [build/release/src/cli/latchkey, built if needed]
#   BENCH_ONLY            all | latchkey | oidc-provider                     [all]
#   BENCH_THREADS         wrk threads                                        [2]
#   BENCH_CONNECTIONS     wrk connections                                    [32]
#   BENCH_DURATION        measured seconds per scenario                      [10]
#   BENCH_WARMUP          warm-up seconds per scenario (not measured)        [2]
#   BENCH_SIGN_SECONDS    seconds per openssl speed test                     [3]
#   BENCH_SERVER_CPUS     pin the server with taskset -c (e.g. 0)            [unpinned]
#   BENCH_WRK_CPUS        pin wrk with taskset -c (e.g. 1)                   [unpinned]
#   BENCH_LATCHKEY_LOG    file for Latchkey's request log                    [/dev/null]
#   BENCH_RESULTS_DIR     where latest.md, latest*.jsonl and raw/ go         [bench/results]
#   BENCH_PARTS           all | wrk | flows | lifecycle | client | pg (groups) [all]
#   BENCH_FLOW_VUS        virtual users (browsers) for code and refresh      [16]
#   BENCH_FLOW_DURATION   measured seconds for code and refresh              [10]
#   BENCH_FLOW_WARMUP     warm-up seconds for code and refresh               [2]
#   BENCH_FLOW_MAX_OPS    max operations per measured code / refresh run     [200000]
#   BENCH_LOGIN_VUS       virtual users for password logins                  [4]
#   BENCH_LOGIN_DURATION  max measured seconds for password logins           [20]
#   BENCH_LOGIN_WARMUP    warm-up seconds for password logins                [3]
#   BENCH_LOGIN_MAX       max measured logins (= sessions created)           [1000]
#   BENCH_REVOKE_TOKENS   tokens issued before each revocation scenario; the warm-up
#                         revokes a tenth of them, the measured run the rest    [50000]
#   BENCH_DEVICE_CODES    pending device codes polled round-robin            [1000]
#   BENCH_SOAK_SECONDS    seconds of continuous issuance in the soak         [30]
#   BENCH_SOAK_SAMPLE     seconds between access_tokens row counts           [10]
#   BENCH_CLIENT_SECONDS  process CPU seconds per validator run (each level and algorithm of
#                         latchkey-bench-validator, each algorithm of jose and PyJWT)   [3]
#   BENCH_CLIENT_TOKENS   distinct access tokens per algorithm, validated round-robin   [1000]
#   BENCH_CLIENT_CPUS     pin the validator processes with taskset -c (e.g. 0)        [unpinned]
#   BENCH_SDK_LOGINS      code-flow logins timed by latchkey-bench-sdk-login           [200]
#   BENCH_PYTHON          Python with python3-jwt for the PyJWT validator     [/usr/bin/python3]
#   BENCH_CLIENT_BIN_DIR  where latchkey-bench-validator and latchkey-bench-sdk-login are
#                         [build/release/bench, built if needed]
#   BENCH_PG_BIN          PostgreSQL server binaries (initdb, pg_ctl, postgres, psql, pgbench)
#                         [the newest /usr/lib/postgresql/*/bin]
#   BENCH_PG_FSYNC        on | off: fsync, synchronous_commit, full_page_writes of the throw-away
#                         PostgreSQL server                                             [on]
#   BENCH_PG_POOL         database connections per process, both servers (storage_pool_size) [8]
#   BENCH_PG_HANDLER_THREADS  Latchkey's http.handler_threads in the PostgreSQL part  [its default, 2]
#   BENCH_PG_NETWORK_THREADS  Latchkey's http.network_threads in the PostgreSQL part  [its default, one per core]
#   BENCH_PG_PAIRED_ROUNDS  paired rounds of refresh grants, one node of each server, alternated
#                         (0: none)                                                       [5]
#   BENCH_ID_TOKEN_ALG    RS256 | ES256: the ID token alg the sign-in flow clients register, both
#                         servers (flows and PostgreSQL parts)             [RS256, the OIDC default]
#   BENCH_PG_ACCESS_TOKEN_FORMAT  opaque | jwt: Latchkey's access tokens in the PostgreSQL part's
#                         flows [opaque: what oidc-provider issues there, stored by the server]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
RESULTS=${BENCH_RESULTS_DIR:-$BENCH/results}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
SIGN_SECONDS=${BENCH_SIGN_SECONDS:-3}
ONLY=${BENCH_ONLY:-all}
LATCHKEY_LOG=${BENCH_LATCHKEY_LOG:-/dev/null}
AUDIENCE_SCOPE=api
PARTS=${BENCH_PARTS:-all}
FLOW_VUS=${BENCH_FLOW_VUS:-16}
FLOW_DURATION=${BENCH_FLOW_DURATION:-10}
FLOW_WARMUP=${BENCH_FLOW_WARMUP:-2}
FLOW_MAX_OPS=${BENCH_FLOW_MAX_OPS:-200000}
LOGIN_VUS=${BENCH_LOGIN_VUS:-4}
LOGIN_DURATION=${BENCH_LOGIN_DURATION:-20}
LOGIN_WARMUP=${BENCH_LOGIN_WARMUP:-3}
LOGIN_MAX=${BENCH_LOGIN_MAX:-1000}
REVOKE_TOKENS=${BENCH_REVOKE_TOKENS:-50000}
DEVICE_CODES=${BENCH_DEVICE_CODES:-1000}
SOAK_SECONDS=${BENCH_SOAK_SECONDS:-30}
SOAK_SAMPLE=${BENCH_SOAK_SAMPLE:-10}
CLIENT_SECONDS=${BENCH_CLIENT_SECONDS:-3}
CLIENT_TOKENS=${BENCH_CLIENT_TOKENS:-1000}
SDK_LOGINS=${BENCH_SDK_LOGINS:-200}
PG_FSYNC=${BENCH_PG_FSYNC:-on}
PG_POOL=${BENCH_PG_POOL:-8}
PG_HANDLER_THREADS=${BENCH_PG_HANDLER_THREADS:-}
PG_NETWORK_THREADS=${BENCH_PG_NETWORK_THREADS:-}
PG_PAIRED_ROUNDS=${BENCH_PG_PAIRED_ROUNDS:-5}
ID_TOKEN_ALG=${BENCH_ID_TOKEN_ALG:-RS256}
PG_ACCESS_TOKEN_FORMAT=${BENCH_PG_ACCESS_TOKEN_FORMAT:-opaque}
[[ $PG_ACCESS_TOKEN_FORMAT == opaque || $PG_ACCESS_TOKEN_FORMAT == jwt ]] \
  || { echo "BENCH_PG_ACCESS_TOKEN_FORMAT must be opaque or jwt" >&2; exit 2; }
PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
# The redirect URI of the sign-in flows is never contacted: the driver reads the code from Location.
FLOW_REDIRECT_URI=http://127.0.0.1:9/callback
# The SDK login bench's confidential web-app client (loopback http is for native public clients only);
# never contacted either: the bench stops at the redirect and hands its URL to the SDK.
SDK_REDIRECT_URI=https://app.bench.example/callback

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

case "$ONLY" in all|latchkey|oidc-provider) ;; *) die "BENCH_ONLY must be all, latchkey or oidc-provider (got '$ONLY')";; esac
want() { [[ "$ONLY" == all || "$ONLY" == "$1" ]]; }
case "$ID_TOKEN_ALG" in RS256|ES256) ;; *) die "BENCH_ID_TOKEN_ALG must be RS256 or ES256 (got '$ID_TOKEN_ALG')";; esac
case "$PARTS" in all|wrk|flows|lifecycle|client|pg) ;; *) die "BENCH_PARTS must be all, wrk, flows, lifecycle, client or pg (got '$PARTS')";; esac
want_part() { [[ "$PARTS" == all || "$PARTS" == "$1" ]]; }
for v in FLOW_VUS FLOW_DURATION FLOW_WARMUP FLOW_MAX_OPS LOGIN_VUS LOGIN_DURATION LOGIN_WARMUP LOGIN_MAX \
    REVOKE_TOKENS DEVICE_CODES SOAK_SECONDS SOAK_SAMPLE CLIENT_SECONDS CLIENT_TOKENS SDK_LOGINS PG_POOL; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number (got '${!v}')"
done
case "$PG_FSYNC" in on|off) ;; *) die "BENCH_PG_FSYNC must be on or off (got '$PG_FSYNC')";; esac
[[ -z "$PG_HANDLER_THREADS" || "$PG_HANDLER_THREADS" =~ ^[0-9]+$ ]] || die "BENCH_PG_HANDLER_THREADS must be a whole number (got '$PG_HANDLER_THREADS')"
[[ -z "$PG_NETWORK_THREADS" || "$PG_NETWORK_THREADS" =~ ^[0-9]+$ ]] || die "BENCH_PG_NETWORK_THREADS must be a whole number (got '$PG_NETWORK_THREADS')"
[[ "$PG_PAIRED_ROUNDS" =~ ^[0-9]+$ ]] || die "BENCH_PG_PAIRED_ROUNDS must be a whole number (got '$PG_PAIRED_ROUNDS')"

# ---------------------------------------------------------------- processes
SERVER_PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench.XXXXXX")

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop on SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
  [[ -z "${PG_DIR:-}" ]] || pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pin() { # pin <cpus-or-empty> cmd...
  local cpus=$1; shift
  if [[ -n "$cpus" ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

# ---------------------------------------------------------------- helpers
for tool in node npm curl openssl getconf; do
  command -v "$tool" >/dev/null || die "'$tool' is required"
done
if want_part wrk || want_part lifecycle || want_part pg; then command -v wrk >/dev/null || die "'wrk' is required (apt-get install wrk)"; fi
(( SOAK_SAMPLE > 0 && DEVICE_CODES >= THREADS && REVOKE_TOKENS >= 20 * THREADS )) \
  || die "BENCH_SOAK_SAMPLE must be > 0, BENCH_DEVICE_CODES >= threads, BENCH_REVOKE_TOKENS >= 20 x threads"
(( CLIENT_SECONDS > 0 && CLIENT_TOKENS > 0 && SDK_LOGINS >= 2 )) \
  || die "BENCH_CLIENT_SECONDS and BENCH_CLIENT_TOKENS must be > 0, BENCH_SDK_LOGINS >= 2"
if want latchkey && want_part client; then
  "$PYTHON" -c 'import jwt' 2>/dev/null || die "$PYTHON has no jwt module: python3-jwt is required for the client part (scripts/deps.sh bench)"
fi
CLK_TCK=$(getconf CLK_TCK)

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cpu_ticks() { # utime+stime of a process (all threads), in clock ticks
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

wait_http() { # wait_http <pid> <url> <what>
  local pid=$1 url=$2 what=$3 i code
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || die "$what exited during start-up"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  die "$what did not answer 200 on $url within 15 s"
}

basic_auth() { # basic_auth <client_id> <client_secret> -> base64 value (RFC 6749 2.3.1)
  node -e 'const f=encodeURIComponent;process.stdout.write(Buffer.from(f(process.argv[1])+":"+f(process.argv[2])).toString("base64"))' "$1" "$2"
}

check_token() { # check_token <what> <url> <basic> <expected alg>
  local what=$1 url=$2 auth=$3 alg=$4 out
  out=$(curl -s -w '\n%{http_code}' -X POST "$url" \
    -H "Authorization: Basic $auth" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "grant_type=client_credentials&scope=$AUDIENCE_SCOPE") || die "$what: token request failed"
  CHECK_BODY="$out" node -e '
    const [what, alg] = process.argv.slice(1);
    const raw = process.env.CHECK_BODY; const nl = raw.lastIndexOf("\n");
    const status = raw.slice(nl + 1), body = raw.slice(0, nl);
    const fail = (m) => { console.error(`[bench] ERROR: ${what}: ${m}\n[bench] response (${status}): ${body.slice(0, 400)}`); process.exit(1); };
    if (status !== "200") fail(`token endpoint answered ${status}, expected 200`);
    let j; try { j = JSON.parse(body); } catch { fail("token response is not JSON"); }
    if (typeof j.access_token !== "string" || !j.access_token) fail("no access_token in token response");
    const parts = j.access_token.split(".");
    if (parts.length !== 3) fail("access_token is not a JWS compact JWT");
    const hdr = JSON.parse(Buffer.from(parts[0], "base64url").toString());
    if (hdr.alg !== alg) fail(`access token alg is ${hdr.alg}, expected ${alg}`);
    console.error(`[bench] ${what}: token endpoint OK (200, access_token ${hdr.alg}, ${j.access_token.length} chars)`);
  ' "$what" "$alg"
}

check_get() { # check_get <what> <url> <jwks|discovery>
  local what=$1 url=$2 kind=$3 out
  out=$(curl -s -w '\n%{http_code}' "$url") || die "$what: GET $url failed"
  CHECK_BODY="$out" node -e '
    const [what, kind] = process.argv.slice(1);
    const raw = process.env.CHECK_BODY; const nl = raw.lastIndexOf("\n");
    const status = raw.slice(nl + 1), body = raw.slice(0, nl);
    const fail = (m) => { console.error(`[bench] ERROR: ${what}: ${m}`); process.exit(1); };
    if (status !== "200") fail(`${kind} answered ${status}`);
    let j; try { j = JSON.parse(body); } catch { fail(`${kind} is not JSON`); }
    if (kind === "jwks" && !(Array.isArray(j.keys) && j.keys.length)) fail("JWKS has no keys");
    if (kind === "discovery" && !j.issuer) fail("discovery has no issuer");
    if (kind === "jwks") console.error(`[bench] ${what}: /jwks OK (${j.keys.map(k => k.kty + "/" + (k.alg || "?")).join(", ")})`);
  ' "$what" "$kind"
}

RESULTS_JSONL="$WORK/results.jsonl"
: >"$RESULTS_JSONL"
RAW="$RESULTS/raw"

record_result() { # record_result <server> <scenario> <raw wrk output> <cpu ticks before> <after> <idle rss> <rss>
  local server=$1 scenario=$2 raw=$3 c0=$4 c1=$5 idle=$6 rss=$7 line
  line=$(grep '^BENCH_RESULT ' "$raw") || die "no BENCH_RESULT line in $raw"
  grep '^BENCH_FIRST_NON2XX ' "$raw" | sed "s/^/[bench] $server \/ $scenario: /" >&2 || true
  node -e '
    const [server, scenario, line, c0, c1, tck, idle, rss] = process.argv.slice(1);
    const r = Object.fromEntries(line.split(" ").slice(1).map(kv => kv.split("=")).map(([k, v]) => [k, Number(v)]));
    const cpu_s = (Number(c1) - Number(c0)) / Number(tck);
    const out = { server, scenario, ...r, cpu_s, req_per_cpu_s: cpu_s > 0 ? r.requests / cpu_s : null,
      rss_idle_kib: Number(idle), rss_after_kib: Number(rss),
      socket_errors: r.err_connect + r.err_read + r.err_write + r.err_timeout };
    console.log(JSON.stringify(out));
    const seen = r.unexpected === undefined ? `non-2xx ${r.non2xx}` : `unexpected ${r.unexpected}` +
      (r.active ? `, active ${r.active}` : "") + (r.pending ? `, authorization_pending ${r.pending}` : "") +
      (r.slow_down ? `, slow_down ${r.slow_down}` : "");
    console.error(`[bench] ${server} / ${scenario}: ${r.requests} requests in ${r.duration_s.toFixed(1)} s = ${r.rps.toFixed(0)} req/s, ` +
      `p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, ${cpu_s.toFixed(2)} CPU-s, ${seen}`);
  ' "$server" "$scenario" "$line" "$c0" "$c1" "$CLK_TCK" "$idle" "$rss" >>"$RESULTS_JSONL"
}

run_scenario() { # run_scenario <server> <pid> <scenario> <url> <basic-or-empty> <idle rss kib>
  local server=$1 pid=$2 scenario=$3 url=$4 auth=$5 idle=$6 c0 c1 rss raw
  raw="$RAW/$server-$scenario.txt"
  log "$server / $scenario: warm-up ${WARMUP}s, then ${DURATION}s measured ($THREADS threads, $CONNS connections)"
  (pin "${BENCH_WRK_CPUS:-}" env BENCH_BASIC_AUTH="$auth" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
      -s "$BENCH/wrk.lua" "$url") >"$raw.warmup" 2>&1 || die "wrk warm-up failed, see $raw.warmup"
  kill -0 "$pid" 2>/dev/null || die "$server died during warm-up"
  c0=$(cpu_ticks "$pid")
  (pin "${BENCH_WRK_CPUS:-}" env BENCH_BASIC_AUTH="$auth" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
      --latency -s "$BENCH/wrk.lua" "$url") >"$raw" 2>&1 || die "wrk failed, see $raw"
  c1=$(cpu_ticks "$pid")
  rss=$(rss_kib "$pid")
  record_result "$server" "$scenario" "$raw" "$c0" "$c1" "$idle" "$rss"
}

# ---------------------------------------------------------------- lifecycle helpers (bench/lifecycle.lua)
LC_ENV=() # LC_* settings for the next lc_wrk / run_lc / collect call

lc_wrk() { # lc_wrk <output file> <item-list prefix or ""> <seconds> [extra wrk args...] <url>
  # Runs wrk with bench/lifecycle.lua and LC_ENV. With an item list, every wrk thread creates
  # <list>.done.<thread> when it has used up its items and stops; once all have, wrk is ended
  # with SIGINT (it then reports the time actually run). wrk is this script's child: its PID only.
  local out=$1 list=$2 secs=$3 w i all rc=0
  shift 3
  [[ -z "$list" ]] || rm -f "$list".done.*
  (pin "${BENCH_WRK_CPUS:-}" env "${LC_ENV[@]}" LC_LIST="$list" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" \
      -s "$BENCH/lifecycle.lua" "$@") >"$out" 2>&1 &
  w=$!
  if [[ -n "$list" ]]; then
    while kill -0 "$w" 2>/dev/null; do
      all=1
      for i in $(seq "$THREADS"); do [[ -e "$list.done.$i" ]] || { all=0; break; }; done
      if [[ $all == 1 ]]; then kill -INT "$w" 2>/dev/null || true; break; fi
      sleep 0.05
    done
  fi
  wait "$w" || rc=$?
  return $rc
}

collect() { # collect <what> <list prefix> <items per thread> <url>; LC_ENV holds auth, body, LC_COLLECT
  local what=$1 list=$2 per=$3 url=$4 i n
  log "$what: issuing $((per * THREADS)) ($THREADS x $per)"
  LC_ENV+=(LC_COUNT="$per" LC_EXPECT=200)
  lc_wrk "$list.issue.txt" "$list" 600 "$url" || die "$what: wrk failed, see $list.issue.txt"
  for i in $(seq "$THREADS"); do
    n=$(wc -l <"$list.$i" 2>/dev/null || echo 0)
    [[ "$n" -ge "$per" ]] || { cat "$list.issue.txt" >&2; die "$what: thread $i collected $n of $per"; }
  done
}

run_lc() { # run_lc <server> <pid> <scenario> <url> <idle rss kib> <list prefix or ""> <warm-up items per thread or "">
  # Fixed body or a cycled list: warm-up WARMUP s, then DURATION s measured. A list used once
  # (revocation): the warm-up uses the first <warm-up items> of each thread's list (at most
  # WARMUP s), the measured run the rest (at most DURATION s).
  local server=$1 pid=$2 scenario=$3 url=$4 idle=$5 list=$6 warm_items=$7 raw c0 c1 rss
  local base_env=("${LC_ENV[@]}") warm_env=() meas_env=() marks=""
  raw="$RAW/$server-$scenario.txt"
  if [[ -n "$warm_items" ]]; then marks=$list; warm_env=(LC_SKIP=0 LC_COUNT="$warm_items"); meas_env=(LC_SKIP="$warm_items"); fi
  log "$server / $scenario: warm-up ${WARMUP}s, then ${DURATION}s measured${marks:+ (or until the list is used up)} ($THREADS threads, $CONNS connections)"
  LC_ENV=("${base_env[@]}" "${warm_env[@]}")
  lc_wrk "$raw.warmup" "${marks:-$list}" "$WARMUP" "$url" || die "wrk warm-up failed, see $raw.warmup"
  kill -0 "$pid" 2>/dev/null || die "$server died during warm-up"
  LC_ENV=("${base_env[@]}" "${meas_env[@]}")
  c0=$(cpu_ticks "$pid")
  lc_wrk "$raw" "${marks:-$list}" "$DURATION" --latency "$url" || die "wrk failed, see $raw"
  c1=$(cpu_ticks "$pid")
  rss=$(rss_kib "$pid")
  LC_ENV=("${base_env[@]}")
  record_result "$server" "$scenario" "$raw" "$c0" "$c1" "$idle" "$rss"
}

post_form() { # post_form <url> <basic or ""> <body> -> body, a newline, the status
  local auth=()
  [[ -z "$2" ]] || auth=(-H "Authorization: Basic $2")
  curl -s -w '\n%{http_code}' -X POST "$1" "${auth[@]}" -H 'Content-Type: application/x-www-form-urlencoded' --data "$3"
}

check_json() { # check_json <what> <response from post_form> <JS condition on j and status> <description>
  CHECK_BODY="$2" node -e '
    const [what, cond, desc] = process.argv.slice(1);
    const raw = process.env.CHECK_BODY; const nl = raw.lastIndexOf("\n");
    const status = Number(raw.slice(nl + 1)), body = raw.slice(0, nl);
    let j = null; try { j = JSON.parse(body); } catch {}
    if (!new Function("j", "status", `return (${cond});`)(j, status)) {
      console.error(`[bench] ERROR: ${what}: expected ${desc}\n[bench] response (${status}): ${body.slice(0, 400)}`);
      process.exit(1);
    }
    console.error(`[bench] ${what}: OK (${desc})`);
  ' "$1" "$3" "$4" || exit 1
}

json_field() { # json_field <response from post_form> <member>
  CHECK_BODY="$1" node -e 'const raw=process.env.CHECK_BODY;try{process.stdout.write(String(JSON.parse(raw.slice(0,raw.lastIndexOf("\n")))[process.argv[1]]??""))}catch{}' "$2"
}

discover() { # discover <issuer> <member> -> the endpoint URL from discovery
  curl -s "$1/.well-known/openid-configuration" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(!v)process.exit(1);console.log(v)})' "$2" \
    || die "$1: discovery has no $2"
}

DEVICE_GRANT_FORM='grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code'

# lifecycle_scenarios <server> <pid> <issuer> <cc basic (opaque tokens)> <resource-server basic> <device client id>
#   [<cc basic (JWT tokens)>]: the token-lifecycle scenarios shared by both servers.
lifecycle_scenarios() {
  local server=$1 pid=$2 iss=$3 op_auth=$4 rs_auth=$5 tv=$6 jwt_auth=${7:-} token_url introspect_url revoke_url device_url
  local idle r tok jwt per warm list kind auth
  token_url=$(discover "$iss" token_endpoint)
  introspect_url=$(discover "$iss" introspection_endpoint)
  revoke_url=$(discover "$iss" revocation_endpoint)
  device_url=$(discover "$iss" device_authorization_endpoint)
  idle=$(rss_kib "$pid")

  # Introspection: one token, introspected over and over by the resource-server client.
  r=$(post_form "$token_url" "$op_auth" "grant_type=client_credentials&scope=$AUDIENCE_SCOPE")
  check_json "$server opaque token" "$r" 'status === 200 && typeof j.access_token === "string" && j.access_token.split(".").length !== 3' '200 with an opaque access_token'
  tok=$(json_field "$r" access_token)
  check_json "$server introspect opaque" "$(post_form "$introspect_url" "$rs_auth" "token=$tok")" 'status === 200 && j.active === true' '200 with "active":true'
  LC_ENV=(LC_AUTH="$rs_auth" LC_BODY="token=$tok" LC_EXPECT=active)
  run_lc "$server" "$pid" lc-introspect-opaque "$introspect_url" "$idle" "" ""
  if [[ -n "$jwt_auth" ]]; then
    r=$(post_form "$token_url" "$jwt_auth" "grant_type=client_credentials&scope=$AUDIENCE_SCOPE")
    check_json "$server JWT token" "$r" 'status === 200 && typeof j.access_token === "string" && j.access_token.split(".").length === 3' '200 with a JWT access_token'
    jwt=$(json_field "$r" access_token)
    check_json "$server introspect JWT" "$(post_form "$introspect_url" "$rs_auth" "token=$jwt")" 'status === 200 && j.active === true' '200 with "active":true'
    LC_ENV=(LC_AUTH="$rs_auth" LC_BODY="token=$jwt" LC_EXPECT=active)
    run_lc "$server" "$pid" lc-introspect-jwt "$introspect_url" "$idle" "" ""
  fi

  # Revocation: REVOKE_TOKENS tokens issued first (wrk, one list per thread), each revoked once
  # by the client it was issued to.
  per=$((REVOKE_TOKENS / THREADS))
  warm=$((per / 10))
  for kind in opaque jwt; do
    if [[ $kind == opaque ]]; then auth=$op_auth; else auth=$jwt_auth; fi
    [[ -n "$auth" ]] || continue
    list="$WORK/$server-revoke-$kind"
    LC_ENV=(LC_AUTH="$auth" LC_BODY="grant_type=client_credentials&scope=$AUDIENCE_SCOPE" LC_COLLECT=access_token)
    collect "$server: $kind access tokens to revoke" "$list" "$per" "$token_url"
    tok=$(sed -n "$((warm + 1))p" "$list.1")
    check_json "$server: a token to revoke" "$(post_form "$introspect_url" "$rs_auth" "token=$tok")" 'status === 200 && j.active === true' 'active before revocation'
    LC_ENV=(LC_AUTH="$auth" LC_PREFIX="token_type_hint=access_token&token=" LC_EXPECT=200)
    run_lc "$server" "$pid" "lc-revoke-$kind" "$revoke_url" "$idle" "$list" "$warm"
    check_json "$server: a revoked token" "$(post_form "$introspect_url" "$rs_auth" "token=$tok")" 'status === 200 && j.active === false' 'inactive after revocation'
  done

  # Device-code polling: DEVICE_CODES pending codes, polled round-robin without waiting for the
  # interval (every answer is a 400: authorization_pending, or slow_down when polled too soon).
  per=$((DEVICE_CODES / THREADS))
  list="$WORK/$server-device-codes"
  LC_ENV=(LC_BODY="client_id=$tv&scope=openid" LC_COLLECT=device_code)
  collect "$server: device codes" "$list" "$per" "$device_url"
  check_json "$server: device-code poll" \
    "$(post_form "$token_url" "" "$DEVICE_GRANT_FORM&client_id=$tv&device_code=$(head -1 "$list.1")")" \
    'status === 400 && j.error === "authorization_pending"' '400 authorization_pending'
  LC_ENV=(LC_PREFIX="$DEVICE_GRANT_FORM&client_id=$tv&device_code=" LC_CYCLE=1 LC_EXPECT=pending)
  run_lc "$server" "$pid" lc-device-poll "$token_url" "$idle" "$list" ""
  LC_ENV=()
}

mkdir -p "$RESULTS" "$RAW"

# ---------------------------------------------------------------- prerequisites
LATCHKEY=""
if want latchkey; then
  if [[ -n "${LATCHKEY_BIN:-}" ]]; then
    LATCHKEY=$LATCHKEY_BIN
  else
    LATCHKEY="$ROOT/build/release/src/cli/latchkey"
    log "building Latchkey (release preset)"
    if [[ ! -f "$ROOT/build/release/CMakeCache.txt" ]]; then
      (cd "$ROOT" && cmake --preset release) >&2 || die "cmake --preset release failed"
    fi
    (cd "$ROOT" && cmake --build build/release -j2) >&2 \
      || die "building Latchkey failed (cmake --build build/release); set LATCHKEY_BIN or BENCH_ONLY=oidc-provider"
  fi
  [[ -x "$LATCHKEY" ]] || die "Latchkey binary not found at $LATCHKEY (set LATCHKEY_BIN, or BENCH_ONLY=oidc-provider to run the reference side alone)"
fi

CLIENT_BIN_DIR=${BENCH_CLIENT_BIN_DIR:-$ROOT/build/release/bench}
if want latchkey && want_part client; then
  if [[ -z "${BENCH_CLIENT_BIN_DIR:-}" && ! ( -x "$CLIENT_BIN_DIR/latchkey-bench-validator" && -x "$CLIENT_BIN_DIR/latchkey-bench-sdk-login" ) ]]; then
    log "building the client benchmark programs (release preset)"
    [[ -f "$ROOT/build/release/CMakeCache.txt" ]] || (cd "$ROOT" && cmake --preset release) >&2 || die "cmake --preset release failed"
    (cd "$ROOT" && cmake --build build/release -j2 --target latchkey-bench-validator latchkey-bench-sdk-login) >&2 \
      || die "building the client benchmark programs failed"
  fi
  for b in latchkey-bench-validator latchkey-bench-sdk-login; do
    [[ -x "$CLIENT_BIN_DIR/$b" ]] || die "$b not found in $CLIENT_BIN_DIR (set BENCH_CLIENT_BIN_DIR)"
  done
  # The jose reference validator: the version pinned in bench/package.json and the lock file.
  locked=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/jose"].version)' "$BENCH/package-lock.json")
  have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' "$BENCH/node_modules/jose/package.json")
  if [[ "$have" != "$locked" ]]; then
    log "installing jose $locked (npm ci --prefix bench)"
    npm ci --prefix "$BENCH" --no-audit --no-fund >&2 || die "npm ci --prefix bench failed"
  fi
fi

OP_VERSION=""
if want oidc-provider; then
  locked=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/oidc-provider"].version)' "$BENCH/package-lock.json")
  have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' "$BENCH/node_modules/oidc-provider/package.json")
  if [[ "$have" != "$locked" ]]; then
    log "installing oidc-provider $locked (npm ci --prefix bench)"
    npm ci --prefix "$BENCH" --no-audit --no-fund >&2 || die "npm ci --prefix bench failed"
  fi
  OP_VERSION=$locked
  if want_part pg; then # the pg package of the PostgreSQL adapter (bench/oidc-provider-pg-adapter.mjs)
    locked=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/pg"].version)' "$BENCH/package-lock.json")
    have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' "$BENCH/node_modules/pg/package.json")
    if [[ "$have" != "$locked" ]]; then
      log "installing pg $locked (npm ci --prefix bench)"
      npm ci --prefix "$BENCH" --no-audit --no-fund >&2 || die "npm ci --prefix bench failed"
    fi
  fi
fi

# ---------------------------------------------------------------- signing ceiling
log "measuring the per-core signing ceiling (openssl speed -seconds $SIGN_SECONDS)"
ES256_SPEED=$(openssl speed -mr -seconds "$SIGN_SECONDS" ecdsap256 2>/dev/null | awk -F: '/^\+F4:/ && $3 == 256 {print $4, $5; exit}')
read -r ES256_SIGN ES256_VERIFY <<<"$ES256_SPEED"
RS256_SPEED=$(openssl speed -mr -seconds "$SIGN_SECONDS" rsa2048 2>/dev/null | awk -F: '/^\+F2:/ && $3 == 2048 {print $4, $5; exit}')
read -r RS256_SIGN RS256_VERIFY <<<"$RS256_SPEED"
[[ -n "$ES256_SIGN" && -n "${ES256_VERIFY:-}" && -n "$RS256_SIGN" && -n "${RS256_VERIFY:-}" ]] || die "could not parse openssl speed output"
log "ceiling: ECDSA P-256 ${ES256_SIGN%.*} sign/s (${ES256_VERIFY%.*} verify/s), RSA-2048 ${RS256_SIGN%.*} sign/s (${RS256_VERIFY%.*} verify/s)"

# ---------------------------------------------------------------- Latchkey
LATCHKEY_VERSION=""
if want latchkey; then
  LATCHKEY_VERSION=$(timeout 5 "$LATCHKEY" --version 2>/dev/null | head -1 | grep -i latchkey || true)
fi
if want latchkey && want_part wrk; then
  port=$(free_port)
  base="http://127.0.0.1:$port"
  data="$WORK/latchkey-data"
  mkdir -p "$data"
  log "starting Latchkey on $base"
  (pin "${BENCH_SERVER_CPUS:-}" "$LATCHKEY" serve --dev --data-dir "$data" \
      --listen "127.0.0.1:$port" --issuer "$base") >/dev/null 2>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
  wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey

  create_client() { # create_client <id> <alg> -> "id secret"
    "$LATCHKEY" client create --data-dir "$data" --id "$1" --grant-type client_credentials \
        --scope "$AUDIENCE_SCOPE" --access-token-alg "$2" --json \
      | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(!j.client_id||!j.client_secret)process.exit(1);console.log(j.client_id+" "+j.client_secret)})' \
      || die "latchkey client create --id $1 failed"
  }
  creds=$(create_client bench ES256) || exit 1
  read -r es_id es_secret <<<"$creds"
  creds=$(create_client bench-rs RS256) || exit 1
  read -r rs_id rs_secret <<<"$creds"
  es_auth=$(basic_auth "$es_id" "$es_secret")
  rs_auth=$(basic_auth "$rs_id" "$rs_secret")

  # Admin commands write to the database; the running server picks the clients up within about a
  # second. Wait for that before checking.
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/token" -H "Authorization: Basic $rs_auth" \
         -H 'Content-Type: application/x-www-form-urlencoded' --data 'grant_type=client_credentials') == 200 ]] && break
    sleep 0.1
  done
  check_token Latchkey "$base/token" "$es_auth" ES256
  check_token Latchkey "$base/token" "$rs_auth" RS256
  check_get Latchkey "$base/jwks" jwks
  check_get Latchkey "$base/.well-known/openid-configuration" discovery

  idle=$(rss_kib "$lk_pid")
  run_scenario latchkey "$lk_pid" cc-es256 "$base/token" "$es_auth" "$idle"
  run_scenario latchkey "$lk_pid" cc-rs256 "$base/token" "$rs_auth" "$idle"
  run_scenario latchkey "$lk_pid" jwks "$base/jwks" "" "$idle"
  run_scenario latchkey "$lk_pid" discovery "$base/.well-known/openid-configuration" "" "$idle"
  stop_pid "$lk_pid"
fi

# ---------------------------------------------------------------- oidc-provider
if want oidc-provider && want_part wrk; then
  op_auth=$(basic_auth bench bench-secret)
  start_op() { # start_op <alg>; sets op_pid, op_base
    local port
    port=$(free_port)
    op_base="http://127.0.0.1:$port"
    log "starting oidc-provider $OP_VERSION ($1 access tokens) on $op_base"
    (cd "$BENCH" && pin "${BENCH_SERVER_CPUS:-}" env NODE_ENV=production OP_PORT="$port" OP_ALG="$1" \
        OP_CLIENT_ID=bench OP_CLIENT_SECRET=bench-secret node "$BENCH/oidc-provider.mjs") >"$WORK/oidc-provider-$1.log" 2>&1 &
    op_pid=$!
    SERVER_PIDS+=("$op_pid")
    wait_http "$op_pid" "$op_base/.well-known/openid-configuration" oidc-provider
    check_token oidc-provider "$op_base/token" "$op_auth" "$1"
  }

  start_op ES256
  check_get oidc-provider "$op_base/jwks" jwks
  check_get oidc-provider "$op_base/.well-known/openid-configuration" discovery
  idle=$(rss_kib "$op_pid")
  run_scenario oidc-provider "$op_pid" cc-es256 "$op_base/token" "$op_auth" "$idle"
  run_scenario oidc-provider "$op_pid" jwks "$op_base/jwks" "" "$idle"
  run_scenario oidc-provider "$op_pid" discovery "$op_base/.well-known/openid-configuration" "" "$idle"
  stop_pid "$op_pid"

  start_op RS256
  idle=$(rss_kib "$op_pid")
  run_scenario oidc-provider "$op_pid" cc-rs256 "$op_base/token" "$op_auth" "$idle"
  stop_pid "$op_pid"
fi

# ---------------------------------------------------------------- sign-in flows
FLOWS_JSONL="$WORK/flows.jsonl"
: >"$FLOWS_JSONL"
FLOWS_STATUS=0 # 0 ok, 3 some operations failed, 1 a driver could not run
flow_args=(--vus="$FLOW_VUS" --duration="$FLOW_DURATION" --warmup="$FLOW_WARMUP" --max-ops="$FLOW_MAX_OPS"
  --login-vus="$LOGIN_VUS" --login-duration="$LOGIN_DURATION" --login-warmup="$LOGIN_WARMUP"
  --login-max="$LOGIN_MAX" --clk-tck="$CLK_TCK" --redirect-uri="$FLOW_REDIRECT_URI" --out="$FLOWS_JSONL")

run_flows() { # run_flows <server> <pid> driver-args...; never exits the script on a driver failure
  local server=$1 pid=$2 rc=0
  shift 2
  log "$server: sign-in flows (bench/flows.mjs)"
  (pin "${BENCH_WRK_CPUS:-}" node "$BENCH/flows.mjs" --server="$server" --pid="$pid" "${flow_args[@]}" "$@") \
    2> >(tee "$RAW/$server-flows.txt" >&2) || rc=$?
  if [[ $rc -eq 3 ]]; then
    log "!!! $server: some sign-in flow operations FAILED; see the report and $RAW/$server-flows.txt"
    [[ $FLOWS_STATUS -eq 1 ]] || FLOWS_STATUS=3
  elif [[ $rc -ne 0 ]]; then
    log "!!! $server: the sign-in flow driver failed (exit $rc); see $RAW/$server-flows.txt"
    FLOWS_STATUS=1
  fi
  kill -0 "$pid" 2>/dev/null || { log "!!! $server exited during the sign-in flows"; FLOWS_STATUS=1; }
}

if want latchkey && want_part flows; then
  port=$(free_port)
  base="http://127.0.0.1:$port"
  data="$WORK/latchkey-flows"
  mkdir -p "$data"
  # A public client like dev mode's demo-app, and a user with the default Argon2id parameters,
  # both registered before the server starts so it loads them at start-up.
  "$LATCHKEY" client create --data-dir "$data" --id bench-app --name "Bench App" --public \
      --grant-type authorization_code --grant-type refresh_token --redirect-uri http://127.0.0.1/callback \
      --scope openid --scope offline_access --id-token-alg "$ID_TOKEN_ALG" --json >/dev/null 2>"$WORK/latchkey-setup.log" \
    || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey client create --id bench-app failed"; }
  bench_password=$(openssl rand -base64 24 | tr -d '\n/+=')
  printf '%s\n' "$bench_password" | "$LATCHKEY" user add bench --password-stdin --data-dir "$data" --json \
      >/dev/null 2>"$WORK/latchkey-setup.log" || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey user add bench failed"; }
  log "starting Latchkey on $base (sign-in flows)"
  (pin "${BENCH_SERVER_CPUS:-}" "$LATCHKEY" serve --dev --data-dir "$data" \
      --listen "127.0.0.1:$port" --issuer "$base") >/dev/null 2>>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
  wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey
  run_flows latchkey "$lk_pid" --issuer="$base" --client-id=bench-app --username=bench --password="$bench_password" \
    --db="$data/latchkey.db" --hash-params="m=19456 KiB, t=2, p=1 (config defaults)"
  stop_pid "$lk_pid"
fi

if want oidc-provider && want_part flows; then
  port=$(free_port)
  op_base="http://127.0.0.1:$port"
  log "starting oidc-provider $OP_VERSION on $op_base (sign-in flows, devInteractions)"
  (cd "$BENCH" && pin "${BENCH_SERVER_CPUS:-}" env NODE_ENV=production OP_MODE=flows OP_PORT="$port" OP_ID_TOKEN_ALG="$ID_TOKEN_ALG" \
      OP_CLIENT_ID=bench-app OP_REDIRECT_URI="$FLOW_REDIRECT_URI" node --expose-gc "$BENCH/oidc-provider.mjs") \
      >"$WORK/oidc-provider-flows.log" 2>&1 &
  op_pid=$!
  SERVER_PIDS+=("$op_pid")
  wait_http "$op_pid" "$op_base/.well-known/openid-configuration" oidc-provider
  run_flows oidc-provider "$op_pid" --issuer="$op_base" --client-id=bench-app --username=bench --password=any \
    --memory-url="$op_base/__bench/memory" --hash-params="none: devInteractions accepts any password"
  stop_pid "$op_pid"
  grep -i 'server_error' "$WORK/oidc-provider-flows.log" | head -3 | sed 's/^/[bench] oidc-provider: /' >&2 || true
fi

# ---------------------------------------------------------------- token lifecycle
SOAK_JSON="$WORK/soak.json"
: >"$SOAK_JSON"

lk_client() { # lk_client <data dir> <id> args... -> "id secret" (secret empty for a public client)
  local data=$1 id=$2
  shift 2
  "$LATCHKEY" client create --data-dir "$data" --id "$id" --json "$@" 2>"$WORK/latchkey-setup.log" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(!j.client_id)process.exit(1);console.log(j.client_id+" "+(j.client_secret||""))})' \
    || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey client create --id $id failed"; }
}

sqlite_ro() { # sqlite_ro <db> <sql>: read-only query, columns joined by |
  sqlite3 -readonly -batch -noheader -separator '|' "$1" "$2" 2>/dev/null && return 0
  python3 -c 'import sqlite3,sys
c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro",uri=True,timeout=10)
for row in c.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))' "$1" "$2"
}

metric() { # metric <metrics text> <series with labels> -> value or 0
  awk -v k="$2" '$1 == k {print $2; found=1; exit} END {if (!found) print 0}' <<<"$1"
}

if want latchkey && want_part lifecycle; then
  port=$(free_port)
  base="http://127.0.0.1:$port"
  data="$WORK/latchkey-lifecycle"
  mkdir -p "$data"
  # Registered before the server starts, so it loads them at start-up.
  read -r lco_id lco_secret <<<"$(lk_client "$data" bench-opaque --grant-type client_credentials --scope "$AUDIENCE_SCOPE" --access-token-format opaque)"
  read -r lcj_id lcj_secret <<<"$(lk_client "$data" bench --grant-type client_credentials --scope "$AUDIENCE_SCOPE" --access-token-alg ES256)"
  read -r lca_id lca_secret <<<"$(lk_client "$data" bench-api --grant-type client_credentials --scope "$AUDIENCE_SCOPE" --introspect-any true)"
  [[ -n "${lco_secret:-}" && -n "${lcj_secret:-}" && -n "${lca_secret:-}" ]] || die "could not register the lifecycle clients"
  lk_client "$data" bench-tv --public --grant-type urn:ietf:params:oauth:grant-type:device_code --scope openid >/dev/null
  log "starting Latchkey on $base (token lifecycle, device poll interval 1 s)"
  (pin "${BENCH_SERVER_CPUS:-}" env LATCHKEY_DEVICE_POLL_INTERVAL=1 "$LATCHKEY" serve --dev --data-dir "$data" \
      --listen "127.0.0.1:$port" --issuer "$base") >/dev/null 2>>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
  wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey
  lifecycle_scenarios latchkey "$lk_pid" "$base" "$(basic_auth "$lco_id" "$lco_secret")" \
    "$(basic_auth "$lca_id" "$lca_secret")" bench-tv "$(basic_auth "$lcj_id" "$lcj_secret")"
  stop_pid "$lk_pid"

  # Housekeeping soak: opaque tokens that live 2 s, housekeeping every second, tokens issued
  # without a pause for SOAK_SECONDS; the access_tokens table is counted (read-only) as it goes.
  port=$(free_port)
  base="http://127.0.0.1:$port"
  data="$WORK/latchkey-soak"
  mkdir -p "$data"
  read -r soak_id soak_secret <<<"$(lk_client "$data" bench-soak --grant-type client_credentials --scope "$AUDIENCE_SCOPE" \
    --access-token-format opaque --access-token-lifetime 2)"
  [[ -n "${soak_secret:-}" ]] || die "could not register the soak client"
  soak_auth=$(basic_auth "$soak_id" "$soak_secret")
  log "starting Latchkey on $base (housekeeping soak: interval 1 s, access-token lifetime 2 s)"
  (pin "${BENCH_SERVER_CPUS:-}" env LATCHKEY_HOUSEKEEPING_INTERVAL=1 "$LATCHKEY" serve --dev --data-dir "$data" \
      --listen "127.0.0.1:$port" --issuer "$base") >/dev/null 2>>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
  wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey
  r=$(post_form "$base/token" "$soak_auth" "grant_type=client_credentials&scope=$AUDIENCE_SCOPE")
  check_json "latchkey soak token" "$r" 'status === 200 && typeof j.access_token === "string" && j.access_token.split(".").length !== 3 && j.expires_in === 2' '200 with an opaque access_token, expires_in 2'
  db="$data/latchkey.db"
  SOAK_SAMPLES="$WORK/soak-samples.jsonl"
  : >"$SOAK_SAMPLES"
  soak_t0=$EPOCHREALTIME
  soak_sample() { # soak_sample <label>
    local rows m t
    rows=$(sqlite_ro "$db" "SELECT count(*), coalesce(sum(expires_at <= CAST(strftime('%s','now') AS INTEGER)), 0) FROM access_tokens") \
      || die "soak: could not read $db"
    m=$(curl -s "$base/metrics")
    t=$(awk -v a="$soak_t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
    node -e 'const [label,t,rows,del,issued,ok,partial,db,wal,rss,ticks,tck]=process.argv.slice(1);const [n,expired]=rows.split("|").map(Number);
      console.log(JSON.stringify({label,t_s:Number(t),rows:n,expired_rows:expired,deleted_total:Number(del),issued_total:Number(issued),
        housekeeping_runs_ok:Number(ok),housekeeping_runs_partial:Number(partial),db_bytes:Number(db),wal_bytes:Number(wal),rss_kib:Number(rss),cpu_s:Number(ticks)/Number(tck)}))' \
      "$1" "$t" "$rows" "$(metric "$m" 'latchkey_housekeeping_deleted_total{kind="access_tokens"}')" \
      "$(metric "$m" 'latchkey_tokens_issued_total{grant_type="client_credentials"}')" \
      "$(metric "$m" 'latchkey_housekeeping_runs_total{outcome="ok"}')" "$(metric "$m" 'latchkey_housekeeping_runs_total{outcome="partial"}')" \
      "$(stat -c %s "$db")" "$(stat -c %s "$db-wal" 2>/dev/null || echo 0)" "$(rss_kib "$lk_pid")" "$(cpu_ticks "$lk_pid")" "$CLK_TCK" >>"$SOAK_SAMPLES"
    tail -1 "$SOAK_SAMPLES" | sed 's/^/[bench] soak: /' >&2
  }
  soak_sample start
  log "latchkey / soak: issuing for ${SOAK_SECONDS}s, counting access_tokens every ${SOAK_SAMPLE}s"
  LC_ENV=(LC_AUTH="$soak_auth" LC_BODY="grant_type=client_credentials&scope=$AUDIENCE_SCOPE" LC_EXPECT=200)
  lc_wrk "$RAW/latchkey-soak.txt" "" "$SOAK_SECONDS" --latency "$base/token" &
  soak_wrk=$!
  LC_ENV=()
  for ((soak_at = SOAK_SAMPLE; soak_at < SOAK_SECONDS; soak_at += SOAK_SAMPLE)); do
    sleep "$(awk -v a="$soak_t0" -v b="$EPOCHREALTIME" -v at="$soak_at" 'BEGIN {d = at - (b - a); print (d > 0 ? d : 0)}')"
    soak_sample "${soak_at} s"
  done
  wait "$soak_wrk" || die "soak: wrk failed, see $RAW/latchkey-soak.txt"
  soak_sample end
  sleep 3 # lifetime 2 s + one housekeeping interval: everything issued has expired and should be gone
  soak_sample "end + 3 s idle"
  soak_line=$(grep '^BENCH_RESULT ' "$RAW/latchkey-soak.txt") || die "no BENCH_RESULT line in $RAW/latchkey-soak.txt"
  node -e 'const fs=require("fs");const [samples,line,secs,sample]=process.argv.slice(1);
    const r=Object.fromEntries(line.split(" ").slice(1).map(kv=>kv.split("=")).map(([k,v])=>[k,Number(v)]));
    console.log(JSON.stringify({server:"latchkey",scenario:"soak",seconds:Number(secs),sample_every_s:Number(sample),
      access_token_lifetime_s:2,housekeeping_interval_s:1,housekeeping_batch:1000,wrk:r,
      samples:fs.readFileSync(samples,"utf8").trim().split("\n").map(l=>JSON.parse(l))}))' \
    "$SOAK_SAMPLES" "$soak_line" "$SOAK_SECONDS" "$SOAK_SAMPLE" >"$SOAK_JSON"
  stop_pid "$lk_pid"
fi

if want oidc-provider && want_part lifecycle; then
  port=$(free_port)
  op_base="http://127.0.0.1:$port"
  op_api_secret=$(openssl rand -hex 16)
  log "starting oidc-provider $OP_VERSION on $op_base (token lifecycle: introspection, revocation, deviceFlow)"
  (cd "$BENCH" && pin "${BENCH_SERVER_CPUS:-}" env NODE_ENV=production OP_MODE=lifecycle OP_PORT="$port" \
      OP_CLIENT_ID=bench OP_CLIENT_SECRET=bench-secret OP_API_SECRET="$op_api_secret" node "$BENCH/oidc-provider.mjs") \
      >"$WORK/oidc-provider-lifecycle.log" 2>&1 &
  op_pid=$!
  SERVER_PIDS+=("$op_pid")
  wait_http "$op_pid" "$op_base/.well-known/openid-configuration" oidc-provider
  lifecycle_scenarios oidc-provider "$op_pid" "$op_base" "$(basic_auth bench bench-secret)" \
    "$(basic_auth bench-api "$op_api_secret")" bench-tv
  stop_pid "$op_pid"
  grep -i 'server_error' "$WORK/oidc-provider-lifecycle.log" | head -3 | sed 's/^/[bench] oidc-provider: /' >&2 || true
fi

# ---------------------------------------------------------------- PostgreSQL
# A throw-away PostgreSQL server (initdb in a private directory, unix socket there, no TCP), then
# Latchkey and oidc-provider (its PostgreSQL adapter, bench/oidc-provider-pg-adapter.mjs) on it,
# one node and two nodes each: client_credentials (wrk; no database write at either server), code
# flows and refresh grants (bench/flows.mjs; database writes). Latchkey on SQLite runs the same
# flows as the reference for what the database round trips cost, and pgbench times a `SELECT 1`
# round trip over the same socket. Every row has the CPU of the servers, of PostgreSQL (postmaster
# and all its children) and of the whole machine over the measured run.
PG_JSONL="$WORK/pg.jsonl"
: >"$PG_JSONL"
PG_DIR=""
PG_DATA=""
PG_AS=()
PG_PORT=5432 # a socket file in PG_DIR; there is no TCP listener

pg_ctl_() { "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }

pg_stop() { # stops the server (fast, then immediate) and removes its directory; idempotent
  [[ -n "$PG_DIR" ]] || return 0
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    pg_ctl_ stop -m fast -w -t 30 >/dev/null 2>&1 || pg_ctl_ stop -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}

pg_start() {
  local d
  PG_BIN=${BENCH_PG_BIN:-}
  if [[ -z "$PG_BIN" ]]; then
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
      [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" && -x "$d/pgbench" && -x "$d/psql" ]] && PG_BIN=$d
    done
  fi
  [[ -n "$PG_BIN" ]] || die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql; or set BENCH_PG_BIN)"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run PostgreSQL as"
    PG_AS=(runuser -u postgres --)
  fi
  PG_DIR=$(mktemp -d /tmp/latchkey-bench-pg.XXXXXX) # short: a unix socket path has at most 107 bytes
  PG_DATA="$PG_DIR/data"
  [[ $(id -u) -ne 0 ]] || chown postgres: "$PG_DIR"
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C --no-instructions \
    >"$RAW/pg-initdb.txt" 2>&1 || { cat "$RAW/pg-initdb.txt" >&2; die "initdb failed"; }
  # Durability as shipped unless BENCH_PG_FSYNC=off: fsync, synchronous_commit and
  # full_page_writes on, so every commit waits for its WAL flush to the disk.
  local sync=on
  [[ "$PG_FSYNC" == on ]] || sync=off
  "${PG_AS[@]}" tee -a "$PG_DATA/postgresql.conf" >/dev/null <<CONF

# bench/run.sh (PostgreSQL part)
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
port = $PG_PORT
max_connections = 100
shared_buffers = '128MB'
fsync = $sync
synchronous_commit = $sync
full_page_writes = $sync
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 1000
log_min_messages = warning
CONF
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null 2>&1 \
    || { cat "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  PG_PM=$(head -1 "$PG_DATA/postmaster.pid")
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running (postmaster pid $PG_PM, socket in $PG_DIR, fsync $sync)"
}

pg_psql() { # pg_psql <database> <sql>
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}
pg_uri() { echo "postgresql:///$1?host=$PG_DIR&port=$PG_PORT&user=postgres"; }

pg_ticks() { # CPU ticks of the PostgreSQL server: the postmaster's own and reaped children's, and its live children's
  local f c sum
  read -r -a f <<<"$(sed 's/^.*) //' "/proc/$PG_PM/stat")"
  sum=$((f[11] + f[12] + f[13] + f[14]))
  for c in $(pgrep -P "$PG_PM"); do
    read -r -a f <<<"$(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null || echo)"
    [[ ${#f[@]} -gt 13 ]] && sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
machine_ticks() { awk 'NR == 1 {print $2 + $3 + $4 + $7 + $8}' /proc/stat; } # busy: user nice system irq softirq
sum_ticks() { local p s=0; for p in "$@"; do s=$((s + $(cpu_ticks "$p"))); done; echo "$s"; }
sum_rss() { local p s=0; for p in "$@"; do s=$((s + $(rss_kib "$p"))); done; echo "$s"; }
pg_statements() { # statements run in the benchmark databases so far (pg_stat_statements; not those of database postgres)
  pg_psql postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid <> (SELECT oid FROM pg_database WHERE datname = 'postgres')"
}

pg_wrk() { # pg_wrk <server> <store> <pids (comma list)> <url> <basic> [<port of node 2>]: client_credentials, one row
  local server=$1 store=$2 pids=$3 url=$4 auth=$5 port2=${6:-} raw idle rss c0 c1 p0 p1 m0 m1 s0 s1 wc nodes
  local -a pa
  IFS=, read -r -a pa <<<"$pids"
  nodes=${#pa[@]}
  raw="$RAW/pg-$server-$nodes-cc-es256.txt"
  idle=$(sum_rss "${pa[@]}")
  log "$server on $store, $nodes node(s) / client_credentials ES256: warm-up ${WARMUP}s, then ${DURATION}s measured ($THREADS threads, $CONNS connections${port2:+, threads alternating between the two nodes})"
  (pin "${BENCH_WRK_CPUS:-}" env BENCH_BASIC_AUTH="$auth" BENCH_PORT2="$port2" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
      -s "$BENCH/wrk.lua" "$url") >"$raw.warmup" 2>&1 || die "wrk warm-up failed, see $raw.warmup"
  for p in "${pa[@]}"; do kill -0 "$p" 2>/dev/null || die "$server died during warm-up"; done
  pg_psql postgres 'SELECT pg_stat_statements_reset()' >/dev/null
  s0=$(pg_statements); p0=$(pg_ticks); c0=$(sum_ticks "${pa[@]}"); m0=$(machine_ticks); t0=$EPOCHREALTIME
  # `times` in the subshell: the CPU of its children, i.e. of wrk (the load generator).
  ( (pin "${BENCH_WRK_CPUS:-}" env BENCH_BASIC_AUTH="$auth" BENCH_PORT2="$port2" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
      --latency -s "$BENCH/wrk.lua" "$url") || exit 1; times >"$raw.times") >"$raw" 2>&1 || die "wrk failed, see $raw"
  m1=$(machine_ticks); t1=$EPOCHREALTIME; c1=$(sum_ticks "${pa[@]}"); p1=$(pg_ticks); s1=$(pg_statements)
  rss=$(sum_rss "${pa[@]}")
  wc=$(tail -1 "$raw.times" | awk '{t = 0; for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); t += a[1] * 60 + a[2]} print t}')
  node -e '
    const [server, store, nodes, line, c0, c1, p0, p1, m0, m1, s0, s1, tck, idle, rss, wc, t0, t1] = process.argv.slice(1);
    const r = Object.fromEntries(line.split(" ").slice(1).map(kv => kv.split("=")).map(([k, v]) => [k, Number(v)]));
    const cpu_s = (c1 - c0) / tck;
    const out = { kind: "wrk", server, store, nodes: Number(nodes), scenario: "cc-es256", ok: r.requests, failures: r.non2xx,
      socket_errors: r.err_connect + r.err_read + r.err_write + r.err_timeout, duration_s: r.duration_s, ops_per_s: r.rps,
      p50_ms: r.p50_ms, p99_ms: r.p99_ms, cpu_s, ops_per_cpu_s: cpu_s > 0 ? r.requests / cpu_s : null,
      pg_cpu_s: (p1 - p0) / tck, machine_busy_s: (m1 - m0) / tck, machine_window_s: Number(t1) - Number(t0),
      loadgen_cpu_s: wc === "" ? null : Number(wc),
      pg_statements: Number(s1) - Number(s0), rss_idle_kib: Number(idle), rss_after_kib: Number(rss) };
    console.log(JSON.stringify(out));
    console.error(`[bench] ${server} on ${store}, ${nodes} node(s) / cc-es256: ${r.requests} requests = ${r.rps.toFixed(0)}/s, ` +
      `${out.ops_per_cpu_s.toFixed(0)} per server CPU-s, p50 ${r.p50_ms.toFixed(2)} ms, p99 ${r.p99_ms.toFixed(2)} ms, ` +
      `CPU s: server ${cpu_s.toFixed(2)}, PostgreSQL ${out.pg_cpu_s.toFixed(2)}, wrk ${wc}, machine ${out.machine_busy_s.toFixed(2)} in ${out.machine_window_s.toFixed(2)} s; ` +
      `${out.pg_statements} SQL statements, non-2xx ${r.non2xx}`);
  ' "$server" "$store" "$nodes" "$(grep '^BENCH_RESULT ' "$raw")" "$c0" "$c1" "$p0" "$p1" "$m0" "$m1" "$s0" "$s1" "$CLK_TCK" \
    "$idle" "$rss" "$wc" "$t0" "$t1" >>"$PG_JSONL" || die "no result from $raw"
}

pg_flows() { # pg_flows <server> <store> <pids (comma list)> <issuer> <nodes (comma list of URLs) or ""> driver-args...
  # PG_FLOWS_ROUND (set by the paired rounds): refresh grants only, rows of kind "paired" with that round.
  local server=$1 store=$2 pids=$3 iss=$4 nodes=$5 out rc=0 n kind=flows scenarios=code,refresh tag=""
  shift 5
  n=$(awk -F, '{print NF}' <<<"$pids")
  if [[ -n "${PG_FLOWS_ROUND:-}" ]]; then kind=paired; scenarios=refresh; tag="-round$PG_FLOWS_ROUND"; fi
  out="$WORK/pg-flows-$server-$store-$n$tag.jsonl"
  : >"$out"
  log "$server on $store, $n node(s): ${tag:+paired round $PG_FLOWS_ROUND: }$scenarios (bench/flows.mjs)"
  (pin "${BENCH_WRK_CPUS:-}" node "$BENCH/flows.mjs" --server="$server" --pid="$pids" --issuer="$iss" ${nodes:+--nodes="$nodes"} \
      --scenarios="$scenarios" --vus="$FLOW_VUS" --duration="$FLOW_DURATION" --warmup="$FLOW_WARMUP" --max-ops="$FLOW_MAX_OPS" \
      --clk-tck="$CLK_TCK" --redirect-uri="$FLOW_REDIRECT_URI" --pg-postmaster="$PG_PM" --psql="$PG_BIN/psql" \
      --pg-uri="$(pg_uri postgres)" --out="$out" "$@") 2> >(tee "$RAW/pg-$server-$store-$n$tag-flows.txt" >&2) || rc=$?
  if [[ $rc -eq 3 ]]; then
    log "!!! $server on $store: some code-flow or refresh operations FAILED; see $RAW/pg-$server-$store-$n$tag-flows.txt"
    [[ $FLOWS_STATUS -eq 1 ]] || FLOWS_STATUS=3
  elif [[ $rc -ne 0 ]]; then
    log "!!! $server on $store: the flow driver failed (exit $rc); see $RAW/pg-$server-$store-$n$tag-flows.txt"
    FLOWS_STATUS=1
  fi
  node -e 'const fs=require("fs");const [f,store,kind,round]=process.argv.slice(1);
    for (const l of fs.readFileSync(f,"utf8").split("\n").filter(Boolean))
      console.log(JSON.stringify({kind,store,...(round ? {round:Number(round)} : {}),...JSON.parse(l)}));' \
    "$out" "$store" "$kind" "${PG_FLOWS_ROUND:-}" >>"$PG_JSONL"
}

lk_pg_config() { # lk_pg_config <file> <storage>; every node shares one key-encryption key
  [[ -s "$WORK/kek" ]] || (umask 077 && openssl rand -base64 32 >"$WORK/kek")
  printf 'storage: "%s"\nstorage_pool_size: %s\nkeys:\n  encryption_key_file: "%s"\n' "$2" "$PG_POOL" "$WORK/kek" >"$1"
  lk_pg_http_settings >>"$1"
}

lk_pg_http_settings() { # the http: block of the PostgreSQL part's Latchkey configs (nothing: defaults)
  [[ -n "$PG_HANDLER_THREADS$PG_NETWORK_THREADS" ]] || return 0
  echo 'http:'
  [[ -z "$PG_HANDLER_THREADS" ]] || echo "  handler_threads: $PG_HANDLER_THREADS"
  [[ -z "$PG_NETWORK_THREADS" ]] || echo "  network_threads: $PG_NETWORK_THREADS"
}

lk_start_node() { # lk_start_node <config> <data dir> <port> <issuer>; sets lk_pid
  (pin "${BENCH_SERVER_CPUS:-}" "$LATCHKEY" serve --config "$1" --data-dir "$2" --listen "127.0.0.1:$3" --issuer "$4") \
    >/dev/null 2>>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
}

lk_pg_setup() { # lk_pg_setup <config> <admin data dir>: the cc client, the flows client and user; sets pgcc_auth
  local cfg=$1 data=$2 id secret
  read -r id secret <<<"$("$LATCHKEY" client create --config "$cfg" --data-dir "$data" --id bench --grant-type client_credentials \
      --scope "$AUDIENCE_SCOPE" --access-token-alg ES256 --json 2>"$WORK/latchkey-setup.log" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.client_id+" "+j.client_secret)})')" \
    || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey client create (PostgreSQL) failed"; }
  [[ -n "${secret:-}" ]] || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey client create (PostgreSQL) gave no secret"; }
  pgcc_auth=$(basic_auth "$id" "$secret")
  "$LATCHKEY" client create --config "$cfg" --data-dir "$data" --id bench-app --name "Bench App" --public \
      --grant-type authorization_code --grant-type refresh_token --redirect-uri http://127.0.0.1/callback \
      --scope openid --scope offline_access --id-token-alg "$ID_TOKEN_ALG" --access-token-format "$PG_ACCESS_TOKEN_FORMAT" \
      --json >/dev/null 2>"$WORK/latchkey-setup.log" \
    || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey client create --id bench-app (PostgreSQL) failed"; }
  printf '%s\n' "$pg_password" | "$LATCHKEY" user add bench --password-stdin --config "$cfg" --data-dir "$data" --json \
      >/dev/null 2>"$WORK/latchkey-setup.log" || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey user add (PostgreSQL) failed"; }
}

op_start_node() { # op_start_node <mode cc|flows> <database> <port> <issuer> <keys file>; sets op_pid
  (cd "$BENCH" && pin "${BENCH_SERVER_CPUS:-}" env NODE_ENV=production OP_MODE="$1" OP_STORE=pg OP_PG_POOL="$PG_POOL" \
      PGHOST="$PG_DIR" PGPORT="$PG_PORT" PGUSER=postgres PGDATABASE="$2" OP_PORT="$3" OP_ISSUER="$4" OP_KEYS_FILE="$5" \
      OP_CLIENT_ID="$([[ $1 == cc ]] && echo bench || echo bench-app)" OP_CLIENT_SECRET=bench-secret OP_ALG=ES256 \
      OP_REDIRECT_URI="$FLOW_REDIRECT_URI" OP_ID_TOKEN_ALG="$ID_TOKEN_ALG" node "$BENCH/oidc-provider.mjs") >>"$WORK/oidc-provider-pg.log" 2>&1 &
  op_pid=$!
  SERVER_PIDS+=("$op_pid")
}

if want_part pg; then
  pg_start
  PG_VERSION=$("$PG_BIN/postgres" --version | awk '{print $3}')
  pg_psql postgres 'CREATE EXTENSION pg_stat_statements' >/dev/null

  # The cost of one round trip: `SELECT 1` from one pgbench client over the same socket, prepared
  # (Bind/Execute/Sync, as the servers' drivers send it); the CPU of pgbench and of PostgreSQL per round trip.
  echo 'SELECT 1;' >"$WORK/select1.sql"
  log "pgbench: SELECT 1 over the unix socket, 1 client, prepared, ${DURATION}s"
  p0=$(pg_ticks)
  ("$PG_BIN/pgbench" -n -M prepared -f "$WORK/select1.sql" -c 1 -j 1 -T "$DURATION" -h "$PG_DIR" -p "$PG_PORT" -U postgres postgres;
    times >"$RAW/pg-pgbench-select1.times") >"$RAW/pg-pgbench-select1.txt" 2>&1 || { cat "$RAW/pg-pgbench-select1.txt" >&2; die "pgbench failed"; }
  p1=$(pg_ticks)
  node -e '
    const fs = require("fs"); const [file, times, p0, p1, tck] = process.argv.slice(1);
    const t = fs.readFileSync(file, "utf8");
    const tx = Number(/number of transactions actually processed: (\d+)/.exec(t)?.[1]);
    const lat = Number(/latency average = ([\d.]+) ms/.exec(t)?.[1]);
    const tm = /^(\S+) (\S+)$/.exec(fs.readFileSync(times, "utf8").trim().split("\n").pop()); // children of the subshell: pgbench
    const sec = (v) => { const m = /^(\d+)m([\d.]+)s$/.exec(v); return m ? Number(m[1]) * 60 + Number(m[2]) : NaN; };
    const client = tm ? sec(tm[1]) + sec(tm[2]) : null; const pg = (p1 - p0) / tck;
    if (!tx || !lat) { console.error("[bench] ERROR: could not parse pgbench output"); process.exit(1); }
    const out = { kind: "pgbench", scenario: "select1", transactions: tx, latency_us: lat * 1000,
      pg_cpu_us: (pg * 1e6) / tx, client_cpu_us: client == null ? null : (client * 1e6) / tx };
    console.log(JSON.stringify(out));
    console.error(`[bench] pgbench SELECT 1: ${tx} round trips, ${out.latency_us.toFixed(1)} us each; CPU per round trip: PostgreSQL ${out.pg_cpu_us.toFixed(1)} us, pgbench ${out.client_cpu_us?.toFixed(1)} us`);
  ' "$RAW/pg-pgbench-select1.txt" "$RAW/pg-pgbench-select1.times" "$p0" "$p1" "$CLK_TCK" >>"$PG_JSONL" || die "pgbench: no result"

  pg_password=$(openssl rand -base64 24 | tr -d '\n/+=')
  if want latchkey; then
    for n in 1 2; do
      pg_psql postgres "CREATE DATABASE latchkey_$n" >/dev/null
      cfg="$WORK/latchkey-pg-$n.yaml"
      lk_pg_config "$cfg" "$(pg_uri "latchkey_$n")"
      mkdir -p "$WORK/latchkey-pg-$n-admin"
      lk_pg_setup "$cfg" "$WORK/latchkey-pg-$n-admin"
      # Both nodes serve one issuer (node 1's URL), as behind a load balancer; each has its own data directory.
      port_a=$(free_port)
      base="http://127.0.0.1:$port_a"
      pids=""; urls=""; port_b=""
      for i in $(seq "$n"); do
        if [[ $i -eq 1 ]]; then port=$port_a; else port=$(free_port); port_b=$port; fi
        mkdir -p "$WORK/latchkey-pg-$n-node$i"
        log "starting Latchkey node $i of $n on 127.0.0.1:$port (PostgreSQL, issuer $base)"
        lk_start_node "$cfg" "$WORK/latchkey-pg-$n-node$i" "$port" "$base"
        wait_http "$lk_pid" "http://127.0.0.1:$port/.well-known/openid-configuration" "Latchkey node $i"
        pids+="${pids:+,}$lk_pid"; urls+="${urls:+,}http://127.0.0.1:$port"
      done
      check_token "Latchkey (PostgreSQL, node 1 of $n)" "$base/token" "$pgcc_auth" ES256
      [[ -z "$port_b" ]] || check_token "Latchkey (PostgreSQL, node 2 of 2)" "http://127.0.0.1:$port_b/token" "$pgcc_auth" ES256
      pg_wrk latchkey postgresql "$pids" "$base/token" "$pgcc_auth" "$port_b"
      pg_flows latchkey postgresql "$pids" "$base" "$([[ $n -gt 1 ]] && echo "$urls")" --client-id=bench-app \
        --username=bench --password="$pg_password"
      IFS=, read -r -a pa <<<"$pids"
      for p in "${pa[@]}"; do stop_pid "$p"; done
    done

    # The same flows on SQLite (one node, same settings otherwise): what PostgreSQL adds per operation.
    cfg="$WORK/latchkey-sqlite.yaml"
    printf 'storage: sqlite\nkeys:\n  encryption_key_file: "%s"\n' "$WORK/kek" >"$cfg"
    lk_pg_http_settings >>"$cfg"
    data="$WORK/latchkey-pg-sqlite"
    mkdir -p "$data"
    lk_pg_setup "$cfg" "$data"
    port=$(free_port)
    base="http://127.0.0.1:$port"
    log "starting Latchkey on $base (SQLite, the reference for the PostgreSQL rows)"
    lk_start_node "$cfg" "$data" "$port" "$base"
    wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey
    pg_flows latchkey sqlite "$lk_pid" "$base" "" --client-id=bench-app --username=bench --password="$pg_password"
    stop_pid "$lk_pid"
  fi

  if want oidc-provider; then
    for n in 1 2; do
      pg_psql postgres "CREATE DATABASE oidc_provider_$n" >/dev/null
      keys="$WORK/oidc-provider-pg-$n-keys.json"
      for mode in cc flows; do
        port_a=$(free_port)
        base="http://127.0.0.1:$port_a"
        pids=""; urls=""; port_b=""
        for i in $(seq "$n"); do
          if [[ $i -eq 1 ]]; then port=$port_a; else port=$(free_port); port_b=$port; fi
          log "starting oidc-provider $OP_VERSION node $i of $n on 127.0.0.1:$port ($mode mode, PostgreSQL adapter, issuer $base)"
          op_start_node "$mode" "oidc_provider_$n" "$port" "$base" "$keys"
          wait_http "$op_pid" "http://127.0.0.1:$port/.well-known/openid-configuration" "oidc-provider node $i"
          pids+="${pids:+,}$op_pid"; urls+="${urls:+,}http://127.0.0.1:$port"
        done
        if [[ $mode == cc ]]; then
          check_token "oidc-provider (PostgreSQL, node 1 of $n)" "$base/token" "$(basic_auth bench bench-secret)" ES256
          [[ -z "$port_b" ]] || check_token "oidc-provider (PostgreSQL, node 2 of 2)" "http://127.0.0.1:$port_b/token" "$(basic_auth bench bench-secret)" ES256
          pg_wrk oidc-provider postgresql "$pids" "$base/token" "$(basic_auth bench bench-secret)" "$port_b"
        else
          pg_flows oidc-provider postgresql "$pids" "$base" "$([[ $n -gt 1 ]] && echo "$urls")" --client-id=bench-app \
            --username=bench --password=any
        fi
        IFS=, read -r -a pa <<<"$pids"
        for p in "${pa[@]}"; do stop_pid "$p"; done
      done
    done
    grep -i 'server_error\|pg pool error' "$WORK/oidc-provider-pg.log" | head -3 | sed 's/^/[bench] oidc-provider: /' >&2 || true
  fi

  # Paired rounds: refresh grants on one node of each server, both running (each idle while the
  # other is measured), measured one right after the other, the order swapped every round (A B, B A,
  # A B, ...). The speed of a core on a shared virtual machine drifts by tens of percent within
  # minutes, and the rows above measure the two servers minutes apart; within a round both see the
  # same machine. Each server keeps its one-node database and configuration from above, so both
  # start from the tables (and PostgreSQL's statistics of them) their measured rows left. The
  # report gives each round's ratio and their median.
  if want latchkey && want oidc-provider && [[ $PG_PAIRED_ROUNDS -gt 0 ]]; then
    mkdir -p "$WORK/latchkey-pg-paired-node"
    lk_port=$(free_port)
    lk_base="http://127.0.0.1:$lk_port"
    log "starting Latchkey on $lk_base (PostgreSQL, database latchkey_1) for the paired rounds"
    lk_start_node "$WORK/latchkey-pg-1.yaml" "$WORK/latchkey-pg-paired-node" "$lk_port" "$lk_base"
    wait_http "$lk_pid" "$lk_base/.well-known/openid-configuration" "Latchkey (paired rounds)"
    op_port=$(free_port)
    op_base="http://127.0.0.1:$op_port"
    log "starting oidc-provider $OP_VERSION on $op_base (flows mode, database oidc_provider_1) for the paired rounds"
    op_start_node flows oidc_provider_1 "$op_port" "$op_base" "$WORK/oidc-provider-pg-1-keys.json"
    wait_http "$op_pid" "$op_base/.well-known/openid-configuration" "oidc-provider (paired rounds)"
    # Round 0 is a warm-up, in the report but not in the median: in the first runs of this part
    # oidc-provider's first rounds in a fresh process were up to twice as slow as its later ones,
    # and the rows above gave each server's refresh grants a code-flow run before them.
    for round in $(seq 0 "$PG_PAIRED_ROUNDS"); do
      order=(latchkey oidc-provider)
      [[ $((round % 2)) -eq 1 ]] || order=(oidc-provider latchkey)
      for sv in "${order[@]}"; do
        if [[ $sv == latchkey ]]; then
          PG_FLOWS_ROUND=$round pg_flows latchkey postgresql "$lk_pid" "$lk_base" "" --client-id=bench-app \
            --username=bench --password="$pg_password"
        else
          PG_FLOWS_ROUND=$round pg_flows oidc-provider postgresql "$op_pid" "$op_base" "" --client-id=bench-app \
            --username=bench --password=any
        fi
      done
    done
    stop_pid "$lk_pid"
    stop_pid "$op_pid"
  fi
  pg_stop
fi

# ---------------------------------------------------------------- client SDK
CLIENT_JSONL="$WORK/client.jsonl"
: >"$CLIENT_JSONL"
if want latchkey && want_part client; then
  # Validators: the same tokens and JWKS (written by latchkey-bench-validator) for all three, one
  # process each, single thread, CLIENT_SECONDS of process CPU per measurement.
  tokdir="$WORK/client-tokens"
  mkdir -p "$tokdir"
  # The verify ceiling is measured on the same CPUs right before and right after the Latchkey
  # validator, and the two runs averaged: on a shared (virtual) machine the speed of a core drifts
  # by tens of percent within minutes, and a ceiling taken at another time would compare unlike.
  verify_ceiling() { # prints "<ES256 verify/s> <RS256 verify/s>"
    local es rs
    es=$( (pin "${BENCH_CLIENT_CPUS:-}" openssl speed -mr -seconds "$SIGN_SECONDS" ecdsap256) 2>/dev/null \
      | awk -F: '/^\+F4:/ && $3 == 256 {print $5; exit}')
    rs=$( (pin "${BENCH_CLIENT_CPUS:-}" openssl speed -mr -seconds "$SIGN_SECONDS" rsa2048) 2>/dev/null \
      | awk -F: '/^\+F2:/ && $3 == 2048 {print $5; exit}')
    [[ -n "$es" && -n "$rs" ]] || die "could not parse openssl speed output"
    echo "$es $rs"
  }
  read -r es_before rs_before <<<"$(verify_ceiling)"
  log "client: latchkey-bench-validator ($CLIENT_TOKENS tokens per alg; crypto, jose, provider and validator levels, ${CLIENT_SECONDS} CPU-s each)"
  (pin "${BENCH_CLIENT_CPUS:-}" "$CLIENT_BIN_DIR/latchkey-bench-validator" --out "$tokdir" --seconds "$CLIENT_SECONDS" \
      --tokens "$CLIENT_TOKENS") >>"$CLIENT_JSONL" 2>"$RAW/client-validator.txt" \
    || { cat "$RAW/client-validator.txt" >&2; die "latchkey-bench-validator failed"; }
  read -r es_after rs_after <<<"$(verify_ceiling)"
  CLIENT_ES256_VERIFY=$(awk -v a="$es_before" -v b="$es_after" 'BEGIN {printf "%.1f", (a + b) / 2}')
  CLIENT_RS256_VERIFY=$(awk -v a="$rs_before" -v b="$rs_after" 'BEGIN {printf "%.1f", (a + b) / 2}')
  log "client: verify ceiling ES256 ${es_before%.*} / ${es_after%.*}, RS256 ${rs_before%.*} / ${rs_after%.*} verify/s (before / after)"
  log "client: jose $(node -e 'console.log(require(process.argv[1]).version)' "$BENCH/node_modules/jose/package.json") on Node.js $(node --version) (bench/validator_jose.mjs)"
  (pin "${BENCH_CLIENT_CPUS:-}" env UV_THREADPOOL_SIZE=1 node "$BENCH/validator_jose.mjs" "$tokdir" "$CLIENT_SECONDS") \
    >>"$CLIENT_JSONL" 2>"$RAW/client-jose.txt" || { cat "$RAW/client-jose.txt" >&2; die "bench/validator_jose.mjs failed"; }
  log "client: PyJWT $("$PYTHON" -c 'import jwt; print(jwt.__version__)') on $("$PYTHON" --version) (bench/validator_pyjwt.py)"
  (pin "${BENCH_CLIENT_CPUS:-}" "$PYTHON" "$BENCH/validator_pyjwt.py" "$tokdir" "$CLIENT_SECONDS") \
    >>"$CLIENT_JSONL" 2>"$RAW/client-pyjwt.txt" || { cat "$RAW/client-pyjwt.txt" >&2; die "bench/validator_pyjwt.py failed"; }

  # SDK CPU per code-flow login, against a real Latchkey: a confidential web-app client and a user
  # (default Argon2id parameters), registered before the server starts.
  port=$(free_port)
  base="http://127.0.0.1:$port"
  data="$WORK/latchkey-client"
  mkdir -p "$data"
  read -r web_id web_secret <<<"$(lk_client "$data" bench-web --grant-type authorization_code \
    --redirect-uri "$SDK_REDIRECT_URI" --scope openid)"
  [[ -n "${web_secret:-}" ]] || die "could not register the bench-web client"
  sdk_password=$(openssl rand -base64 24 | tr -d '\n/+=')
  printf '%s\n' "$sdk_password" | "$LATCHKEY" user add bench --password-stdin --data-dir "$data" --json \
      >/dev/null 2>"$WORK/latchkey-setup.log" || { cat "$WORK/latchkey-setup.log" >&2; die "latchkey user add bench failed"; }
  log "starting Latchkey on $base (SDK code-flow logins)"
  (pin "${BENCH_SERVER_CPUS:-}" "$LATCHKEY" serve --dev --data-dir "$data" \
      --listen "127.0.0.1:$port" --issuer "$base") >/dev/null 2>>"$LATCHKEY_LOG" &
  lk_pid=$!
  SERVER_PIDS+=("$lk_pid")
  wait_http "$lk_pid" "$base/.well-known/openid-configuration" Latchkey
  log "client: latchkey-bench-sdk-login ($SDK_LOGINS code-flow logins, each in a fresh browser session)"
  (pin "${BENCH_CLIENT_CPUS:-}" env LATCHKEY_BENCH_CLIENT_SECRET="$web_secret" LATCHKEY_BENCH_PASSWORD="$sdk_password" \
      "$CLIENT_BIN_DIR/latchkey-bench-sdk-login" --issuer "$base" --client-id "$web_id" \
      --redirect-uri "$SDK_REDIRECT_URI" --username bench --logins "$SDK_LOGINS") \
    >>"$CLIENT_JSONL" 2>"$RAW/client-sdk-login.txt" || { cat "$RAW/client-sdk-login.txt" >&2; die "latchkey-bench-sdk-login failed"; }
  stop_pid "$lk_pid"
  node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) {
      const r = JSON.parse(l);
      console.error(r.scenario ? `[bench] client / SDK login: ${r.mean_ms.toFixed(3)} ms CPU mean, p99 ${r.p99_ms.toFixed(3)} ms, cold ${r.cold_ms.toFixed(3)} ms (${r.logins} logins)`
        : `[bench] client / ${r.impl} ${r.level} ${r.alg}: ${Math.round(r.per_cpu_s)} per CPU-s (${r.us_per_validation.toFixed(1)} us)`); }' "$CLIENT_JSONL"
fi

# ---------------------------------------------------------------- report
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
node -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map(a => { const i = a.indexOf("="); return [a.slice(0, i), a.slice(i + 1)]; }))))' \
  "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "cpu=${cpu_model:-unknown}" "cores=$(nproc)" "kernel=$(uname -sr)" \
  "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "latchkey_version=$LATCHKEY_VERSION" "oidc_provider_version=$OP_VERSION" \
  "node=$(node --version)" "wrk=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')" \
  "openssl=$(openssl version | awk '{print $1, $2}')" \
  "threads=$THREADS" "connections=$CONNS" "duration=$DURATION" "warmup=$WARMUP" \
  "sign_seconds=$SIGN_SECONDS" "es256_sign_s=$ES256_SIGN" "es256_verify_s=$ES256_VERIFY" "rs256_sign_s=$RS256_SIGN" \
  "rs256_verify_s=$RS256_VERIFY" "client_es256_verify_s=${CLIENT_ES256_VERIFY:-}" "client_rs256_verify_s=${CLIENT_RS256_VERIFY:-}" "client_seconds=$CLIENT_SECONDS" "client_tokens=$CLIENT_TOKENS" "sdk_logins=$SDK_LOGINS" \
  "client_cpus=${BENCH_CLIENT_CPUS:-}" "python=$("$PYTHON" --version 2>&1 | awk '{print $2}')" \
  "server_cpus=${BENCH_SERVER_CPUS:-}" "wrk_cpus=${BENCH_WRK_CPUS:-}" "parts=$PARTS" \
  "flow_vus=$FLOW_VUS" "flow_duration=$FLOW_DURATION" "flow_warmup=$FLOW_WARMUP" "flow_max_ops=$FLOW_MAX_OPS" \
  "login_vus=$LOGIN_VUS" "login_duration=$LOGIN_DURATION" "login_warmup=$LOGIN_WARMUP" "login_max=$LOGIN_MAX" \
  "revoke_tokens=$REVOKE_TOKENS" "device_codes=$DEVICE_CODES" "soak_seconds=$SOAK_SECONDS" \
  "commit_dirty=$(git -C "$ROOT" status --porcelain -- bench docs/benchmarks.md 2>/dev/null | grep -q . && echo yes || echo no)" \
  "pg_version=${PG_VERSION:-}" "pg_fsync=$PG_FSYNC" "pg_pool=$PG_POOL" "pg_handler_threads=$PG_HANDLER_THREADS" "pg_network_threads=$PG_NETWORK_THREADS" \
  "pg_paired_rounds=$PG_PAIRED_ROUNDS" \
  "flows_status=$FLOWS_STATUS" >"$WORK/meta.json"

node "$BENCH/report.mjs" "$WORK/meta.json" "$RESULTS_JSONL" "$FLOWS_JSONL" "$SOAK_JSON" "$CLIENT_JSONL" "$PG_JSONL" >"$RESULTS/latest.md"
cp "$PG_JSONL" "$RESULTS/latest-pg.jsonl"
cp "$RESULTS_JSONL" "$RESULTS/latest.jsonl"
cp "$CLIENT_JSONL" "$RESULTS/latest-client.jsonl"
cp "$FLOWS_JSONL" "$RESULTS/latest-flows.jsonl"
cp "$SOAK_JSON" "$RESULTS/latest-soak.json"
cat "$RESULTS/latest.md"
log "wrote $RESULTS/latest.md (raw wrk and flow-driver output in $RAW/)"

if [[ $FLOWS_STATUS -eq 1 ]]; then
  log "a sign-in flow driver could not run; see the report"
  exit 1
fi
if [[ $FLOWS_STATUS -ne 0 ]]; then
  log "some sign-in flow operations failed; see the report"
  exit 3
fi
# Lifecycle rows count answers that were not the expected one (device polling expects 400s).
if node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").filter(Boolean).map(JSON.parse);process.exit(l.some(r=>(r.unexpected??r.non2xx)>0||r.socket_errors>0)?1:0)' "$RESULTS_JSONL"; then
  exit 0
fi
log "some scenarios had unexpected (non-2xx) responses or socket errors; see the table"
exit 3
