"""Interop: Latchkey's client SDK (through `latchkey token`, `latchkey jwt` and the SDK examples)
against an independent OpenID provider, panva's oidc-provider, at the exact version pinned in
tests/interop/oidc_provider/package-lock.json and started by this test on a free port
(tests/interop/oidc_provider/provider.mjs describes its clients).

  client credentials  RFC 6749 §4.4 with client_secret_basic; oidc-provider's RFC 9068 JWT access
                      token (ES256, typ at+jwt) verified by `latchkey jwt verify` against its
                      discovery and JWKS, and by latchkey::validator in the protected API example;
                      its opaque tokens introspected and revoked by the machine-to-machine example;
                      a wrong secret is invalid_client
  device flow         RFC 8628: the test plays the person at oidc-provider's device pages (user code
                      form with its xsrf field, devInteractions login and consent); the CLI polls to
                      the tokens and validates the ID token; the Abort button is access_denied. The
                      same pages with the device example (latchkey::client::DeviceFlow): it shows the
                      user code and both verification URIs, then the ID token's sub and a refresh
                      token, or exits 1 with access_denied
  code flow           RFC 8252 loopback redirect on a port the CLI picks, PKCE S256, state, nonce,
                      RFC 9207 iss (oidc-provider advertises authorization_response_iss_parameter_supported);
                      the RS256 ID token's sub is the login name typed into devInteractions; a callback
                      with a forged or missing iss is refused; a cancelled sign-in is access_denied
  refresh             RFC 6749 §6 with the code flow's refresh token (OIDC Core §11: oidc-provider
                      honours offline_access only with prompt=consent); the rotated token differs
                      and the spent one is refused
  web app example     examples/sdk/web_app.cpp as a confidential web client (client_secret_basic) on
                      the exact redirect URI registered for the port this test picks: the sign-in
                      through devInteractions ends on the app's page with the login name as sub and
                      the name and email that only oidc-provider's UserInfo returns; /profile calls
                      UserInfo through TokenManager; a tampered state is refused (400) and uses up
                      the attempt; logout revokes the token and goes to end_session_endpoint with
                      id_token_hint (RP-Initiated Logout 1.0 §2), where the test confirms
                      oidc-provider's sign-out form, lands on the registered post-logout URI and
                      finds oidc-provider's session ended
  discovery           OpenID Connect Discovery §4.3: an --issuer that is not the one in the
                      discovery document is refused

Fails (never skips) when node or tests/interop/oidc_provider/node_modules is missing: run
scripts/deps.sh.
"""

import base64
import json
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import stop_process  # noqa: E402
from signin_helpers import Page, at_hash, jwt_parts, query_of, single  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER_DIR = os.path.join(HERE, "oidc_provider")
PINNED_VERSION = "9.13.3"
BIN = os.environ.get("LATCHKEY_BIN", "build/dev/src/cli/latchkey")
EXAMPLE_M2M = os.environ.get("LATCHKEY_EXAMPLE_M2M", "build/dev/examples/latchkey-example-m2m")
EXAMPLE_API = os.environ.get("LATCHKEY_EXAMPLE_API", "build/dev/examples/latchkey-example-api")
EXAMPLE_WEBAPP = os.environ.get("LATCHKEY_EXAMPLE_WEBAPP", "build/dev/examples/latchkey-example-webapp")
EXAMPLE_DEVICE = os.environ.get("LATCHKEY_EXAMPLE_DEVICE", "build/dev/examples/latchkey-example-device")
JWT_RESOURCE = "https://api.example"
OPAQUE_RESOURCE = "https://opaque.example"
USER_CODE_LINE = re.compile(r"^Open (\S+) and enter (\S+)$")

SECRET = secrets.token_urlsafe(24)
provider = None  # the running oidc-provider (setUpModule)
webapp_port = None  # the web app example's port, registered in its redirect URIs (setUpModule)


def require_provider_install():
    """Fails with what to do when node or the pinned oidc-provider is not installed."""
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is not installed: run scripts/deps.sh")
    package = os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider", "package.json")
    if not os.path.isfile(package):
        raise AssertionError(f"{PROVIDER_DIR}/node_modules is missing: run scripts/deps.sh (npm ci there)")
    with open(package) as f:
        installed = json.load(f)["version"]
    if installed != PINNED_VERSION:
        raise AssertionError(f"oidc-provider {installed} is installed, the test pins {PINNED_VERSION}: "
                             "run scripts/deps.sh")
    return node


