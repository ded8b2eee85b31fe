"""End-to-end: `latchkey client ...` against the same data as a running server."""

import json
import os
import shutil
import sys
import tempfile
import threading
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import (TEST_STORAGE, Server, ServerTestCase, cli, create_client, database_bytes,  # noqa: E402
                     pg_dump_to, pg_restore_into, wait_until)

ON_POSTGRES = TEST_STORAGE == "postgres"
SQLITE_ENV = {"LATCHKEY_STORAGE": "sqlite"}  # whatever LATCHKEY_TEST_STORAGE says


class Admin(ServerTestCase):
    def can_get_token(self, client_id, secret):
        r = self.token({"grant_type": "client_credentials"}, auth=(client_id, secret))
        return r.status_code == 200

    def test_create_shows_secret_once_and_server_sees_it(self):
        c = create_client(self.data_dir, "app1", "--name", "App One", "--scope", "api", "--scope", "read")
        self.assertEqual(c["client_id"], "app1")
        self.assertEqual(len(c["client_secret"]), 43)  # 256 bits, base64url
        self.assertEqual(c["scope"], "api read")
        self.assertEqual(c["grant_types"], ["client_credentials"])
        self.assertTrue(wait_until(lambda: self.can_get_token("app1", c["client_secret"])))
        _, out, _ = cli("client", "show", "app1", "--json", data_dir=self.data_dir)
        shown = json.loads(out)
        self.assertNotIn("client_secret", shown)
        self.assertEqual(shown["client_name"], "App One")
        # Only the hash is stored: the secret is nowhere in the database (SQLite's file and log, or
        # PostgreSQL's dump), where the client's name is (the look is not blind).
        stored = database_bytes(self.data_dir)
        self.assertTrue(b"App One" in stored, "the client's name is not legible in database_bytes")
        self.assertFalse(c["client_secret"].encode() in stored, "the client secret is in the database")

    def test_list_update_rotate_delete(self):
        c = create_client(self.data_dir, "app2", "--scope", "api")
        _, out, _ = cli("client", "list", "--json", data_dir=self.data_dir)
        self.assertIn("app2", [x["client_id"] for x in json.loads(out)["clients"]])

        _, out, _ = cli("client", "update", "app2", "--scope", "api", "--scope", "write",
                        "--access-token-lifetime", "120", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["scope"], "api write")
        self.assertTrue(wait_until(lambda: self.token({"grant_type": "client_credentials", "scope": "write"},
                                                      auth=("app2", c["client_secret"])).status_code == 200))
        r = self.token({"grant_type": "client_credentials", "scope": "write"}, auth=("app2", c["client_secret"]))
        self.assertEqual(r.json()["expires_in"], 120)

        _, out, _ = cli("client", "rotate-secret", "app2", "--json", data_dir=self.data_dir)
        new_secret = json.loads(out)["client_secret"]
        self.assertNotEqual(new_secret, c["client_secret"])
        self.assertTrue(wait_until(lambda: self.can_get_token("app2", new_secret)))
        self.assertFalse(self.can_get_token("app2", c["client_secret"]))

        cli("client", "delete", "app2", data_dir=self.data_dir)
        self.assertTrue(wait_until(lambda: not self.can_get_token("app2", new_secret)))
        code, _, err = cli("client", "show", "app2", data_dir=self.data_dir, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("no client", err)

    def test_id_token_alg_is_stored_shown_and_validated(self):
        # OIDC Registration §2 id_token_signed_response_alg.
        create_client(self.data_dir, "idalg", "--id-token-alg", "ES256")
        _, out, _ = cli("client", "show", "idalg", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["id_token_signed_response_alg"], "ES256")
        _, out, _ = cli("client", "list", "--json", data_dir=self.data_dir)
        listed = {x["client_id"]: x for x in json.loads(out)["clients"]}
        self.assertEqual(listed["idalg"]["id_token_signed_response_alg"], "ES256")
        # An update without the flag keeps it; with the flag it changes.
        cli("client", "update", "idalg", "--name", "renamed", data_dir=self.data_dir)
        _, out, _ = cli("client", "show", "idalg", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["id_token_signed_response_alg"], "ES256")
        cli("client", "update", "idalg", "--id-token-alg", "PS256", data_dir=self.data_dir)
        _, out, _ = cli("client", "show", "idalg", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["id_token_signed_response_alg"], "PS256")
        # A client created without the flag gets the server's default (empty).
        create_client(self.data_dir, "idalg-default")
        _, out, _ = cli("client", "show", "idalg-default", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["id_token_signed_response_alg"], "")
        # HS256 is refused on create and on update, and the stored value stays.
        code, _, err = cli("client", "create", "--id", "idalg-hs", "--id-token-alg", "HS256",
                           data_dir=self.data_dir, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("id_token_signed_response_alg", err)
        code, _, _ = cli("client", "show", "idalg-hs", data_dir=self.data_dir, check=False)
        self.assertNotEqual(code, 0)
        code, _, err = cli("client", "update", "idalg", "--id-token-alg", "HS256",
                           data_dir=self.data_dir, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("id_token_signed_response_alg", err)
        _, out, _ = cli("client", "show", "idalg", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out)["id_token_signed_response_alg"], "PS256")

    def test_invalid_registrations_are_refused(self):
        cases = [
            (["--id", "bad id"], "client_id"),
            (["--id", "x1", "--grant-type", "password"], "grant type"),
            (["--id", "x2", "--public"], "grant type"),
            (["--id", "x3", "--redirect-uri", "https://a.example/cb#frag"], "redirect URI"),
            (["--id", "x4", "--access-token-alg", "HS256"], "algorithm"),
            (["--id", "x6", "--id-token-alg", "none"], "id_token_signed_response_alg"),
            (["--id", "x5", "--token-endpoint-auth-method", "private_key_jwt"], "token_endpoint_auth_method"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                code, _, err = cli("client", "create", *args, data_dir=self.data_dir, check=False)
                self.assertNotEqual(code, 0)
                self.assertIn(message, err)

    def test_duplicate_id_is_refused(self):
        create_client(self.data_dir, "dup")
        code, _, err = cli("client", "create", "--id", "dup", data_dir=self.data_dir, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("already exists", err)



class BackupAndMigrate(ServerTestCase):
    """`latchkey backup` (SQLite's online backup API) and `latchkey migrate`. On PostgreSQL
    (LATCHKEY_TEST_STORAGE=postgres) `latchkey backup` refuses and names pg_dump, and the backup
    docs/operations.md gives for it (pg_dump, pg_restore into an empty database) restores the same."""

    def assert_backup_refused_on_postgres(self, code, out, err):
        self.assertEqual(code, 2, err)
        self.assertIn("back up PostgreSQL with pg_dump", err)
        self.assertEqual(out, "")

    def test_backup_while_serving_restores_clients_keys_and_tokens(self):
        c = create_client(self.data_dir, "bk", "--scope", "api", "--access-token-format", "opaque")
        self.wait_for_client("bk", c["client_secret"])
        auth = ("bk", c["client_secret"])
        before = self.token({"grant_type": "client_credentials"}, auth=auth).json()["access_token"]
        # The server keeps writing (every opaque token is a row) while the copy is taken.
        stop, statuses = threading.Event(), []

        def issue():
            with requests.Session() as s:
                while not stop.is_set():
                    statuses.append(s.post(self.url + "/token", data={"grant_type": "client_credentials"},
                                           auth=auth, timeout=10).status_code)

        writer = threading.Thread(target=issue)
        writer.start()
        restore_dir = tempfile.mkdtemp(prefix="latchkey-restore-")
        self.addCleanup(shutil.rmtree, restore_dir, ignore_errors=True)
        target = os.path.join(restore_dir, "latchkey.db")
        dump = os.path.join(restore_dir, "latchkey.dump")
        try:
            wait_until(lambda: len(statuses) >= 5)
            if ON_POSTGRES:
                code, out, err = cli("backup", "--to", target, "--json", data_dir=self.data_dir, check=False)
                self.assert_backup_refused_on_postgres(code, out, err)
                self.assertFalse(os.path.exists(target))
                pg_dump_to(self.data_dir, dump)
            else:
                _, out, _ = cli("backup", "--to", target, "--json", data_dir=self.data_dir)
            wait_until(lambda: len(statuses) >= 10)
        finally:
            stop.set()
            writer.join(timeout=30)
        self.assertGreaterEqual(len(statuses), 10)
        self.assertEqual(set(statuses), {200})
        if ON_POSTGRES:
            # restore_dir's database: the dump restored into a new, empty one.
            pg_restore_into(restore_dir, dump)
            os.remove(dump)
            copy = database_bytes(restore_dir)  # what it holds, BYTEA values legible
        else:
            self.assertEqual(json.loads(out), {"backup": target})
            # It holds password hashes and private keys: owner only.
            self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)
            with open(target, "rb") as f:
                copy = f.read()
        # The private keys in it are sealed: the copy alone does not give them away (the client's
        # grant types are legible in it: the look is not blind), and a server without the
        # key-encryption key refuses to start on it.
        self.assertTrue(b"client_credentials" in copy, "the client's grant types are not legible in the copy")
        self.assertFalse(b"PRIVATE KEY" in copy, "a private key is in the copy unsealed")
        refused = Server(restore_dir, wait=False)
        self.assertNotEqual(refused.proc.wait(30), 0)
        self.assertTrue(wait_until(lambda: "which is not configured" in refused.log_text(), 5), refused.log_text())
        os.remove(os.path.join(restore_dir, "kek"))  # the one that failed start generated
        shutil.copy(os.path.join(self.data_dir, "kek"), os.path.join(restore_dir, "kek"))

        restored = Server(restore_dir)
        try:
            with requests.Session() as s:
                # The same signing keys, the client, and the token issued before the backup.
                self.assertEqual(s.get(restored.url + "/jwks", timeout=10).json(),
                                 s.get(self.url + "/jwks", timeout=10).json())
                r = s.post(restored.url + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
                self.assertEqual(r.status_code, 200, r.text)
                r = s.post(restored.url + "/introspect", data={"token": before}, auth=auth, timeout=10)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertTrue(r.json()["active"], r.text)
        finally:
            self.assertEqual(restored.stop(), 0, restored.log_text())

    def test_backup_never_overwrites(self):
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "existing.db")
            with open(target, "w") as f:
                f.write("keep me")
            code, out, err = cli("backup", "--to", target, data_dir=self.data_dir, check=False)
            if ON_POSTGRES:  # refused before it looks at the target
                self.assert_backup_refused_on_postgres(code, out, err)
            else:
                self.assertEqual(code, 3, err)
                self.assertIn("already exists", err)
                self.assertEqual(out, "")
            with open(target) as f:
                self.assertEqual(f.read(), "keep me")

    def test_backup_needs_a_sqlite_database(self):
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "copy.db")
            # SQLite named outright: in PostgreSQL mode the harness would give "empty" a database.
            code, _, err = cli("backup", "--to", target, data_dir=os.path.join(d, "empty"), check=False,
                               env=SQLITE_ENV)
            self.assertEqual(code, 1, err)
            self.assertIn("there is no database", err)
            self.assertFalse(os.path.exists(target))
            code, out, err = cli("backup", "--to", target, data_dir=self.data_dir, check=False,
                                 env={"LATCHKEY_STORAGE": "postgresql:///latchkey?host=/nonexistent"})
            self.assert_backup_refused_on_postgres(code, out, err)
            self.assertFalse(os.path.exists(target))

    def test_migrate_reports_a_current_schema(self):
        code, out, err = cli("migrate", data_dir=self.data_dir)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.strip(), "the database schema is current (version 7)")
        _, out, _ = cli("migrate", "--json", data_dir=self.data_dir)
        self.assertEqual(json.loads(out), {"migrated": True, "schema_version": 7})
        # The server goes on serving the migrated database.
        self.assertEqual(requests.get(self.url + "/readyz", timeout=10).status_code, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
