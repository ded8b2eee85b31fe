// Browser sign-in test: Debian's Chromium (/usr/bin/chromium), driven headless by playwright-core,
// signs in to a running Latchkey as a person would: login page, consent page, redirect back to a
// tiny callback listener on 127.0.0.1, then the code is exchanged at /token with PKCE.
//
//   node signin.mjs --issuer URL --client-id ID --redirect-port N --username U --password P --out DIR
//                   [--client-name NAME] [--chromium PATH]
//   node signin.mjs --user-code CODE --issuer URL --username U --password P --out DIR
//                   [--client-name NAME] [--chromium PATH]
//                                      (the person's half of the device flow, RFC 8628 §3.3: /device,
//                                       the code typed in lower case, sign-in, Allow; the caller
//                                       started the flow and polls the token endpoint itself)
//   node signin.mjs --smoke URL --out DIR     (just open URL and screenshot it: proves the browser works)
//
// Every option may also come from the environment: LK_ISSUER, LK_CLIENT_ID, LK_REDIRECT_PORT,
// LK_USERNAME, LK_PASSWORD, LK_OUT, LK_CLIENT_NAME, LK_CHROMIUM, LK_SMOKE, LK_USER_CODE.
// Prints one "FAIL: ..." line per failed check; exit 0 only when every check passed. The whole run is
// bounded (60 s) and the browser is closed (killed) on every way out.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 15_000;

function options() {
  const names = ['issuer', 'client-id', 'redirect-port', 'username', 'password', 'out', 'client-name', 'chromium',
    'smoke', 'user-code'];
  const o = {};
  for (const n of names) {
    const env = process.env['LK_' + n.toUpperCase().replace('-', '_')];
    if (env !== undefined) o[n] = env;
  }
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !names.includes(m[1])) throw new Error(`unknown argument ${argv[i]}`);
    o[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  o.chromium ??= '/usr/bin/chromium';
  o.out ??= '.';
  return o;
}

const failures = [];
let passed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failures.push(what);
    console.log(`FAIL: ${what}`);
  }
  return ok;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest();

function isLoopback(url) {
  try {
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'about:') return true;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}

// The relying party's redirect URI: answers /cb with a small 200 page and reports the URL.
function startCallbackListener(port) {
  let resolveCallback;
  const callback = new Promise((resolve) => { resolveCallback = resolve; });
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/cb')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Connection': 'close' });
      res.end('<!doctype html><title>Callback</title><h1>Signed in: the client got its code</h1>');
      resolveCallback(new URL(req.url, `http://127.0.0.1:${server.address().port}`));
    } else {
      res.writeHead(404, { 'Connection': 'close' });
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port || 0), '127.0.0.1', () => resolve({ server, callback }));
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function decodeJwt(token) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

// Verifies a JWS signature with a JWK from jwks_uri (RS256/PS256/ES256/EdDSA).
function verifyJws(jwt, jwk) {
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case 'RS256': return crypto.verify('sha256', data, key, jwt.signature);
    case 'PS256':
      return crypto.verify('sha256', data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32 }, jwt.signature);
    case 'ES256': return crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
    case 'EdDSA': return crypto.verify(null, data, key, jwt.signature);
    default: return false;
  }
}

