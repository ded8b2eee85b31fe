"""Interop: Debian's python3-authlib (a third-party OAuth 2 client) obtains a client_credentials
token from Latchkey, using the discovery document; python3-jwcrypto verifies it against /jwks."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import ServerTestCase, create_client, wait_until  # noqa: E402

from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from jwcrypto import jwk, jwt  # noqa: E402


class Authlib(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.basic = create_client(cls.data_dir, "authlib-basic", "--scope", "api read")
        cls.post = create_client(cls.data_dir, "authlib-post", "--scope", "api",
                                 "--token-endpoint-auth-method", "client_secret_post", "--access-token-alg", "PS256")
        cls.eddsa = create_client(cls.data_dir, "authlib-eddsa", "--scope", "api", "--access-token-alg", "EdDSA")

    def metadata(self):
        return self.http.get(self.url + "/.well-known/oauth-authorization-server", timeout=5).json()

    def fetch(self, client, method, scope):
        meta = self.metadata()
        session = OAuth2Session(client["client_id"], client["client_secret"], scope=scope,
                                token_endpoint_auth_method=method)
        result = {}

        def attempt():
            try:
                result["token"] = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
                return True
            except Exception as e:  # the server may not have reloaded the new client yet
                result["error"] = e
                return False

        self.assertTrue(wait_until(attempt, timeout=10), result.get("error"))
        return result["token"], meta

    def verify(self, token, meta, alg):
        keys = jwk.JWKSet.from_json(self.http.get(meta["jwks_uri"], timeout=5).text)
        t = jwt.JWT(jwt=token["access_token"], key=keys, algs=[alg],
                    check_claims={"iss": meta["issuer"], "exp": None, "aud": meta["issuer"]})
        # RFC 9068 §2.1: the typ header is at+jwt.
        self.assertEqual(json.loads(t.header)["typ"], "at+jwt")
        return json.loads(t.claims)

    def test_client_secret_basic_es256(self):
        token, meta = self.fetch(self.basic, "client_secret_basic", "read")
        self.assertEqual(token["token_type"], "Bearer")
        self.assertEqual(token["scope"], "read")
        claims = self.verify(token, meta, "ES256")
        self.assertEqual(claims["client_id"], "authlib-basic")
        self.assertEqual(claims["scope"], "read")

    def test_client_secret_post_ps256(self):
        token, meta = self.fetch(self.post, "client_secret_post", "api")
        claims = self.verify(token, meta, "PS256")
        self.assertEqual(claims["sub"], "authlib-post")

    def test_eddsa(self):
        token, meta = self.fetch(self.eddsa, "client_secret_basic", "api")
        self.assertEqual(self.verify(token, meta, "EdDSA")["sub"], "authlib-eddsa")


if __name__ == "__main__":
    unittest.main(verbosity=2)
