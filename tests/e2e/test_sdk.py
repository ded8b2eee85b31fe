"""End-to-end: the C++ client SDK (examples/sdk/machine_to_machine.cpp, built against the public
headers) against the real binary over real sockets with the libcurl transport: discovery, client
credentials, the resource-server validator (JWT access tokens checked locally, opaque ones
introspected), introspection (RFC 7662) and revocation (RFC 7009).
"""

import os
import subprocess
import sys
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import ServerTestCase, create_client  # noqa: E402

EXAMPLE = os.environ.get("LATCHKEY_EXAMPLE_M2M", "build/dev/examples/latchkey-example-m2m")
EXAMPLE_API = os.environ.get("LATCHKEY_EXAMPLE_API", "build/dev/examples/latchkey-example-api")


class SdkMachineToMachineTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jwt = create_client(cls.data_dir, "sdk-svc", "--scope", "api")
        cls.opaque = create_client(cls.data_dir, "sdk-svc-opaque", "--scope", "api", "--access-token-format", "opaque")
        cls.wait_for_client("sdk-svc", cls.jwt["client_secret"])
        cls.wait_for_client("sdk-svc-opaque", cls.opaque["client_secret"])

    def run_example(self, issuer, client_id, secret, scope="api", audience=None):
        env = dict(os.environ, LATCHKEY_CLIENT_SECRET=secret)
        proc = subprocess.run([EXAMPLE, issuer, client_id, scope, audience or self.url], capture_output=True,
                              text=True, timeout=60, env=env)
        steps = {}
        for line in proc.stdout.splitlines():
            name, _, rest = line.partition(": ")
            steps[name] = rest
        return proc.returncode, steps, proc.stdout + proc.stderr

    def test_jwt_access_token_lifecycle(self):
        code, steps, out = self.run_example(self.url, "sdk-svc", self.jwt["client_secret"])
        self.assertEqual(code, 0, out)
        self.assertEqual(steps["token"].split()[:2], ["ok", "type=Bearer"], out)
        self.assertEqual(steps["validate"], "ok client_id=sdk-svc sub=sdk-svc", out)
        # RFC 6750 §3.1: a scope the token lacks is insufficient_scope, not invalid.
        self.assertEqual(steps["validate-more-scope"], "insufficient_scope", out)
        self.assertEqual(steps["introspect"], "active=true scope=api", out)
        # RFC 7009 §2: a revoked JWT is remembered by jti; introspection reports it inactive.
        self.assertEqual(steps["introspect-after-revoke"], "active=false", out)

    def test_opaque_access_token_is_introspected_by_the_validator(self):
        code, steps, out = self.run_example(self.url, "sdk-svc-opaque", self.opaque["client_secret"])
        self.assertEqual(code, 0, out)
        self.assertEqual(steps["validate"], "ok client_id=sdk-svc-opaque sub=sdk-svc-opaque", out)
        self.assertEqual(steps["introspect-after-revoke"], "active=false", out)

    def test_wrong_secret_is_the_providers_invalid_client(self):
        code, steps, out = self.run_example(self.url, "sdk-svc", "not-the-secret")
        self.assertEqual(code, 1, out)
        self.assertIn("oauth: invalid_client", steps["token"], out)
        self.assertNotIn("not-the-secret", out)

    def test_issuer_must_match_discovery(self):
        # OIDC Discovery §4.3: a document whose issuer differs from the configured one is refused.
        code, steps, out = self.run_example(self.url + "/", "sdk-svc", self.jwt["client_secret"])
        self.assertEqual(code, 1, out)
        self.assertTrue(steps["token"].startswith("error discovery"), out)

    def test_wrong_audience_is_refused_by_the_validator(self):
        code, steps, out = self.run_example(self.url, "sdk-svc", self.jwt["client_secret"],
                                            audience="https://another-api.example.com")
        self.assertEqual(code, 1, out)
        self.assertIn("wrong_audience", steps["validate"], out)

    def test_unreachable_provider_is_a_transport_error(self):
        code, steps, out = self.run_example("http://127.0.0.1:9", "sdk-svc", "x")
        self.assertEqual(code, 1, out)
        self.assertTrue(steps["token"].startswith("error transport"), out)


class SdkProtectedApiTest(ServerTestCase):
    """examples/sdk/protected_api.cpp: GET /invoices needs the scope invoices:read (RFC 6750 §3)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reader = create_client(cls.data_dir, "sdk-reader", "--scope", "invoices:read")
        cls.other = create_client(cls.data_dir, "sdk-other", "--scope", "api")
        cls.opaque = create_client(cls.data_dir, "sdk-reader-opaque", "--scope", "invoices:read",
                                   "--access-token-format", "opaque")
        cls.api = create_client(cls.data_dir, "sdk-api", "--scope", "api", "--introspect-any", "true")
        for c in (cls.reader, cls.other, cls.opaque, cls.api):
            cls.wait_for_client(c["client_id"], c["client_secret"])
        env = dict(os.environ, LATCHKEY_CLIENT_SECRET=cls.api["client_secret"])
        cls.proc = subprocess.Popen([EXAMPLE_API, cls.url, cls.url, "0", "sdk-api"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
        line = cls.proc.stdout.readline()
        if not line.startswith("listening "):
            cls.proc.kill()
            cls.proc.wait(5)
            raise AssertionError("the example API did not start: " + line + cls.proc.stderr.read())
        cls.api_url = "http://127.0.0.1:%d" % int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait(5)
        super().tearDownClass()

    def access_token(self, client, scope):
        r = self.token({"grant_type": "client_credentials", "scope": scope},
                       auth=(client["client_id"], client["client_secret"]))
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["access_token"]

    def call(self, authorization=None):
        headers = {"Connection": "close"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return requests.get(self.api_url + "/invoices", headers=headers, timeout=10)

    def test_a_token_with_the_scope_is_accepted(self):
        r = self.call("Bearer " + self.access_token(self.reader, "invoices:read"))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json(), {"invoices": [], "for": "sdk-reader"})

    def test_no_token_gets_a_bare_challenge(self):
        # RFC 6750 §3.1: no error code when the request carried no authentication.
        r = self.call()
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.headers["WWW-Authenticate"], 'Bearer realm="invoices"')

    def test_a_token_without_the_scope_is_forbidden(self):
        r = self.call("Bearer " + self.access_token(self.other, "api"))
        self.assertEqual(r.status_code, 403)
        self.assertIn('error="insufficient_scope"', r.headers["WWW-Authenticate"])
        self.assertIn('scope="invoices:read"', r.headers["WWW-Authenticate"])

    def test_a_forged_token_is_invalid(self):
        token = self.access_token(self.reader, "invoices:read")
        head, payload, sig = token.split(".")
        forged = head + "." + payload + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
        r = self.call("Bearer " + forged)
        self.assertEqual(r.status_code, 401)
        self.assertIn('error="invalid_token"', r.headers["WWW-Authenticate"])

    def test_a_malformed_header_is_a_bad_request(self):
        r = self.call("Bearer two tokens")
        self.assertEqual(r.status_code, 400)
        self.assertIn('error="invalid_request"', r.headers["WWW-Authenticate"])

    def test_an_opaque_token_is_introspected(self):
        token = self.access_token(self.opaque, "invoices:read")
        self.assertEqual(token.count("."), 0)
        r = self.call("Bearer " + token)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["for"], "sdk-reader-opaque")
        r = self.call("Bearer " + token + "x")
        self.assertEqual(r.status_code, 401)
        self.assertIn('error="invalid_token"', r.headers["WWW-Authenticate"])


if __name__ == "__main__":
    unittest.main()
