// Load driver for the sign-in flows of bench/run.sh (wrk cannot follow a multi-step flow).
//
//   node bench/flows.mjs --server=NAME --issuer=URL --pid=PID --client-id=ID --redirect-uri=URI \
//        --username=U --password=P [options] --out=FILE.jsonl
//
// Node's built-in http only (keep-alive agent), no third-party modules. Each virtual user (VU) is
// one browser: its own cookie jar, sequential requests. Before measuring, every VU signs in once
// through the server's real pages (authorize -> login form -> consent form -> code -> token), keeps
// its session cookie and its refresh token. Then, per scenario, a warm-up (not measured) and a
// measured run bounded by --duration seconds and --max-ops operations:
//
//   code     authorization code + PKCE (S256) with the existing session: GET authorize (redirects
//            not followed) -> code from Location -> POST token with code_verifier. One operation =
//            302/303 to the redirect URI with code and state, then 200 with an id_token.
//   refresh  refresh_token grant; each VU keeps its own chain and always presents the newest token.
//            One operation = 200 with an access_token and a new refresh_token.
//   login    full password login in a fresh cookie jar: GET authorize (prompt=consent), follow the
//            server's redirects to the login page, POST the form (its hidden fields, username,
//            password), follow redirects until the consent page. One operation = the consent page
//            (or a redirect with a code) reached. Every login creates a server-side session; the
//            memory and database growth across the measured run is reported per session.
//
// For every scenario one JSON line is appended to --out: completed operations, failures (with the
// first failure's status and body), ops/s, server CPU seconds (utime+stime from /proc/PID/stat),
// ops per server CPU-second, latency percentiles per operation, RSS before/after.
//
// Options (defaults in brackets): --scenarios [code,refresh,login] --vus [16] --duration [10]
// --warmup [2] --max-ops [200000] --login-vus [4] --login-duration [20] --login-warmup [3]
// --login-max [1000] --clk-tck [100] --db (Latchkey's SQLite file, for store growth) --memory-url
// (oidc-provider's /__bench/memory) --hash-params (m=..,t=..,p=.. to record) --note (free text).
//
// Several nodes behind one issuer (the PostgreSQL part of run.sh): --pid=PID1,PID2 sums the server
// CPU (and RSS) of all of them, and --nodes=URL1,URL2 sends VU i to node i mod n: every request
// whose origin is the issuer's (from discovery, a redirect or a form) goes to that VU's node
// instead. --pg-postmaster=PID adds the CPU of the PostgreSQL server (the postmaster, its live
// children and its reaped children) to each row; --psql=PATH --pg-uri=URI add statement and
// transaction counts of the measured run (pg_stat_statements, pg_stat_database). Every row also
// has the machine's busy CPU seconds (/proc/stat) over the measured run.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

// ------------------------------------------------------------------ options
const opts = {
  scenarios: 'code,refresh,login', vus: '16', duration: '10', warmup: '2', 'max-ops': '200000',
  'login-vus': '4', 'login-duration': '20', 'login-warmup': '3', 'login-max': '1000', 'clk-tck': '100',
  'timeout-ms': '30000',
};
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/s.exec(arg);
  if (!m) die(`bad argument ${arg} (expected --name=value)`);
  opts[m[1]] = m[2];
}
for (const k of ['server', 'issuer', 'pid', 'client-id', 'redirect-uri', 'username', 'password', 'out']) {
  if (!opts[k]) die(`--${k} is required`);
}
const SERVER = opts.server;
const PIDS = opts.pid.split(',').map(Number);
const PID = PIDS.join('+');
const NODES = (opts.nodes || '').split(',').filter(Boolean).map((u) => new URL(u).origin);
let ISSUER_ORIGIN = null; // from discovery
const CLK_TCK = Number(opts['clk-tck']);
const CLIENT_ID = opts['client-id'];
const REDIRECT_URI = opts['redirect-uri'];
const TIMEOUT_MS = Number(opts['timeout-ms']);
const SCENARIOS = opts.scenarios.split(',').filter(Boolean);

