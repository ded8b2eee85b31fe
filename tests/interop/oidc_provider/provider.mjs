// panva's oidc-provider (the exact version in package-lock.json) configured for
// tests/interop/test_sdk_oidc_provider.py: an independent OpenID provider that Latchkey's client SDK
// and `latchkey token` / `latchkey jwt` must work against.
//
//   node provider.mjs     (environment below; prints "READY <port>" once listening)
//
// Environment:
//   OP_SECRET_SVC      client secret of "svc", "svc-opaque" and "webapp" (required)
//   OP_WEBAPP_PORT     the loopback port of the web app example; "webapp" is registered only when set
//   OP_MAX_SECONDS     the process exits by itself after this many seconds (default 240); it also
//                      exits when its standard input closes, i.e. when the test that started it ends
//
// Listens on 127.0.0.1 port 0 (a free port); the issuer is http://127.0.0.1:<port>.
//
// Clients:
//   svc         confidential (client_secret_basic), client_credentials, scopes api invoices:read.
//               Its access tokens are RFC 9068 JWTs (typ at+jwt, ES256) for the resource
//               https://api.example, which is its default resource indicator (RFC 8707), so a
//               token request without a resource parameter still gets a JWT.
//   svc-opaque  confidential, client_credentials, scope api; OPAQUE access tokens for the resource
//               https://opaque.example (oidc-provider refuses to introspect or revoke JWT access
//               tokens: "Structured JWT Tokens cannot be introspected"). May introspect and revoke
//               its own tokens.
//   native      public native app (RFC 8252): redirect URI http://127.0.0.1/callback, and
//               oidc-provider accepts any port on a loopback redirect URI of a native client
//               (RFC 8252 §7.3); authorization_code (PKCE S256 required for public clients) and
//               refresh_token; opaque access tokens (no default resource), RS256 ID tokens.
//   tv          public native app with the device authorization grant (RFC 8628) and refresh_token,
//               scopes openid profile offline_access.
//   webapp      confidential web app (client_secret_basic), authorization_code and refresh_token,
//               scopes openid profile email offline_access. A web client's redirect URIs are
//               matched exactly, port included, so its redirect URI is
//               http://127.0.0.1:<OP_WEBAPP_PORT>/callback and its post-logout redirect URI (OpenID
//               Connect RP-Initiated Logout 1.0 §3) http://127.0.0.1:<OP_WEBAPP_PORT>/.
//               oidc-provider allows plain http for a web client that does not use the implicit flow.
//
// devInteractions are on: the login page accepts any login name (it becomes the account id and the
// ID token's sub) and does NOT check the password; the consent page grants what was asked for.
// Every account has the claims name "Person <login>" (scope profile) and email "<login>@example.com"
// with email_verified true (scope email). With an access token issued, oidc-provider puts them in
// the UserInfo response only, not in the ID token (its conformIdTokenClaims, OIDC Core §5.4).
// Refresh tokens are issued, as oidc-provider does by default, only for offline_access, which its
// authorization endpoint drops unless prompt includes consent (OIDC Core §11). Public clients get
// a new refresh token on every use (rotation). oidc-provider's device authorization response
// carries no interval, so clients poll every 5 s (RFC 8628 §3.2).
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Provider from 'oidc-provider';

const secret = process.env.OP_SECRET_SVC;
if (!secret) {
  console.error('OP_SECRET_SVC is required');
  process.exit(2);
}
const maxSeconds = Number(process.env.OP_MAX_SECONDS || 240);
const webappPort = process.env.OP_WEBAPP_PORT;

const jwtResource = 'https://api.example';
const opaqueResource = 'https://opaque.example';
const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';

function privateJwk(type, options, kid, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function configuration() {
  return {
    clients: [{
      client_id: 'svc',
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api invoices:read',
    }, {
      client_id: 'svc-opaque',
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
    }, {
      client_id: 'native',
      client_name: 'Interop Native App',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      scope: 'openid profile offline_access',
    }, {
      client_id: 'tv',
      client_name: 'Interop TV',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [deviceGrant, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid profile offline_access',
    }, ...(webappPort ? [{
      client_id: 'webapp',
      client_name: 'Interop Web App',
      client_secret: secret,
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`http://127.0.0.1:${webappPort}/callback`],
      post_logout_redirect_uris: [`http://127.0.0.1:${webappPort}/`],
      scope: 'openid profile email offline_access',
    }] : [])],
    scopes: ['openid', 'profile', 'email', 'offline_access', 'api', 'invoices:read'],
    // oidc-provider's defaults plus the two scopes' claims.
    claims: {
      acr: null,
      sid: null,
      auth_time: null,
      iss: null,
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: `Person ${sub}`, email: `${sub}@example.com`, email_verified: true }),
    }),
    // The first key of an alg is the one used: RS256 ID tokens (oidc-provider's default), ES256 JWT
    // access tokens (getResourceServerInfo below).
    jwks: {
      keys: [
        privateJwk('rsa', { modulusLength: 2048 }, 'interop-rs256', 'RS256'),
        privateJwk('ec', { namedCurve: 'P-256' }, 'interop-es256', 'ES256'),
      ],
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Only the service clients have a default resource: the apps' access tokens stay opaque.
        defaultResource: async (_ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          if (client?.clientId === 'svc') return jwtResource;
          if (client?.clientId === 'svc-opaque') return opaqueResource;
          return undefined;
        },
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator === jwtResource) {
            return {
              scope: 'api invoices:read',
              audience: jwtResource,
              accessTokenFormat: 'jwt',
              accessTokenTTL: 600,
              jwt: { sign: { alg: 'ES256' } },
            };
          }
          if (resourceIndicator === opaqueResource) {
            return { scope: 'api', audience: opaqueResource, accessTokenFormat: 'opaque', accessTokenTTL: 600 };
          }
          throw new Provider.errors.InvalidTarget();
        },
      },
    },
    ttl: { ClientCredentials: 600, AccessToken: 600, DeviceCode: 120 },
  };
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration());
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`READY ${port}`);
});

// Bounded: gone with the test that started it, and after OP_MAX_SECONDS in any case.
const stop = () => server.close(() => process.exit(0));
setTimeout(() => {
  console.error(`provider: exiting after ${maxSeconds} s`);
  process.exit(0);
}, maxSeconds * 1000).unref();
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, stop);