class OidcProvider:
    """`node provider.mjs` on 127.0.0.1 port 0. It exits by itself when its stdin closes (this
    process ended) or after OP_MAX_SECONDS; stop() ends it by PID."""

    def __init__(self, node, webapp_port):
        env = dict(os.environ, OP_SECRET_SVC=SECRET, OP_WEBAPP_PORT=str(webapp_port), OP_MAX_SECONDS="240",
                   NODE_ENV="test")
        self.proc = subprocess.Popen([node, os.path.join(PROVIDER_DIR, "provider.mjs")], cwd=PROVIDER_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.log = []
        ready = queue.Queue()

        def read(stream, announce):
            for line in stream:
                self.log.append(line)
                if announce and line.startswith("READY "):
                    ready.put(int(line.split()[1]))
            ready.put(None)

        threading.Thread(target=read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=read, args=(self.proc.stderr, False), daemon=True).start()
        try:
            port = ready.get(timeout=30)
        except queue.Empty:
            port = None
        if port is None:
            self.stop()
            raise AssertionError("oidc-provider did not start:\n" + "".join(self.log))
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        stop_process(self.proc, timeout=10)
        self.proc.stdin.close()
        return self.proc.returncode


def free_port():
    """A loopback port that was free a moment ago (the web app binds it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setUpModule():
    global provider, webapp_port
    webapp_port = free_port()
    provider = OidcProvider(require_provider_install(), webapp_port)


def tearDownModule():
    if provider is not None:
        provider.stop()


def cli_env(**extra):
    env = dict(os.environ)
    env.pop("LATCHKEY_CLIENT_SECRET", None)
    env.update(extra)
    return env


def run(*args, stdin=None, env=None, timeout=60):
    """Runs `latchkey ARGS`; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env())
    return proc.returncode, proc.stdout, proc.stderr


class Program:
    """A program (`latchkey token`, an example) that keeps running while the test plays the person
    in the browser. Its output is collected as it comes, and the lines of one stream (`announce`:
    "stderr" or "stdout") can be waited for; every wait is bounded; stop() and terminate() end it by
    PID."""

    def __init__(self, argv, env=None, announce="stderr"):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env or cli_env())
        self.lines = queue.Queue()
        self.stderr = []
        self.stdout = []
        self.readers = [threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, announce == "stderr"),
                                         daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, announce == "stdout"),
                                         daemon=True)]
        for t in self.readers:
            t.start()

    def _read(self, stream, into, announce):
        for line in stream:
            into.append(line)
            if announce:
                self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, predicate, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            if predicate(line):
                return line
        raise AssertionError(f"no such line within {timeout} s (exit {self.proc.poll()}); output so far:\n"
                             f"{self.output()}")

    def output(self):
        return "".join(self.stdout) + "".join(self.stderr)

    def finish(self, timeout=60):
        code = self.proc.wait(timeout)
        for t in self.readers:
            t.join(5)
        return code, "".join(self.stdout), "".join(self.stderr)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()

    def terminate(self):
        """SIGTERM (a clean stop), SIGKILL if that takes more than 10 s; returns the exit code."""
        stop_process(self.proc, timeout=10)
        for t in self.readers:
            t.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        return self.proc.returncode


