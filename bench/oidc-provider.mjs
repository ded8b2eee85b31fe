// Reference server for bench/run.sh: panva's oidc-provider configured to match
// Latchkey's benchmark setup.
//
// Environment:
//   OP_MODE    cc (client_credentials scenarios, the default) | flows (sign-in flows, bench/flows.mjs)
//              | lifecycle (introspection, revocation, device-code polling)
//   OP_PORT    port to listen on (127.0.0.1 only)            default 3100
//   OP_ALG     access-token signing alg: ES256 | RS256        default ES256 (cc mode)
//   OP_CLIENT_ID / OP_CLIENT_SECRET                          default bench / bench-secret (cc mode)
//   OP_REDIRECT_URI  the public client's redirect URI          (flows mode)
//   OP_STORE   memory (the default) | pg: store everything in PostgreSQL through
//              bench/oidc-provider-pg-adapter.mjs (connection from PGHOST, PGPORT, PGUSER,
//              PGDATABASE; OP_PG_POOL connections), for the PostgreSQL part of run.sh (cc and flows modes)
//   OP_ISSUER  issuer URL                                       default http://127.0.0.1:OP_PORT
//              (two processes behind one issuer: the same OP_ISSUER and OP_KEYS_FILE for both)
//   OP_KEYS_FILE  signing keys and cookie keys: read from this JSON file if it exists, else
//              generated and written there (mode 0600), so a second process can share them
//
// flows mode: one public client (token_endpoint_auth_method none, PKCE S256 required as for every
// public client, grant types authorization_code + refresh_token, scopes openid offline_access),
// devInteractions (the built-in login and consent pages: any login name is accepted and the
// password is NOT checked), ID tokens RS256 (oidc-provider's default), access tokens in the
// default (opaque) format, refresh tokens rotated on every use (the default for public clients).
// Storage is oidc-provider's own MemoryAdapter over an expiring Map WITHOUT the default adapter's
// 1000-entry LRU cap, which would otherwise evict sessions, grants and refresh tokens under load.
// GET /__bench/memory (flows mode only) runs a full GC and answers {rss, heapUsed, entries}.
//
// lifecycle mode: the cc client (OP_CLIENT_ID, scope api) gets OPAQUE client_credentials access
// tokens (the resource server's accessTokenFormat is 'opaque'; oidc-provider refuses to introspect
// or revoke JWT access tokens at all: "Structured JWT Tokens cannot be introspected"); a second
// confidential client bench-api (secret OP_API_SECRET) is the resource server that introspects
// them; a public client bench-tv has the device authorization grant. Features introspection,
// revocation and deviceFlow are enabled; storage is the unbounded expiring Map below (the default
// LRU would evict the tens of thousands of tokens issued before the revocation run).
//
// Prints "READY <port>" on stdout once listening.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Provider from 'oidc-provider';
import * as fs from 'node:fs';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import PgAdapter, { initPgAdapter } from './oidc-provider-pg-adapter.mjs';

const mode = process.env.OP_MODE || 'cc';
const port = Number(process.env.OP_PORT || 3100);
const alg = process.env.OP_ALG || 'ES256';
const clientId = process.env.OP_CLIENT_ID || 'bench';
const clientSecret = process.env.OP_CLIENT_SECRET || 'bench-secret';
const issuer = process.env.OP_ISSUER || `http://127.0.0.1:${port}`;
const storeKind = process.env.OP_STORE || 'memory';
const audience = 'https://api.example';

if (!['cc', 'flows', 'lifecycle'].includes(mode)) {
  console.error(`OP_MODE must be cc, flows or lifecycle, got ${mode}`);
  process.exit(2);
}
if (!['memory', 'pg'].includes(storeKind) || (storeKind === 'pg' && mode === 'lifecycle')) {
  console.error(`OP_STORE must be memory or pg (pg in cc and flows modes only), got ${storeKind}`);
  process.exit(2);
}
if (!['ES256', 'RS256'].includes(alg)) {
  console.error(`OP_ALG must be ES256 or RS256, got ${alg}`);
  process.exit(2);
}

