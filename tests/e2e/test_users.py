"""End-to-end: `latchkey user ...` (people who will sign in) against the same data as a running server."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ServerTestCase, cli, database_bytes, db_query, sql_string  # noqa: E402


class Users(ServerTestCase):
    def user(self, *args, stdin=None, check=True):
        code, out, err = cli("user", *args, data_dir=self.data_dir, stdin=stdin, check=check)
        return code, out, err

    def stored_hash(self, username):
        """The password hash stored for `username` (SQLite or PostgreSQL), None without the user."""
        rows = db_query(self.data_dir, "SELECT password_hash FROM users WHERE username = " + sql_string(username))
        self.assertLessEqual(len(rows), 1, rows)
        return rows[0][0] if rows else None

    def test_dev_mode_seeds_a_demo_user(self):
        out = "".join(self.server.stdout)
        self.assertIn("Demo user: username=demo password=", out)
        _, shown, _ = self.user("show", "demo", "--json")
        self.assertEqual(json.loads(shown)["email"], "demo@example.com")
        self.assertTrue(json.loads(shown)["has_password"])

    def test_add_hashes_with_argon2id_and_never_stores_the_password(self):
        _, out, _ = self.user("add", "Alice", "--password-stdin", "--email", "alice@example.com", "--name",
                              "Alice Liddell", "--email-verified", "true", "--json",
                              stdin="wonderland-42\n")
        alice = json.loads(out)
        self.assertEqual(alice["username"], "alice")  # usernames are case-insensitive
        self.assertEqual(len(alice["sub"]), 22)
        self.assertTrue(alice["email_verified"])
        self.assertNotIn("password_hash", alice)
        stored = self.stored_hash("alice")
        # OWASP minimum Argon2id parameters (issue: m >= 19 MiB, t >= 2, p >= 1).
        self.assertTrue(stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), stored)
        # Nowhere in the database; the hash is there, so the look is not blind.
        stored_bytes = database_bytes(self.data_dir)
        self.assertTrue(stored.encode() in stored_bytes, "the stored hash is not legible in database_bytes")
        self.assertFalse(b"wonderland-42" in stored_bytes, "the password is in the database")

    def test_lifecycle_show_update_disable_enable_set_password_delete(self):
        self.user("add", "bob", "--password-stdin", stdin="builder-123")
        before = self.stored_hash("bob")
        _, out, _ = self.user("update", "BOB", "--given-name", "Bob", "--address", '{"country":"NL"}', "--json")
        self.assertEqual(json.loads(out)["given_name"], "Bob")
        self.assertEqual(json.loads(out)["address"], {"country": "NL"})
        _, out, _ = self.user("disable", "bob", "--json")
        self.assertEqual(json.loads(out)["status"], "disabled")
        _, out, _ = self.user("enable", "bob", "--json")
        self.assertEqual(json.loads(out)["status"], "active")
        self.user("set-password", "bob", "--password-stdin", stdin="new-password-456")
        self.assertNotEqual(self.stored_hash("bob"), before)
        _, out, _ = self.user("list", "--json")
        self.assertIn("bob", [u["username"] for u in json.loads(out)["users"]])
        self.user("delete", "bob")
        code, _, err = self.user("show", "bob", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("no user", err)

    def test_refusals(self):
        cases = [
            (["add", "carol", "--password-stdin"], "short", "at least 8"),
            (["add", "bad name"], None, "username"),
            (["add", "dave", "--email", "not-an-email"], None, "email"),
            (["add", "erin", "--address", "[1]"], None, "address"),
        ]
        for args, stdin, message in cases:
            with self.subTest(args=args):
                code, _, err = self.user(*args, stdin=stdin, check=False)
                self.assertNotEqual(code, 0)
                self.assertIn(message, err)
        self.user("add", "frank")
        code, _, err = self.user("add", "Frank", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("already exists", err)

    def test_import_is_all_or_nothing_on_bad_lines(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"username":"gina","password":"password-1","email":"gina@example.com"}\n')
            f.write('{"username":"hank","pasword":"typo"}\n')
            path = f.name
        try:
            code, _, err = self.user("import", path, check=False)
            self.assertNotEqual(code, 0)
            self.assertIn(":2:", err)
            self.assertIsNone(self.stored_hash("gina"))  # nothing was written
            with open(path, "w") as f:
                f.write('{"username":"gina","password":"password-1","email":"gina@example.com",'
                        '"address":{"locality":"Oslo"},"email_verified":true}\n\n')
                f.write('{"username":"hank"}\n')
            _, out, _ = self.user("import", path, "--json")
            self.assertEqual(json.loads(out), {"created": 2, "skipped": 0})
            self.assertTrue(self.stored_hash("gina").startswith("$argon2id$"))
            self.assertEqual(self.stored_hash("hank"), "")
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
