"""End-to-end: moving a deployment from SQLite to PostgreSQL with `latchkey migrate --from-sqlite`.

A dev server on SQLite registers a confidential client, a client_credentials client and a person,
signs the person in and issues a refresh token; it is stopped. `latchkey migrate --from-sqlite`
copies its database into an empty PostgreSQL database (a throw-away server, pg.py), and a server on
PostgreSQL with the same key-encryption key (dev mode keeps it in DATA_DIR/kek) takes over. Nothing
may be lost: the old client secrets still authenticate, the refresh token rotates, the JWKS has
the same kids, and the person signs in with the old password, without a new consent, as the same
`sub`. Also the refusals: a second copy into the now non-empty database (exit 3) and a
configuration whose storage is not PostgreSQL (exit 2).
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
import pg  # noqa: E402
from harness import Server, basic, cli  # noqa: E402
from signin_helpers import Flow, jwt_parts, pkce_pair  # noqa: E402

WEB, WEB_CB = "mig-web", "https://rp.example.com/cb"
SVC = "mig-svc"
USER, PASSWORD = "mia", "mia-password-123"
SQLITE_ENV = {"LATCHKEY_STORAGE": "sqlite"}  # whatever LATCHKEY_TEST_STORAGE says


class MigrateFromSqlite(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dirs = []
        cls.servers = []
        cls.pg = pg.PgServer()
        try:
            cls.before = cls.run_on_sqlite()
            with open(os.path.join(cls.sqlite_dir, "kek")) as f:
                cls.kek = f.read().strip()
            cls.pg_env = {"LATCHKEY_STORAGE": cls.pg.create_database("migrate"), "LATCHKEY_KEK": cls.kek}
            cls.pg_dir = cls.new_dir()
            code, out, err = cli("migrate", "--from-sqlite", os.path.join(cls.sqlite_dir, "latchkey.db"), "--json",
                                 data_dir=cls.pg_dir, env=cls.pg_env, check=False)
            if code != 0:
                raise AssertionError(f"migrate --from-sqlite failed ({code}): {err}")
            cls.imported = json.loads(out)["imported"]
            cls.node = Server(cls.pg_dir, env=cls.pg_env)
            cls.servers.append(cls.node)
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        codes = cls.cleanup()
        if any(code != 0 for code in codes):
            raise AssertionError(f"a server exited with {codes}:\n{cls.servers[-1].log_text()[-4000:]}")

    @classmethod
    def cleanup(cls):
        codes = [server.stop() for server in cls.servers]
        cls.pg.stop()
        for d in cls.dirs:
            shutil.rmtree(d, ignore_errors=True)
        return codes

    @classmethod
    def new_dir(cls):
        d = tempfile.mkdtemp(prefix="latchkey-migrate-")
        cls.dirs.append(d)
        return d

    @classmethod
    def run_on_sqlite(cls):
        """Registers the clients and the person, then signs in at a dev server on SQLite; returns
        what the checks compare with, after stopping that server."""
        cls.sqlite_dir = cls.new_dir()

        def admin(*args, stdin=None):
            _, out, _ = cli(*args, data_dir=cls.sqlite_dir, stdin=stdin, env=SQLITE_ENV)
            return json.loads(out)

        web = admin("client", "create", "--id", WEB, "--json", "--grant-type", "authorization_code",
                    "--grant-type", "refresh_token", "--redirect-uri", WEB_CB, "--scope", "openid",
                    "--scope", "profile")
        svc = admin("client", "create", "--id", SVC, "--scope", "api", "--json")
        admin("user", "add", USER, "--password-stdin", "--json", stdin=PASSWORD + "\n")
        server = Server(cls.sqlite_dir, env=SQLITE_ENV)
        cls.servers.append(server)
        cls.secrets = {WEB: web["client_secret"], SVC: svc["client_secret"]}
        tokens = cls.sign_in(server.url, expect_consent=True)
        kids = sorted(k["kid"] for k in requests.get(server.url + "/jwks", timeout=10).json()["keys"])
        r = requests.post(server.url + "/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": basic(SVC, cls.secrets[SVC])}, timeout=15)
        if r.status_code != 200:
            raise AssertionError(f"client_credentials on SQLite: {r.status_code} {r.text}")
        if server.stop() != 0:
            raise AssertionError("the SQLite server did not stop cleanly:\n" + server.log_text()[-4000:])
        cls.servers.remove(server)
        return {"refresh_token": tokens["refresh_token"], "sub": jwt_parts(tokens["id_token"])[1]["sub"],
                "kids": kids}

    @classmethod
    def sign_in(cls, issuer, expect_consent):
        """Signs USER in at `issuer` with the password (consent when asked) and redeems the code."""
        flow = Flow(issuer)
        try:
            verifier, challenge = pkce_pair()
            params = {"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB,
                      "scope": "openid profile", "state": "st", "nonce": "n", "code_challenge": challenge,
                      "code_challenge_method": "S256"}
            r, saw_login, saw_consent = flow.sign_in(params, USER, PASSWORD)
            if not saw_login or saw_consent != expect_consent:
                raise AssertionError(f"login {saw_login}, consent {saw_consent} (expected {expect_consent})")
            code = flow.code_from(r, WEB_CB, "st")
            r = requests.post(issuer + "/token", data={"grant_type": "authorization_code", "code": code,
                                                       "redirect_uri": WEB_CB, "code_verifier": verifier},
                              headers={"Authorization": basic(WEB, cls.secrets[WEB])}, timeout=15)
            if r.status_code != 200:
                raise AssertionError(f"code redemption at {issuer}: {r.status_code} {r.text}")
            return r.json()
        finally:
            flow.s.close()

    def token(self, data, client_id):
        return requests.post(self.node.url + "/token", data=data,
                             headers={"Authorization": basic(client_id, self.secrets[client_id])}, timeout=15)

    def test_every_table_was_copied(self):
        for table in ("clients", "signing_keys", "meta", "users", "sessions", "authorization_codes",
                      "refresh_tokens", "consents", "secrets", "session_clients", "access_tokens", "revocations",
                      "device_codes"):
            self.assertIn(table, self.imported)
        self.assertNotIn("schema_migrations", self.imported)
        self.assertGreaterEqual(self.imported["clients"], 2)
        self.assertGreaterEqual(self.imported["users"], 1)
        self.assertGreaterEqual(self.imported["refresh_tokens"], 1)
        self.assertGreaterEqual(self.imported["signing_keys"], 1)

    def test_the_old_client_secrets_still_work(self):
        r = self.token({"grant_type": "client_credentials"}, SVC)
        self.assertEqual(r.status_code, 200, r.text)
        r = self.token({"grant_type": "client_credentials"}, WEB)  # not its grant: authenticated, then refused
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "unauthorized_client", r.text)
        wrong = requests.post(self.node.url + "/token", data={"grant_type": "client_credentials"},
                              headers={"Authorization": basic(SVC, "not-the-secret")}, timeout=15)
        self.assertEqual(wrong.status_code, 401, wrong.text)

    def test_the_refresh_token_rotates(self):
        r = self.token({"grant_type": "refresh_token", "refresh_token": self.before["refresh_token"]}, WEB)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotEqual(r.json()["refresh_token"], self.before["refresh_token"])
        r2 = self.token({"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]}, WEB)
        self.assertEqual(r2.status_code, 200, r2.text)

    def test_the_jwks_has_the_same_kids(self):
        kids = sorted(k["kid"] for k in requests.get(self.node.url + "/jwks", timeout=10).json()["keys"])
        self.assertEqual(kids, self.before["kids"])

    def test_the_person_signs_in_with_the_old_password_as_the_same_sub(self):
        tokens = self.sign_in(self.node.url, expect_consent=False)  # the remembered consent came along
        self.assertEqual(jwt_parts(tokens["id_token"])[1]["sub"], self.before["sub"])

    def test_a_second_copy_is_refused(self):
        code, _, err = cli("migrate", "--from-sqlite", os.path.join(self.sqlite_dir, "latchkey.db"),
                           data_dir=self.pg_dir, env=self.pg_env, check=False)
        self.assertEqual(code, 3, err)
        self.assertIn("already holds data", err)

    def test_a_sqlite_target_is_refused(self):
        code, _, err = cli("migrate", "--from-sqlite", os.path.join(self.sqlite_dir, "latchkey.db"),
                           data_dir=self.new_dir(), env=SQLITE_ENV, check=False)
        self.assertEqual(code, 2, err)
        self.assertIn("PostgreSQL", err)


if __name__ == "__main__":
    unittest.main()