function privateJwk(type, options, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

function loadOrCreateKeys(file) {
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const keys = {
    ec: { ...privateJwk('ec', { namedCurve: 'P-256' }, 'bench-es256'), alg: 'ES256' },
    rsa: { ...privateJwk('rsa', { modulusLength: 2048 }, 'bench-rs256'), alg: 'RS256' },
    cookie: crypto.randomBytes(32).toString('base64url'),
  };
  if (file) fs.writeFileSync(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  return keys;
}
const keys = loadOrCreateKeys(process.env.OP_KEYS_FILE);
const ecKey = keys.ec;
const rsaKey = keys.rsa;

const lifecycle = mode === 'lifecycle';
const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';
const ccConfiguration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api',
  }, ...(lifecycle ? [{
    client_id: 'bench-api',
    client_secret: process.env.OP_API_SECRET || 'bench-api-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api',
  }, {
    client_id: 'bench-tv',
    application_type: 'native',
    grant_types: [deviceGrant],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
  }] : [])],
  scopes: ['openid', 'offline_access', 'api'],
  jwks: { keys: [ecKey, rsaKey] },
  cookies: { keys: [keys.cookie] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: lifecycle },
    revocation: { enabled: lifecycle },
    deviceFlow: { enabled: lifecycle },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => audience,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== audience) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience,
          accessTokenFormat: lifecycle ? 'opaque' : 'jwt',
          accessTokenTTL: 3600,
          ...(lifecycle ? {} : { jwt: { sign: { alg } } }),
        };
      },
    },
  },
  ttl: { ClientCredentials: 3600 },
};

// An unbounded expiring Map with the get/set/delete interface MemoryAdapter expects from its store
// (the default one is an LRU capped at 1000 entries). Expired entries are dropped on read and by a
// sweep every 10 s.
class ExpiringStore {
  #map = new Map();

  constructor() {
    setInterval(() => {
      const now = Date.now();
      for (const [key, entry] of this.#map) {
        if (entry.expiry !== undefined && entry.expiry <= now) this.#map.delete(key);
      }
    }, 10_000).unref();
  }

  get size() { return this.#map.size; }

  get(key) {
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, { maxAge } = {}) {
    const expiry = typeof maxAge === 'number' && Number.isFinite(maxAge) ? Date.now() + maxAge : undefined;
    this.#map.set(key, { value, expiry });
    return this;
  }

  delete(key) { return this.#map.delete(key); }

  countByModel() {
    const counts = {};
    for (const key of this.#map.keys()) {
      const model = key.slice(0, key.indexOf(':'));
      counts[model] = (counts[model] || 0) + 1;
    }
    return counts;
  }
}

const pgStore = storeKind === 'pg';
const store = mode === 'cc' || pgStore ? null : new ExpiringStore();
if (lifecycle) ccConfiguration.adapter = (name) => new MemoryAdapter(name, store);
if (pgStore) {
  await initPgAdapter();
  ccConfiguration.adapter = PgAdapter;
}
const redirectUri = process.env.OP_REDIRECT_URI || `http://127.0.0.1:9/callback`;
const flowsConfiguration = {
  clients: [{
    client_id: process.env.OP_CLIENT_ID || 'bench-app',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
    scope: 'openid offline_access',
    // OIDC Registration §2: RS256 unless the client registers another (BENCH_ID_TOKEN_ALG).
    ...(process.env.OP_ID_TOKEN_ALG ? { id_token_signed_response_alg: process.env.OP_ID_TOKEN_ALG } : {}),
  }],
  scopes: ['openid', 'offline_access'],
  jwks: { keys: [rsaKey, ecKey] },
  cookies: { keys: [keys.cookie] },
  adapter: pgStore ? PgAdapter : (name) => new MemoryAdapter(name, store),
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
  },
};

const provider = new Provider(issuer, mode === 'flows' ? flowsConfiguration : ccConfiguration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const callback = provider.callback();
const handler = mode === 'flows'
  ? (req, res) => {
    if (req.url === '/__bench/memory') {
      if (typeof globalThis.gc === 'function') { globalThis.gc(); globalThis.gc(); }
      const m = process.memoryUsage();
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external,
        gc: typeof globalThis.gc === 'function', entries: store?.size ?? null, byModel: store?.countByModel() ?? null }));
      return;
    }
    callback(req, res);
  }
  : callback;

const server = http.createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`READY ${port} mode=${mode} alg=${alg} store=${storeKind} issuer=${issuer} node=${process.version} env=${process.env.NODE_ENV || ''}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