class Browser:
    """A person's browser at oidc-provider's pages: one cookie jar, redirects followed by hand while
    they stay on the provider; a redirect anywhere else (the CLI's loopback listener) is returned,
    not followed."""

    def __init__(self, issuer):
        self.issuer = issuer
        self.s = requests.Session()
        self.pages = []  # what the person saw: "login", "consent", ...

    def close(self):
        self.s.close()

    def _on_provider(self, url):
        return url.startswith(self.issuer + "/")

    def follow(self, r, limit=12):
        """Follows provider redirects from response `r`; returns the last response on the provider,
        or the Location that leaves it (a str)."""
        for _ in range(limit):
            if r.status_code not in (302, 303):
                return r
            location = urllib.parse.urljoin(r.url, r.headers["Location"])
            if not self._on_provider(location):
                return location
            r = self.s.get(location, allow_redirects=False, timeout=10)
        raise AssertionError(f"more than {limit} redirects; last {r.status_code} {r.url}")

    def post(self, url, form, page_url):
        return self.s.post(urllib.parse.urljoin(page_url, url), data=form, allow_redirects=False, timeout=10)

    def sign_in(self, r, login, cancel=False):
        """From response `r`, answers devInteractions' login page (any login name; the password is
        not checked) and consent page until the flow leaves the interaction pages. With `cancel`,
        the consent page's Cancel link (its abort URL) is followed instead. Returns the Location
        that leaves the provider, or the final provider page."""
        for _ in range(6):
            r = self.follow(r)
            if isinstance(r, str):
                return r
            assert r.status_code == 200, f"{r.status_code} {r.url}: {r.text[:300]}"
            page = Page(r.text)
            forms = [f for f in page.forms if f.method == "post"]
            login_form = next((f for f in forms if f.inputs.get("prompt") == "login"), None)
            consent_form = next((f for f in forms if f.inputs.get("prompt") == "consent"), None)
            if login_form is not None:
                self.pages.append("login")
                fields = dict(login_form.inputs, login=login, password="not checked by devInteractions")
                r = self.post(login_form.action, fields, r.url)
            elif consent_form is not None:
                self.pages.append("consent")
                if cancel:
                    abort = next(link for link in page.links if link.endswith("/abort"))
                    r = self.s.get(urllib.parse.urljoin(r.url, abort), allow_redirects=False, timeout=10)
                else:
                    r = self.post(consent_form.action, consent_form.inputs, r.url)
            else:
                return r
        raise AssertionError(f"sign-in did not end; pages {self.pages}")


class ProviderTestCase(unittest.TestCase):

    def setUp(self):
        self.url = provider.url
        self.meta = requests.get(self.url + "/.well-known/openid-configuration", timeout=10).json()

    def browser(self):
        b = Browser(self.url)
        self.addCleanup(b.close)
        return b

    def start(self, *args):
        proc = Program([BIN, "token", "--issuer", self.url, "--timeout", "60", *args])
        self.addCleanup(proc.stop)
        return proc

    def token_cli(self, *args, **kwargs):
        return run("token", "--issuer", self.url, *args, **kwargs)

    def client_credentials(self, *extra, client_id="svc", scope="api"):
        code, out, err = self.token_cli("--client-id", client_id, "--flow", "client-credentials", "--scope", scope,
                                        *extra, env=cli_env(LATCHKEY_CLIENT_SECRET=SECRET))
        self.assertEqual(code, 0, err)
        return out

    def verify(self, token, *extra, issuer=None):
        return run("jwt", "verify", "--issuer", issuer or self.url, token, *extra)

    def assert_id_token(self, id_token, client_id, login, nonce=None):
        """The claims an ID token from oidc-provider must hold for this person and client."""
        header, claims = jwt_parts(id_token)
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["iss"], self.url)
        self.assertEqual(claims["sub"], login)
        self.assertEqual(claims["aud"], client_id)
        if nonce is not None:
            self.assertEqual(claims["nonce"], nonce)
        return claims


