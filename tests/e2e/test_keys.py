"""End-to-end: the signing-key lifecycle and the keys' encryption at rest.

- Scheduled rotation (keys.rotation_interval, keys.publication_lead): a new key is in /jwks at
  least the publication lead before the first token signed with it; the key it replaces stays
  published (OIDC Core §10.1.1: signing keys rotate by publishing first).
- `latchkey keys list|rotate|retire|rewrap` against a running server, which follows within a
  second.
- Private keys are sealed with AES-256-GCM under the key-encryption key (KEK): the database holds
  no PEM; dev mode generates DATA_DIR/kek (0600) and says so; without a KEK outside dev mode the
  server refuses to start; re-wrapping under a new KEK keeps every key and kid.
- A database written before sealing (a bare PEM in the row) is sealed when the server starts.
"""

import base64
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN, Server, basic, cli, create_client, stop_process, wait_until  # noqa: E402

PROPAGATION_BOUND = 10.0  # seconds a key change may take to reach the running server


def new_kek():
    return base64.b64encode(os.urandom(32)).decode()


def kid_of(jwt):
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def keys_in_db(data_dir):
    with sqlite3.connect(os.path.join(data_dir, "latchkey.db")) as db:
        return db.execute("SELECT kid, alg, private_pem, state FROM signing_keys ORDER BY created_at, kid").fetchall()


class KeyTestCase(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="latchkey-keys-")
        self.servers = []
        self.http = requests.Session()

    def tearDown(self):
        self.http.close()
        codes = [s.stop() for s in self.servers]
        shutil.rmtree(self.data_dir, ignore_errors=True)
        for server, code in zip(self.servers, codes):
            if code != 0:
                raise AssertionError(f"server exited with {code}:\n{server.log_text()[-4000:]}")

    def start(self, env=None, dev=True, args=()):
        server = Server(self.data_dir, args, env, dev=dev)
        self.servers.append(server)
        return server

    def stop_all(self):
        for s in self.servers:
            self.assertEqual(s.stop(), 0, s.log_text()[-4000:])
        self.servers = []

    def jwks_kids(self, server):
        r = self.http.get(server.url + "/jwks", timeout=5)
        self.assertEqual(r.status_code, 200)
        return {k["kid"]: k["alg"] for k in r.json()["keys"]}

    def client(self, server, client_id="svc"):
        c = create_client(self.data_dir, client_id, "--scope", "api")
        secret = c["client_secret"]
        self.assertTrue(wait_until(lambda: self.mint(server, client_id, secret) is not None, PROPAGATION_BOUND))
        return client_id, secret

    def mint(self, server, client_id, secret):
        """The kid of a fresh ES256 access token (client credentials), or None when refused."""
        r = self.http.post(server.url + "/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": basic(client_id, secret)}, timeout=5)
        return kid_of(r.json()["access_token"]) if r.status_code == 200 else None

    def keys(self, *args, env=None, check=True):
        return cli("keys", *args, data_dir=self.data_dir, env=env, check=check)

    def keys_json(self, *args, env=None):
        args = list(args)
        args.insert(args.index("--") if "--" in args else len(args), "--json")
        return json.loads(self.keys(*args, env=env)[1])


class ScheduledRotation(KeyTestCase):
    LEAD = 3
    INTERVAL = 6

    def test_next_key_is_published_a_lead_before_it_signs(self):
        server = self.start({"LATCHKEY_KEYS_ROTATION_INTERVAL": str(self.INTERVAL),
                             "LATCHKEY_KEYS_PUBLICATION_LEAD": str(self.LEAD)})
        svc = self.client(server)
        first_kid = self.mint(server, *svc)
        published_at = {}  # kid -> when /jwks first listed it
        signed_at = {}     # kid -> when a token first carried it
        deadline = time.time() + 3 * self.INTERVAL
        while time.time() < deadline and len(signed_at) < 3:
            now = time.time()
            for kid, alg in self.jwks_kids(server).items():
                if alg == "ES256":
                    published_at.setdefault(kid, now)
            kid = self.mint(server, *svc)
            # Every token names a key this server published.
            self.assertIn(kid, published_at)
            signed_at.setdefault(kid, time.time())
            time.sleep(0.2)
        self.assertGreaterEqual(len(signed_at), 2, f"no rotation within {3 * self.INTERVAL} s: {signed_at}")
        for kid, first_use in signed_at.items():
            if kid == first_kid:
                continue
            # Published at least the lead before its first token (the key's active_from counts from
            # when it was stored), less what this loop can miss: it looks every 0.2 s plus two
            # requests, so it may see the key late and the first token late.
            self.assertGreaterEqual(first_use - published_at[kid], self.LEAD - 1.0, kid)
        # The key it replaced is still published (its tokens are still valid).
        self.assertIn(first_kid, self.jwks_kids(server))
        states = {k["kid"]: k["state"] for k in self.keys_json("list")["keys"]}
        self.assertEqual(states[first_kid], "retired")


