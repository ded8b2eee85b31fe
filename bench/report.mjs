// Renders bench/run.sh results as markdown:
//   node report.mjs meta.json results.jsonl [flows.jsonl] [soak.json] [client.jsonl] [pg.jsonl]
import { existsSync, readFileSync } from 'node:fs';

const [metaPath, resultsPath, flowsPath, soakPath, clientPath, pgPath] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const readJsonl = (path) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rows = readJsonl(resultsPath);
const flows = flowsPath && existsSync(flowsPath) ? readJsonl(flowsPath) : [];
const soak = soakPath && existsSync(soakPath) && readFileSync(soakPath, 'utf8').trim()
  ? JSON.parse(readFileSync(soakPath, 'utf8')) : null;
const client = clientPath && existsSync(clientPath) ? readJsonl(clientPath) : [];
const pgRows = pgPath && existsSync(pgPath) ? readJsonl(pgPath) : [];
const parts = meta.parts || 'all';

const SCENARIOS = [
  ['cc-es256', 'client_credentials, ES256 access token (POST /token)'],
  ['cc-rs256', 'client_credentials, RS256 access token (POST /token)'],
  ['jwks', 'GET /jwks'],
  ['discovery', 'GET /.well-known/openid-configuration'],
];
const SERVERS = ['latchkey', 'oidc-provider'];
const get = (server, scenario) => rows.find((r) => r.server === server && r.scenario === scenario);