class ClientCredentials(ProviderTestCase):

    def test_jwt_access_token_verified_against_the_providers_jwks(self):
        started = time.time()
        tokens = json.loads(self.client_credentials())
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["scope"], "api")
        self.assertGreater(tokens["expires_in"], 0)
        self.assertLessEqual(tokens["expires_in"], 600 + (time.time() - started))
        self.assertNotIn("refresh_token", tokens)  # RFC 6749 §4.4.3
        token = tokens["access_token"]
        header, payload = jwt_parts(token)
        self.assertEqual((header["typ"], header["alg"]), ("at+jwt", "ES256"))  # RFC 9068 §2.1
        self.assertEqual((payload["aud"], payload["client_id"]), (JWT_RESOURCE, "svc"))
        code, out, err = self.verify(token, "--audience", JWT_RESOURCE, "--alg", "ES256", "--json")
        self.assertEqual(code, 0, err)
        result = json.loads(out)
        self.assertIs(result["valid"], True)
        self.assertEqual(result["payload"]["iss"], self.url)
        # The checks are real: another audience, another algorithm, a changed claim.
        code, _, err = self.verify(token, "--audience", "https://other.example")
        self.assertEqual(code, 1, err)
        self.assertIn("wrong_audience", err)
        code, _, err = self.verify(token, "--alg", "RS256")
        self.assertEqual(code, 1, err)
        self.assertIn("alg_not_allowed", err)
        h, p, sig = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        claims["scope"] = "api invoices:read"
        forged = h + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + sig
        code, _, err = self.verify(forged)
        self.assertEqual(code, 1, err)
        self.assertIn("bad_signature", err)

    def test_secret_from_stdin_and_bare_access_token(self):
        code, out, err = self.token_cli("--client-id", "svc", "--client-secret-stdin", "--scope", "api",
                                        "--output", "access-token", stdin=SECRET + "\n")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertEqual(jwt_parts(lines[0])[1]["client_id"], "svc")
        self.assertNotIn(SECRET, out + err)

    def test_wrong_secret_is_invalid_client(self):
        code, out, err = self.token_cli("--client-id", "svc", "--flow", "client-credentials", "--scope", "api",
                                        env=cli_env(LATCHKEY_CLIENT_SECRET="wrong-" + SECRET))
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_client", err)
        self.assertEqual(out, "")
        self.assertNotIn(SECRET, err)

    def test_protected_api_example_validates_the_jwt(self):
        # latchkey::validator (RFC 9068 JWT access tokens, RFC 6750 answers) in front of an API that
        # needs the scope invoices:read for the audience oidc-provider put in the token.
        api = subprocess.Popen(["timeout", "120", EXAMPLE_API, self.url, JWT_RESOURCE, "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env())

        def stop():
            api.terminate()
            try:
                api.wait(10)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait(5)
            api.stdout.close()
            api.stderr.close()
        self.addCleanup(stop)
        line = api.stdout.readline()
        self.assertTrue(line.startswith("listening "), line)
        invoices = f"http://127.0.0.1:{int(line.split()[1])}/invoices"

        def call(token):
            headers = {"Authorization": "Bearer " + token} if token else {}
            return requests.get(invoices, headers=headers, timeout=10)

        good = json.loads(self.client_credentials(scope="invoices:read"))["access_token"]
        r = call(good)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["for"], "svc")
        r = call(json.loads(self.client_credentials(scope="api"))["access_token"])
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn('error="insufficient_scope"', r.headers.get("WWW-Authenticate", ""))
        r = call(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))
        self.assertEqual(r.status_code, 401, r.text)
        self.assertIn('error="invalid_token"', r.headers.get("WWW-Authenticate", ""))
        self.assertEqual(call(None).status_code, 401)

    def test_machine_to_machine_example_with_opaque_tokens(self):
        # oidc-provider will not introspect or revoke JWT access tokens, so the example's whole run
        # (token, validate by introspection, introspect, revoke, introspect again) uses the client
        # whose resource gets opaque tokens.
        proc = subprocess.run([EXAMPLE_M2M, self.url, "svc-opaque", "api", OPAQUE_RESOURCE], capture_output=True,
                              text=True, timeout=60, env=cli_env(LATCHKEY_CLIENT_SECRET=SECRET))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertTrue(lines[0].startswith("token: ok type=Bearer"), lines)
        self.assertIn("validate: ok client_id=svc-opaque sub=", lines)
        self.assertIn("validate-more-scope: insufficient_scope", lines)
        self.assertIn("introspect: active=true scope=api", lines)
        self.assertIn("introspect-after-revoke: active=false", lines)
        proc = subprocess.run([EXAMPLE_M2M, self.url, "svc-opaque", "api", OPAQUE_RESOURCE], capture_output=True,
                              text=True, timeout=60, env=cli_env(LATCHKEY_CLIENT_SECRET="wrong"))
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("invalid_client", proc.stdout)