class KeyCommands(KeyTestCase):
    def test_list_rotate_retire_against_a_running_server(self):
        server = self.start()
        svc = self.client(server)
        listed = self.keys_json("list")["keys"]
        self.assertEqual(sorted(k["alg"] for k in listed), ["ES256", "EdDSA", "RS256"])
        self.assertTrue(all(k["state"] == "active" for k in listed))
        es_active = next(k["kid"] for k in listed if k["alg"] == "ES256")
        self.assertEqual(self.mint(server, *svc), es_active)

        # rotate: published now, still not signing (the default lead is a day).
        rotated = self.keys_json("rotate", "--alg", "ES256")["rotated"]
        self.assertEqual(len(rotated), 1)
        es_next = rotated[0]["kid"]
        self.assertGreater(rotated[0]["active_from"], time.time() + 3600)
        self.assertTrue(wait_until(lambda: es_next in self.jwks_kids(server), PROPAGATION_BOUND))
        self.assertEqual(self.mint(server, *svc), es_active)
        # A second rotate keeps the one next key.
        self.assertEqual(self.keys_json("rotate", "--alg", "ES256")["rotated"][0]["kid"], es_next)

        # rotate --now: the next key signs at once, the old one stays published.
        self.keys("rotate", "--alg", "ES256", "--now")
        self.assertTrue(wait_until(lambda: self.mint(server, *svc) == es_next, PROPAGATION_BOUND))
        self.assertIn(es_active, self.jwks_kids(server))

        # retire the active key: a successor signs at once; --unpublish drops it from /jwks.
        out = self.keys_json("retire", "--unpublish", "--", es_next)
        successor = out["successor"]
        self.assertNotIn(successor, (es_active, es_next))
        self.assertTrue(wait_until(lambda: self.mint(server, *svc) == successor, PROPAGATION_BOUND))
        self.assertTrue(wait_until(lambda: es_next not in self.jwks_kids(server), PROPAGATION_BOUND))
        states = {k["kid"]: k["state"] for k in self.keys_json("list")["keys"]}
        self.assertEqual(states[es_active], "retired")
        self.assertNotIn(es_next, states)
        self.assertEqual(states[successor], "active")

        # Unknown kid, a retired one again, a bad --alg: refused with the documented codes.
        self.assertEqual(self.keys("retire", "--", "no-such-kid", check=False)[0], 3)
        self.assertEqual(self.keys("retire", "--", es_active, check=False)[0], 3)
        self.assertEqual(self.keys("rotate", "--alg", "HS256", check=False)[0], 2)


