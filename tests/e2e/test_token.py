"""End-to-end: the client_credentials grant over real HTTP, verified by python3-jwcrypto."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ServerTestCase, create_client, wait_until  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402


class ClientCredentials(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.es = create_client(cls.data_dir, "svc-es", "--scope", "api read", "--access-token-lifetime", "600")
        cls.rs = create_client(cls.data_dir, "svc-rs", "--scope", "api", "--access-token-alg", "RS256")
        cls.post = create_client(cls.data_dir, "svc-post", "--scope", "api",
                                 "--token-endpoint-auth-method", "client_secret_post")
        # Admin commands write while the server runs; it picks them up within about a second.
        deadline = time.time() + 10
        while time.time() < deadline:
            r = cls.http.post(cls.url + "/token", data={"grant_type": "client_credentials", "client_id": "svc-post",
                                                          "client_secret": cls.post["client_secret"]}, timeout=5)
            if r.status_code == 200:
                break
            time.sleep(0.2)

    def jwks(self):
        return jwk.JWKSet.from_json(self.http.get(self.url + "/jwks", timeout=5).text)

    def verify(self, token, alg):
        t = jwt.JWT(jwt=token, key=self.jwks(), algs=[alg])
        return json.loads(t.header), json.loads(t.claims)

    # RFC 6749 §4.4 + RFC 9068 §2: a signed JWT access token with the required claims.
    def test_rfc9068_es256_token_verified_by_jwcrypto(self):
        r = self.token({"grant_type": "client_credentials", "scope": "read"}, auth=("svc-es", self.es["client_secret"]))
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        self.assertEqual(r.headers["Pragma"], "no-cache")
        body = r.json()
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 600)
        self.assertEqual(body["scope"], "read")
        header, claims = self.verify(body["access_token"], "ES256")
        self.assertEqual(header["typ"], "at+jwt")
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(claims["iss"], self.url)
        self.assertEqual(claims["aud"], self.url)
        self.assertEqual(claims["sub"], "svc-es")
        self.assertEqual(claims["client_id"], "svc-es")
        self.assertEqual(claims["scope"], "read")
        self.assertEqual(claims["exp"] - claims["iat"], 600)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        self.assertGreaterEqual(len(claims["jti"]), 16)

    def test_each_token_has_a_fresh_jti(self):
        auth = ("svc-es", self.es["client_secret"])
        jtis = set()
        for _ in range(5):
            r = self.token({"grant_type": "client_credentials"}, auth=auth)
            jtis.add(self.verify(r.json()["access_token"], "ES256")[1]["jti"])
        self.assertEqual(len(jtis), 5)

    def test_per_client_rs256(self):
        r = self.token({"grant_type": "client_credentials"}, auth=("svc-rs", self.rs["client_secret"]))
        self.assertEqual(r.status_code, 200, r.text)
        header, claims = self.verify(r.json()["access_token"], "RS256")
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["scope"], "api")
        # The ES256-only verifier must refuse it: no algorithm confusion.
        with self.assertRaises(Exception):
            self.verify(r.json()["access_token"], "ES256")

    # RFC 6749 §2.3.1 client_secret_post
    def test_client_secret_post(self):
        r = self.token({"grant_type": "client_credentials", "client_id": "svc-post",
                        "client_secret": self.post["client_secret"]})
        self.assertEqual(r.status_code, 200, r.text)
        # A client registered for post may not use Basic.
        r = self.token({"grant_type": "client_credentials"}, auth=("svc-post", self.post["client_secret"]))
        self.assertEqual(r.status_code, 401)

    # RFC 6749 §5.2, one row per error code.
    def test_rfc6749_section5_2_errors(self):
        good = ("svc-es", self.es["client_secret"])
        cases = [
            ("wrong secret", {"grant_type": "client_credentials"}, ("svc-es", "nope"), None, 401, "invalid_client"),
            ("unknown client", {"grant_type": "client_credentials"}, ("ghost", "nope"), None, 401, "invalid_client"),
            ("no client", {"grant_type": "client_credentials"}, None, None, 401, "invalid_client"),
            ("unsupported grant", {"grant_type": "password"}, good, None, 400, "unsupported_grant_type"),
            ("bad scope", {"grant_type": "client_credentials", "scope": "admin"}, good, None, 400, "invalid_scope"),
            ("scope syntax", {"grant_type": "client_credentials", "scope": "a\"b"}, good, None, 400, "invalid_scope"),
            ("missing grant_type", {"scope": "api"}, good, None, 400, "invalid_request"),
            ("repeated parameter", "grant_type=client_credentials&grant_type=client_credentials", good, None, 400,
             "invalid_request"),
            ("json body", '{"grant_type":"client_credentials"}', good, {"Content-Type": "application/json"}, 400,
             "invalid_request"),
            ("two methods", {"grant_type": "client_credentials", "client_id": "svc-es",
                             "client_secret": self.es["client_secret"]}, good, None, 400, "invalid_request"),
            ("bad escape", "grant_type=%zz", good, None, 400, "invalid_request"),
        ]
        for name, data, auth, headers, status, error in cases:
            with self.subTest(name):
                r = self.token(data, auth=auth, headers=headers)
                self.assertEqual(r.status_code, status, r.text)
                self.assertEqual(r.json()["error"], error)
                self.assertEqual(r.headers["Cache-Control"], "no-store")
                self.assertEqual(r.headers["Pragma"], "no-cache")
                self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
                if status == 401:
                    self.assertTrue(r.headers["WWW-Authenticate"].startswith("Basic"))

    def test_unknown_client_and_wrong_secret_look_identical(self):
        a = self.token({"grant_type": "client_credentials"}, auth=("svc-es", "nope"))
        b = self.token({"grant_type": "client_credentials"}, auth=("ghost", "nope"))
        self.assertEqual(a.text, b.text)

    # A POST-only endpoint answers other methods with 405 and Allow (RFC 9110 §15.5.6).
    def test_get_token_is_405_with_allow(self):
        r = self.http.get(self.url + "/token", timeout=5)
        self.assertEqual(r.status_code, 405)
        self.assertIn("POST", r.headers["Allow"])
        self.assertEqual(r.json()["error"], "invalid_request")

    def test_secrets_and_tokens_never_reach_the_log(self):
        def requests_logged():
            return "".join(self.server.lines).count('"msg":"request"')
        before = requests_logged()
        r = self.token({"grant_type": "client_credentials"}, auth=("svc-es", self.es["client_secret"]))
        token = r.json()["access_token"]
        self.token({"grant_type": "client_credentials"}, auth=("svc-es", "wrong-secret-value"))
        # The log is read by another thread: wait (bounded) until both requests are in it.
        self.assertTrue(wait_until(lambda: requests_logged() >= before + 2, 10))
        log = "".join(self.server.lines)
        self.assertNotIn(self.es["client_secret"], log)
        self.assertNotIn("wrong-secret-value", log)
        self.assertNotIn(token, log)
        self.assertNotIn(token.split(".")[2], log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