function die(msg) {
  console.error(`[flows] ERROR: ${msg}`);
  process.exit(1);
}
const log = (msg) => console.error(`[flows] ${SERVER}: ${msg}`);

// ------------------------------------------------------------------ HTTP
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let httpRequests = 0;

function request(method, url, { headers = {}, body, jar, node = jar?.node } = {}) {
  let u = new URL(url);
  if (node && u.origin === ISSUER_ORIGIN && node !== ISSUER_ORIGIN) {
    u = new URL(node + u.pathname + u.search);
    url = u.toString();
  }
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') {
    return Promise.reject(new Error(`refusing a non-loopback URL ${url}`));
  }
  const h = { ...headers };
  const cookie = jar?.header(u.pathname);
  if (cookie) h.Cookie = cookie;
  if (body !== undefined) {
    h['Content-Type'] = 'application/x-www-form-urlencoded';
    h['Content-Length'] = Buffer.byteLength(body);
  }
  httpRequests += 1;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (jar) jar.store(res.headers['set-cookie'], u.pathname);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), url });
      });
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// A minimal cookie jar (RFC 6265 §5.3 subset): name + path, Max-Age/Expires deletion, path-match.
class Jar {
  #cookies = new Map(); // "path\0name" -> { name, value, path }

  constructor(node) { this.node = node; } // the origin this browser's requests go to (--nodes)