async function screenshot(page, out, name) {
  const file = path.join(out, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function smoke(browser, o) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(o.smoke, { timeout: STEP_TIMEOUT_MS });
  check(response && response.status() === 200, `smoke: ${o.smoke} answered ${response && response.status()}`);
  const file = await screenshot(page, o.out, 'smoke.png');
  check(fs.statSync(file).size > 0, 'smoke: screenshot is empty');
  console.log(`smoke: ${o.smoke} -> ${response && response.status()}, ${await page.title() || '(no title)'}, ` +
    `screenshot ${file}; browser ${browser.version()}`);
  await context.close();
}

async function signIn(browser, o) {
  for (const k of ['issuer', 'client-id', 'username', 'password']) {
    if (!o[k]) throw new Error(`missing --${k}`);
  }
  const issuer = o.issuer.replace(/\/$/, '');
  const { server, callback } = await startCallbackListener(o['redirect-port']);
  const redirectUri = `http://127.0.0.1:${server.address().port}/cb`;
  try {
    const meta = await (await fetch(issuer + '/.well-known/openid-configuration')).json();
    check(meta.authorization_endpoint, 'discovery has authorization_endpoint');
    check(meta.token_endpoint, 'discovery has token_endpoint');
    const authorizationEndpoint = meta.authorization_endpoint || issuer + '/authorize';
    const tokenEndpoint = meta.token_endpoint || issuer + '/token';

    const verifier = b64url(crypto.randomBytes(32));
    const challenge = b64url(sha256(verifier));
    const state = b64url(crypto.randomBytes(12));
    const nonce = b64url(crypto.randomBytes(12));
    const authorize = new URL(authorizationEndpoint);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: o['client-id'], redirect_uri: redirectUri, scope: 'openid profile email',
      state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
    }).toString();

    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    // Nothing but this machine is ever contacted; a request elsewhere (an open redirect, a CDN) is a failure.
    const offsite = [];
    await context.route((url) => !isLoopback(url.href), (route) => {
      offsite.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);

    // 1. The login page.
    let response = await page.goto(authorize.href);
    check(response && response.status() === 200, `login page: status ${response && response.status()}`);
    await screenshot(page, o.out, 'login.png');
    const username = page.getByLabel(/user\s*name/i).and(page.locator('input[name="username"]'));
    const password = page.getByLabel(/password/i).and(page.locator('input[name="password"]'));
    check(await username.count() === 1, 'login page: a username input with a label');
    check(await password.count() === 1, 'login page: a password input with a label');
    check(await password.getAttribute('type') === 'password', 'login page: the password input is type=password');
    const signInButton = page.getByRole('button', { name: /sign in/i });
    check(await signInButton.count() === 1, 'login page: one "Sign in" button');

    // 2. A wrong password: the generic message, no way to tell which part was wrong.
    await username.fill(o.username);
    await password.fill('wrong-' + o.password);
    let posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login');
    await signInButton.click();
    response = await posted;
    await page.waitForLoadState('load');
    check(response.status() === 401, `wrong password: status ${response.status()}, expected 401`);
    const text = await page.locator('body').innerText();
    check(text.includes('Incorrect username or password.'), 'wrong password: the generic message is shown');
    check(!text.includes('wrong-' + o.password), 'wrong password: the password is not echoed');
    check(await password.inputValue().catch(() => '') === '', 'wrong password: the password field is empty again');
    await screenshot(page, o.out, 'login-error.png');

    // 3. The right password: the consent page.
    await username.fill(o.username);
    await password.fill(o.password);
    posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login');
    await signInButton.click();
    response = await posted;
    await page.waitForLoadState('load');
    check(response.status() === 200, `login: status ${response.status()}, expected 200 (consent page)`);
    const cookies = await context.cookies(issuer);
    const session = cookies.find((c) => c.name === 'latchkey_session');
    check(session && session.httpOnly && session.sameSite === 'Lax', 'login: latchkey_session is HttpOnly, SameSite=Lax');
    await screenshot(page, o.out, 'consent.png');
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    const deny = page.getByRole('button', { name: 'Deny', exact: true });
    check(await allow.count() === 1 && await deny.count() === 1, 'consent page: Allow and Deny buttons');
    if (o['client-name']) {
      check((await page.locator('body').innerText()).includes(o['client-name']), 'consent page: names the client');
    }

    // 4. Allow: the browser lands on the callback with code, state and iss.
    await allow.click();
    const cb = await withTimeout(callback, STEP_TIMEOUT_MS, 'the redirect to the callback');
    await page.waitForURL((u) => u.pathname === '/cb', { timeout: STEP_TIMEOUT_MS }).catch(() => {});
    const code = cb.searchParams.get('code');
    check(code, 'callback: has a code');
    check(cb.searchParams.get('state') === state, 'callback: state is returned unchanged');
    check(cb.searchParams.get('iss') === meta.issuer, `callback: iss ${cb.searchParams.get('iss')} is the issuer`);
    check(!cb.searchParams.has('error'), `callback: error ${cb.searchParams.get('error')}`);

    // 5. The code at the token endpoint, with the PKCE verifier (public client: no secret).
    const tokenResponse = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code || '', redirect_uri: redirectUri,
        client_id: o['client-id'], code_verifier: verifier }),
    });
    const tokens = await tokenResponse.json().catch(() => ({}));
    check(tokenResponse.status === 200, `token: status ${tokenResponse.status} ${JSON.stringify(tokens)}`);
    check(tokens.id_token, 'token: has an id_token');
    if (tokens.id_token) {
      const jwt = decodeJwt(tokens.id_token);
      const aud = Array.isArray(jwt.payload.aud) ? jwt.payload.aud : [jwt.payload.aud];
      check(jwt.payload.nonce === nonce, 'id_token: nonce');
      check(aud.includes(o['client-id']), 'id_token: aud is the client');
      check(jwt.payload.iss === meta.issuer, 'id_token: iss is the issuer');
      const jwks = await (await fetch(meta.jwks_uri || issuer + '/jwks')).json();
      const jwk = (jwks.keys || []).find((k) => k.kid === jwt.header.kid);
      check(jwk, `id_token: kid ${jwt.header.kid} is in jwks_uri`);
      if (jwk) check(verifyJws(jwt, jwk), `id_token: ${jwt.header.alg} signature verifies`);
    }

    // 6. A redirect_uri that is not registered: an HTML error page, never a redirect. The server's
    //    own answer to /authorize is checked, then where the browser ended up.
    const bad = new URL(authorize.href);
    bad.searchParams.set('redirect_uri', 'https://evil.example/cb');
    const answered = page.waitForResponse((r) => r.request().url() === bad.href, { timeout: STEP_TIMEOUT_MS });
    let navigationError = null;
    await page.goto(bad.href).catch((e) => { navigationError = e; });
    response = await answered.catch(() => null);
    check(response && response.status() === 400, `bad redirect_uri: status ${response && response.status()}, expected 400`);
    check(response && !response.headers()['location'],
      `bad redirect_uri: redirected to ${response && response.headers()['location']}`);
    check(response && (response.headers()['content-type'] || '').startsWith('text/html'),
      'bad redirect_uri: an HTML page');
    check(!navigationError, `bad redirect_uri: the navigation failed: ${navigationError && navigationError.message.split('\n')[0]}`);
    check(new URL(page.url()).origin === new URL(issuer).origin, `bad redirect_uri: the browser left for ${page.url()}`);
    await screenshot(page, o.out, 'error.png');

    check(offsite.length === 0, `no request left this machine: ${offsite.join(', ')}`);
    await context.close();
  } finally {
    server.closeAllConnections?.();
    server.close();
  }
}

