"""End-to-end: logout. OpenID Connect RP-Initiated Logout 1.0 (/logout) driven like a browser, and
Back-Channel Logout 1.0 received by a small HTTP listener started here, which validates each
logout token's signature (jwcrypto, against the provider's JWKS) and claims.
"""

import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import basic, cli, wait_until  # noqa: E402
from signin_helpers import (Flow, Page, SignInServerTestCase, add_user, create_code_client,  # noqa: E402
                            jwt_parts, pkce_pair, query_of, single, verify_id_token)

RP1, RP1_CB, RP1_BYE = "bc-rp1", "https://rp1.example.com/cb", "https://rp1.example.com/bye?from=op"
RP2, RP2_CB = "bc-rp2", "https://rp2.example.com/cb"
RP3, RP3_CB = "bc-rp3", "https://rp3.example.com/cb"  # no back-channel URI
PASSWORD = "lena-password-123"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver(http.server.ThreadingHTTPServer):
    """The RPs' back-channel logout endpoints: records every POST; /flaky answers 503 at first."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.received = []  # (path, form fields, content type)
        self.flaky_failures = {}  # path -> how many more 503s to answer
        self.lock = threading.Lock()

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def bodies(self, path):
        with self.lock:
            return [fields for p, fields, _ in self.received if p == path]


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        server = self.server
        with server.lock:
            failing = server.flaky_failures.get(self.path, 0)
            if failing > 0:
                server.flaky_failures[self.path] = failing - 1
            else:
                server.received.append((self.path, urllib.parse.parse_qs(body), self.headers.get("Content-Type")))
        # Back-Channel Logout §2.8: 200 on success; 503 for the retry test.
        self.send_response(503 if failing > 0 else 200)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Logout(SignInServerTestCase):

    @classmethod
    def setup_data(cls, d):
        cls.receiver = Receiver()
        threading.Thread(target=cls.receiver.serve_forever, daemon=True).start()
        cls.rp1 = create_code_client(d, RP1, [RP1_CB], "openid profile offline_access", name="Shop")
        cli("client", "update", RP1, "--post-logout-redirect-uri", RP1_BYE,
            "--backchannel-logout-uri", cls.receiver.url("/rp1"), "--backchannel-logout-session-required", "true",
            data_dir=d)
        cls.rp2 = create_code_client(d, RP2, [RP2_CB], "openid profile offline_access", name="Blog")
        cli("client", "update", RP2, "--backchannel-logout-uri", cls.receiver.url("/rp2"), data_dir=d)
        cls.rp3 = create_code_client(d, RP3, [RP3_CB], "openid", name="Forum")
        add_user(d, "lena", PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.receiver.shutdown()
        cls.receiver.server_close()
        super().tearDownClass()

    def sign_in(self, client, cb, secret, flow=None):
        if flow is None:
            flow = Flow(self.url)
            self.addCleanup(flow.s.close)
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client, "redirect_uri": cb,
                  "scope": "openid profile offline_access" if client != RP3 else "openid", "state": "s",
                  "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"}
        r, _, _ = flow.sign_in(params, "lena", PASSWORD)
        code = flow.code_from(r, cb)
        t = self.http.post(self.url + "/token", data={"grant_type": "authorization_code", "code": code,
                                                       "redirect_uri": cb, "code_verifier": verifier},
                           headers={"Authorization": basic(client, secret)}, timeout=10)
        self.assertEqual(t.status_code, 200, t.text)
        return t.json(), flow

    def verify_logout_token(self, token, audience, sid, sub):
        from jwcrypto import jwk, jwt
        keys = jwk.JWKSet.from_json(self.http.get(self.meta["jwks_uri"], timeout=5).text)
        verified = jwt.JWT(jwt=token, key=keys, algs=["RS256", "PS256", "ES256", "EdDSA"],
                           check_claims={"iss": self.url, "aud": audience, "iat": None, "exp": None})
        header = json.loads(verified.header)
        claims = json.loads(verified.claims)
        # Back-Channel Logout §2.4 and §2.6.
        self.assertEqual(header["typ"], "logout+jwt")
        self.assertEqual(claims["events"], {EVENT: {}})
        self.assertNotIn("nonce", claims)
        self.assertTrue(claims["jti"])
        self.assertLessEqual(claims["exp"] - claims["iat"], 300)
        self.assertEqual(claims["sid"], sid)
        self.assertEqual(claims["sub"], sub)
        return claims

    def introspect_active(self, token, client, secret):
        r = self.http.post(self.url + "/introspect", data={"token": token},
                           headers={"Authorization": basic(client, secret)}, timeout=10)
        return r.json()["active"]

    def signed_in(self, flow):
        verifier, challenge = pkce_pair()
        r = flow.authorize({"response_type": "code", "client_id": RP3, "redirect_uri": RP3_CB, "scope": "openid",
                            "prompt": "none", "code_challenge": challenge, "code_challenge_method": "S256"})
        return "code" in query_of(r.headers.get("Location", ""))

    # --- tests ------------------------------------------------------------------------------------

    def test_discovery(self):
        self.assertEqual(self.meta["end_session_endpoint"], self.url + "/logout")
        self.assertIs(self.meta["backchannel_logout_supported"], True)
        self.assertIs(self.meta["backchannel_logout_session_supported"], True)

    def test_rp_initiated_logout_with_hint_redirects_and_notifies_every_client(self):
        self.receiver.flaky_failures["/rp2"] = 1  # the first delivery to RP2 fails: retried
        t1, flow = self.sign_in(RP1, RP1_CB, self.rp1["client_secret"])
        t2, _ = self.sign_in(RP2, RP2_CB, self.rp2["client_secret"], flow=flow)
        _, claims = verify_id_token(self.http, self.meta, t1["id_token"], RP1)
        sid, sub = claims["sid"], claims["sub"]
        before1, before2 = len(self.receiver.bodies("/rp1")), len(self.receiver.bodies("/rp2"))
        r = flow.s.get(self.url + "/logout", params={"id_token_hint": t1["id_token"], "state": "bye-1",
                                                     "post_logout_redirect_uri": RP1_BYE},
                       allow_redirects=False, timeout=10)
        # RP-Initiated Logout §3: to the registered URI, its own query kept, state added.
        self.assertEqual(r.status_code, 302, r.text[:300])
        location = r.headers["Location"]
        self.assertTrue(location.startswith("https://rp1.example.com/bye?"), location)
        q = query_of(location)
        self.assertEqual(single(q, "from"), "op")
        self.assertEqual(single(q, "state"), "bye-1")
        self.assertIn("Max-Age=0", r.headers.get("Set-Cookie", ""))
        # Both RPs of the session are told, RP2 after one retry (Back-Channel Logout §2.5, §2.8).
        self.assertTrue(wait_until(lambda: len(self.receiver.bodies("/rp1")) > before1 and
                                   len(self.receiver.bodies("/rp2")) > before2, 15),
                        self.server.log_text()[-3000:])
        body1 = self.receiver.bodies("/rp1")[-1]
        body2 = self.receiver.bodies("/rp2")[-1]
        self.verify_logout_token(single(body1, "logout_token"), RP1, sid, sub)
        self.verify_logout_token(single(body2, "logout_token"), RP2, sid, sub)
        self.assertTrue(wait_until(lambda: '"event":"backchannel_logout_delivered"' in self.server.log_text() and
                                   '"attempts":2' in self.server.log_text(), 10))
        # The session is over: its refresh tokens are revoked and the browser must sign in again.
        self.assertFalse(self.introspect_active(t1["refresh_token"], RP1, self.rp1["client_secret"]))
        self.assertFalse(self.introspect_active(t2["refresh_token"], RP2, self.rp2["client_secret"]))
        self.assertFalse(self.signed_in(flow))
        self.assertIn('"event":"logout"', self.server.log_text())

    def test_untrusted_request_asks_first_and_stay_keeps_the_session(self):
        _, flow = self.sign_in(RP3, RP3_CB, self.rp3["client_secret"])
        r = flow.s.get(self.url + "/logout", params={"client_id": RP1, "post_logout_redirect_uri": RP1_BYE,
                                                     "state": "st"}, allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200)
        page = Page(r.text)
        self.assertIsNotNone(page.form("/logout"), page.text[:300])
        self.assertIn("Shop", page.text)
        stay = flow.submit(r, "/logout", {"decision": "stay"})
        self.assertEqual(stay.status_code, 200)
        self.assertIn("still signed in", Page(stay.text).text)
        self.assertTrue(self.signed_in(flow))
        out = flow.submit(r, "/logout", {"decision": "logout"})
        self.assertEqual(out.status_code, 303)
        self.assertEqual(query_of(out.headers["Location"])["state"], ["st"])
        self.assertFalse(self.signed_in(flow))

    def test_a_third_party_cannot_log_people_out(self):
        _, flow = self.sign_in(RP3, RP3_CB, self.rp3["client_secret"])
        # A bare GET (a link or image on another site) only shows the confirmation page.
        r = flow.s.get(self.url + "/logout", allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertTrue(self.signed_in(flow))
        # A forged confirmation without our CSRF token is refused.
        forged = flow.s.post(self.url + "/logout", data={"decision": "logout", "csrf": "x"}, timeout=10)
        self.assertEqual(forged.status_code, 403)
        self.assertTrue(self.signed_in(flow))

    def test_unregistered_redirect_and_bad_hint_are_refused_without_redirect(self):
        t, flow = self.sign_in(RP1, RP1_CB, self.rp1["client_secret"])
        for params in ({"id_token_hint": t["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
                       {"post_logout_redirect_uri": RP1_BYE},  # no client identified
                       {"id_token_hint": t["id_token"][:-4] + "AAAA", "post_logout_redirect_uri": RP1_BYE},
                       {"id_token_hint": t["id_token"], "client_id": RP2},  # not the hint's audience
                       {"client_id": "nobody"}):
            r = flow.s.get(self.url + "/logout", params=params, allow_redirects=False, timeout=10)
            self.assertEqual(r.status_code, 400, params)
            self.assertNotIn("Location", r.headers)
        self.assertTrue(self.signed_in(flow))
        r = flow.s.get(self.url + "/logout?client_id=a&client_id=b", allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 400)

    def test_without_a_session_the_redirect_still_happens(self):
        t, _ = self.sign_in(RP1, RP1_CB, self.rp1["client_secret"])
        other = Flow(self.url)  # a browser that never signed in
        self.addCleanup(other.s.close)
        r = other.s.post(self.url + "/logout", data={"id_token_hint": t["id_token"], "post_logout_redirect_uri": RP1_BYE},
                         allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 303, r.text[:300])
        self.assertTrue(r.headers["Location"].startswith("https://rp1.example.com/bye"))
        # Nothing of the real session was touched.
        self.assertTrue(self.introspect_active(t["refresh_token"], RP1, self.rp1["client_secret"]))


if __name__ == "__main__":
    unittest.main()