  store(setCookies, requestPath) {
    for (const line of setCookies || []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = requestPath.slice(0, Math.max(requestPath.lastIndexOf('/'), 0)) || '/';
      let expired = false;
      for (const a of attrs) {
        const i = a.indexOf('=');
        const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? '' : a.slice(i + 1).trim();
        if (k === 'path' && v.startsWith('/')) path = v;
        else if (k === 'max-age' && Number(v) <= 0) expired = true;
        else if (k === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const key = `${path}\0${name}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(requestPath) {
    const out = [];
    for (const c of this.#cookies.values()) {
      if (requestPath === c.path || (requestPath.startsWith(c.path)
        && (c.path.endsWith('/') || requestPath[c.path.length] === '/'))) out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  names() { return [...this.#cookies.values()].map((c) => c.name); }
}

// ------------------------------------------------------------------ HTML forms
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return ENTITIES[e.toLowerCase()] ?? m;
});
function attrsOf(s) {
  const a = {};
  for (const m of s.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    a[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return a;
}
function formsOf(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const f = { ...attrsOf(m[1]), inputs: [], buttons: [] };
    for (const i of m[2].matchAll(/<input\b([^>]*)>/gi)) f.inputs.push(attrsOf(i[1]));
    for (const b of m[2].matchAll(/<button\b([^>]*)>/gi)) f.buttons.push(attrsOf(b[1]));
    forms.push(f);
  }
  return forms;
}
const isHtml = (r) => /^text\/html/i.test(r.headers['content-type'] || '');
const snippet = (r) => `${r.status} ${r.headers.location ? `Location ${r.headers.location} ` : ''}${
  r.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`;

// ------------------------------------------------------------------ OAuth helpers
const b64url = (buf) => buf.toString('base64url');
function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  return { verifier, challenge: b64url(crypto.createHash('sha256').update(verifier).digest()) };
}
const form = (o) => new URLSearchParams(o).toString();

let META;
function authorizeUrl(scope, extra = {}) {
  const { verifier, challenge } = pkce();
  const state = b64url(crypto.randomBytes(12));
  const q = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope, state,
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  });
  return { url: `${META.authorization_endpoint}?${q}`, verifier, state };
}

function codeFrom(location, state) {
  if (!location?.startsWith(REDIRECT_URI)) return null;
  const q = new URL(location).searchParams;
  if (q.get('error')) throw new Error(`authorization error ${q.get('error')}: ${q.get('error_description')}`);
  if (q.get('state') !== state) throw new Error(`state mismatch in ${location}`);
  const code = q.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

async function tokenRequest(params, node) {
  const r = await request('POST', META.token_endpoint, {
    node, headers: { Accept: 'application/json' }, body: form({ client_id: CLIENT_ID, ...params }),
  });
  let j = null;
  try { j = JSON.parse(r.body); } catch { /* reported below */ }
  if (r.status !== 200 || !j) throw new Error(`token endpoint (${params.grant_type}): ${snippet(r)}`);
  if (!j.access_token) throw new Error(`token response without access_token: ${r.body.slice(0, 300)}`);
  return j;
}

async function redeem(code, verifier, node) {
  const j = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, node);
  if (!j.id_token) throw new Error(`code grant without id_token: ${JSON.stringify(j).slice(0, 300)}`);
  return j;
}

// Follows the server's pages like a browser: same-origin redirects, the login form (fills the
// username and password fields), the consent form (its first named submit button: "allow").
// Returns { kind: 'consent' } when stopAtConsent and the consent page after a login is reached,
// else { kind: 'code', code }.
async function interactive(jar, auth, { stopAtConsent = false } = {}) {
  const origin = new URL(META.issuer).origin;
  let r = await request('GET', auth.url, { jar });
  let sawLogin = false;
  let sawConsent = false;
  for (let step = 0; step < 16; step += 1) {
    if ([301, 302, 303, 307].includes(r.status) && r.headers.location) {
      const loc = new URL(r.headers.location, r.url).toString();
      const code = codeFrom(loc, auth.state);
      if (code) {
        if (stopAtConsent && !sawLogin) throw new Error('code issued without showing the login page');
        return { kind: 'code', code, sawLogin, sawConsent };
      }
      if (new URL(loc).origin !== origin && new URL(loc).origin !== jar.node) throw new Error(`redirect off the provider: ${loc}`);
      r = await request('GET', loc, { jar });
      continue;
    }
    if (r.status === 200 && isHtml(r)) {
      const forms = formsOf(r.body).filter((f) => (f.method || 'get').toLowerCase() === 'post');
      const login = forms.find((f) => f.inputs.some((i) => (i.type || '').toLowerCase() === 'password'));
      const target = (f) => new URL(f.action || r.url, r.url).toString();
      const hidden = (f) => Object.fromEntries(f.inputs
        .filter((i) => (i.type || '').toLowerCase() === 'hidden' && i.name).map((i) => [i.name, i.value ?? '']));
      if (login) {
        if (sawLogin) throw new Error(`login page shown again after signing in: ${snippet(r)}`);
        sawLogin = true;
        const fields = hidden(login);
        for (const i of login.inputs) {
          const type = (i.type || 'text').toLowerCase();
          if (!i.name) continue;
          if (type === 'password') fields[i.name] = opts.password;
          else if (['text', 'email'].includes(type)) fields[i.name] = opts.username;
        }
        r = await request('POST', target(login), { jar, body: form(fields) });
        continue;
      }
      if (forms.length === 1) {
        sawConsent = true;
        if (stopAtConsent && sawLogin) return { kind: 'consent', sawLogin, sawConsent };
        const f = forms[0];
        const fields = hidden(f);
        const named = f.buttons.filter((b) => b.name);
        const allow = named.find((b) => b.value === 'allow') || named[0];
        if (allow) fields[allow.name] = allow.value ?? '';
        r = await request('POST', target(f), { jar, body: form(fields) });
        continue;
      }
    }
    throw new Error(`unexpected page during sign-in: ${snippet(r)}`);
  }
  throw new Error('sign-in did not finish within 16 steps');
}

function tokenKind(token) {
  const parts = (token || '').split('.');
  if (parts.length === 3) {
    try {
      return `JWT ${JSON.parse(Buffer.from(parts[0], 'base64url')).alg}`;
    } catch { /* opaque */ }
  }
  return `opaque (${(token || '').length} chars)`;
}

// ------------------------------------------------------------------ measurement
function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
}
function ticksOf(pid) {
  const f = statFields(pid);
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
}
function cpuTicks() { return PIDS.reduce((sum, pid) => sum + ticksOf(pid), 0); }
function rssKib() {
  let sum = 0;
  for (const pid of PIDS) {
    const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (!m) return null;
    sum += Number(m[1]);
  }
  return sum;
}
const alive = () => PIDS.every((pid) => fs.existsSync(`/proc/${pid}`));

// CPU of the PostgreSQL server: the postmaster's own and reaped children's time (fields 14-17) and
// the utime+stime of its live children (backends, writer, WAL writer, ...).
function pgTicks() {
  const pm = Number(opts['pg-postmaster']);
  if (!pm) return null;
  const f = statFields(pm);
  let sum = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const c = statFields(d);
      if (Number(c[1]) === pm) sum += Number(c[11]) + Number(c[12]);
    } catch { /* exited */ }
  }
  return sum;
}
// Busy CPU ticks of the whole machine (user nice system irq softirq; not idle, iowait or steal).
function machineTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6];
}
function psql(sql) {
  if (!opts.psql || !opts['pg-uri']) return null;
  const r = spawnSync(opts.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', opts['pg-uri'], '-c', sql],
    { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) { log(`psql failed: ${r.stderr}`); return null; }
  return r.stdout.trim();
}
// Statements executed in every database but the one psql connects to (--pg-uri names a database the
// servers do not use), so these queries do not count themselves.
const OTHER_DBS = 'dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())';
function pgStatements() {
  const v = psql(`SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE ${OTHER_DBS}`);
  return v && /^\d+$/.test(v) ? Number(v) : null;
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// Runs `op(vu)` on every VU until the deadline or maxOps operations have started.
async function phase(vus, op, { seconds, maxOps }) {
  const lat = [];
  const res = { ok: 0, failures: 0, first_failure: null, failure_kinds: {} };
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(vus.map(async (vu) => {
    while (!vu.broken && performance.now() < deadline && started < maxOps) {
      started += 1;
      const s = performance.now();
      try {
        await op(vu);
        lat.push(performance.now() - s);
        res.ok += 1;
      } catch (e) {
        res.failures += 1;
        const msg = String(e?.message || e);
        res.first_failure ??= msg.slice(0, 400);
        const kind = msg.slice(0, 60);
        res.failure_kinds[kind] = (res.failure_kinds[kind] || 0) + 1;
        if (vu.fatal?.(e)) vu.broken = true;
      }
    }
  }));
  res.wall_s = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  res.lat = lat;
  return res;
}

const results = [];
function record(scenario, label, warm, meas, extra) {
  const { lat } = meas;
  const row = {
    server: SERVER, scenario, label, vus: extra.vus, ok: meas.ok, failures: meas.failures,
    first_failure: meas.first_failure, failure_kinds: meas.failures ? meas.failure_kinds : undefined,
    warmup_ok: warm?.ok ?? 0, warmup_failures: warm?.failures ?? 0, warmup_first_failure: warm?.first_failure ?? null,
    duration_s: meas.wall_s, ops_per_s: meas.ok / meas.wall_s,
    cpu_s: extra.cpu_s, ops_per_cpu_s: extra.cpu_s > 0 ? meas.ok / extra.cpu_s : null,
    p50_ms: pct(lat, 50), p90_ms: pct(lat, 90), p99_ms: pct(lat, 99), max_ms: lat.length ? lat[lat.length - 1] : null,
    http_requests: extra.requests, requests_per_op: meas.ok ? extra.requests / (meas.ok + meas.failures) : null,
    driver_cpu_s: extra.driver_cpu_s, rss_before_kib: extra.rss_before, rss_after_kib: extra.rss_after,
    ...extra.more,
  };
  results.push(row);
  fs.appendFileSync(opts.out, `${JSON.stringify(row)}\n`);
  const loud = row.failures || row.warmup_failures ? ` FAILURES ${row.failures} (warm-up ${row.warmup_failures}): ${row.first_failure || row.warmup_first_failure}` : '';
  log(`${scenario}: ${row.ok} ok in ${row.duration_s.toFixed(1)} s = ${row.ops_per_s.toFixed(1)}/s, ` +
    `${row.cpu_s.toFixed(2)} server CPU-s -> ${row.ops_per_cpu_s?.toFixed(1)} per CPU-s, ` +
    `p50 ${row.p50_ms?.toFixed(2)} ms, p99 ${row.p99_ms?.toFixed(2)} ms${loud}`);
  if (loud) console.error(`[flows] !!!!!!!! ${SERVER} / ${scenario}: ${row.failures} failed operations, see above`);
}

async function measured(scenario, label, vus, op, { warmup, seconds, maxOps, before, after, reset }) {
  let warm = null;
  if (warmup > 0) {
    log(`${scenario}: warm-up ${warmup} s (${vus.length} VUs)`);
    warm = await phase(vus, op, { seconds: warmup, maxOps });
  }
  if (!alive()) die(`${SERVER} (pid ${PID}) died during the ${scenario} warm-up`);
  const pre = before ? await before() : {};
  reset?.();
  log(`${scenario}: measuring ${seconds} s, at most ${maxOps} operations (${vus.length} VUs)`);
  const r0 = httpRequests;
  const rssBefore = rssKib();
  if (opts.psql) psql('SELECT pg_stat_statements_reset()');
  const q0 = pgStatements();
  const d0 = process.cpuUsage();
  const m0 = machineTicks();
  const p0 = pgTicks();
  const c0 = cpuTicks();
  const meas = await phase(vus, op, { seconds, maxOps });
  const c1 = cpuTicks();
  const p1 = pgTicks();
  const m1 = machineTicks();
  const d1 = process.cpuUsage(d0);
  const q1 = pgStatements();
  const extra = {
    vus: vus.length, cpu_s: (c1 - c0) / CLK_TCK, requests: httpRequests - r0,
    driver_cpu_s: (d1.user + d1.system) / 1e6, rss_before: rssBefore, rss_after: rssKib(), more: {},
  };
  const pgMore = { machine_busy_s: (m1 - m0) / CLK_TCK, machine_window_s: meas.wall_s, nodes: PIDS.length };
  if (p0 != null) pgMore.pg_cpu_s = (p1 - p0) / CLK_TCK;
  if (q0 != null && q1 != null) {
    pgMore.pg_statements = q1 - q0;
    const top = psql("SELECT calls || E'\\t' || regexp_replace(left(query, 160), '\\s+', ' ', 'g') FROM pg_stat_statements " +
      `WHERE ${OTHER_DBS} ORDER BY calls DESC LIMIT 15`);
    pgMore.pg_top_statements = top ? top.split('\n') : null;
  }
  if (after) extra.more = await after(pre, meas);
  extra.more = { ...pgMore, ...extra.more };
  record(scenario, label, warm, meas, extra);
}

// ------------------------------------------------------------------ store / memory probes
function sqlite(db, sql) {
  let r = spawnSync('sqlite3', ['-batch', '-noheader', '-separator', '|', db, sql], { encoding: 'utf8', timeout: 20000 });
  if (r.status === 0) return r.stdout.trim();
  const py = 'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=10)\n' +
    'for row in c.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))';
  r = spawnSync('python3', ['-c', py, db, sql], { encoding: 'utf8', timeout: 20000 });
  if (r.status === 0) return r.stdout.trim();
  return null;
}
function fileSize(p) { try { return fs.statSync(p).size; } catch { return 0; } }
function storeProbe() {
  const db = opts.db;
  if (!db) return {};
  const out = { db_files_bytes: fileSize(db) + fileSize(`${db}-wal`) };
  const n = sqlite(db, 'SELECT count(*) FROM sessions');
  if (n != null) out.sessions = Number(n);
  const pages = sqlite(db, 'PRAGMA page_count');
  const size = sqlite(db, 'PRAGMA page_size');
  if (pages != null && size != null) out.db_logical_bytes = Number(pages) * Number(size);
  const st = sqlite(db, 'SELECT SUM(d.pgsize), SUM(d.payload) FROM dbstat d JOIN sqlite_master m ON d.name = m.name ' +
    "WHERE m.tbl_name = 'sessions'");
  if (st && /^\d+\|\d+$/.test(st)) {
    const [pg, payload] = st.split('|').map(Number);
    out.sessions_pages_bytes = pg;
    out.sessions_payload_bytes = payload;
  }
  return out;
}
// The Argon2id parameters of the signing-in user's stored hash ("$argon2id$v=19$m=..,t=..,p=..$..").
function storedHashParams() {
  if (!opts.db || !/^[A-Za-z0-9_.@-]+$/.test(opts.username)) return null;
  const h = sqlite(opts.db, `SELECT password_hash FROM users WHERE username = '${opts.username}'`);
  const m = /^\$(argon2id?)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(h || '');
  return m ? { alg: m[1], v: Number(m[2]), m_kib: Number(m[3]), t: Number(m[4]), p: Number(m[5]) } : null;
}
async function memoryProbe() {
  if (!opts['memory-url']) return {};
  const r = await request('GET', opts['memory-url']);
  const j = JSON.parse(r.body);
  return { heap_used: j.heapUsed, heap_gc: j.gc, adapter_entries: j.entries, adapter_by_model: j.byModel };
}
const settle = (ms) => new Promise((res) => { setTimeout(res, ms); });

// ------------------------------------------------------------------ main
async function main() {
  const disc = await request('GET', `${opts.issuer}/.well-known/openid-configuration`);
  if (disc.status !== 200) die(`discovery answered ${disc.status}`);
  META = JSON.parse(disc.body);
  ISSUER_ORIGIN = new URL(META.issuer).origin;
  if (NODES.length) log(`issuer ${META.issuer}; VUs spread over ${NODES.join(', ')}`);
  log(`authorization_endpoint ${META.authorization_endpoint}, token_endpoint ${META.token_endpoint}`);

  // Sign every VU in once through the real pages: session cookie + refresh token (offline_access
  // needs prompt=consent at oidc-provider, so both servers get it).
  const nVus = Number(opts.vus);
  const vus = [];
  let signInTokens = null;
  const t0 = performance.now();
  for (let i = 0; i < nVus; i += 1) {
    const jar = new Jar(NODES.length ? NODES[i % NODES.length] : undefined);
    const auth = authorizeUrl('openid offline_access', { prompt: 'consent' });
    let res;
    try {
      res = await interactive(jar, auth);
    } catch (e) {
      die(`sign-in of VU ${i} failed: ${e.message}`);
    }
    if (!res.sawLogin) die(`VU ${i}: no login page was shown`);
    const tokens = await redeem(res.code, auth.verifier, jar.node).catch((e) => die(`VU ${i}: ${e.message}`));
    if (!tokens.refresh_token) die(`VU ${i}: the code grant issued no refresh_token (scope ${tokens.scope})`);
    signInTokens ??= tokens;
    vus.push({ id: i, jar, refresh: tokens.refresh_token });
  }
  log(`signed in ${nVus} VUs through the login and consent pages in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
    `(cookies: ${vus[0].jar.names().join(', ')})`);
  const tokenInfo = {
    id_token: tokenKind(signInTokens.id_token), access_token: tokenKind(signInTokens.access_token),
    refresh_token_chars: signInTokens.refresh_token.length,
  };
  log(`tokens: id_token ${tokenInfo.id_token}, access_token ${tokenInfo.access_token}`);

  const duration = Number(opts.duration);
  const warmup = Number(opts.warmup);
  const maxOps = Number(opts['max-ops']);
  const common = { token_formats: tokenInfo, note: opts.note };

  if (SCENARIOS.includes('code')) {
    let withRefresh = 0;
    const op = async (vu) => {
      const auth = authorizeUrl('openid');
      const r = await request('GET', auth.url, { jar: vu.jar });
      if (r.status !== 302 && r.status !== 303) throw new Error(`authorize answered ${snippet(r)}`);
      const code = codeFrom(new URL(r.headers.location, r.url).toString(), auth.state);
      if (!code) throw new Error(`authorize redirected to ${r.headers.location}`);
      const t = await redeem(code, auth.verifier, vu.jar.node);
      if (t.refresh_token) withRefresh += 1;
    };
    await measured('code', 'authorization code + PKCE with an existing session (GET authorize -> 302 -> POST token)',
      vus, op, {
        warmup, seconds: duration, maxOps, reset: () => { withRefresh = 0; },
        after: async () => ({ ...common, scope: 'openid', token_responses_with_refresh_token: withRefresh }),
      });
  }

  if (SCENARIOS.includes('refresh')) {
    let withId = 0;
    const op = async (vu) => {
      const t = await tokenRequest({ grant_type: 'refresh_token', refresh_token: vu.refresh }, vu.jar.node);
      if (!t.refresh_token) throw new Error('refresh response without a new refresh_token');
      if (t.refresh_token === vu.refresh) throw new Error('refresh token was not rotated');
      if (t.id_token) withId += 1;
      vu.refresh = t.refresh_token;
    };
    for (const vu of vus) vu.fatal = () => true; // a failed refresh breaks that VU's chain
    await measured('refresh', 'refresh_token grant, rotating (newest token each time)', vus, op,
      {
        warmup, seconds: duration, maxOps, reset: () => { withId = 0; },
        after: async () => ({ ...common, scope: 'openid offline_access', responses_with_id_token: withId }),
      });
    const broken = vus.filter((v) => v.broken).length;
    if (broken) log(`!!!!!!!! ${broken} refresh chains broke`);
    for (const vu of vus) { vu.fatal = undefined; vu.broken = false; }
  }

  if (SCENARIOS.includes('login')) {
    const loginVus = Array.from({ length: Number(opts['login-vus']) }, (_, id) => ({ id }));
    let sawCode = 0;
    const op = async () => {
      const res = await interactive(new Jar(), authorizeUrl('openid', { prompt: 'consent' }), { stopAtConsent: true });
      if (res.kind === 'code') sawCode += 1;
    };
    await measured('login', 'password login: GET authorize -> login page -> POST credentials -> consent page', loginVus, op, {
      warmup: Number(opts['login-warmup']), seconds: Number(opts['login-duration']), maxOps: Number(opts['login-max']),
      reset: () => { sawCode = 0; },
      before: async () => {
        await settle(500);
        const mem = await memoryProbe(); // runs a full GC in oidc-provider before RSS is read
        return { mem, rss: rssKib(), store: storeProbe() };
      },
      after: async (pre, meas) => {
        await settle(500);
        const mem = await memoryProbe();
        const post = { mem, rss: rssKib(), store: storeProbe() };
        const n = meas.ok;
        const per = (a, b) => (a != null && b != null && n > 0 ? (b - a) / n : null);
        return {
          ...common,
          hash_params: opts['hash-params'] || null,
          stored_hash_params: storedHashParams(),
          ended_with_code: sawCode,
          sessions_before: pre.store.sessions ?? null, sessions_after: post.store.sessions ?? null,
          rss_settled_before_kib: pre.rss, rss_settled_after_kib: post.rss,
          rss_bytes_per_session: per(pre.rss * 1024, post.rss * 1024),
          db_logical_bytes_per_session: per(pre.store.db_logical_bytes, post.store.db_logical_bytes),
          db_files_bytes_per_session: per(pre.store.db_files_bytes, post.store.db_files_bytes),
          sessions_table_bytes_per_session: post.store.sessions ? post.store.sessions_pages_bytes / post.store.sessions : null,
          sessions_payload_bytes_per_session: post.store.sessions ? post.store.sessions_payload_bytes / post.store.sessions : null,
          heap_bytes_per_session: per(pre.mem.heap_used, post.mem.heap_used),
          heap_gc: post.mem.heap_gc ?? null,
          adapter_entries_before: pre.mem.adapter_entries ?? null, adapter_entries_after: post.mem.adapter_entries ?? null,
          adapter_by_model_after: post.mem.adapter_by_model ?? null,
        };
      },
    });
  }

  agent.destroy();
  const bad = results.filter((r) => r.failures > 0 || r.warmup_failures > 0);
  if (bad.length) {
    console.error(`[flows] !!!!!!!! ${SERVER}: failures in ${bad.map((r) => r.scenario).join(', ')}`);
    process.exit(3);
  }
}

main().catch((e) => die(e.stack || String(e)));