// The person's half of the device authorization grant (RFC 8628 §3.3): the device (the calling
// test) shows `--user-code`; the person opens the verification URI, types the code, signs in, checks
// the code and the client on the approval page, and allows. Screenshots: device-entry.png,
// device-login.png, device-confirm.png, device-done.png.
async function deviceFlow(browser, o) {
  for (const k of ['issuer', 'user-code', 'username', 'password']) {
    if (!o[k]) throw new Error(`missing --${k}`);
  }
  const issuer = o.issuer.replace(/\/$/, '');
  const userCode = o['user-code'];
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const offsite = [];
  await context.route((url) => !isLoopback(url.href), (route) => {
    offsite.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const postTo = (pathname) =>
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === pathname);

  // 1. The verification URI: one labelled code field and Continue.
  let response = await page.goto(issuer + '/device');
  check(response && response.status() === 200, `device entry: status ${response && response.status()}`);
  const codeField = page.getByLabel(/code/i).and(page.locator('input[name="user_code"]'));
  check(await codeField.count() === 1, 'device entry: a user_code input with a label');
  const continueButton = page.getByRole('button', { name: 'Continue', exact: true });
  check(await continueButton.count() === 1, 'device entry: one "Continue" button');
  // Typed key by key, in lower case, as a person reading it off a television might: the server
  // normalises case (RFC 8628 §6.1).
  await codeField.pressSequentially(userCode.toLowerCase());
  check(await codeField.inputValue() === userCode.toLowerCase(), 'device entry: the code was typed in lower case');
  await screenshot(page, o.out, 'device-entry.png');

  // 2. Not signed in yet: the login page.
  let posted = postTo('/device');
  await continueButton.click();
  response = await posted;
  await page.waitForLoadState('load');
  check(response.status() === 200, `device entry: status ${response.status()} after Continue, expected 200 (login)`);
  const username = page.getByLabel(/user\s*name/i).and(page.locator('input[name="username"]'));
  const password = page.getByLabel(/password/i).and(page.locator('input[name="password"]'));
  const signInButton = page.getByRole('button', { name: /sign in/i });
  check(await username.count() === 1 && await password.count() === 1, 'device login: username and password inputs');
  check(await signInButton.count() === 1, 'device login: one "Sign in" button');
  await screenshot(page, o.out, 'device-login.png');

  // 3. Sign in: back to /device?user_code=..., the approval page.
  await username.fill(o.username);
  await password.fill(o.password);
  posted = postTo('/login');
  await signInButton.click();
  response = await posted;
  check(response.status() === 303, `device login: status ${response.status()}, expected 303 back to /device`);
  await page.waitForURL((u) => u.pathname === '/device', { timeout: STEP_TIMEOUT_MS }).catch(() => {});
  await page.waitForLoadState('load');
  const landed = new URL(page.url());
  check(landed.origin === new URL(issuer).origin && landed.pathname === '/device',
    `device login: landed on ${page.url()}, expected ${issuer}/device`);
  check(landed.searchParams.get('user_code') === userCode,
    `device login: user_code ${landed.searchParams.get('user_code')} in ${page.url()}, expected ${userCode}`);
  const confirmText = await page.locator('body').innerText();
  // §5.4: the person compares the code shown here, formatted, with the one on the device.
  check(confirmText.includes(userCode), `device confirm: shows the code ${userCode}`);
  if (o['client-name']) check(confirmText.includes(o['client-name']), 'device confirm: names the client');
  check(confirmText.includes(o.username), 'device confirm: names the signed-in user');
  const allow = page.getByRole('button', { name: 'Allow', exact: true });
  const deny = page.getByRole('button', { name: 'Deny', exact: true });
  check(await allow.count() === 1 && await deny.count() === 1, 'device confirm: Allow and Deny buttons');
  await screenshot(page, o.out, 'device-confirm.png');

  // 4. Allow: the page that sends the person back to the device.
  posted = postTo('/device');
  await allow.click();
  response = await posted;
  await page.waitForLoadState('load');
  check(response.status() === 200, `device allow: status ${response.status()}, expected 200`);
  const doneText = await page.locator('body').innerText();
  check(doneText.includes('You can return to your device'), `device done: "You can return to your device" in ${
    JSON.stringify(doneText.slice(0, 200))}`);
  check(await page.locator('form').count() === 0, 'device done: no form left to submit');
  await screenshot(page, o.out, 'device-done.png');

  check(offsite.length === 0, `no request left this machine: ${offsite.join(', ')}`);
  await context.close();
}

async function main() {
  const o = options();
  fs.mkdirSync(o.out, { recursive: true });
  let browser;
  const overall = setTimeout(async () => {
    console.log(`FAIL: overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s`);
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 3000))]);
    process.exit(2);
  }, OVERALL_TIMEOUT_MS);
  try {
    browser = await chromium.launch({
      executablePath: o.chromium,
      headless: true,
      timeout: STEP_TIMEOUT_MS,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        // No name resolves: nothing off this machine can be reached, not even by a redirect (which
        // context.route does not see).
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    if (o.smoke) await smoke(browser, o);
    else if (o['user-code']) await deviceFlow(browser, o);
    else await signIn(browser, o);
  } catch (e) {
    check(false, `unexpected error: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  } finally {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 5000))]);
    clearTimeout(overall);
  }
  console.log(failures.length ? `${failures.length} failed, ${passed} passed` : `ok: ${passed} checks passed`);
  process.exit(failures.length ? 1 : 0);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
main();
