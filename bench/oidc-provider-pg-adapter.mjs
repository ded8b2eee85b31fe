// A PostgreSQL adapter for oidc-provider (bench/oidc-provider.mjs with OP_STORE=pg), on npm's `pg`
// package (pure JavaScript client, no libpq binding), for the PostgreSQL part of bench/run.sh.
//
// One table holds every model, as in oidc-provider's own example adapters: the payload as jsonb,
// plus the columns the adapter looks things up by (grant id, user code, session uid) and the
// expiry. Every query is a named (server-side prepared) statement, one round trip each; nothing is
// cached in the process, so two oidc-provider processes on one database see the same state.
//
// Connection: the usual libpq environment variables (PGHOST, which may be a unix socket directory,
// PGPORT, PGUSER, PGDATABASE, PGPASSWORD); OP_PG_POOL connections at most per process (default 8,
// Latchkey's storage_pool_size default).
import pg from 'pg';

const TABLE = 'oidc_payloads';

// Models whose payload carries a grantId (revokeByGrantId deletes them together).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  model       text NOT NULL,
  id          text NOT NULL,
  payload     jsonb NOT NULL,
  grant_id    text,
  user_code   text,
  uid         text,
  expires_at  timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS ${TABLE}_grant_id ON ${TABLE} (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${TABLE}_user_code ON ${TABLE} (user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${TABLE}_uid ON ${TABLE} (uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${TABLE}_expires_at ON ${TABLE} (expires_at) WHERE expires_at IS NOT NULL;
`;

const Q = {
  upsert: `INSERT INTO ${TABLE} (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
           ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
             user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
  find: `SELECT payload, consumed_at IS NOT NULL AS consumed FROM ${TABLE}
         WHERE model = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > now())`,
  findByUid: `SELECT payload, consumed_at IS NOT NULL AS consumed FROM ${TABLE}
              WHERE model = $1 AND uid = $2 AND (expires_at IS NULL OR expires_at > now())`,
  findByUserCode: `SELECT payload, consumed_at IS NOT NULL AS consumed FROM ${TABLE}
                   WHERE model = $1 AND user_code = $2 AND (expires_at IS NULL OR expires_at > now())`,
  consume: `UPDATE ${TABLE} SET consumed_at = now() WHERE model = $1 AND id = $2`,
  destroy: `DELETE FROM ${TABLE} WHERE model = $1 AND id = $2`,
  revokeByGrantId: `DELETE FROM ${TABLE} WHERE grant_id = $1`,
  sweep: `DELETE FROM ${TABLE} WHERE expires_at < now()`,
};

let pool = null;

// Creates the pool and the table (under an advisory lock, so two processes starting together do
// not race on CREATE TABLE), and starts an expiry sweep every 60 s. Call once before the provider
// serves requests.
export async function initPgAdapter({ max = Number(process.env.OP_PG_POOL || 8) } = {}) {
  pool = new pg.Pool({ max, idleTimeoutMillis: 0 });
  pool.on('error', (err) => console.error('pg pool error', err));
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock(4242)');
    await c.query(SCHEMA);
    await c.query('SELECT pg_advisory_unlock(4242)');
  } finally {
    c.release();
  }
  setInterval(() => { pool.query(Q.sweep).catch((e) => console.error('sweep', e)); }, 60_000).unref();
  return pool;
}

export async function closePgAdapter() {
  if (pool) await pool.end();
}

const run = (name, values) => pool.query({ name, text: Q[name], values });

function row(res) {
  const r = res.rows[0];
  if (!r) return undefined;
  return r.consumed ? { ...r.payload, consumed: true } : r.payload;
}

export default class PgAdapter {
  constructor(model) {
    this.model = model;
  }

  async upsert(id, payload, expiresIn) {
    await run('upsert', [this.model, id, payload, payload.grantId ?? null, payload.userCode ?? null,
      payload.uid ?? null, typeof expiresIn === 'number' ? Math.ceil(expiresIn) : null]);
  }

  async find(id) { return row(await run('find', [this.model, id])); }

  async findByUid(uid) { return row(await run('findByUid', [this.model, uid])); }

  async findByUserCode(userCode) { return row(await run('findByUserCode', [this.model, userCode])); }

  async consume(id) { await run('consume', [this.model, id]); }

  async destroy(id) { await run('destroy', [this.model, id]); }

  async revokeByGrantId(grantId) { await run('revokeByGrantId', [grantId]); }
}