class DeviceFlow(ProviderTestCase):

    def start_device(self):
        proc = self.start("--client-id", "tv", "--flow", "device", "--scope", "openid offline_access")
        uri, user_code = USER_CODE_LINE.match(proc.wait_for_line(USER_CODE_LINE.match)).groups()
        self.assertEqual(uri, self.meta["issuer"] + "/device")
        return proc, uri, user_code

    def enter_code(self, browser, uri, user_code):
        """The person opens the verification URI and types the code; returns the confirm page's form
        (hidden xsrf, user_code, confirm) and its response."""
        entry = browser.s.get(uri, timeout=10)
        self.assertEqual(entry.status_code, 200)
        form = Page(entry.text).form()
        self.assertIn("xsrf", form.inputs)
        r = browser.post(form.action, dict(form.inputs, user_code=user_code), entry.url)
        self.assertEqual(r.status_code, 200, r.text[:300])
        confirm = Page(r.text).form()
        self.assertEqual(confirm.inputs.get("confirm"), "yes", r.text[:500])
        self.assertIn("Interop TV", Page(r.text).text)
        return confirm, r

    def approve(self, uri, user_code, login):
        """The person types the code, confirms, signs in as `login` and consents."""
        browser = self.browser()
        confirm, page = self.enter_code(browser, uri, user_code)
        done = browser.sign_in(browser.post(confirm.action, confirm.inputs, page.url), login)
        self.assertEqual(browser.pages, ["login", "consent"])
        self.assertIn("Sign-in Success", Page(done.text).text)

    def abort(self, uri, user_code):
        """The person types the code and presses the confirm page's "[ Abort ]" button: the same
        form with abort=yes."""
        browser = self.browser()
        confirm, page = self.enter_code(browser, uri, user_code)
        r = browser.post(confirm.action, dict(confirm.inputs, abort="yes"), page.url)
        self.assertEqual(r.status_code, 200)
        self.assertIn("interrupted", Page(r.text).text)

    def test_approved_in_a_browser(self):
        proc, uri, user_code = self.start_device()
        login = "dana-" + secrets.token_hex(4)
        self.approve(uri, user_code, login)
        code, out, err = proc.finish(timeout=60)
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        for member in ("access_token", "id_token", "refresh_token"):
            self.assertTrue(tokens.get(member), tokens)
        self.assertEqual(set(tokens["scope"].split()), {"openid", "offline_access"})
        self.assert_id_token(tokens["id_token"], "tv", login)
        # The same refresh token grant works for the device's tokens.
        code, out, err = self.token_cli("--client-id", "tv", "--refresh-token", tokens["refresh_token"])
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["access_token"])

    def test_abort_is_access_denied(self):
        proc, uri, user_code = self.start_device()
        self.abort(uri, user_code)
        code, out, err = proc.finish(timeout=60)
        self.assertEqual(code, 1, err)
        self.assertIn("access_denied", err)
        self.assertEqual(out, "")

    # examples/sdk/device_cli.cpp (latchkey::client::DeviceFlow) with its default scope
    # "openid profile offline_access".

    def start_example(self):
        """Starts the device example for "tv"; returns (program, verification URI, user code)."""
        program = Program([EXAMPLE_DEVICE, self.url, "tv"], announce="stdout")
        self.addCleanup(program.stop)
        user_code = program.wait_for_line(lambda l: l.startswith("user_code: ")).split(": ", 1)[1]
        uri = program.wait_for_line(lambda l: l.startswith("verification_uri: ")).split(": ", 1)[1]
        self.assertEqual(uri, self.meta["issuer"] + "/device")
        # RFC 8628 §3.3.1: oidc-provider sends the complete URI too, and the example shows it.
        complete = program.wait_for_line(lambda l: l.startswith("verification_uri_complete: ")).split(": ", 1)[1]
        self.assertTrue(complete.startswith(uri + "?"), complete)
        self.assertEqual(query_of(complete), {"user_code": [user_code]})
        return program, uri, user_code

    def test_device_example_approved(self):
        program, uri, user_code = self.start_example()
        login = "dana-" + secrets.token_hex(4)
        self.approve(uri, user_code, login)
        code, out, err = program.finish(timeout=60)
        self.assertEqual(code, 0, out + err)
        # The sub of the ID token that DeviceFlow validated, and offline_access was honoured.
        self.assertIn(f"signed-in: sub={login}\n", out)
        self.assertIn("refresh-token: yes\n", out)

    def test_device_example_abort_is_access_denied(self):
        program, uri, user_code = self.start_example()
        self.abort(uri, user_code)
        code, out, err = program.finish(timeout=60)
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out, r"(?m)^error: .*access_denied")
        self.assertNotIn("signed-in", out)


