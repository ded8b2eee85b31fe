"""End-to-end: the client-side commands of the `latchkey` binary against a real server over real
sockets. `latchkey token` with each grant (client credentials, refresh, the native-app code flow
with its loopback redirect of RFC 8252 §7.3, the device flow of RFC 8628), and `latchkey jwt
decode` / `latchkey jwt verify`.

Exit codes checked: token 0 / 1 (the provider or the network refused) / 2 (unusable flags); jwt
verify 0 valid / 1 invalid / 2 keys not fetched. A token checked against another provider's
--issuer is exit 1 with unknown_key (that provider's keys were fetched, none signed the token); an
issuer that cannot be reached, or whose discovery document names another issuer, is exit 2.
"""

import base64
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Server, create_client  # noqa: E402
from signin_helpers import (Flow, Page, SignInServerTestCase, add_user, create_code_client,  # noqa: E402
                            jwt_parts, pkce_pair, query_of, single)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PASSWORD = "tess-password-123"
WEB = "tc-web"
WEB_CB = "https://web.example.com/cb"
USER_CODE_LINE = re.compile(r"^Open (\S+) and enter ([A-Z]{4}-[A-Z]{4})$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env():
    # The secret must come from the flags of each test, never from the developer's shell.
    env = dict(os.environ)
    env.pop("LATCHKEY_CLIENT_SECRET", None)
    return env


def run(*args, stdin=None, timeout=60):
    """Runs `latchkey ARGS` (no --data-dir: these commands talk HTTP); returns (code, stdout, stderr)."""
    proc = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=cli_env())
    return proc.returncode, proc.stdout, proc.stderr


class CliProcess:
    """A `latchkey` command that keeps running while the test acts (a browser, a person approving).
    Its stderr lines are collected as they come; every wait is bounded; stop() ends it by PID."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([BIN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=cli_env())
        self.stderr_lines = queue.Queue()
        self.stderr = []
        self.stdout = []
        self._readers = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_stdout, daemon=True)]
        for t in self._readers:
            t.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.stderr_lines.put(line.rstrip("\n"))

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.stdout.append(line)

    def wait_for_line(self, predicate, timeout=20):
        """The first stderr line for which predicate(line) is truthy; fails after `timeout` s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.stderr_lines.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            if predicate(line):
                return line
        raise AssertionError(f"no such line within {timeout} s; stderr so far:\n{''.join(self.stderr)}")

    def running(self):
        return self.proc.poll() is None

    def finish(self, timeout=60):
        """Waits for the command to end; returns (code, stdout, stderr)."""
        code = self.proc.wait(timeout)
        self._close()
        return code, "".join(self.stdout), "".join(self.stderr)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._close()

    def _close(self):
        for t in self._readers:
            t.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if not pipe.closed:
                pipe.close()