class Encryption(KeyTestCase):
    def test_dev_mode_generates_a_kek_and_seals_every_key(self):
        server = self.start()
        kek = os.path.join(self.data_dir, "kek")
        self.assertEqual(stat.S_IMODE(os.stat(kek).st_mode), 0o600)
        self.assertIn("generated a key-encryption key", server.log_text())
        with open(kek) as f:
            self.assertNotIn(f.read().strip(), server.log_text())  # the KEK itself is never logged
        rows = keys_in_db(self.data_dir)
        self.assertEqual(len(rows), 3)
        for kid, alg, sealed, state in rows:
            self.assertTrue(sealed.startswith("lk-sealed-v1."), (kid, sealed[:20]))
            self.assertNotIn("PRIVATE KEY", sealed)
        with open(os.path.join(self.data_dir, "latchkey.db"), "rb") as f:
            self.assertNotIn(b"PRIVATE KEY", f.read())

    def test_no_kek_outside_dev_mode_refuses_to_start(self):
        env = dict(os.environ)
        env.pop("LATCHKEY_KEK", None)
        proc = subprocess.run([BIN, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
                               "--issuer", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("LATCHKEY_KEK", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.data_dir, "kek")))
        # A malformed KEK is refused without echoing it.
        env["LATCHKEY_KEK"] = "not-a-key-at-all"
        proc = subprocess.run([BIN, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
                               "--issuer", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("base64 of 32 bytes", proc.stderr)
        self.assertNotIn("not-a-key-at-all", proc.stderr)

    def test_kek_rotation_rewraps_and_keeps_every_key(self):
        old = new_kek()
        server = self.start({"LATCHKEY_KEK": old})
        before = self.jwks_kids(server)
        self.stop_all()
        sealed_before = {kid: sealed for kid, _, sealed, _ in keys_in_db(self.data_dir)}

        new = new_kek()
        rotated = {"LATCHKEY_KEK": new, "LATCHKEY_KEK_PREVIOUS": old}
        out = self.keys_json("rewrap", env=rotated)
        self.assertEqual(out["rewrapped"], 3)
        self.assertEqual(self.keys_json("rewrap", env=rotated)["rewrapped"], 0)  # nothing left to move
        kek_ids = {k["sealed_with"] for k in self.keys_json("list")["keys"]}
        self.assertEqual(kek_ids, {out["kek_id"]})
        for kid, _, sealed, _ in keys_in_db(self.data_dir):
            self.assertNotEqual(sealed, sealed_before[kid])

        # The new KEK alone opens every key: same kids.
        server = self.start({"LATCHKEY_KEK": new})
        self.assertEqual(self.jwks_kids(server), before)
        self.stop_all()
        # The old KEK alone no longer does, and the error names the KEK needed.
        proc = subprocess.run([BIN, "serve", "--dev", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"],
                              capture_output=True, text=True, timeout=30, env=dict(os.environ, LATCHKEY_KEK=old))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(out["kek_id"], proc.stderr)

    def reload_failures(self, server):
        """latchkey_reload_failures_total from /metrics (0 before the first failure)."""
        text = self.http.get(server.url + "/metrics", timeout=5).text
        lines = [line for line in text.splitlines() if line.startswith("latchkey_reload_failures_total")]
        return int(float(lines[0].split()[-1])) if lines else 0

    def test_a_node_without_the_new_kek_keeps_its_keys_and_warns_once(self):
        old = new_kek()
        server = self.start({"LATCHKEY_KEK": old})
        before = self.jwks_kids(server)
        svc = self.client(server)
        ready = self.http.get(server.url + "/readyz", timeout=5)
        self.assertEqual((ready.status_code, ready.json()), (200, {"status": "ready"}))
        self.assertEqual(self.reload_failures(server), 0)
        # Re-wrapped under a KEK this running node was not given: its reloads fail from now on.
        other = new_kek()
        self.keys_json("rewrap", env={"LATCHKEY_KEK": other, "LATCHKEY_KEK_PREVIOUS": old})
        self.assertTrue(wait_until(lambda: "reload failed" in server.log_text(), timeout=10), server.log_text())
        time.sleep(2.5)  # five more revision polls
        failures = [json.loads(line) for line in server.log_text().splitlines() if '"reload failed"' in line]
        # Said once per revision and reason, not at every poll. The rewrap may commit its three
        # keys in more than one revision, and a poll may land between them: at most one line each.
        said = [(f["revision"], f["reason"]) for f in failures]
        self.assertEqual(len(said), len(set(said)), failures)
        self.assertLessEqual(len(said), 3, failures)
        # It keeps serving with the keys it had, and stays ready, but says that its reloads fail:
        # in /readyz (since when) and in a counter that grows at every poll.
        self.assertEqual(self.jwks_kids(server), before)
        self.assertIn(self.mint(server, *svc), before)
        ready = self.http.get(server.url + "/readyz", timeout=5)
        self.assertEqual(ready.status_code, 200, ready.text)
        body = ready.json()
        self.assertEqual((body["status"], body["reload"]), ("ready", "failing"), body)
        self.assertLessEqual(abs(body["reload_failing_since"] - time.time()), 30, body)
        self.assertGreaterEqual(self.reload_failures(server), 5)
        # Wrapped back under the KEK it has: the next poll loads, and /readyz says plain ready.
        self.keys_json("rewrap", env={"LATCHKEY_KEK": old, "LATCHKEY_KEK_PREVIOUS": other})
        self.assertTrue(wait_until(lambda: self.http.get(server.url + "/readyz", timeout=5).json()
                                   == {"status": "ready"}, timeout=10), server.log_text()[-2000:])

    def test_bare_pem_from_before_sealing_is_sealed_at_start(self):
        kek = new_kek()
        self.start({"LATCHKEY_KEK": kek})
        self.stop_all()
        # A retired key as an older binary stored it: the PEM itself.
        key = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
        now = int(time.time())
        with sqlite3.connect(os.path.join(self.data_dir, "latchkey.db")) as db:
            db.execute("INSERT INTO signing_keys (kid, alg, private_pem, state, created_at, active_from, retired_at)"
                       " VALUES ('legacy-ed', 'EdDSA', ?, 'retired', ?, ?, ?)", (key, now - 100, now - 100, now))
        server = self.start({"LATCHKEY_KEK": kek})
        self.assertIn("legacy-ed", self.jwks_kids(server))
        sealed = {kid: s for kid, _, s, _ in keys_in_db(self.data_dir)}["legacy-ed"]
        self.assertTrue(sealed.startswith("lk-sealed-v1."))
        self.assertNotIn("PRIVATE KEY", sealed)


if __name__ == "__main__":
    unittest.main()
