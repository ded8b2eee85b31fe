"""End-to-end: discovery, JWKS, health, metrics, headers, restart, shutdown, TLS and config errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Server, ServerTestCase, create_client, wait_until  # noqa: E402

import requests  # noqa: E402
from jwcrypto import jwk, jwt  # noqa: E402


class Endpoints(ServerTestCase):
    # RFC 8414 §3 and OIDC Discovery §4: the metadata documents, truthful about what exists.
    def test_discovery_documents(self):
        for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            with self.subTest(path):
                r = self.http.get(self.url + path, timeout=5)
                self.assertEqual(r.status_code, 200)
                self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
                meta = r.json()
                self.assertEqual(meta["issuer"], self.url)
                self.assertEqual(meta["token_endpoint"], self.url + "/token")
                self.assertEqual(meta["jwks_uri"], self.url + "/jwks")
                self.assertEqual(sorted(meta["grant_types_supported"]),
                                 ["authorization_code", "client_credentials", "refresh_token",
                                  "urn:ietf:params:oauth:grant-type:device_code"])
                self.assertEqual(sorted(meta["token_endpoint_auth_methods_supported"]),
                                 ["client_secret_basic", "client_secret_post", "none"])
                self.assertEqual(meta["authorization_endpoint"], self.url + "/authorize")
                self.assertEqual(meta["userinfo_endpoint"], self.url + "/userinfo")
                self.assertEqual(meta["response_types_supported"], ["code"])
                self.assertEqual(meta["code_challenge_methods_supported"], ["S256"])
                self.assertIs(meta["authorization_response_iss_parameter_supported"], True)
                self.assertEqual(meta["introspection_endpoint"], self.url + "/introspect")
                self.assertEqual(meta["revocation_endpoint"], self.url + "/revoke")
                self.assertEqual(meta["device_authorization_endpoint"], self.url + "/device_authorization")
                self.assertEqual(meta["end_session_endpoint"], self.url + "/logout")
                self.assertIs(meta["backchannel_logout_supported"], True)
                self.assertIs(meta["backchannel_logout_session_supported"], True)
                for absent in ("registration_endpoint", "frontchannel_logout_supported",
                               "check_session_iframe"):
                    self.assertNotIn(absent, meta)
                # Every advertised endpoint answers (not 404).
                self.assertNotEqual(self.http.get(meta["jwks_uri"], timeout=5).status_code, 404)
                self.assertEqual(self.http.get(meta["token_endpoint"], timeout=5).status_code, 405)
                # Without parameters the authorization endpoint shows an error page, not a redirect.
                r = self.http.get(meta["authorization_endpoint"], timeout=5, allow_redirects=False)
                self.assertEqual(r.status_code, 400)
                self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
                r = self.http.get(meta["userinfo_endpoint"], timeout=5)
                self.assertEqual(r.status_code, 401)
                self.assertTrue(r.headers["WWW-Authenticate"].startswith("Bearer"))

    def test_jwks_public_only_with_kid_alg_use_and_cacheable(self):
        r = self.http.get(self.url + "/jwks", timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertIn("max-age", r.headers["Cache-Control"])
        keys = r.json()["keys"]
        self.assertEqual(sorted(k["kty"] for k in keys), ["EC", "OKP", "RSA"])
        for k in keys:
            for private in ("d", "p", "q", "dp", "dq", "qi"):
                self.assertNotIn(private, k)
            self.assertEqual(k["use"], "sig")
            self.assertIn(k["alg"], ("RS256", "ES256", "EdDSA"))
            # RFC 7638: kid is the thumbprint.
            self.assertEqual(k["kid"], jwk.JWK(**k).thumbprint())

    def test_health_ready_metrics(self):
        self.assertEqual(self.http.get(self.url + "/healthz", timeout=5).status_code, 200)
        self.assertEqual(self.http.get(self.url + "/readyz", timeout=5).status_code, 200)
        self.http.post(self.url + "/token", data="grant_type=client_credentials", timeout=5,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        text = self.http.get(self.url + "/metrics", timeout=5).text
        self.assertIn("# TYPE latchkey_http_requests_total counter", text)
        self.assertIn('latchkey_http_requests_total{route="/token"', text)
        self.assertIn("latchkey_http_request_duration_seconds_bucket", text)
        self.assertIn('latchkey_oauth_errors_total{endpoint="token",error="invalid_client"}', text)

    def test_security_headers(self):
        r = self.http.get(self.url + "/healthz", timeout=5)
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(r.headers["Referrer-Policy"], "no-referrer")
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        self.assertRegex(r.headers["X-Request-Id"], r"^[0-9a-f]{16}$")
        self.assertEqual(self.http.get(self.url + "/nope", timeout=5).status_code, 404)

    def test_dev_mode_prints_demo_clients_that_work(self):
        out = "".join(self.server.stdout)
        self.assertIn("demo-service", out)
        secret = out.split("client_id=demo-service ")[1].split("client_secret=")[1].split()[0]
        r = self.http.post(self.url + "/token", data={"grant_type": "client_credentials"},
                           auth=("demo-service", secret), timeout=5)
        self.assertEqual(r.status_code, 200, r.text)


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="latchkey-e2e-")

    def tearDown(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def test_keys_persist_and_tokens_verify_after_restart(self):
        server = Server(self.data_dir)
        try:
            c = create_client(self.data_dir, "svc", "--scope", "api")
            self.assertTrue(wait_until(lambda: requests.post(server.url + "/token", data={"grant_type": "client_credentials"},
                                                             auth=("svc", c["client_secret"]), timeout=5).ok))
            token = requests.post(server.url + "/token", data={"grant_type": "client_credentials"},
                                  auth=("svc", c["client_secret"]), timeout=5).json()["access_token"]
            kids_before = sorted(k["kid"] for k in requests.get(server.url + "/jwks", timeout=5).json()["keys"])
        finally:
            self.assertEqual(server.stop(), 0)
        server = Server(self.data_dir)
        try:
            jwks_text = requests.get(server.url + "/jwks", timeout=5).text
            kids_after = sorted(k["kid"] for k in json.loads(jwks_text)["keys"])
            self.assertEqual(kids_before, kids_after)
            jwt.JWT(jwt=token, key=jwk.JWKSet.from_json(jwks_text), algs=["ES256"])
            # The client survived the restart too.
            r = requests.post(server.url + "/token", data={"grant_type": "client_credentials"},
                              auth=("svc", c["client_secret"]), timeout=5)
            self.assertEqual(r.status_code, 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_sigterm_finishes_cleanly(self):
        server = Server(self.data_dir)
        self.assertEqual(requests.get(server.url + "/healthz", timeout=5).status_code, 200)
        start = time.time()
        self.assertEqual(server.stop(signal.SIGTERM), 0)
        self.assertLess(time.time() - start, 12)
        self.assertIn('"msg":"stopped"', server.log_text())

    def test_sigint_finishes_cleanly(self):
        server = Server(self.data_dir)
        self.assertEqual(server.stop(signal.SIGINT), 0)

    def test_tls(self):
        cert = os.path.join(self.data_dir, "cert.pem")
        key = os.path.join(self.data_dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
        server = Server(self.data_dir, env={"LATCHKEY_TLS_CERT_FILE": cert, "LATCHKEY_TLS_KEY_FILE": key})
        try:
            self.assertTrue(server.url.startswith("https://"))
            r = requests.get(server.url + "/.well-known/openid-configuration", verify=cert, timeout=5)
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.json()["issuer"], server.url)
            self.assertIn("max-age", r.headers["Strict-Transport-Security"])
        finally:
            self.assertEqual(server.stop(), 0)


class ConfigErrors(unittest.TestCase):
    def run_serve(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        d = tempfile.mkdtemp(prefix="latchkey-e2e-")
        try:
            return subprocess.run([BIN, "serve", "--data-dir", d, "--listen", "127.0.0.1:0", *args],
                                  capture_output=True, text=True, timeout=30, env=full_env)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bad_config_exits_nonzero_naming_the_key(self):
        d = tempfile.mkdtemp(prefix="latchkey-e2e-")
        try:
            path = os.path.join(d, "latchkey.yaml")
            with open(path, "w") as f:
                f.write("issuer: https://id.example\nhttp:\n  max_body_bytes: huge\n")
            p = self.run_serve("--config", path)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("http.max_body_bytes", p.stderr)
            with open(path, "w") as f:
                f.write("issuer: https://id.example\nhttp:\n  max_bodybytes: 1\n")
            p = self.run_serve("--config", path)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("http.max_bodybytes", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bad_environment_override_exits_nonzero_naming_the_variable(self):
        p = self.run_serve("--dev", env={"LATCHKEY_TOKENS_ACCESS_TOKEN_ALG": "none"})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LATCHKEY_TOKENS_ACCESS_TOKEN_ALG", p.stderr)

    def test_non_dev_requires_https_issuer(self):
        p = self.run_serve("--issuer", "http://id.example")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("issuer", p.stderr)
        p = self.run_serve()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("issuer", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