class TokenCliBase(SignInServerTestCase):
    server_env = {"LATCHKEY_DEVICE_POLL_INTERVAL": "1", "LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": "0"}

    @classmethod
    def setup_data(cls, d):
        cls.svc = create_client(d, "tc-svc", "--scope", "api")
        cls.post = create_client(d, "tc-post", "--scope", "api", "--token-endpoint-auth-method", "client_secret_post")
        cls.api = create_client(d, "tc-api", "--scope", "introspect", "--introspect-any", "true")
        # A native app registered with the exact loopback port the tests pass with --port, and one
        # registered without a port (RFC 8252 §7.3: a public client may then use any).
        cls.native_port = free_port()
        cls.native_cb = f"http://127.0.0.1:{cls.native_port}/callback"
        cls.native = create_code_client(d, "tc-native", [cls.native_cb], "openid profile offline_access",
                                        public=True, name="Token CLI")
        cls.any_port = create_code_client(d, "tc-anyport", ["http://127.0.0.1/callback"], "openid offline_access",
                                          public=True)
        cls.web = create_code_client(d, WEB, [WEB_CB], "openid profile offline_access", name="Token CLI Web")
        cls.tv = create_client(d, "tc-tv", "--public", "--name", "Token CLI TV", "--grant-type", DEVICE_GRANT,
                               "--grant-type", "refresh_token", "--scope", "openid", "--scope", "offline_access")
        add_user(d, "tess", PASSWORD)

    # --- helpers ---------------------------------------------------------------------------------

    def token_cli(self, *args, stdin=None):
        return run("token", "--issuer", self.url, *args, stdin=stdin)

    def client_credentials(self, *extra):
        code, out, err = self.token_cli("--client-id", "tc-svc", "--client-secret", self.svc["client_secret"],
                                        "--scope", "api", *extra)
        self.assertEqual(code, 0, err)
        return out

    def access_token(self):
        return json.loads(self.client_credentials())["access_token"]

    def introspect(self, token):
        r = self.http.post(self.url + "/introspect", data={"token": token},
                           auth=("tc-api", self.api["client_secret"]), timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def start(self, *args):
        proc = CliProcess("token", "--issuer", self.url, *args)
        self.addCleanup(proc.stop)
        return proc

    def authorization_url(self, proc):
        line = proc.wait_for_line(lambda l: l.strip().startswith(self.url + "/authorize?"))
        return line.strip()

    def browser(self, url, decision="allow"):
        """A person at a browser: opens the authorization URL, signs in, answers the consent page.
        Returns where the provider sends the browser back (the redirect's Location)."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        r = flow.s.get(url, allow_redirects=False, timeout=15)
        if r.status_code == 200 and Page(r.text).form("/login"):
            r = flow.login(r, "tess", PASSWORD)
        if r.status_code == 200 and Page(r.text).form("/consent"):
            r = flow.consent(r, decision)
        self.assertIn(r.status_code, (302, 303), r.text[:500])
        return r.headers["Location"]

    def follow_redirect(self, location):
        """The browser arriving at the CLI's loopback listener."""
        return requests.get(location, allow_redirects=False, timeout=10)

    def code_flow(self, client_id, *extra):
        """Runs `token --flow code` to the end with the test as the browser; returns the tokens."""
        proc = self.start("--client-id", client_id, "--flow", "code", "--no-browser", "--scope",
                          "openid offline_access", *extra)
        location = self.browser(self.authorization_url(proc))
        page = self.follow_redirect(location)
        self.assertEqual(page.status_code, 200, page.text)
        code, out, err = proc.finish()
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def sign_in_web(self):
        """A refresh token of the confidential client, by a code flow the test drives itself."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB,
                  "scope": "openid offline_access", "state": "s", "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        r, _, _ = flow.sign_in(params, "tess", PASSWORD)
        code = flow.code_from(r, WEB_CB)
        t = self.http.post(self.url + "/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": WEB_CB, "code_verifier": verifier},
                           auth=(WEB, self.web["client_secret"]), timeout=10)
        self.assertEqual(t.status_code, 200, t.text)
        return t.json()


class ClientCredentials(TokenCliBase):

    def test_json_token_response_whose_access_token_is_valid(self):
        started = time.time()
        out = self.client_credentials()
        tokens = json.loads(out)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["scope"], "api")
        self.assertIsInstance(tokens["expires_in"], int)
        self.assertGreater(tokens["expires_in"], 0)
        self.assertLessEqual(tokens["expires_in"], 3600 + (time.time() - started))
        # RFC 6749 §4.4.3: no refresh token for client credentials; nothing invented either.
        self.assertEqual(set(tokens), {"access_token", "token_type", "expires_in", "scope"})
        body = self.introspect(tokens["access_token"])
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], "tc-svc")
        code, verified, err = run("jwt", "verify", "--issuer", self.url, tokens["access_token"])
        self.assertEqual(code, 0, err)
        self.assertEqual(verified.splitlines()[0], "valid")

    def test_output_access_token_prints_one_line(self):
        out = self.client_credentials("--output", "access-token")
        self.assertTrue(out.endswith("\n"))
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertEqual(lines[0].count("."), 2, out)
        self.assertIs(self.introspect(lines[0])["active"], True)

    def test_wrong_secret_is_invalid_client_and_the_secret_is_not_shown(self):
        wrong = "wrong-secret-" + "x" * 20
        code, out, err = self.token_cli("--client-id", "tc-svc", "--client-secret", wrong, "--scope", "api")
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_client", err)
        self.assertEqual(out, "")
        self.assertNotIn(wrong, err)
        code, out, err = self.token_cli("--client-id", "tc-svc", "--client-secret-stdin", stdin=wrong + "\n")
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_client", err)
        self.assertNotIn(wrong, out + err)

    def test_client_secret_stdin(self):
        # No --flow: a secret means client credentials.
        code, out, err = self.token_cli("--client-id", "tc-svc", "--client-secret-stdin", "--scope", "api",
                                        stdin=self.svc["client_secret"] + "\n")
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        self.assertEqual(self.introspect(tokens["access_token"])["client_id"], "tc-svc")
        self.assertNotIn(self.svc["client_secret"], out + err)
        code, _, err = self.token_cli("--client-id", "tc-svc", "--client-secret-stdin", stdin="")
        self.assertEqual(code, 2, err)

    def test_client_secret_post(self):
        args = ("--client-id", "tc-post", "--client-secret", self.post["client_secret"])
        code, out, err = self.token_cli(*args, "--auth-method", "post")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.introspect(json.loads(out)["access_token"])["client_id"], "tc-post")
        # The provider holds the client to its registered method: Basic is refused.
        code, _, err = self.token_cli(*args)
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_client", err)

    def test_unusable_flags(self):
        code, _, err = self.token_cli("--client-id", "tc-svc", "--flow", "client-credentials")
        self.assertEqual(code, 2, err)
        self.assertIn("needs --client-secret", err)
        code, _, err = self.token_cli("--client-id", "tc-native", "--flow", "refresh")
        self.assertEqual(code, 2, err)
        self.assertIn("needs --refresh-token", err)
        code, _, err = self.token_cli("--client-id", "tc-tv", "--flow", "device", "--prompt", "consent")
        self.assertEqual(code, 2, err)
        self.assertIn("--prompt applies to --flow code only", err)
        code, _, err = self.token_cli("--client-id", "x", "--flow", "password")
        self.assertNotIn(code, (0, 1), err)

    def test_unreachable_provider_is_a_transport_error(self):
        code, out, err = run("token", "--issuer", "http://127.0.0.1:9", "--client-id", "tc-svc",
                             "--client-secret", "s3cr3t-value")
        self.assertEqual(code, 1, err)
        self.assertIn("transport", err)
        self.assertNotIn("s3cr3t-value", out + err)


class CodeFlow(TokenCliBase):

    def test_rfc8252_loopback_redirect_with_a_fixed_port(self):
        proc = self.start("--client-id", "tc-native", "--flow", "code", "--no-browser", "--port",
                          str(self.native_port), "--scope", "profile offline_access")
        url = self.authorization_url(proc)
        q = query_of(url)
        self.assertEqual(single(q, "redirect_uri"), self.native_cb)
        self.assertEqual(single(q, "code_challenge_method"), "S256")
        self.assertEqual(single(q, "response_type"), "code")
        # The SDK's code flow is OpenID Connect's: openid is added when the scope lacks it.
        self.assertEqual(single(q, "scope").split(), ["openid", "profile", "offline_access"])
        location = self.browser(url)
        self.assertTrue(location.startswith(self.native_cb + "?"), location)
        # A request to the listener that is not the answer to this authorization request (another
        # web page, a local process) is refused and the command keeps waiting (RFC 8252 §8.10).
        forged = self.follow_redirect(self.native_cb + "?code=forged&state=forged")
        self.assertEqual(forged.status_code, 400)
        self.assertEqual(self.follow_redirect(f"http://127.0.0.1:{self.native_port}/favicon.ico").status_code, 404)
        time.sleep(0.2)
        self.assertTrue(proc.running(), "".join(proc.stderr))
        page = self.follow_redirect(location)
        self.assertEqual(page.status_code, 200)
        self.assertIn("You can close this window", Page(page.text).text)
        self.assertEqual(page.headers.get("Cache-Control"), "no-store")
        code, out, err = proc.finish()
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertGreater(tokens["expires_in"], 0)
        for member in ("access_token", "id_token", "refresh_token"):
            self.assertTrue(tokens.get(member), tokens)
        self.assertEqual(tokens["scope"].split(), ["openid", "profile", "offline_access"])
        body = self.introspect(tokens["access_token"])
        self.assertEqual((body["active"], body["client_id"], body["username"]), (True, "tc-native", "tess"))
        _, claims = jwt_parts(tokens["id_token"])
        self.assertEqual(claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0], "tc-native")

    def test_any_free_port_for_a_client_registered_without_one(self):
        tokens = self.code_flow("tc-anyport")
        self.assertEqual(self.introspect(tokens["access_token"])["client_id"], "tc-anyport")

    def test_denied_consent_is_access_denied(self):
        proc = self.start("--client-id", "tc-native", "--flow", "code", "--no-browser", "--port",
                          str(self.native_port))
        location = self.browser(self.authorization_url(proc), decision="deny")
        self.assertEqual(single(query_of(location), "error"), "access_denied")
        self.assertEqual(self.follow_redirect(location).status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 1, err)
        self.assertIn("oauth: access_denied", err)
        self.assertEqual(out, "")

    def test_prompt_none_without_a_session_is_login_required(self):
        proc = self.start("--client-id", "tc-anyport", "--flow", "code", "--no-browser", "--prompt", "none")
        url = self.authorization_url(proc)
        self.assertEqual(single(query_of(url), "prompt"), "none")
        # A browser with no session at the provider: OIDC Core §3.1.2.6, the error goes back to the app.
        r = requests.get(url, allow_redirects=False, timeout=10)
        self.assertIn(r.status_code, (302, 303), r.text[:300])
        location = r.headers["Location"]
        self.assertEqual(single(query_of(location), "error"), "login_required")
        self.assertEqual(self.follow_redirect(location).status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 1, err)
        self.assertIn("login_required", err)
        self.assertEqual(out, "")

    def test_prompt_consent_shows_the_consent_page_again(self):
        self.code_flow("tc-anyport")  # consent for tess + tc-anyport + these scopes is now remembered
        proc = self.start("--client-id", "tc-anyport", "--flow", "code", "--no-browser", "--scope",
                          "openid offline_access", "--prompt", "consent")
        url = self.authorization_url(proc)
        self.assertEqual(single(query_of(url), "prompt"), "consent")
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        r = flow.login(flow.s.get(url, allow_redirects=False, timeout=15), "tess", PASSWORD)
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertIsNotNone(Page(r.text).form("/consent"), r.text[:500])
        r = flow.consent(r, "allow")
        self.assertIn(r.status_code, (302, 303), r.text[:300])
        self.assertEqual(self.follow_redirect(r.headers["Location"]).status_code, 200)
        code, out, err = proc.finish()
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["refresh_token"])

    def test_gives_up_after_the_timeout(self):
        proc = self.start("--client-id", "tc-anyport", "--flow", "code", "--no-browser", "--timeout", "1")
        self.authorization_url(proc)
        code, out, err = proc.finish(timeout=20)
        self.assertEqual(code, 1, err)
        self.assertIn("timed out", err)
        self.assertEqual(out, "")

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            code, out, err = self.token_cli("--client-id", "tc-anyport", "--flow", "code", "--no-browser",
                                            "--port", str(port))
        self.assertEqual(code, 1, err)
        self.assertIn(f"127.0.0.1:{port}", err)
        self.assertEqual(out, "")


class Refresh(TokenCliBase):

    def test_public_client_refresh_rotates(self):
        first = self.code_flow("tc-native", "--port", str(self.native_port))
        code, out, err = self.token_cli("--client-id", "tc-native", "--refresh-token", first["refresh_token"])
        self.assertEqual(code, 0, err)
        second = json.loads(out)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertIs(self.introspect(second["access_token"])["active"], True)
        # The rotated refresh token is spent: the provider refuses it, the person must sign in again.
        code, out, err = self.token_cli("--client-id", "tc-native", "--refresh-token", first["refresh_token"])
        self.assertEqual(code, 1, err)
        self.assertIn("invalid_grant", err)
        self.assertNotIn(first["refresh_token"], out + err)

    def test_confidential_client_reads_secret_and_refresh_token_from_stdin(self):
        tokens = self.sign_in_web()
        code, out, err = self.token_cli("--client-id", WEB, "--client-secret-stdin", "--refresh-token-stdin",
                                        "--output", "access-token",
                                        stdin=self.web["client_secret"] + "\n" + tokens["refresh_token"] + "\n")
        self.assertEqual(code, 0, err)
        access = out.strip()
        body = self.introspect(access)
        self.assertEqual((body["active"], body["client_id"], body["username"]), (True, WEB, "tess"))
        self.assertNotIn(self.web["client_secret"], out + err)


class DeviceFlow(TokenCliBase):

    def approve(self, user_code, decision="approve"):
        """A person at a browser: types the code at /device, signs in, approves."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        entry = flow.s.get(self.url + "/device", timeout=10)
        self.assertEqual(entry.status_code, 200)
        r = flow.submit(entry, "/device", {"user_code": user_code})
        self.assertEqual(r.status_code, 200, r.text[:300])
        r = flow.login(r, "tess", PASSWORD)
        self.assertEqual(r.status_code, 303, r.text[:300])
        r = flow.s.get(self.url + r.headers["Location"], allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200, r.text[:300])
        self.assertIn("Token CLI TV", Page(r.text).text)
        return flow.submit(r, "/device", {"decision": decision})

    def start_device(self, *extra):
        proc = self.start("--client-id", "tc-tv", "--flow", "device", "--scope", "openid offline_access", *extra)
        line = proc.wait_for_line(USER_CODE_LINE.match)
        uri, user_code = USER_CODE_LINE.match(line).groups()
        self.assertEqual(uri, self.url + "/device")
        return proc, user_code

    def test_rfc8628_device_flow_approved_in_a_browser(self):
        proc, user_code = self.start_device()
        complete = proc.wait_for_line(lambda l: l.startswith("(or open "))
        self.assertIn("user_code=" + user_code, complete)
        time.sleep(1.5)
        self.assertTrue(proc.running(), "".join(proc.stderr))  # still polling: nobody approved yet
        done = self.approve(user_code)
        self.assertEqual(done.status_code, 200)
        code, out, err = proc.finish(timeout=60)
        self.assertEqual(code, 0, err)
        tokens = json.loads(out)
        for member in ("access_token", "id_token", "refresh_token"):
            self.assertTrue(tokens.get(member), tokens)
        body = self.introspect(tokens["access_token"])
        self.assertEqual((body["active"], body["client_id"], body["username"]), (True, "tc-tv", "tess"))

    def test_rfc8628_denied(self):
        proc, user_code = self.start_device()
        self.assertEqual(self.approve(user_code, decision="deny").status_code, 200)
        code, out, err = proc.finish(timeout=60)
        self.assertEqual(code, 1, err)
        self.assertIn("access_denied", err)
        self.assertEqual(out, "")

    def test_gives_up_after_the_timeout(self):
        proc, _ = self.start_device("--timeout", "3")
        code, out, err = proc.finish(timeout=30)
        self.assertEqual(code, 1, err)
        self.assertIn("no approval within 3 s", err)
        self.assertEqual(out, "")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Jwt(TokenCliBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_dir = tempfile.mkdtemp(prefix="latchkey-other-")
        try:
            cls.other = Server(cls.other_dir)
        except BaseException:
            shutil.rmtree(cls.other_dir, ignore_errors=True)
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        code = cls.other.stop()
        shutil.rmtree(cls.other_dir, ignore_errors=True)
        super().tearDownClass()
        if code != 0:
            raise AssertionError(f"second server exited with {code}:\n{cls.other.log_text()[-4000:]}")

    def verify(self, token, *extra, issuer=None):
        return run("jwt", "verify", "--issuer", issuer or self.url, token, *extra)

    def test_decode_json(self):
        token = self.access_token()
        code, out, err = run("jwt", "decode", "--json", token)
        self.assertEqual(code, 0, err)
        self.assertIn("signature not verified", err)
        decoded = json.loads(out)
        header, payload = jwt_parts(token)
        self.assertEqual(decoded["header"], header)
        self.assertEqual(decoded["payload"], payload)
        self.assertEqual(decoded["payload"]["client_id"], "tc-svc")
        for claim in ("exp", "iat"):
            expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(payload[claim]))
            self.assertEqual(decoded["times"][claim], expected)

    def test_decode_text_from_stdin(self):
        token = self.access_token()
        code, out, err = run("jwt", "decode", "-", stdin=token + "\n")
        self.assertEqual(code, 0, err)
        self.assertIn("signature not verified", err)
        header, payload = jwt_parts(token)
        self.assertIn("Header:\n", out)
        self.assertIn("Payload:\n", out)
        self.assertIn(f'"alg": "{header["alg"]}"', out)
        self.assertIn('"client_id": "tc-svc"', out)
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(payload["exp"]))
        self.assertRegex(out, r"(?m)^exp +" + re.escape(exp) + r"  \(in ")

    def test_decode_garbage(self):
        not_json = b64url(b'{"alg":"ES256"}') + "." + b64url(b"not json") + "." + b64url(b"sig")
        cases = {"garbage": "not-a-jwt", "three junk parts": "a.b.c", "payload not JSON": not_json,
                 "empty": ""}
        for name, token in cases.items():
            with self.subTest(name):
                code, out, err = run("jwt", "decode", token)
                self.assertEqual(code, 1, err)
                self.assertIn("latchkey: ", err)
                self.assertRegex(err, "malformed token|no token")
                self.assertEqual(out, "")

    def test_verify_good_token(self):
        token = self.access_token()
        code, out, err = self.verify(token)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[0], "valid")
        self.assertIn('"client_id": "tc-svc"', out)
        code, out, err = self.verify(token, "--json")
        self.assertEqual(code, 0, err)
        result = json.loads(out)
        self.assertIs(result["valid"], True)
        self.assertEqual(result["payload"]["iss"], self.url)
        self.assertEqual(result["header"]["typ"], "at+jwt")
        code, _, err = run("jwt", "verify", "--issuer", self.url, "-", stdin=token + "\n")
        self.assertEqual(code, 0, err)

    def test_verify_tampered_token_is_bad_signature(self):
        token = self.access_token()
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["scope"] = "api admin"
        tampered = header + "." + b64url(json.dumps(claims).encode()) + "." + signature
        code, out, err = self.verify(tampered)
        self.assertEqual(code, 1, err)
        self.assertIn("bad_signature", err)
        self.assertEqual(out, "")
        code, out, err = self.verify(tampered, "--json")
        self.assertEqual(code, 1, err)
        self.assertEqual(json.loads(out)["problem"], "bad_signature")

    def test_verify_audience_and_algorithms(self):
        token = self.access_token()
        header, payload = jwt_parts(token)
        aud = payload["aud"] if isinstance(payload["aud"], str) else payload["aud"][0]
        code, _, err = self.verify(token, "--audience", aud)
        self.assertEqual(code, 0, err)
        code, _, err = self.verify(token, "--audience", "https://another-api.example.com")
        self.assertEqual(code, 1, err)
        self.assertIn("wrong_audience", err)
        code, _, err = self.verify(token, "--alg", header["alg"])
        self.assertEqual(code, 0, err)
        other_alg = "RS256" if header["alg"] != "RS256" else "ES256"
        code, _, err = self.verify(token, "--alg", other_alg)
        self.assertEqual(code, 1, err)
        self.assertIn("alg_not_allowed", err)

    def test_verify_against_another_issuer(self):
        token = self.access_token()
        # Another provider: its keys are fetched, none of them signed the token.
        code, out, err = self.verify(token, issuer=self.other.url)
        self.assertEqual(code, 1, err)
        self.assertIn("unknown_key", err)
        self.assertEqual(out, "")
        # The same provider under another name: discovery names the real issuer (OIDC Discovery §4.3).
        code, _, err = self.verify(token, issuer=self.url + "/")
        self.assertEqual(code, 2, err)
        self.assertIn("discovery", err)
        # Nobody there: the keys cannot be fetched.
        code, _, err = self.verify(token, issuer="http://127.0.0.1:9")
        self.assertEqual(code, 2, err)
        self.assertIn("transport", err)

    def test_verify_id_token_of_the_code_flow(self):
        tokens = self.code_flow("tc-anyport")
        code, out, err = self.verify(tokens["id_token"], "--audience", "tc-anyport", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["payload"]["aud"], "tc-anyport")


if __name__ == "__main__":
    unittest.main()
