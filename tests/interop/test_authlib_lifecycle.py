"""Interop: Debian's python3-authlib introspects (RFC 7662) and revokes (RFC 7009) Latchkey's tokens
with its own client code, JWT and opaque access tokens alike, using the endpoints the discovery
document names."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import ServerTestCase, create_client, wait_until  # noqa: E402

from authlib.integrations.requests_client import OAuth2Session  # noqa: E402


class AuthlibLifecycle(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = create_client(cls.data_dir, "authlib-api", "--scope", "api", "--introspect-any", "true")
        cls.jwt_app = create_client(cls.data_dir, "authlib-jwt", "--scope", "api")
        cls.opaque_app = create_client(cls.data_dir, "authlib-opaque", "--scope", "api",
                                       "--access-token-format", "opaque")
        cls.meta = cls.http.get(cls.url + "/.well-known/oauth-authorization-server", timeout=5).json()

    def session(self, client):
        s = OAuth2Session(client["client_id"], client["client_secret"], scope="api",
                          token_endpoint_auth_method="client_secret_basic")
        self.addCleanup(s.close)
        return s

    def fetch(self, client):
        s = self.session(client)
        result = {}

        def attempt():
            try:
                result["token"] = s.fetch_token(self.meta["token_endpoint"], grant_type="client_credentials")
                return True
            except Exception as e:  # the server may not have reloaded the new client yet
                result["error"] = e
                return False

        self.assertTrue(wait_until(attempt, timeout=10), result.get("error"))
        return s, result["token"]

    def introspect(self, token, hint="access_token"):
        r = self.session(self.api).introspect_token(self.meta["introspection_endpoint"], token=token,
                                                    token_type_hint=hint)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def check_lifecycle(self, client, expect_jwt):
        s, token = self.fetch(client)
        access = token["access_token"]
        self.assertEqual(access.count(".") == 2, expect_jwt)
        body = self.introspect(access)
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], client["client_id"])
        self.assertEqual(body["scope"], "api")
        self.assertEqual(body["iss"], self.meta["issuer"])
        r = s.revoke_token(self.meta["revocation_endpoint"], token=access, token_type_hint="access_token")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.introspect(access), {"active": False})
        # RFC 7009 §2.2: revoking again (or an unknown token) is still 200.
        self.assertEqual(s.revoke_token(self.meta["revocation_endpoint"], token=access).status_code, 200)

    def test_jwt_access_token(self):
        self.check_lifecycle(self.jwt_app, expect_jwt=True)

    def test_opaque_access_token(self):
        self.check_lifecycle(self.opaque_app, expect_jwt=False)

    def test_a_client_that_is_not_a_resource_server_sees_only_its_own(self):
        _, token = self.fetch(self.jwt_app)
        r = self.session(self.opaque_app).introspect_token(self.meta["introspection_endpoint"],
                                                           token=token["access_token"])
        self.assertEqual(r.json(), {"active": False})


if __name__ == "__main__":
    unittest.main()