class CodeFlow(ProviderTestCase):

    def begin(self, *extra):
        """Starts `latchkey token --flow code` for the native client; returns (process, URL, query)."""
        proc = self.start("--client-id", "native", "--flow", "code", "--no-browser",
                          "--scope", "openid offline_access", *extra)
        endpoint = self.meta["authorization_endpoint"]
        url = proc.wait_for_line(lambda l: l.strip().startswith(endpoint + "?")).strip()
        return proc, url, query_of(url)

    def deliver(self, location):
        """The browser arriving at the CLI's loopback listener."""
        return requests.get(location, allow_redirects=False, timeout=10)

    def sign_in(self, *extra, login=None, cancel=False):
        """One code flow to the redirect: returns (process, authorization query, redirect Location)."""
        proc, url, q = self.begin(*extra)
        browser = self.browser()
        location = browser.sign_in(browser.s.get(url, allow_redirects=False, timeout=10),
                                   login or "erin-" + secrets.token_hex(4), cancel=cancel)
        self.assertIsInstance(location, str, "the sign-in did not redirect back to the app")
        self.assertTrue(location.startswith(single(q, "redirect_uri") + "?"), location)
        return proc, q, location

    def test_pkce_loopback_redirect_and_id_token(self):
        login = "erin-" + secrets.token_hex(4)
        proc, q, location = self.sign_in("--prompt", "consent", login=login)
        # RFC 8252 §7.3: the loopback IP literal with the port the CLI bound; the client is registered
        # as http://127.0.0.1/callback and oidc-provider accepts any port for a native client.
        redirect = urllib.parse.urlsplit(single(q, "redirect_uri"))
        self.assertEqual((redirect.scheme, redirect.hostname, redirect.path), ("http", "127.0.0.1", "/callback"))
        self.assertNotIn(redirect.port, (None, 0))
        self.assertEqual(single(q, "code_challenge_method"), "S256")
        self.assertEqual(len(single(q, "code_challenge")), 43)
        self.assertEqual(single(q, "prompt"), "consent")
        self.assertEqual(single(q, "scope").split(), ["openid", "offline_access"])
        answer = query_of(location)
        self.assertEqual(single(answer, "state"), single(q, "state"))
        self.assertEqual(single(answer, "iss"), self.url)  # RFC 9207 §2
        page = self.deliver(location)
        self.assertEqual(page.status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        for member in ("access_token", "id_token", "refresh_token"):
            self.assertTrue(tokens.get(member), tokens)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(set(tokens["scope"].split()), {"openid", "offline_access"})
        claims = self.assert_id_token(tokens["id_token"], "native", login, nonce=single(q, "nonce"))
        if "at_hash" in claims:  # OPTIONAL in a token endpoint ID token (OIDC Core §3.1.3.6)
            self.assertEqual(claims["at_hash"], at_hash(tokens["access_token"]))
        code, out, err = self.verify(tokens["id_token"], "--audience", "native", "--alg", "RS256", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["payload"]["sub"], login)

        # Refresh (RFC 6749 §6): a public client's refresh token is rotated, the new ID token is
        # validated against the first one's subject (OIDC Core §12.2) and the spent token is refused.
        first = tokens["refresh_token"]
        code, out, err = self.token_cli("--client-id", "native", "--flow", "refresh", "--refresh-token", first)
        self.assertEqual(code, 0, err)
        second = json.loads(out)
        self.assertTrue(second["access_token"])
        self.assertNotEqual(second["access_token"], tokens["access_token"])
        self.assertTrue(second["refresh_token"])
        self.assertNotEqual(second["refresh_token"], first)
        if second.get("id_token"):
            self.assert_id_token(second["id_token"], "native", login)
        code, out, err = self.token_cli("--client-id", "native", "--flow", "refresh", "--refresh-token", first)
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_grant", err)
        self.assertNotIn(first, out + err)

    def test_offline_access_without_prompt_consent_gets_no_refresh_token(self):
        # OIDC Core §11: oidc-provider drops offline_access unless prompt has consent; this is why
        # the refresh test above passes --prompt consent.
        proc, q, location = self.sign_in()
        self.assertNotIn("prompt", q)
        self.assertEqual(self.deliver(location).status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        self.assertTrue(tokens["id_token"])
        self.assertNotIn("refresh_token", tokens)

    def test_callback_with_a_forged_or_missing_iss_is_refused(self):
        # RFC 9207 §2.4: iss must equal the issuer, and must be there since discovery promises it.
        for name, change in (("forged", lambda a: dict(a, iss="http://127.0.0.1:9")),
                             ("missing", lambda a: {k: v for k, v in a.items() if k != "iss"})):
            with self.subTest(name):
                proc, q, location = self.sign_in()
                base, _, query = location.partition("?")
                answer = dict(urllib.parse.parse_qsl(query))
                self.assertEqual(answer["iss"], self.url)
                self.deliver(base + "?" + urllib.parse.urlencode(change(answer)))
                code, out, err = proc.finish()
                self.assertEqual(code, 1, err)
                self.assertIn("issuer_mismatch", err)
                self.assertEqual(out, "")

    def test_cancelled_sign_in_is_access_denied(self):
        proc, q, location = self.sign_in(cancel=True)
        answer = query_of(location)
        self.assertEqual(single(answer, "error"), "access_denied")
        self.assertEqual(self.deliver(location).status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 1, err)
        self.assertIn("access_denied", err)
        self.assertEqual(out, "")


class WebApp(ProviderTestCase):
    """examples/sdk/web_app.cpp as the confidential client "webapp" on the port registered for it.
    The browser carries the app's cookie and oidc-provider's in one jar, as a real one does."""

    @classmethod
    def setUpClass(cls):
        cls.app_url = f"http://127.0.0.1:{webapp_port}"
        cls.app = Program([EXAMPLE_WEBAPP, provider.url, "webapp", str(webapp_port), cls.app_url + "/"],
                          env=cli_env(LATCHKEY_CLIENT_SECRET=SECRET), announce="stdout")
        try:
            cls.app.wait_for_line(lambda l: l.startswith("READY "))
        except BaseException:
            cls.app.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        # SIGTERM stops the app cleanly: exit 0.
        code = cls.app.terminate()
        if code != 0:
            raise AssertionError(f"the web app example exited with {code}: {cls.app.output()[-3000:]}")

    def setUp(self):
        super().setUp()
        self.errors_before = len(self.app.stderr)

    def app_errors(self):
        """What the app wrote to stderr during this test ("userinfo failed", "revocation failed")."""
        return "".join(self.app.stderr[self.errors_before:])

    def get(self, browser, path):
        return browser.s.get(self.app_url + path, allow_redirects=False, timeout=15)

    def signed_in_as(self, browser):
        """The sub the app's / page shows, or None on its signed-out page."""
        r = self.get(browser, "/")
        self.assertEqual(r.status_code, 200, r.text[:300])
        page = Page(r.text)
        if "sub" not in page.ids:
            self.assertIn("signed-out", page.ids, r.text[:300])
            return None
        return re.search(r'<code id="sub">([^<]*)</code>', r.text).group(1)

    def through_provider(self, browser, login):
        """GET /login, then the person at oidc-provider's login and consent pages. Returns (the
        authorization request's query, the callback URL oidc-provider sends the browser to)."""
        r = self.get(browser, "/login")
        self.assertEqual(r.status_code, 302, r.text[:300])
        authorize = r.headers["Location"]
        self.assertTrue(authorize.startswith(self.meta["authorization_endpoint"] + "?"), authorize)
        q = query_of(authorize)
        self.assertEqual(single(q, "client_id"), "webapp")
        self.assertEqual(single(q, "redirect_uri"), self.app_url + "/callback")
        self.assertEqual(single(q, "code_challenge_method"), "S256")
        callback = browser.sign_in(browser.s.get(authorize, allow_redirects=False, timeout=10), login)
        self.assertIsInstance(callback, str, "the sign-in did not redirect back to the app")
        self.assertTrue(callback.startswith(self.app_url + "/callback?"), callback)
        answer = query_of(callback)
        self.assertEqual(single(answer, "state"), single(q, "state"))
        self.assertEqual(single(answer, "iss"), self.url)
        return q, callback

    def sign_in(self, browser, login):
        """A whole sign-in: the callback ends on the app's / page."""
        _, callback = self.through_provider(browser, login)
        r = browser.s.get(callback, allow_redirects=False, timeout=15)
        self.assertEqual(r.status_code, 302, r.text[:500])
        self.assertEqual(r.headers["Location"], "/")

    def test_sign_in_shows_the_person_and_userinfo(self):
        b = self.browser()
        self.assertIsNone(self.signed_in_as(b))
        login = "wes-" + secrets.token_hex(4)
        self.sign_in(b, login)
        self.assertEqual(b.pages, ["login", "consent"])
        # The validated ID token's sub is the login name typed into devInteractions. oidc-provider
        # keeps name and email out of that ID token (an access token was issued too), so the app's
        # UserInfo call at the callback (TokenManager, client_secret_basic code exchange) is what
        # shows them.
        self.assertEqual(self.signed_in_as(b), login)
        home = self.get(b, "/").text
        self.assertIn(f'<span id="name">Person {login}</span>', home)
        self.assertIn(f'<span id="email">{login}@example.com</span>', home)
        profile = self.get(b, "/profile")
        self.assertEqual(profile.status_code, 200, profile.text[:300])
        self.assertIn(f'<code id="userinfo-sub">{login}</code>', profile.text)
        self.assertIn(f'<span id="claim-sub">{login}</span>', profile.text)
        self.assertIn(f'<span id="claim-name">Person {login}</span>', profile.text)
        self.assertIn(f'<span id="claim-email">{login}@example.com</span>', profile.text)
        self.assertEqual(self.app_errors(), "")
        # Another browser is not signed in by any of this.
        self.assertIsNone(self.signed_in_as(self.browser()))

    def test_a_tampered_state_is_refused_and_ends_the_attempt(self):
        b = self.browser()
        _, callback = self.through_provider(b, "tess-" + secrets.token_hex(4))
        state = single(query_of(callback), "state")
        forged = callback.replace("state=" + urllib.parse.quote(state, safe=""),
                                  "state=" + ("A" if state[0] != "A" else "B") + state[1:])
        self.assertNotEqual(forged, callback)
        r = b.s.get(forged, allow_redirects=False, timeout=15)
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertIn("state_mismatch", Page(r.text).text)
        self.assertIsNone(self.signed_in_as(b))
        # The pending request was used up: the genuine callback now fails too.
        r = b.s.get(callback, allow_redirects=False, timeout=15)
        self.assertEqual(r.status_code, 400, r.text[:300])
        self.assertIsNone(self.signed_in_as(b))

    def test_logout_at_the_app_and_at_oidc_provider(self):
        b = self.browser()
        login = "lou-" + secrets.token_hex(4)
        self.sign_in(b, login)
        r = self.get(b, "/logout")
        self.assertEqual(r.status_code, 302, r.text[:300])
        self.assertIn("Max-Age=0", r.headers.get("Set-Cookie", ""))
        self.assertIsNone(self.signed_in_as(b))
        # RP-Initiated Logout 1.0 §2 at oidc-provider's end_session_endpoint, with the ID token the
        # app signed in with as id_token_hint.
        location = r.headers["Location"]
        self.assertTrue(location.startswith(self.meta["end_session_endpoint"] + "?"), location)
        q = query_of(location)
        self.assertEqual(single(q, "post_logout_redirect_uri"), self.app_url + "/")
        self.assertEqual(self.assert_id_token(single(q, "id_token_hint"), "webapp", login)["aud"], "webapp")
        # The app revoked its token at oidc-provider's revocation endpoint (RFC 7009) without error.
        self.assertEqual(self.app_errors(), "")
        # oidc-provider asks the person to confirm ("Yes, sign me out": logout=yes in its form), then
        # ends its session and sends the browser to the registered post-logout redirect URI.
        confirm = b.s.get(location, allow_redirects=False, timeout=10)
        self.assertEqual(confirm.status_code, 200, confirm.text[:300])
        form = Page(confirm.text).form()
        self.assertIn("xsrf", form.inputs)
        back = b.post(form.action, dict(form.inputs, logout="yes"), confirm.url)
        self.assertIn(back.status_code, (302, 303), back.text[:300])
        self.assertEqual(back.headers["Location"], self.app_url + "/")
        # Signed out at oidc-provider too: the next sign-in shows its login page again (with its
        # session still there, oidc-provider would send the browser straight back to the app).
        b.pages.clear()
        self.through_provider(b, login)
        self.assertEqual(b.pages[:1], ["login"])


class Discovery(ProviderTestCase):

    def test_issuer_must_match_the_discovery_document(self):
        # OpenID Connect Discovery §4.3: the same server under another name is refused.
        port = urllib.parse.urlsplit(self.url).port
        for issuer in (self.url + "/", f"http://localhost:{port}"):
            with self.subTest(issuer):
                code, out, err = run("token", "--issuer", issuer, "--client-id", "svc", "--flow",
                                     "client-credentials", env=cli_env(LATCHKEY_CLIENT_SECRET=SECRET))
                self.assertEqual(code, 1, err)
                self.assertIn(f'discovery the issuer "{self.url}" is not the configured "{issuer}"', err)
                self.assertEqual(out, "")
        token = json.loads(self.client_credentials())["access_token"]
        code, out, err = self.verify(token, issuer=f"http://localhost:{port}")
        self.assertEqual(code, 2, err)
        self.assertIn("discovery", err)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()
