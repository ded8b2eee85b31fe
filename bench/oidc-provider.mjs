// Reference server for bench/run.sh: panva's oidc-provider configured to match
// Latchkey's client_credentials benchmark setup.
//
// Environment:
//   OP_PORT    port to listen on (127.0.0.1 only)            default 3100
//   OP_ALG     access-token signing alg: ES256 | RS256        default ES256
//   OP_CLIENT_ID / OP_CLIENT_SECRET                          default bench / bench-secret
//
// Prints "READY <port>" on stdout once listening.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT || 3100);
const alg = process.env.OP_ALG || 'ES256';
const clientId = process.env.OP_CLIENT_ID || 'bench';
const clientSecret = process.env.OP_CLIENT_SECRET || 'bench-secret';
const issuer = `http://127.0.0.1:${port}`;
const audience = 'https://api.example';

if (!['ES256', 'RS256'].includes(alg)) {
  console.error(`OP_ALG must be ES256 or RS256, got ${alg}`);
  process.exit(2);
}

function privateJwk(type, options, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

const ecKey = { ...privateJwk('ec', { namedCurve: 'P-256' }, 'bench-es256'), alg: 'ES256' };
const rsaKey = { ...privateJwk('rsa', { modulusLength: 2048 }, 'bench-rs256'), alg: 'RS256' };

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api',
  }],
  scopes: ['openid', 'offline_access', 'api'],
  jwks: { keys: [ecKey, rsaKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
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
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg } },
        };
      },
    },
  },
  ttl: { ClientCredentials: 3600 },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = http.createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`READY ${port} alg=${alg} node=${process.version} env=${process.env.NODE_ENV || ''}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
