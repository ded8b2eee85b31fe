// Renders bench/run.sh results as markdown: node report.mjs meta.json results.jsonl
import { readFileSync } from 'node:fs';

const [metaPath, resultsPath] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const rows = readFileSync(resultsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

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

const es256Sign = Number(meta.es256_sign_s);
const rs256Sign = Number(meta.rs256_sign_s);
const out = [];
const p = (s = '') => out.push(s);

p('# Latchkey benchmark results');
p();
p(`- Date: ${meta.date}; commit ${meta.commit}${meta.latchkey_version ? `; ${meta.latchkey_version}` : ''}`);
p(`- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.kernel}`);
p(`- Reference: oidc-provider ${meta.oidc_provider_version || 'not run'} on Node.js ${meta.node} (NODE_ENV=production)`);
p(`- Load: wrk ${meta.wrk}, ${meta.threads} threads, ${meta.connections} connections, ${meta.warmup} s warm-up + ${meta.duration} s measured per scenario, loopback`);
p(`- Pinning: server ${meta.server_cpus ? `CPUs ${meta.server_cpus}` : 'unpinned'}, wrk ${meta.wrk_cpus ? `CPUs ${meta.wrk_cpus}` : 'unpinned'}`);
p(`- Signing ceiling (one core, ${meta.openssl}, \`openssl speed -seconds ${meta.sign_seconds}\`): ECDSA P-256 ${n(es256Sign)} sign/s, RSA-2048 ${n(rs256Sign)} sign/s`);
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
const status = (v, ok) => (v == null ? 'n/a' : ok ? 'pass' : 'FAIL');
const target = (name, v, fmt, ok) => p(`| ${name} | ${v == null ? 'n/a' : fmt(v)} | ${status(v, v != null && ok(v))} |`);
const L = (sc) => get('latchkey', sc);
const O = (sc) => get('oidc-provider', sc);
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
const lk = rows.filter((r) => r.server === 'latchkey');
const maxOf = (k) => (lk.length ? Math.max(...lk.map((r) => r[k])) : null);
target('p99 latency < 5 ms (worst scenario)', maxOf('p99_ms'), (v) => `${v.toFixed(2)} ms`, (v) => v < 5);
target('RSS idle < 15 MiB', maxOf('rss_idle_kib'), (v) => `${mib(v)} MiB`, (v) => v < 15 * 1024);
target('RSS after load < 40 MiB', maxOf('rss_after_kib'), (v) => `${mib(v)} MiB`, (v) => v < 40 * 1024);
const bad = rows.filter((r) => r.non2xx > 0 || r.socket_errors > 0);
p();
p(bad.length
  ? `**Warning:** non-2xx responses or socket errors in: ${bad.map((r) => `${r.server}/${r.scenario}`).join(', ')}. Those numbers do not measure successful requests.`
  : 'Every measured response was 2xx; no socket errors.');
console.log(out.join('\n'));
