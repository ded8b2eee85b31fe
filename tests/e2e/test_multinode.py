"""End-to-end: two Latchkey nodes on one PostgreSQL database.

One throw-away PostgreSQL server (pg.py), one database, two `latchkey serve` processes started at
the same moment on a database that holds a user and clients (written by the admin commands) but
no signing keys yet, so both nodes race to create them. Both nodes serve one public issuer, as they would behind a load balancer: ISSUER below is
that public URL and nothing listens there; every request goes to one node's own address. Each
node has its own data directory, as on two machines.

What is shared must be shared: signing keys (both JWKS documents are the same, a token signed at
one node verifies with the other's keys), clients (an admin command's client reaches both nodes
within a bounded time: each node polls the database's revision counter every 0.5 s), codes,
refresh tokens, browser sessions and the sign-in throttle's counts. One code redeemed at both nodes at the same moment, or one
refresh token rotated at both: exactly one wins.

The refresh-token grace window is 0 on both nodes, so that every second presentation of a rotated
token is reuse and a race has exactly one winner.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
import pg  # noqa: E402
from harness import Server, basic, cli, wait_until  # noqa: E402
from signin_helpers import Flow, jwt_parts, pkce_pair, query_of, single  # noqa: E402

ISSUER = "http://127.0.0.1:9"  # the public URL (a load balancer's); never contacted
SVC = "mn-svc"  # client_credentials, registered before the nodes start
WEB, WEB_CB, WEB_BYE = "mn-web", "https://rp.example.com/cb", "https://rp.example.com/bye"
USER, PASSWORD = "nora", "nora-password-123"
RACE_ROUNDS = 20
PROPAGATION_BOUND = 10.0  # seconds an admin change may take to reach every node


class MultiNode(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dirs = []
        cls.nodes = []
        cls.pg = pg.PgServer()
        try:
            cls.storage = cls.pg.create_database("multinode")
            cls.env = {"LATCHKEY_STORAGE": cls.storage, "LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": "0"}
            cls.admin_dir = cls.new_dir()
            cls.svc = cls.admin("client", "create", "--id", SVC, "--scope", "api", "--json")
            cls.web = cls.admin("client", "create", "--id", WEB, "--json", "--grant-type", "authorization_code",
                                "--grant-type", "refresh_token", "--redirect-uri", WEB_CB,
                                "--post-logout-redirect-uri", WEB_BYE, "--scope", "openid", "--scope", "profile")
            cls.admin("user", "add", USER, "--password-stdin", "--json", stdin=PASSWORD + "\n")
            for _ in range(2):
                cls.nodes.append(Server(cls.new_dir(), ["--issuer", ISSUER], cls.env, dev=False, wait=False))
            for node in cls.nodes:
                node.wait_started()
            cls.a, cls.b = ("http://" + node.address for node in cls.nodes)
            # Started at once on a database without keys, both nodes may create some; until each
            # has reloaded the other's (one revision poll), a token signed at one node may name a
            # key the other does not publish yet. Every test starts after that settled.
            if not wait_until(lambda: cls.jwks_of(cls.a) == cls.jwks_of(cls.b), PROPAGATION_BOUND):
                raise AssertionError(f"the nodes publish different JWKS:\nA {cls.jwks_of(cls.a)}\n"
                                     f"B {cls.jwks_of(cls.b)}")
        except BaseException:
            cls.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        codes = cls.cleanup()
        for node, code in zip(cls.nodes, codes):
            if code != 0:
                raise AssertionError(f"node exited with {code}:\n{node.log_text()[-4000:]}")

    @classmethod
    def cleanup(cls):
        codes = [node.stop() for node in cls.nodes]
        cls.pg.stop()
        for d in cls.dirs:
            shutil.rmtree(d, ignore_errors=True)
        return codes

    @classmethod
    def new_dir(cls):
        d = tempfile.mkdtemp(prefix="latchkey-multinode-")
        cls.dirs.append(d)
        return d

    @classmethod
    def admin(cls, *args, stdin=None):
        """Runs an admin command against the shared database (it must succeed); its output, parsed
        when the command was asked for --json."""
        _, out, _ = cli(*args, data_dir=cls.admin_dir, stdin=stdin, env=cls.env)
        return json.loads(out) if "--json" in args else out

    # --- helpers ---------------------------------------------------------------------------------

    def post(self, node, path, data, auth=None, session=None):
        headers = {"Authorization": basic(*auth)} if auth else {}
        return (session or requests).post(node + path, data=data, headers=headers, timeout=15)

    def client_credentials(self, node, client_id, secret):
        return self.post(node, "/token", {"grant_type": "client_credentials"}, (client_id, secret))

    def flow(self, node):
        flow = Flow(node)
        self.addCleanup(flow.s.close)
        return flow

    def authorize_params(self, **extra):
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB, "scope": "openid profile",
                  "state": "st-" + os.urandom(6).hex(), "nonce": "n-" + os.urandom(6).hex(),
                  "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        return params, verifier

    def code_at(self, flow):
        """A code from the node of `flow`: signs in (login and consent) unless its session already
        is, and the consent already given."""
        params, verifier = self.authorize_params()
        r, _, _ = flow.sign_in(params, USER, PASSWORD)
        return flow.code_from(r, WEB_CB, params["state"]), verifier

    def redeem_data(self, code, verifier):
        return {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB, "code_verifier": verifier}

    def redeem(self, node, code, verifier, session=None):
        return self.post(node, "/token", self.redeem_data(code, verifier), (WEB, self.web["client_secret"]), session)

    def refresh(self, node, refresh_token, session=None):
        return self.post(node, "/token", {"grant_type": "refresh_token", "refresh_token": refresh_token},
                         (WEB, self.web["client_secret"]), session)

    def tokens_at(self, flow):
        """Signs in at the node of `flow` and redeems the code there; the token response."""
        code, verifier = self.code_at(flow)
        r = self.redeem(flow.issuer, code, verifier)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def assert_invalid_grant(self, r):
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json().get("error"), "invalid_grant", r.text)

    def introspect(self, node, token):
        r = self.post(node, "/introspect", {"token": token}, (WEB, self.web["client_secret"]))
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def signed_in(self, node, cookie_header):
        """True when a prompt=none authorization at `node` with these cookies gets a code; False
        when it gets login_required (OIDC Core 3.1.2.6). Anything else fails the test."""
        params, _ = self.authorize_params(prompt="none")
        r = requests.get(node + "/authorize", params=params, headers={"Cookie": cookie_header},
                         allow_redirects=False, timeout=15)
        self.assertIn(r.status_code, (302, 303), r.text[:300])
        q = query_of(r.headers["Location"])
        if "code" in q:
            return True
        self.assertEqual(single(q, "error"), "login_required", r.headers["Location"])
        return False

    @staticmethod
    def jwks_of(node):
        r = requests.get(node + "/jwks", timeout=10)
        if r.status_code != 200:
            raise AssertionError(f"{node}/jwks: {r.status_code} {r.text[:300]}")
        return r.json()

    def verify_with_jwks_of(self, node, token):
        from jwcrypto import jwk, jwt
        keys = jwk.JWKSet.from_json(requests.get(node + "/jwks", timeout=10).text)
        verified = jwt.JWT(jwt=token, key=keys, algs=["ES256", "RS256", "PS256", "EdDSA"],
                           check_claims={"iss": ISSUER, "exp": None})
        return json.loads(verified.claims)

    def race(self, send_a, send_b):
        """Runs send_a and send_b in two threads released together by a barrier; their results."""
        barrier = threading.Barrier(2, timeout=15)
        results = [None, None]

        def run(i, send):
            try:
                barrier.wait()
                results[i] = send()
            except BaseException as e:  # reported below as the result
                results[i] = e

        threads = [threading.Thread(target=run, args=(i, s), daemon=True) for i, s in enumerate((send_a, send_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertFalse(any(t.is_alive() for t in threads), "a racing request did not finish in 30 s")
        for r in results:
            if isinstance(r, BaseException):
                raise AssertionError(f"a racing request failed: {r!r}")
        return results

    def assert_exactly_one_wins(self, results, what):
        statuses = sorted(r.status_code for r in results)
        self.assertEqual(statuses, [200, 400], f"{what}: {[(r.status_code, r.text[:200]) for r in results]}")
        loser = next(r for r in results if r.status_code == 400)
        self.assertEqual(loser.json().get("error"), "invalid_grant", loser.text)
        winner = next(r for r in results if r.status_code == 200)
        self.assertTrue(winner.json().get("access_token"), winner.text)

    def warm_sessions(self):
        """One keep-alive connection to each node per racer, so a race is not a race of handshakes."""
        sessions = [requests.Session(), requests.Session()]
        for s, node in zip(sessions, (self.a, self.b)):
            self.addCleanup(s.close)
            self.assertEqual(s.get(node + "/healthz", timeout=10).status_code, 200)
        return sessions

    # --- tests -----------------------------------------------------------------------------------

    def test_both_nodes_publish_the_same_keys_and_metadata(self):
        # setUpClass waited until the JWKS settled; from then on they stay the same, and both nodes
        # sign with the same key (the oldest of each algorithm).
        for _ in range(3):
            self.assertEqual(self.jwks_of(self.a), self.jwks_of(self.b))
            time.sleep(0.2)
        keys = self.jwks_of(self.a)["keys"]
        # Both nodes started on a database without keys; the store takes one active key per
        # algorithm (RS256, ES256, EdDSA), so the node that came second adopted the first's.
        self.assertEqual(len({k["kid"] for k in keys}), 3, keys)
        print(f"\n[multinode] shared JWKS: {len(keys)} keys: {sorted(k['alg'] for k in keys)}", file=sys.stderr)
        meta_a = requests.get(self.a + "/.well-known/openid-configuration", timeout=10).json()
        meta_b = requests.get(self.b + "/.well-known/openid-configuration", timeout=10).json()
        self.assertEqual(meta_a, meta_b)
        self.assertEqual(meta_a["issuer"], ISSUER)  # the configured issuer, not the Host a request used
        self.assertEqual(meta_a["jwks_uri"], ISSUER + "/jwks")
        ta = self.client_credentials(self.a, SVC, self.svc["client_secret"])
        tb = self.client_credentials(self.b, SVC, self.svc["client_secret"])
        self.assertEqual(ta.status_code, 200, ta.text)
        self.assertEqual(tb.status_code, 200, tb.text)
        self.assertEqual(jwt_parts(ta.json()["access_token"])[0]["kid"], jwt_parts(tb.json()["access_token"])[0]["kid"])

    def test_signing_key_rotation_reaches_both_nodes(self):
        """`latchkey keys rotate` through the shared database: both nodes publish the next key,
        then both sign with it, and both keep publishing the key it replaced (all nodes agree on the
        active key within one revision poll)."""
        def kids(node):
            return {k["kid"] for k in self.jwks_of(node)["keys"]}

        def signing_kid(node):
            r = self.client_credentials(node, SVC, self.svc["client_secret"])
            self.assertEqual(r.status_code, 200, r.text)
            return jwt_parts(r.json()["access_token"])[0]["kid"]

        old = signing_kid(self.a)
        rotated = self.admin("keys", "rotate", "--alg", "ES256", "--json")["rotated"][0]["kid"]
        for node in (self.a, self.b):
            self.assertTrue(wait_until(lambda: rotated in kids(node), PROPAGATION_BOUND), node)
            self.assertEqual(signing_kid(node), old)  # published, not signing yet
        self.admin("keys", "rotate", "--alg", "ES256", "--now")
        for node in (self.a, self.b):
            self.assertTrue(wait_until(lambda: signing_kid(node) == rotated, PROPAGATION_BOUND), node)
            self.assertIn(old, kids(node))
        self.assertTrue(wait_until(lambda: self.jwks_of(self.a) == self.jwks_of(self.b), PROPAGATION_BOUND))

    def test_client_registered_before_start_works_at_both_nodes(self):
        for node in (self.a, self.b):
            r = self.client_credentials(node, SVC, self.svc["client_secret"])
            self.assertEqual(r.status_code, 200, f"{node}: {r.text}")
            claims = self.verify_with_jwks_of(self.b if node == self.a else self.a, r.json()["access_token"])
            self.assertEqual(claims["client_id"], SVC)
            wrong = self.client_credentials(node, SVC, "not-the-secret")
            self.assertEqual(wrong.status_code, 401, wrong.text)

    def test_client_created_and_deleted_while_running_reaches_both_nodes(self):
        client_id = "mn-live"
        for node in (self.a, self.b):
            self.assertEqual(self.client_credentials(node, client_id, "x").status_code, 401)
        started = time.monotonic()
        created = self.admin("client", "create", "--id", client_id, "--scope", "api", "--json")
        written = time.monotonic()
        secret = created["client_secret"]
        seen = self.first_seen(lambda node: self.client_credentials(node, client_id, secret).status_code == 200)
        print(f"\n[multinode] new client accepted after the admin command returned: "
              f"A {seen[self.a]:.2f} s, B {seen[self.b]:.2f} s (the command itself took {written - started:.2f} s)",
              file=sys.stderr)
        # Deleting must reach both nodes too: a node that kept a deleted client would keep issuing.
        self.admin("client", "delete", client_id)
        gone = self.first_seen(lambda node: self.client_credentials(node, client_id, secret).status_code == 401)
        print(f"[multinode] deleted client refused after: A {gone[self.a]:.2f} s, B {gone[self.b]:.2f} s",
              file=sys.stderr)

    def first_seen(self, accepted):
        """Seconds until `accepted(node)` held at each node, polled every 50 ms; fails past the bound."""
        start = time.monotonic()
        seen = {}
        while len(seen) < 2 and time.monotonic() - start < PROPAGATION_BOUND:
            for node in (self.a, self.b):
                if node not in seen and accepted(node):
                    seen[node] = time.monotonic() - start
            time.sleep(0.05)
        missing = [name for name, node in (("A", self.a), ("B", self.b)) if node not in seen]
        self.assertFalse(missing, f"node(s) {missing} did not see the change within {PROPAGATION_BOUND} s")
        return seen

    def test_tokens_issued_at_a_are_accepted_at_b(self):
        tokens = self.tokens_at(self.flow(self.a))
        r = requests.get(self.b + "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]},
                         timeout=15)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["sub"], jwt_parts(tokens["id_token"])[1]["sub"])
        info = self.introspect(self.b, tokens["access_token"])
        self.assertIs(info["active"], True, info)
        self.assertEqual(info.get("iss"), ISSUER, info)
        self.assertIs(self.introspect(self.b, tokens["refresh_token"])["active"], True)
        # The ID token from A verifies with B's published keys.
        claims = self.verify_with_jwks_of(self.b, tokens["id_token"])
        self.assertEqual(claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0], WEB)

    def test_access_token_revoked_at_b_turns_inactive_at_a_within_the_store_poll(self):
        access = self.tokens_at(self.flow(self.a))["access_token"]
        # A remembers its answer (introspection.cache_size); B's revocation reaches it through the
        # store's revocation revision, which every node polls twice a second.
        self.assertIs(self.introspect(self.a, access)["active"], True)
        r = self.post(self.b, "/revoke", {"token": access, "token_type_hint": "access_token"},
                      (WEB, self.web["client_secret"]))
        self.assertEqual(r.status_code, 200, r.text)
        start = time.monotonic()
        self.assertIs(self.introspect(self.b, access)["active"], False, "at once where it was revoked")
        while self.introspect(self.a, access)["active"] and time.monotonic() - start < PROPAGATION_BOUND:
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        self.assertIs(self.introspect(self.a, access)["active"], False)
        self.assertLess(elapsed, 2.0, "within the half-second poll, with room for a busy machine")

    def test_code_issued_at_a_is_redeemed_at_b_exactly_once(self):
        code, verifier = self.code_at(self.flow(self.a))
        r = self.redeem(self.b, code, verifier)
        self.assertEqual(r.status_code, 200, r.text)
        claims = self.verify_with_jwks_of(self.a, r.json()["id_token"])
        self.assertEqual(claims["iss"], ISSUER)
        self.assert_invalid_grant(self.redeem(self.a, code, verifier))
        self.assert_invalid_grant(self.redeem(self.b, code, verifier))

    def test_refresh_token_issued_at_a_is_rotated_at_b_and_its_replay_at_a_fails(self):
        tokens = self.tokens_at(self.flow(self.a))
        r0 = tokens["refresh_token"]
        rotated = self.refresh(self.b, r0)
        self.assertEqual(rotated.status_code, 200, rotated.text)
        r1 = rotated.json()["refresh_token"]
        self.assertNotEqual(r1, r0)
        self.assert_invalid_grant(self.refresh(self.a, r0))
        # RFC 9700 4.14.2 (grace window 0): the reuse revoked the family, the successor included.
        self.assert_invalid_grant(self.refresh(self.b, r1))
        self.assert_invalid_grant(self.refresh(self.a, r1))

    def test_sign_in_at_a_and_logout_at_b_ends_the_session(self):
        flow = self.flow(self.a)
        tokens = self.tokens_at(flow)
        # The browser's cookies for A. Browsers (and requests' jar) do not key cookies by port, so
        # a real browser would send them to B on the same host anyway; they are passed explicitly
        # here so the test does not depend on that.
        cookie = "; ".join(f"{c.name}={c.value}" for c in flow.s.cookies)
        self.assertTrue(cookie, "A set no cookie")
        self.assertTrue(self.signed_in(self.a, cookie))
        self.assertTrue(self.signed_in(self.b, cookie), "B does not know A's session")
        self.assertIs(self.introspect(self.a, tokens["refresh_token"])["active"], True)
        r = requests.get(self.b + "/logout", params={"id_token_hint": tokens["id_token"], "state": "bye",
                                                     "post_logout_redirect_uri": WEB_BYE},
                         headers={"Cookie": cookie}, allow_redirects=False, timeout=15)
        self.assertEqual(r.status_code, 302, r.text[:300])
        self.assertTrue(r.headers["Location"].startswith(WEB_BYE), r.headers["Location"])
        self.assertEqual(single(query_of(r.headers["Location"]), "state"), "bye")
        # A still holds the old cookie (B's clearing Set-Cookie never reached A's jar): the session
        # must be over in the database, not just in the browser.
        self.assertFalse(self.signed_in(self.a, cookie))
        self.assertFalse(self.signed_in(self.b, cookie))
        self.assertIs(self.introspect(self.a, tokens["refresh_token"])["active"], False)

    def failed_login(self, node, username):
        """One sign-in at `node` with a wrong password; the status of POST /login (401 counted, 429
        refused by the throttle) and the response."""
        flow = self.flow(node)
        params, _ = self.authorize_params()
        page = flow.authorize(params)
        self.assertEqual(page.status_code, 200, page.text[:300])
        r = flow.login(page, username, "not-the-password")
        return r.status_code, r

    def test_failed_sign_ins_spread_over_both_nodes_are_counted_together(self):
        # login.account_free_failures is 5 (the default): failures 1-5 are free, the 6th locks the
        # account for 2 s. Alternating nodes, each node sees only 3 of them; the lock must still
        # hold at both (the counts are in the database, not in each node's memory).
        username = "ghost-" + os.urandom(4).hex()
        nodes = [self.a, self.b]
        for i in range(6):
            status, r = self.failed_login(nodes[i % 2], username)
            self.assertEqual(status, 401, f"failure {i + 1}: {r.text[:300]}")
        for node in nodes:
            status, r = self.failed_login(node, username)
            self.assertEqual(status, 429, f"{node} let a locked account try again: {r.text[:300]}")
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
        # Another account is not locked (the address's own budget, 20, is not spent).
        status, _ = self.failed_login(self.b, "other-" + os.urandom(4).hex())
        self.assertEqual(status, 401)

    def test_racing_redemptions_of_one_code_at_both_nodes_have_one_winner(self):
        flow = self.flow(self.a)
        at_a, at_b = self.warm_sessions()
        for i in range(RACE_ROUNDS):
            code, verifier = self.code_at(flow)
            results = self.race(lambda: self.redeem(self.a, code, verifier, at_a),
                                lambda: self.redeem(self.b, code, verifier, at_b))
            self.assert_exactly_one_wins(results, f"round {i}")

    def test_racing_rotations_of_one_refresh_token_at_both_nodes_have_one_winner(self):
        flow = self.flow(self.a)
        at_a, at_b = self.warm_sessions()
        for i in range(RACE_ROUNDS):
            refresh_token = self.tokens_at(flow)["refresh_token"]
            results = self.race(lambda: self.refresh(self.a, refresh_token, at_a),
                                lambda: self.refresh(self.b, refresh_token, at_b))
            self.assert_exactly_one_wins(results, f"round {i}")


if __name__ == "__main__":
    unittest.main()
