"""End-to-end: Latchkey behind a reverse proxy. `trusted_proxies` decides whose X-Forwarded-For is
believed; the per-address sign-in throttle (login.ip_free_failures) shows which address a request
was counted against. The test itself plays the proxy: every request comes from 127.0.0.1.

- trusted_proxies: 127.0.0.1 -> two clients named by X-Forwarded-For are throttled separately, a
  client cannot escape by putting another address to the left of the one the proxy appended, and
  the logs carry both the client and the proxy;
- no trusted_proxies (the default) -> the header is ignored: a spoofed header does not escape;
- a bad trusted_proxies entry stops every command with a message naming it.
"""

import http.client
import json
import os
import shutil
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import cli, wait_until  # noqa: E402
from signin_helpers import Flow, Page, SignInServerTestCase, create_code_client, pkce_pair  # noqa: E402

CLIENT = "rp-proxy"
CALLBACK = "https://rp.example.com/cb"
THROTTLED = 429
MAX_ATTEMPTS = 6  # ip_free_failures is 1: the third failure from one address at the latest is refused


class ProxyBase(SignInServerTestCase):
    """One server per class; the account throttle is out of the way (every attempt uses a new
    username), so a 429 can only come from the per-address throttle."""

    extra_env = {}

    @classmethod
    def setUpClass(cls):
        cls.server_env = {"LATCHKEY_LOGIN_IP_FREE_FAILURES": "1",
                          "LATCHKEY_LOGIN_ACCOUNT_FREE_FAILURES": "1000",
                          "LATCHKEY_LOGIN_MAX_LOCKOUT": "600", **cls.extra_env}
        super().setUpClass()

    @classmethod
    def setup_data(cls, d):
        create_code_client(d, CLIENT, [CALLBACK], "openid", public=True)

    def failed_login(self, forwarded_for=None):
        """One sign-in with a wrong password (a fresh browser, a username never seen before), sent
        with X-Forwarded-For: `forwarded_for` (a string, or a list for several header lines).
        Returns the status of POST /login: 401 counted, 429 refused by the throttle."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        _, challenge = pkce_pair()
        page = flow.authorize({"response_type": "code", "client_id": CLIENT, "redirect_uri": CALLBACK,
                               "scope": "openid", "state": "s", "code_challenge": challenge,
                               "code_challenge_method": "S256"})
        self.assertEqual(page.status_code, 200, page.text[:300])
        username = "nobody-" + os.urandom(4).hex()
        if forwarded_for is None:
            return flow.login(page, username, "wrong-password").status_code
        if isinstance(forwarded_for, str):
            forwarded_for = [forwarded_for]
        # requests folds one header name into one line; several lines need the raw client.
        if len(forwarded_for) == 1:
            flow.s.headers["X-Forwarded-For"] = forwarded_for[0]
            return flow.login(page, username, "wrong-password").status_code
        return self.raw_login(flow, page, username, forwarded_for)

    def raw_login(self, flow, page, username, lines):
        """POST /login with one X-Forwarded-For header line per item of `lines`."""
        form = Page(page.text).form("/login")
        body = urllib.parse.urlencode({**form.inputs, "username": username, "password": "wrong-password"})
        host, port = self.server.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=15)
        self.addCleanup(conn.close)
        conn.putrequest("POST", "/login")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in flow.s.cookies.get_dict().items()))
        for line in lines:
            conn.putheader("X-Forwarded-For", line)
        conn.endheaders(body.encode())
        return conn.getresponse().status

    def throttle(self, forwarded_for=None):
        """Fails sign-ins from one address until the throttle refuses; returns the statuses."""
        statuses = []
        while len(statuses) < MAX_ATTEMPTS and THROTTLED not in statuses:
            statuses.append(self.failed_login(forwarded_for))
        self.assertEqual(statuses[-1], THROTTLED, f"never throttled: {statuses}")
        self.assertTrue(all(s == 401 for s in statuses[:-1]), statuses)
        self.assertGreaterEqual(len(statuses), 2, "the first failure is free")
        return statuses


class TrustedProxy(ProxyBase):
    """trusted_proxies: 127.0.0.1 (a comma-separated list in the environment)."""

    extra_env = {"LATCHKEY_TRUSTED_PROXIES": "127.0.0.1, 2001:db8::/32"}

    def test_forwarded_clients_are_throttled_separately(self):
        self.throttle("198.51.100.1")
        # The client stays throttled however it tries: an address of its choosing to the left of
        # the one the proxy appended, or a header line of its own before the proxy's. (These
        # come first: refused attempts cost no password hash, so they all land within the lock.)
        self.assertEqual(self.failed_login("198.51.100.1"), THROTTLED)
        self.assertEqual(self.failed_login("203.0.113.77, 198.51.100.1"), THROTTLED)
        self.assertEqual(self.failed_login(["203.0.113.77", "198.51.100.1"]), THROTTLED)
        # Trusted hops to the right are skipped; spellings of one address are one address.
        self.assertEqual(self.failed_login("198.51.100.1, 2001:db8::7"), THROTTLED)
        self.assertEqual(self.failed_login("::ffff:198.51.100.1"), THROTTLED)
        self.assertEqual(self.failed_login("198.51.100.1:50123"), THROTTLED)
        # Garbage is never believed, nor skipped to reach the address left of it: the walk stops
        # at the last trusted hop (here the proxy itself), so this failure is not the client's.
        self.assertEqual(self.failed_login("198.51.100.1, unknown"), 401)
        # Another client behind the same proxy is not affected.
        self.assertEqual(self.failed_login("198.51.100.2"), 401)

    def test_logs_name_the_client_and_the_proxy(self):
        self.assertEqual(self.failed_login("192.0.2.44"), 401)

        def find(predicate):
            for line in list(self.server.lines):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if predicate(event):
                    return event
            return None

        def request_line():
            return find(lambda e: e.get("msg") == "request" and e.get("path") == "/login"
                        and e.get("remote") == "192.0.2.44")

        def audit_event():
            return find(lambda e: e.get("event") == "login_failed" and e.get("remote_address") == "192.0.2.44")

        self.assertTrue(wait_until(lambda: request_line() and audit_event(), timeout=10),
                        self.server.log_text()[-3000:])
        self.assertEqual(request_line()["peer"], "127.0.0.1")
        self.assertEqual(audit_event()["peer_address"], "127.0.0.1")


class NoTrustedProxies(ProxyBase):
    """The default: X-Forwarded-For is ignored, whoever sends it."""

    def test_a_spoofed_header_does_not_escape_the_throttle(self):
        self.throttle("198.51.100.1")
        for spoofed in ("198.51.100.2", "203.0.113.9, 198.51.100.3", None):
            with self.subTest(x_forwarded_for=spoofed):
                self.assertEqual(self.failed_login(spoofed), THROTTLED)

    def test_logs_show_the_peer_only(self):
        self.failed_login("192.0.2.55")

        def lines():
            out = []
            for line in list(self.server.lines):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("msg") == "request" and event.get("path") == "/login":
                    out.append(event)
            return out

        self.assertTrue(wait_until(lambda: lines(), timeout=10), self.server.log_text()[-3000:])
        for event in lines():
            self.assertEqual(event["remote"], "127.0.0.1")
            self.assertNotIn("peer", event)


class BadTrustedProxies(unittest.TestCase):
    """A bad entry stops every command before it does anything (exit status 2), naming the entry."""

    def test_bad_entries_are_refused_with_a_clear_message(self):
        data_dir = tempfile.mkdtemp(prefix="latchkey-proxy-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        cases = {
            "proxy.internal": "'proxy.internal' is not an IP address or CIDR range",
            "10.0.0.1/8": "'10.0.0.1/8' has bits set past its prefix length",
            "127.0.0.1, 10.0.0.0/33": "'10.0.0.0/33' has a bad prefix length",
        }
        for value, message in cases.items():
            with self.subTest(value=value):
                rc, _, err = cli("client", "list", data_dir=data_dir, check=False,
                                 env={"LATCHKEY_TRUSTED_PROXIES": value})
                self.assertEqual(rc, 2, err)
                self.assertIn("'trusted_proxies' from LATCHKEY_TRUSTED_PROXIES", err)
                self.assertIn(message, err)
        rc, _, err = cli("client", "list", data_dir=data_dir, check=False,
                         env={"LATCHKEY_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, fd00::/8"})
        self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