const n = (v, d = 0) => (v == null || Number.isNaN(v) ? 'n/a' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const mib = (kib) => (kib == null ? 'n/a' : (kib / 1024).toFixed(1));
const ratio = (a, b) => (a == null || b == null || !b ? null : a / b);
const x = (v) => (v == null ? 'n/a' : `${v.toFixed(2)}x`);
const median = (vs) => {
  const s = [...vs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const status = (v, ok) => (v == null ? 'n/a' : ok ? 'pass' : 'FAIL');
function target(name, v, fmt, ok) { p(`| ${name} | ${v == null ? 'n/a' : fmt(v)} | ${status(v, v != null && ok(v))} |`); }
const L = (sc) => get('latchkey', sc);
const O = (sc) => get('oidc-provider', sc);
const es256Sign = Number(meta.es256_sign_s);
const rs256Sign = Number(meta.rs256_sign_s);
const out = [];
const p = (s = '') => out.push(s);

p('# Latchkey benchmark results');
p();
p(`- Date: ${meta.date}; commit ${meta.commit}${meta.commit_dirty === 'yes' ? ' with uncommitted bench changes' : ''}${meta.latchkey_version ? `; ${meta.latchkey_version}` : ''}`);
p(`- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.kernel}`);
p(`- Reference: oidc-provider ${meta.oidc_provider_version || 'not run'} on Node.js ${meta.node} (NODE_ENV=production)`);
p(`- Load: wrk ${meta.wrk}, ${meta.threads} threads, ${meta.connections} connections, ${meta.warmup} s warm-up + ${meta.duration} s measured per scenario, loopback`);
p(`- Pinning: server ${meta.server_cpus ? `CPUs ${meta.server_cpus}` : 'unpinned'}, wrk ${meta.wrk_cpus ? `CPUs ${meta.wrk_cpus}` : 'unpinned'}`);
p(`- Signing ceiling (one core, ${meta.openssl}, \`openssl speed -seconds ${meta.sign_seconds}\`): ECDSA P-256 ${n(es256Sign)} sign/s` +
  `${meta.es256_verify_s ? ` (${n(Number(meta.es256_verify_s))} verify/s)` : ''}, RSA-2048 ${n(rs256Sign)} sign/s` +
  `${meta.rs256_verify_s ? ` (${n(Number(meta.rs256_verify_s))} verify/s)` : ''}`);
p(`- Parts run: ${parts}`);
const wrkRows = rows.filter((r) => SCENARIOS.some(([sc]) => sc === r.scenario));
if (wrkRows.length || parts === 'all' || parts === 'wrk') renderWrk();
if (flows.length || parts === 'all' || parts === 'flows') renderFlows();
if (rows.some((r) => r.scenario.startsWith('lc-')) || soak || parts === 'all' || parts === 'lifecycle') renderLifecycle();
if (client.length || parts === 'all' || parts === 'client') renderClient();
if (pgRows.length || parts === 'all' || parts === 'pg') renderPg();
console.log(out.join('\n'));

function renderWrk() {
p();
p('## Measurements');
p();
p('| Scenario | Server | Requests/s | p50 ms | p99 ms | Server CPU s | Requests per CPU-s | RSS idle MiB | RSS after MiB | Non-2xx | Socket errors |');
p('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [sc, label] of SCENARIOS) {
  for (const sv of SERVERS) {
    const r = get(sv, sc);
    if (!r) continue;
    p(`| ${label} | ${sv} | ${n(r.rps)} | ${n(r.p50_ms, 2)} | ${n(r.p99_ms, 2)} | ${n(r.cpu_s, 2)} | ${n(r.req_per_cpu_s)} | ${mib(r.rss_idle_kib)} | ${mib(r.rss_after_kib)} | ${r.non2xx} | ${r.socket_errors} |`);
  }
}
p();
p('## Latchkey / oidc-provider');
p();
p('| Scenario | Requests/s | Requests per CPU-s | p99 latency | RSS after load |');
p('| --- | ---: | ---: | ---: | ---: |');
for (const [sc, label] of SCENARIOS) {
  const a = get('latchkey', sc);
  const b = get('oidc-provider', sc);
  p(`| ${label} | ${x(ratio(a?.rps, b?.rps))} | ${x(ratio(a?.req_per_cpu_s, b?.req_per_cpu_s))} | ${x(ratio(a?.p99_ms, b?.p99_ms))} | ${x(ratio(a?.rss_after_kib, b?.rss_after_kib))} |`);
}
p();
p('## Targets (Latchkey)');
p();
p('| Target | Measured | Status |');
p('| --- | --- | --- |');
target('client_credentials ES256: requests per CPU-s >= 8x oidc-provider',
  ratio(L('cc-es256')?.req_per_cpu_s, O('cc-es256')?.req_per_cpu_s), x, (v) => v >= 8);
target('client_credentials ES256: requests per CPU-s >= 50% of ES256 sign/s ceiling',
  ratio(L('cc-es256')?.req_per_cpu_s, es256Sign), (v) => `${(v * 100).toFixed(1)}%`, (v) => v >= 0.5);
target('client_credentials RS256: requests per CPU-s >= 80% of RS256 sign/s ceiling',
  ratio(L('cc-rs256')?.req_per_cpu_s, rs256Sign), (v) => `${(v * 100).toFixed(1)}%`, (v) => v >= 0.8);
target('GET /jwks: requests per CPU-s >= 5x oidc-provider',
  ratio(L('jwks')?.req_per_cpu_s, O('jwks')?.req_per_cpu_s), x, (v) => v >= 5);
target('GET discovery: requests per CPU-s >= 5x oidc-provider',
  ratio(L('discovery')?.req_per_cpu_s, O('discovery')?.req_per_cpu_s), x, (v) => v >= 5);
const lk = wrkRows.filter((r) => r.server === 'latchkey');
const maxOf = (k) => (lk.length ? Math.max(...lk.map((r) => r[k])) : null);
target('p99 latency < 5 ms (worst scenario)', maxOf('p99_ms'), (v) => `${v.toFixed(2)} ms`, (v) => v < 5);
target('RSS idle < 15 MiB', maxOf('rss_idle_kib'), (v) => `${mib(v)} MiB`, (v) => v < 15 * 1024);
target('RSS after load < 40 MiB', maxOf('rss_after_kib'), (v) => `${mib(v)} MiB`, (v) => v < 40 * 1024);
const bad = wrkRows.filter((r) => r.non2xx > 0 || r.socket_errors > 0);
p();
p(bad.length
  ? `**Warning:** non-2xx responses or socket errors in: ${bad.map((r) => `${r.server}/${r.scenario}`).join(', ')}. Those numbers do not measure successful requests.`
  : 'Every measured response was 2xx; no socket errors.');
}

// ------------------------------------------------------------------ sign-in flows (bench/flows.mjs)
function renderFlows() {
  const F = (server, scenario) => flows.find((r) => r.server === server && r.scenario === scenario);
  const FLOW_SCENARIOS = [
    ['code', 'Authorization code + PKCE, existing session (authorize -> code -> token)', 'flows'],
    ['refresh', 'Refresh-token grant (rotating chain per VU)', 'grants'],
    ['login', 'Password login (authorize -> login page -> credentials -> consent page)', 'logins'],
  ];
  const ms = (v) => (v == null ? 'n/a' : v.toFixed(2));
  const bytes = (v) => (v == null ? 'n/a' : `${Math.round(v).toLocaleString('en-US')} B`);
  p();
  p('## Sign-in flows: authorization code + PKCE, refresh tokens, password logins');
  p();
  p(`Driven by \`bench/flows.mjs\` (Node.js http client with keep-alive; wrk cannot follow a flow). Each virtual user (VU) ` +
    'is one browser with its own cookie jar; before measuring, every VU signs in once through the real login and consent ' +
    'pages and keeps its session cookie and refresh token. Each scenario: warm-up (not measured), then a measured run ' +
    'bounded by time and operation count. Server CPU = utime+stime of the server process over the measured run.');
  p();
  p(`- Code flows and refresh grants: ${meta.flow_vus} VUs, ${meta.flow_warmup} s warm-up + ${meta.flow_duration} s measured ` +
    `(at most ${n(Number(meta.flow_max_ops))} operations). A code flow = GET authorize with the session cookie (redirect not followed) ` +
    '-> 302/303 to the redirect URI with code and state -> POST /token with code_verifier -> 200 with an id_token; scope `openid` ' +
    '(so neither server issues a refresh token here: oidc-provider drops offline_access without prompt=consent). A refresh grant = ' +
    'POST /token grant_type=refresh_token with the VU\'s newest token -> 200 with a new (rotated) refresh token, scope `openid offline_access`.');
  p(`- Password logins: ${meta.login_vus} VUs, ${meta.login_warmup} s warm-up, then up to ${meta.login_duration} s or ` +
    `${n(Number(meta.login_max))} logins, each in a fresh cookie jar with prompt=consent, counted when the consent page is reached. ` +
    'Every login creates one server-side session; memory and store growth across the measured run is divided by the logins completed.');
  const tf = (sv) => F(sv, 'code')?.token_formats || F(sv, 'refresh')?.token_formats || F(sv, 'login')?.token_formats;
  for (const sv of SERVERS) {
    const t = tf(sv);
    if (t) p(`- ${sv} tokens: ID token ${t.id_token}; access token ${t.access_token}; refresh token ${t.refresh_token_chars} chars (opaque).`);
  }
  p('- **Token difference:** Latchkey signs two JWTs per token response (the ID token + an ES256 JWT access token, its default); ' +
    'oidc-provider signs one (the ID token) and stores an opaque access token in its adapter (its default format).');
  p('- **Login difference:** oidc-provider\'s devInteractions login page accepts any password and hashes nothing, and takes 5 ' +
    'requests per login (authorize, interaction page, POST, resume, consent interaction) against Latchkey\'s 2; its login numbers are ' +
    'shown for reference only, not as a comparison.');
  // The ID token's alg is what the clients registered (BENCH_ID_TOKEN_ALG): RS256 unless ES256.
  const idAlg = /ES256/.test(tf('latchkey')?.id_token || '') ? 'ES256' : 'RS256';
  const idSign = idAlg === 'ES256' ? es256Sign : rs256Sign;
  const lkBound = es256Sign > 0 && idSign > 0 ? 1 / (1 / idSign + 1 / es256Sign) : null;
  const opBound = idSign > 0 ? idSign : null;
  const bound = (sv) => (sv === 'latchkey' ? lkBound : opBound);
  p(`- **Signing bound** (one core, from the ceiling above): a token response costs Latchkey one ${idAlg} + one ES256 signature, at most ` +
    `${n(lkBound)} per CPU-s; oidc-provider one ${idAlg} signature, at most ${n(opBound)} per CPU-s (column "% of signing bound" below). ` +
    'Against oidc-provider\'s measured rates, signing alone caps Latchkey\'s per-CPU-s ratio at ' +
    `${x(ratio(lkBound, F('oidc-provider', 'code')?.ops_per_cpu_s))} for code flows and ${x(ratio(lkBound, F('oidc-provider', 'refresh')?.ops_per_cpu_s))} for refresh grants.`);
  p('- oidc-provider runs with its own MemoryAdapter over an unbounded expiring Map (the default adapter is an LRU capped at ' +
    '1000 entries, which evicts sessions and refresh tokens under this load), `NODE_ENV=production`, `node --expose-gc`.');
  if (meta.flows_status && meta.flows_status !== '0') {
    p();
    p(`**WARNING: the sign-in flow driver reported ${meta.flows_status === '1' ? 'an error (a server or driver could not run)' : 'failed operations'}. ` +
      'See bench/results/raw/*-flows.txt.**');
  }
  p();
  p('| Scenario | Server | Completed | Failures | Ops/s | p50 ms | p99 ms | Server CPU s | Ops per server CPU-s | CPU ms per op | % of signing bound | HTTP requests per op | Driver CPU s | RSS after MiB |');
  p('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [sc, label] of FLOW_SCENARIOS) {
    for (const sv of SERVERS) {
      const r = F(sv, sc);
      if (!r) continue;
      const fails = r.failures + (r.warmup_failures || 0);
      p(`| ${label} | ${sv} | ${n(r.ok)} | ${fails ? `**${r.failures} (+${r.warmup_failures || 0} in warm-up)**` : 0} | ${n(r.ops_per_s, 1)} | ` +
        `${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${n(r.cpu_s, 2)} | ${n(r.ops_per_cpu_s, 1)} | ${r.ops_per_cpu_s ? (1000 / r.ops_per_cpu_s).toFixed(2) : 'n/a'} | ` +
        `${sc !== 'login' && r.ops_per_cpu_s && bound(sv) ? `${((100 * r.ops_per_cpu_s) / bound(sv)).toFixed(1)}%` : 'n/a'} | ` +
        `${r.requests_per_op == null ? 'n/a' : r.requests_per_op.toFixed(1)} | ${n(r.driver_cpu_s, 2)} | ${mib(r.rss_after_kib)} |`);
    }
  }
  p();
  p('### Sign-in flows: Latchkey / oidc-provider');
  p();
  p('| Scenario | Ops/s | Ops per server CPU-s | p99 latency |');
  p('| --- | ---: | ---: | ---: |');
  for (const [sc, label] of FLOW_SCENARIOS) {
    const a = F('latchkey', sc);
    const b = F('oidc-provider', sc);
    const caveat = sc === 'login' ? ' (not comparable: oidc-provider checks no password)' : '';
    p(`| ${label}${caveat} | ${x(ratio(a?.ops_per_s, b?.ops_per_s))} | ${x(ratio(a?.ops_per_cpu_s, b?.ops_per_cpu_s))} | ${x(ratio(a?.p99_ms, b?.p99_ms))} |`);
  }
  const lkLogin = F('latchkey', 'login');
  const opLogin = F('oidc-provider', 'login');
  p();
  p('### Password logins and Argon2id cost');
  p();
  if (lkLogin) {
    const hp = lkLogin.stored_hash_params;
    p(`- Latchkey hash: ${hp ? `${hp.alg} v=${hp.v}, m=${hp.m_kib} KiB (${(hp.m_kib / 1024).toFixed(1)} MiB), t=${hp.t}, p=${hp.p} (read from the user's stored hash)` : 'stored hash not readable'}; ` +
      `configured: ${lkLogin.hash_params || 'n/a'}.`);
    p(`- Latchkey: ${n(lkLogin.ops_per_cpu_s, 1)} logins per server CPU-second = ${lkLogin.ops_per_cpu_s ? (1000 / lkLogin.ops_per_cpu_s).toFixed(1) : 'n/a'} ms of server CPU per login ` +
      '(one Argon2id verification plus two page renders, CSRF, session insert); the Argon2id verification is the bulk of it.');
  }
  if (opLogin) p(`- oidc-provider (devInteractions, no password hashing): ${n(opLogin.ops_per_cpu_s, 1)} logins per server CPU-second.`);
  p();
  p('### Memory and store per session');
  p();
  p('| Server | Sessions created (measured) | RSS growth per session | Heap growth per session (after GC) | Store: DB growth per session | Store: sessions table + indexes per session (payload) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const sv of SERVERS) {
    const r = F(sv, 'login');
    if (!r) continue;
    const created = r.sessions_after != null && r.sessions_before != null ? r.sessions_after - r.sessions_before : r.ok;
    const table = r.sessions_table_bytes_per_session == null ? 'n/a'
      : `${bytes(r.sessions_table_bytes_per_session)} (${bytes(r.sessions_payload_bytes_per_session)})`;
    p(`| ${sv} | ${n(created)} | ${bytes(r.rss_bytes_per_session)} | ${r.heap_bytes_per_session == null ? 'n/a (not a GC heap)' : bytes(r.heap_bytes_per_session)} | ` +
      `${r.db_logical_bytes_per_session == null ? 'n/a (in memory)' : bytes(r.db_logical_bytes_per_session)} | ${table} |`);
  }
  p();
  p('Latchkey keeps sessions in its SQLite store, not in process memory: its RSS can grow only by SQLite\'s page cache, ' +
    'which is bounded and already warm from the earlier scenarios (RSS is read in KiB, after the Argon2id buffers of the warm-up ' +
    'logins have been allocated). Store growth = `PRAGMA page_count` x page size read through the WAL; table bytes from `dbstat` ' +
    '(pages of the sessions table and its indexes / rows; payload = bytes of row data). oidc-provider keeps everything in its ' +
    'adapter\'s Map: per login it retains the Session, its `sessionUid` index and the pending consent Interaction; its RSS ' +
    'follows V8\'s heap reservations, so the heap used after a full GC is the better per-session figure.');
  if (opLogin?.adapter_by_model_after) {
    p(`oidc-provider adapter entries after the logins: ${Object.entries(opLogin.adapter_by_model_after).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  }
  p();
  p('### Sign-in flow targets (Latchkey)');
  p();
  p('| Target | Measured | Status |');
  p('| --- | --- | --- |');
  target('Code flows with an existing session: flows per server CPU-s >= 5x oidc-provider',
    ratio(F('latchkey', 'code')?.ops_per_cpu_s, F('oidc-provider', 'code')?.ops_per_cpu_s), x, (v) => v >= 5);
  target('Refresh grants: grants per server CPU-s >= 5x oidc-provider',
    ratio(F('latchkey', 'refresh')?.ops_per_cpu_s, F('oidc-provider', 'refresh')?.ops_per_cpu_s), x, (v) => v >= 5);
  const hp = lkLogin?.stored_hash_params;
  const atParams = hp && hp.m_kib >= 19456 && hp.t >= 2;
  target(`Password logins >= 40 per core-second (server CPU-s) at m=19 MiB, t=2${hp && !atParams ? ' (**hash parameters differ**)' : ''}`,
    lkLogin?.ops_per_cpu_s, (v) => `${v.toFixed(1)} per CPU-s (m=${hp?.m_kib ?? '?'} KiB, t=${hp?.t ?? '?'}, p=${hp?.p ?? '?'})`,
    (v) => v >= 40 && Boolean(atParams));
  target('A session costs < 1 KiB of server memory (RSS growth per session)',
    lkLogin?.rss_bytes_per_session, (v) => `${Math.round(v)} B RSS; store ${lkLogin?.db_logical_bytes_per_session == null ? 'n/a' : `${Math.round(lkLogin.db_logical_bytes_per_session)} B`} on disk`,
    (v) => v < 1024);
  const badFlows = flows.filter((r) => r.failures > 0 || r.warmup_failures > 0);
  p();
  if (badFlows.length) {
    p(`**Warning:** failed operations in: ${badFlows.map((r) => `${r.server}/${r.scenario} (${r.failures} measured, ${r.warmup_failures} warm-up; first: ${String(r.first_failure || r.warmup_first_failure).replace(/\|/g, '/').slice(0, 200)})`).join('; ')}.`);
  } else if (flows.length) {
    p('Every measured sign-in flow operation succeeded.');
  } else {
    p('**No sign-in flow results** (the flow driver did not run or failed before measuring).');
  }
}

// ------------------------------------------------------------------ token lifecycle (bench/lifecycle.lua)
function renderLifecycle() {
  const LC = [
    ['lc-introspect-opaque', 'Introspection, opaque access token (POST introspect, `token=<same token>`)'],
    ['lc-introspect-jwt', 'Introspection, JWT access token (ES256)'],
    ['lc-revoke-opaque', 'Revocation, opaque access tokens (each request a different token)'],
    ['lc-revoke-jwt', 'Revocation, JWT access tokens (each request a different token)'],
    ['lc-device-poll', 'Device-code polling, pending codes (POST /token, device_code grant)'],
  ];
  const es256Verify = Number(meta.es256_verify_s) || null;
  const us = (r) => (r?.req_per_cpu_s ? (1e6 / r.req_per_cpu_s).toFixed(0) : 'n/a');
  const answers = (r) => {
    const a = [];
    if (r.active) a.push(`${n(r.active)} active`);
    if (r.pending) a.push(`${n(r.pending)} authorization_pending`);
    if (r.slow_down) a.push(`${n(r.slow_down)} slow_down`);
    if (!a.length) a.push(r.non2xx ? `${n(r.non2xx)} non-2xx` : 'all 200');
    return a.join(', ');
  };
  p();
  p('## Token lifecycle: introspection, revocation, device-code polling');
  p();
  p(`Driven by wrk with \`bench/lifecycle.lua\` (${meta.threads} threads, ${meta.connections} connections, ${meta.warmup} s warm-up + ` +
    `${meta.duration} s measured); every response is checked in the script and anything but the expected answer is counted ` +
    'as unexpected. Endpoints are taken from each server\'s discovery document.');
  p();
  p('- **Introspection:** one client_credentials access token (scope `api`) introspected over and over by a second, ' +
    'confidential resource-server client (Basic auth; Latchkey `--introspect-any true`); expected: 200 with `"active":true`. ' +
    'Latchkey: opaque = a client registered with `--access-token-format opaque` (looked up by SHA-256 in SQLite), JWT = ES256 ' +
    '(signature verified, then the denylist read in SQLite). oidc-provider: its access tokens are opaque here (resource ' +
    'server `accessTokenFormat: \'opaque\'`); **it has no JWT row** because it refuses to introspect or revoke JWT access ' +
    'tokens at all (`unsupported_token_type`, "Structured JWT Tokens cannot be introspected via the introspection_endpoint").');
  p(`- **Revocation:** ${n(Number(meta.revoke_tokens))} client_credentials tokens issued first (wrk, one list per thread), then ` +
    'revoked by the client they were issued to, each exactly once (`token_type_hint=access_token&token=...`). The warm-up ' +
    'revokes the first tenth of every list, the measured run the rest, and ends when the lists are used up or after the ' +
    'measured duration, whichever comes first (the Seconds column). Checked: a token is active before and inactive after. ' +
    'Latchkey opaque = an UPDATE of its row; Latchkey JWT = signature verification + a denylist row keyed by `jti`. ' +
    'oidc-provider deletes the token from its in-memory adapter.');
  p(`- **Device-code polling:** ${n(Number(meta.device_codes))} pending device codes (public client, scope \`openid\`) polled ` +
    'round-robin without waiting for the interval. Both answers are full requests with a 400: Latchkey (interval 1 s) answers ' +
    '`slow_down` to a code polled again within its interval and records every poll (last poll time and, on slow_down, the ' +
    'interval + 5 s) in SQLite; oidc-provider answers `authorization_pending` every time (it has no slow_down logic) and ' +
    'writes nothing.');
  p('- oidc-provider runs with introspection, revocation, deviceFlow, clientCredentials and resourceIndicators enabled, ' +
    '`NODE_ENV=production`, and its MemoryAdapter over an unbounded expiring Map (the default LRU keeps only 1000 entries).');
  p();
  p('| Scenario | Server | Requests | Seconds | Requests/s | p50 ms | p99 ms | Server CPU s | Requests per CPU-s | CPU µs per request | Answers | Unexpected | Socket errors | RSS after MiB |');
  p('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
  for (const [sc, label] of LC) {
    for (const sv of SERVERS) {
      const r = get(sv, sc);
      if (!r) {
        if (sv === 'oidc-provider' && (sc === 'lc-introspect-jwt' || sc === 'lc-revoke-jwt') && get('latchkey', sc)) {
          p(`| ${label} | ${sv} | n/a: refuses JWT access tokens (unsupported_token_type) | | | | | | | | | | | |`);
        }
        continue;
      }
      p(`| ${label} | ${sv} | ${n(r.requests)} | ${n(r.duration_s, 1)} | ${n(r.rps)} | ${n(r.p50_ms, 2)} | ${n(r.p99_ms, 2)} | ${n(r.cpu_s, 2)} | ` +
        `${n(r.req_per_cpu_s)} | ${us(r)} | ${answers(r)} | ${r.unexpected ? `**${n(r.unexpected)}**` : 0} | ${r.socket_errors} | ${mib(r.rss_after_kib)} |`);
    }
  }
  p();
  p('### Token lifecycle: Latchkey / oidc-provider');
  p();
  p('| Scenario | Requests/s | Requests per CPU-s | p99 latency | RSS after load |');
  p('| --- | ---: | ---: | ---: | ---: |');
  for (const [sc, label] of LC) {
    const a = get('latchkey', sc);
    const b = get('oidc-provider', sc);
    if (!a && !b) continue;
    if (!b && (sc === 'lc-introspect-jwt' || sc === 'lc-revoke-jwt')) {
      const bo = get('oidc-provider', sc.replace('-jwt', '-opaque'));
      p(`| ${label} | n/a | n/a (oidc-provider: no JWT introspection/revocation; against its opaque row: ${x(ratio(a?.req_per_cpu_s, bo?.req_per_cpu_s))}) | n/a | n/a |`);
      continue;
    }
    p(`| ${label} | ${x(ratio(a?.rps, b?.rps))} | ${x(ratio(a?.req_per_cpu_s, b?.req_per_cpu_s))} | ${x(ratio(a?.p99_ms, b?.p99_ms))} | ${x(ratio(a?.rss_after_kib, b?.rss_after_kib))} |`);
  }
  const jwt = get('latchkey', 'lc-introspect-jwt');
  if (jwt && es256Verify) {
    p();
    p(`JWT introspection needs one ES256 verification per request: at most ${n(es256Verify)} per CPU-s on one core ` +
      `(\`openssl speed\`), ${(1e6 / es256Verify).toFixed(0)} µs each; Latchkey reached ${n(jwt.req_per_cpu_s)} per CPU-s ` +
      `(${((100 * jwt.req_per_cpu_s) / es256Verify).toFixed(1)}% of that ceiling).`);
  }
  p();
  p('### Token lifecycle targets (Latchkey)');
  p();
  p('| Target | Measured | Status |');
  p('| --- | --- | --- |');
  target('Introspection (opaque access token): requests per server CPU-s >= 8x oidc-provider',
    ratio(L('lc-introspect-opaque')?.req_per_cpu_s, O('lc-introspect-opaque')?.req_per_cpu_s), x, (v) => v >= 8);
  if (soak) {
    const inRun = soak.samples.filter((s) => s.label !== 'start' && s.label !== 'end + 3 s idle');
    const last = soak.samples.find((s) => s.label === 'end + 3 s idle');
    const first = inRun[0];
    const peak = Math.max(...soak.samples.filter((s) => s.label !== 'end + 3 s idle').map((s) => s.rows));
    target('Housekeeping soak: access_tokens stays flat under load (last in-run count <= 1.5x the first) and drains once idle (<= 1% of peak)',
      first && last ? peak : null, (v) => `peak ${n(v)} rows; ${inRun.map((s) => `${s.label} ${n(s.rows)}`).join(', ')}; after 3 s idle ${n(last.rows)}`,
      () => inRun.every((s) => s.rows <= 1.5 * Math.max(first.rows, 1)) && last.rows <= 0.01 * Math.max(peak, 1));
  }
  const badLc = rows.filter((r) => r.scenario.startsWith('lc-') && (r.unexpected > 0 || r.socket_errors > 0));
  p();
  p(badLc.length
    ? `**Warning:** unexpected answers or socket errors in: ${badLc.map((r) => `${r.server}/${r.scenario}`).join(', ')}.`
    : 'Every measured lifecycle response was the expected answer; no socket errors.');

  if (!soak) return;
  const w = soak.wrk;
  const samples = soak.samples;
  const s0 = samples[0];
  const sEnd = samples.find((s) => s.label === 'end');
  const cpu = sEnd ? sEnd.cpu_s - s0.cpu_s : null;
  const issued = sEnd ? sEnd.issued_total - s0.issued_total : null;
  const rate = issued != null ? issued / w.duration_s : null;
  p();
  p('### Housekeeping soak (Latchkey only)');
  p();
  p(`A client with \`--access-token-format opaque --access-token-lifetime ${soak.access_token_lifetime_s}\`, ` +
    `\`LATCHKEY_HOUSEKEEPING_INTERVAL=${soak.housekeeping_interval_s}\` (batch ${soak.housekeeping_batch}, the default), client_credentials ` +
    `tokens issued without a pause for ${soak.seconds} s (wrk, ${meta.threads} threads, ${meta.connections} connections). Every ` +
    `${soak.sample_every_s} s the \`access_tokens\` table is counted with a read-only SQLite connection (rows, and rows already past ` +
    '`expires_at` that housekeeping has not deleted yet), and `latchkey_housekeeping_deleted_total{kind="access_tokens"}` and ' +
    '`latchkey_tokens_issued_total` are read from `/metrics`. oidc-provider has no comparable store (its adapter is a Map ' +
    'that drops entries on expiry), so it has no soak row.');
  p();
  p(`Issued: ${n(issued)} tokens in ${n(w.duration_s, 1)} s = ${n(rate)} per s (${n(w.p99_ms, 2)} ms p99, ` +
    `${w.non2xx} non-2xx, ${w.unexpected} unexpected); server CPU ${n(cpu, 2)} s = ${n(cpu ? issued / cpu : null)} tokens per CPU-s ` +
    `with housekeeping running. Expected steady state: rate x (lifetime ${soak.access_token_lifetime_s} s + up to one interval) ` +
    `= ${n(rate * soak.access_token_lifetime_s)}–${n(rate * (soak.access_token_lifetime_s + soak.housekeeping_interval_s))} rows.`);
  p();
  p('| Sample | t (s) | access_tokens rows | of which expired, not yet deleted | deleted by housekeeping (total) | tokens issued (total) | housekeeping runs (ok / partial) | DB file MiB | WAL MiB | RSS MiB |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of samples) {
    p(`| ${s.label} | ${s.t_s.toFixed(1)} | ${n(s.rows)} | ${n(s.expired_rows)} | ${n(s.deleted_total)} | ${n(s.issued_total)} | ` +
      `${s.housekeeping_runs_ok} / ${s.housekeeping_runs_partial} | ${(s.db_bytes / 1048576).toFixed(1)} | ${(s.wal_bytes / 1048576).toFixed(1)} | ${mib(s.rss_kib)} |`);
  }
}

// ------------------------------------------------------------------ client SDK (bench/validator_bench.cpp, ...)
function renderClient() {
  const ALGS = ['ES256', 'RS256'];
  const C = (impl, level, alg) => client.find((r) => r.impl === impl && r.level === level && r.alg === alg);
  // The ceiling measured next to the validator on the same CPUs (mean of a run before and after it).
  const ceiling = {
    ES256: Number(meta.client_es256_verify_s) || Number(meta.es256_verify_s) || null,
    RS256: Number(meta.client_rs256_verify_s) || Number(meta.rs256_verify_s) || null,
  };
  const pct = (v) => (v == null ? 'n/a' : `${(100 * v).toFixed(1)}%`);
  const us = (perS) => (perS ? (1e6 / perS).toFixed(1) : 'n/a');
  const version = (impl) => client.find((r) => r.impl === impl)?.version;
  const login = client.find((r) => r.scenario === 'sdk-login');
  p();
  p('## Client SDK: access-token validation and SDK CPU per login');
  p();
  p('Validators (Latchkey only; no server): `latchkey-bench-validator` (bench/validator_bench.cpp) mints ' +
    `${n(Number(meta.client_tokens))} distinct RFC 9068 access tokens per algorithm (typ \`at+jwt\`; iss, aud, sub, client_id, scope, ` +
    'exp, iat, jti; ES256 and RS256-2048 keys generated per run), validates them round-robin in one thread and writes them with ' +
    'the public JWKS for the reference validators, which check the same tokens the same way (signature with the key chosen by ' +
    '`kid`, issuer, audience, `typ`, algorithm allow-list, the required claims, scope `api:read`) in one process each. ' +
    `Each row: one warm-up pass over every token (each must pass), then ${meta.client_seconds} s of process CPU time (all threads) ` +
    `measured; validations / CPU-s. Keys are parsed once and cached by every validator. Pinning: ${meta.client_cpus ? `CPUs ${meta.client_cpus}` : 'unpinned'}.`);
  p('- Latchkey levels: **crypto** = `crypto::Verify` on the pre-split signing input and signature (the bare signature check); ' +
    '**jose** = `jose::VerifyJws` (split, base64url, header JSON, key by kid, signature); **provider** = `client::Provider::Verify` ' +
    '(the SDK\'s signature step, JWKS from its cache); **validator** = `validator::Validator::Validate` with a required scope: ' +
    'everything a resource server runs per request (the Provider reads its discovery document and JWKS once, from an in-process ' +
    '`Transport`).');
  p(`- References: jose ${version('jose') || 'n/a'} (\`jwtVerify\` + \`createLocalJWKSet\`, Node.js ${meta.node}, \`UV_THREADPOOL_SIZE=1\`) and ` +
    `PyJWT ${version('pyjwt') || 'n/a'} (Debian python3-jwt, \`jwt.decode\` with the key chosen by kid, Python ${meta.python || 'n/a'}).`);
  p();
  p('| Validator | ES256 per CPU-s | ES256 µs each | RS256 per CPU-s | RS256 µs each |');
  p('| --- | ---: | ---: | ---: | ---: |');
  p(`| \`openssl speed\` verify ceiling (one core) | ${n(ceiling.ES256)} | ${us(ceiling.ES256)} | ${n(ceiling.RS256)} | ${us(ceiling.RS256)} |`);
  const ROWS = [
    ['latchkey', 'crypto', 'Latchkey `crypto::Verify` (bare signature)'],
    ['latchkey', 'jose', 'Latchkey `jose::VerifyJws`'],
    ['latchkey', 'provider', 'Latchkey `Provider::Verify`'],
    ['latchkey', 'validator', '**Latchkey `Validator::Validate` (+ scope)**'],
    ['jose', 'validator', `jose ${version('jose') || ''} (Node.js)`],
    ['pyjwt', 'validator', `PyJWT ${version('pyjwt') || ''}`],
  ];
  for (const [impl, level, label] of ROWS) {
    const cells = ALGS.map((a) => { const r = C(impl, level, a); return `${n(r?.per_cpu_s)} | ${us(r?.per_cpu_s)}`; });
    p(`| ${label} | ${cells.join(' | ')} |`);
  }
  p();
  p('| Ratio | ES256 | RS256 |');
  p('| --- | ---: | ---: |');
  const lk = (a) => C('latchkey', 'validator', a)?.per_cpu_s;
  p(`| Latchkey validator / openssl verify ceiling | ${ALGS.map((a) => pct(ratio(lk(a), ceiling[a]))).join(' | ')} |`);
  p(`| Latchkey bare crypto::Verify / openssl verify ceiling | ${ALGS.map((a) => pct(ratio(C('latchkey', 'crypto', a)?.per_cpu_s, ceiling[a]))).join(' | ')} |`);
  p(`| Latchkey validator / jose | ${ALGS.map((a) => x(ratio(lk(a), C('jose', 'validator', a)?.per_cpu_s))).join(' | ')} |`);
  p(`| Latchkey validator / PyJWT | ${ALGS.map((a) => x(ratio(lk(a), C('pyjwt', 'validator', a)?.per_cpu_s))).join(' | ')} |`);
  p(`| Validator µs above the bare signature check | ${ALGS.map((a) => {
    const v = C('latchkey', 'validator', a); const c = C('latchkey', 'crypto', a);
    return v && c ? (1e6 / v.per_cpu_s - 1e6 / c.per_cpu_s).toFixed(1) : 'n/a';
  }).join(' | ')} |`);
  p();
  p('### SDK CPU per code-flow login');
  p();
  p('`latchkey-bench-sdk-login` (bench/sdk_login_bench.cpp) against the Latchkey release binary (`serve --dev`, a confidential ' +
    'client created with `latchkey client create`, a user with `latchkey user add`): per login, `RelyingParty::BeginAuthorization`, ' +
    'then a fresh browser session (own cookie jar, its own `CurlTransport`) follows the URL through the login and consent pages ' +
    'to the redirect (not measured: a browser does that), then `RelyingParty::CompleteAuthorization` with the callback (state, ' +
    'iss, code exchange over HTTP with `CurlTransport` and client_secret_basic, RS256 ID token validation with nonce and at_hash). ' +
    'Measured: `CLOCK_THREAD_CPUTIME_ID` of the calling thread across the two SDK calls, libcurl included, the provider excluded. ' +
    'The first login is cold (discovery and the JWKS are fetched inside it); the others run with both cached.');
  p();
  p('| Logins (warm) | Cold first login ms (Begin + Complete) | Mean ms | p50 ms | p99 ms | Max ms | BeginAuthorization mean ms | CompleteAuthorization mean ms |');
  p('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  if (login) {
    p(`| ${n(login.logins)} | ${login.cold_ms.toFixed(3)} (${login.cold_begin_ms?.toFixed(3) ?? '?'} + ${login.cold_complete_ms?.toFixed(3) ?? '?'}) | ${login.mean_ms.toFixed(3)} | ${login.p50_ms.toFixed(3)} | ${login.p99_ms.toFixed(3)} | ` +
      `${login.max_ms.toFixed(3)} | ${login.begin_mean_ms.toFixed(3)} | ${login.complete_mean_ms.toFixed(3)} |`);
  } else {
    p('| n/a | | | | | | | |');
  }
  p();
  p('### Client SDK targets');
  p();
  p('| Target | Measured | Status |');
  p('| --- | --- | --- |');
  for (const a of ALGS) {
    target(`Validator ${a}: validations per CPU-s >= 70% of the openssl verify ceiling`, ratio(lk(a), ceiling[a]), pct, (v) => v >= 0.7);
  }
  for (const [impl, name] of [['jose', 'jose'], ['pyjwt', 'PyJWT']]) {
    for (const a of ALGS) {
      target(`Validator ${a}: >= 3x ${name} per CPU-s`, ratio(lk(a), C(impl, 'validator', a)?.per_cpu_s), x, (v) => v >= 3);
    }
  }
  target('SDK CPU per complete code-flow login <= 2 ms (warm p99)', login?.p99_ms, (v) => `p99 ${v.toFixed(3)} ms (mean ${login.mean_ms.toFixed(3)} ms)`, (v) => v <= 2);
  if (login) {
    p();
    p(`The cold first login (${login.cold_ms.toFixed(3)} ms) is not held to the target: it runs once per process and includes ` +
      'the discovery and JWKS fetches and OpenSSL\'s one-time random-generator set-up on the first random bytes.');
  }
}

// ------------------------------------------------------------------ PostgreSQL (BENCH_PARTS=pg)
function renderPg() {
  p();
  p('## PostgreSQL: one and two nodes');
  p();
  if (!pgRows.length) { p('Not run.'); return; }
  const rtt = pgRows.find((r) => r.kind === 'pgbench');
  for (const sv of SERVERS) {
    const t = pgRows.find((r) => r.kind === 'flows' && r.server === sv && r.token_formats)?.token_formats;
    if (t) p(`- ${sv} tokens in the flows: ID token ${t.id_token}; access token ${t.access_token}.`);
  }
  p();
  const R = (server, store, nodes, scenario) => pgRows.find((r) => (r.kind === 'wrk' || r.kind === 'flows') && r.server === server
    && r.store === store && r.nodes === nodes && r.scenario === scenario);
  const us = (v) => (v == null ? 'n/a' : v.toFixed(1));
  p(`PostgreSQL ${meta.pg_version} (throw-away cluster, unix socket, fsync ${meta.pg_fsync}${meta.pg_fsync === 'on' ? ', synchronous_commit on: every commit waits for its WAL flush' : ', synchronous_commit off, full_page_writes off'}), ` +
    `${meta.pg_pool} connections per server process (Latchkey \`storage_pool_size\`, oidc-provider \`pg.Pool\` max); ` +
    `Latchkey \`http.handler_threads\` ${meta.pg_handler_threads || '2 (its default)'}, ` +
    `\`http.network_threads\` ${meta.pg_network_threads || `${meta.cores} (its default, one per core)`}. ` +
    'oidc-provider stores through bench/oidc-provider-pg-adapter.mjs (npm `pg`, one jsonb table, named prepared statements). ' +
    'Two nodes = two server processes on one database behind one issuer; client_credentials: one wrk, its threads alternating ' +
    'between the nodes; flows: VU i goes to node i mod 2. Server CPU = both processes. PostgreSQL CPU = the postmaster and all its ' +
    `children (backends, WAL writer, ...). Machine busy = busy CPU of the whole machine over the measured run (/proc/stat), as a share of its ${meta.cores} cores. ` +
    'Load generator = wrk or the flows driver (its own CPU). ' +
    `client_credentials: ${meta.threads} threads, ${meta.connections} connections, ${meta.warmup} s + ${meta.duration} s; ` +
    `flows: ${meta.flow_vus} VUs, ${meta.flow_warmup} s + ${meta.flow_duration} s.`);
  p();
  if (rtt) {
    p(`- **Database round trip** (pgbench, \`SELECT 1\`, 1 client, prepared, same socket): ${us(rtt.latency_us)} µs wall time each ` +
      `(${n(rtt.transactions)} round trips); CPU per round trip: PostgreSQL ${us(rtt.pg_cpu_us)} µs, client (pgbench) ${us(rtt.client_cpu_us)} µs.`);
    p();
  }
  const busy = (r) => (r.machine_window_s ? `${((100 * r.machine_busy_s) / (Number(meta.cores) * r.machine_window_s)).toFixed(0)}%` : 'n/a');
  const LABEL = { 'cc-es256': 'client_credentials ES256 (no database write)', code: 'Code flow + PKCE (writes)', refresh: 'Refresh grant, rotating (writes)' };
  p('| Scenario | Server | Store | Nodes | Ops/s | p50 ms | p99 ms | Server CPU s | Ops per server CPU-s | PostgreSQL CPU s | Ops per (server + PostgreSQL) CPU-s | SQL statements per op | Load generator CPU s | Machine busy | RSS after MiB | Failures |');
  p('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const order = [];
  for (const sc of ['cc-es256', 'code', 'refresh']) {
    for (const [sv, st] of [['latchkey', 'postgresql'], ['oidc-provider', 'postgresql'], ['latchkey', 'sqlite']]) {
      for (const nodes of [1, 2]) { const r = R(sv, st, nodes, sc); if (r) order.push(r); }
    }
  }
  for (const r of order) {
    const lg = r.kind === 'wrk' ? r.loadgen_cpu_s : r.driver_cpu_s;
    const fails = (r.failures || 0) + (r.warmup_failures || 0) + (r.socket_errors || 0);
    p(`| ${LABEL[r.scenario]} | ${r.server} | ${r.store} | ${r.nodes} | ${n(r.ops_per_s, 0)} | ${n(r.p50_ms, 2)} | ${n(r.p99_ms, 2)} | ` +
      `${n(r.cpu_s, 2)} | ${n(r.ops_per_cpu_s, 0)} | ${n(r.pg_cpu_s, 2)} | ${n(r.ok / (r.cpu_s + (r.pg_cpu_s || 0)), 0)} | ` +
      `${r.store === 'postgresql' && r.pg_statements != null ? (r.pg_statements / r.ok).toFixed(2) : 'n/a'} | ${n(lg, 2)} | ${busy(r)} | ` +
      `${mib(r.rss_after_kib)} | ${fails ? `**${fails}**` : 0} |`);
  }
  p();
  p('### PostgreSQL: Latchkey / oidc-provider (same run, both on PostgreSQL)');
  p();
  p('| Scenario | Nodes | Ops/s | Ops per server CPU-s | Ops per (server + PostgreSQL) CPU-s | p99 latency |');
  p('| --- | ---: | ---: | ---: | ---: | ---: |');
  const both = (r) => (r ? r.ok / (r.cpu_s + (r.pg_cpu_s || 0)) : null);
  for (const sc of ['cc-es256', 'code', 'refresh']) {
    for (const nodes of [1, 2]) {
      const a = R('latchkey', 'postgresql', nodes, sc);
      const b = R('oidc-provider', 'postgresql', nodes, sc);
      if (!a && !b) continue;
      p(`| ${LABEL[sc]} | ${nodes} | ${x(ratio(a?.ops_per_s, b?.ops_per_s))} | ${x(ratio(a?.ops_per_cpu_s, b?.ops_per_cpu_s))} | ` +
        `${x(ratio(both(a), both(b)))} | ${x(ratio(a?.p99_ms, b?.p99_ms))} |`);
    }
  }
  p();
  p('### PostgreSQL: two nodes / one node');
  p();
  p('| Scenario | Server | Total ops/s, 2 nodes / 1 node | Ops per server CPU-s, 2 / 1 | Machine busy (1 node -> 2 nodes) | Server / PostgreSQL / load generator CPU s (1 node -> 2 nodes) |');
  p('| --- | --- | ---: | ---: | --- | --- |');
  for (const sc of ['cc-es256', 'code', 'refresh']) {
    for (const sv of ['latchkey', 'oidc-provider']) {
      const a = R(sv, 'postgresql', 1, sc);
      const b = R(sv, 'postgresql', 2, sc);
      if (!a || !b) continue;
      const lg = (r) => (r.kind === 'wrk' ? r.loadgen_cpu_s : r.driver_cpu_s);
      p(`| ${LABEL[sc]} | ${sv} | ${x(ratio(b.ops_per_s, a.ops_per_s))} | ${x(ratio(b.ops_per_cpu_s, a.ops_per_cpu_s))} | ` +
        `${busy(a)} -> ${busy(b)} | ${n(a.cpu_s, 2)} / ${n(a.pg_cpu_s, 2)} / ${n(lg(a), 2)} -> ${n(b.cpu_s, 2)} / ${n(b.pg_cpu_s, 2)} / ${n(lg(b), 2)} |`);
    }
  }
  p();
  p('### PostgreSQL: what the database costs Latchkey per operation (1 node, against SQLite in the same run)');
  p();
  p('| Scenario | Server CPU µs per op, SQLite | Server CPU µs per op, PostgreSQL | Added server CPU µs per op | SQL statements per op | Added server CPU µs per statement | PostgreSQL CPU µs per op | Wall time of the round trips per op (statements x pgbench round trip) |');
  p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const sc of ['code', 'refresh']) {
    const lite = R('latchkey', 'sqlite', 1, sc);
    const pgr = R('latchkey', 'postgresql', 1, sc);
    if (!lite || !pgr) continue;
    const a = (1e6 * lite.cpu_s) / lite.ok;
    const b = (1e6 * pgr.cpu_s) / pgr.ok;
    const st = pgr.pg_statements / pgr.ok;
    p(`| ${LABEL[sc]} | ${us(a)} | ${us(b)} | ${us(b - a)} | ${st.toFixed(2)} | ${us((b - a) / st)} | ${us((1e6 * pgr.pg_cpu_s) / pgr.ok)} | ` +
      `${rtt ? `${us(st * rtt.latency_us)} µs` : 'n/a'} |`);
  }
  for (const sc of ['code', 'refresh']) {
    const r = R('latchkey', 'postgresql', 1, sc);
    if (r?.pg_top_statements?.length) {
      p();
      p(`Latchkey's statements in the measured ${sc} run (calls, statement; from pg_stat_statements):`);
      p();
      p('```');
      for (const l of r.pg_top_statements) p(l.length > 150 ? `${l.slice(0, 150)}...` : l);
      p('```');
    }
  }
  // Paired rounds (run.sh): one node of each server, refresh grants measured back to back, the order
  // swapped every round; each round's ratio, and their median.
  const paired = [];
  for (const round of [...new Set(pgRows.filter((r) => r.kind === 'paired').map((r) => r.round))].sort((a, b) => a - b)) {
    const P = (sv) => pgRows.find((r) => r.kind === 'paired' && r.round === round && r.server === sv && r.scenario === 'refresh');
    const a = P('latchkey');
    const b = P('oidc-provider');
    if (a && b) paired.push({ round, a, b, first: pgRows.indexOf(a) < pgRows.indexOf(b) ? 'latchkey' : 'oidc-provider', v: ratio(a.ops_per_cpu_s, b.ops_per_cpu_s) });
  }
  const counted = paired.filter((r) => r.round > 0); // round 0 is a warm-up
  const pairedMedian = counted.length ? median(counted.map((r) => r.v)) : null;
  if (paired.length) {
    p();
    p(`### PostgreSQL: refresh grants in ${counted.length} paired rounds (1 node each)`);
    p();
    p('Both servers run side by side, each idle while the other is measured; in each round one is measured right after the ' +
      'other, and the order is swapped every round. The rows above measure the two servers minutes apart, and the speed of ' +
      'a core on a shared virtual machine drifts by tens of percent within minutes; within a round both see the same machine. ' +
      'Round 0 is a warm-up (oidc-provider has been slower in the first rounds of a fresh process) and is not in the median.');
    p();
    p('| Round | Measured first | Latchkey ops/s | Latchkey server CPU µs per grant | oidc-provider ops/s | oidc-provider server CPU µs per grant | Latchkey / oidc-provider, grants per server CPU-s |');
    p('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of paired) {
      p(`| ${r.round || '0 (warm-up)'} | ${r.first} | ${n(r.a.ops_per_s, 0)} | ${n(1e6 / r.a.ops_per_cpu_s, 0)} | ${n(r.b.ops_per_s, 0)} | ` +
        `${n(1e6 / r.b.ops_per_cpu_s, 0)} | ${x(r.v)} |`);
    }
    p(`| median | | | | | | ${x(pairedMedian)} |`);
  }
  p();
  p('### PostgreSQL targets');
  p();
  p('| Target | Measured | Status |');
  p('| --- | --- | --- |');
  for (const nodes of [1, 2]) {
    target(`Refresh grants on PostgreSQL (${nodes} node${nodes > 1 ? 's' : ''}): grants per server CPU-s >= 5x oidc-provider`,
      ratio(R('latchkey', 'postgresql', nodes, 'refresh')?.ops_per_cpu_s, R('oidc-provider', 'postgresql', nodes, 'refresh')?.ops_per_cpu_s), x, (v) => v >= 5);
  }
  if (counted.length) {
    target(`Refresh grants on PostgreSQL (1 node, median of ${counted.length} paired rounds): grants per server CPU-s >= 5x oidc-provider`,
      pairedMedian, x, (v) => v >= 5);
  }
  target('client_credentials: two Latchkey nodes give more total throughput than one (scaling factor)',
    ratio(R('latchkey', 'postgresql', 2, 'cc-es256')?.ops_per_s, R('latchkey', 'postgresql', 1, 'cc-es256')?.ops_per_s), x, (v) => v > 1);
  const bad = pgRows.filter((r) => r.kind !== 'pgbench' && ((r.failures || 0) + (r.warmup_failures || 0) + (r.socket_errors || 0)) > 0);
  p();
  p(bad.length ? `**Warning:** failures or socket errors in: ${bad.map((r) => `${r.server}/${r.store}/${r.nodes}/${r.scenario}`).join(', ')}.`
    : 'No failed operations, non-2xx responses or socket errors.');
}
