"""End-to-end: the two SDK example apps against the real binary, driven like a person would.

examples/sdk/web_app.cpp (a server-side web app, Boost.Beast + latchkey::client): sign-in through
Latchkey's login and consent pages, the session cookie's attributes and rotation, the callback
accepted once and only with the session that started it, error callbacks, and logout with
RP-Initiated Logout. examples/sdk/device_cli.cpp (RFC 8628): approval and denial through Latchkey's
/device page, and Ctrl-C while it polls.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cli, create_client, stop_process  # noqa: E402
from signin_helpers import Flow, Page, SignInServerTestCase, add_user, create_code_client, query_of, single  # noqa: E402

WEBAPP = os.environ.get("LATCHKEY_EXAMPLE_WEBAPP", "build/dev/examples/latchkey-example-webapp")
DEVICE = os.environ.get("LATCHKEY_EXAMPLE_DEVICE", "build/dev/examples/latchkey-example-device")

SCOPES = "openid profile email offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PASSWORD = "wendy-password-123"
NORA_PASSWORD = "nora-password-123"
SUB = re.compile(r'<code id="sub">([^<]*)</code>')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """An example program: its stdout and stderr lines are collected by threads, so waiting for a
    line is bounded and never blocks on a pipe."""

    def __init__(self, args, env=None):
        self.lines = []
        self.errors = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})))
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True).start()

    def _read(self, pipe, into):
        for line in pipe:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        pipe.close()
        with self._changed:
            self._changed.notify_all()

    def wait_line(self, prefix, timeout=20):
        """The first stdout line that starts with `prefix`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._changed.wait(0.2)):
                    raise AssertionError(f"no line {prefix!r} (exit {self.proc.poll()}): {self.output()}")
                self._changed.wait(min(left, 0.5))

    def output(self):
        return "\n".join(self.lines + self.errors)

    def stop(self):
        return stop_process(self.proc, timeout=10)


class SdkWebApp(SignInServerTestCase):
    """examples/sdk/web_app.cpp. Latchkey accepts http://127.0.0.1 redirect URIs only for public
    clients, so the app runs without a secret here."""

    @classmethod
    def setup_data(cls, d):
        # The loopback redirect URI may use any port (RFC 8252 §7.3), but the post-logout redirect
        # URI is matched exactly (RP-Initiated Logout §3), so the app's port is chosen here.
        cls.port = free_port()
        cls.app_url = f"http://127.0.0.1:{cls.port}"
        create_code_client(d, "sdk-web", ["http://127.0.0.1/callback"], SCOPES, public=True, name="SDK Web")
        cli("client", "update", "sdk-web", "--post-logout-redirect-uri", cls.app_url + "/", data_dir=d)
        cls.wendy = add_user(d, "wendy", PASSWORD, "--name", "Wendy Webb", "--email", "wendy@example.com")
        cls.nora = add_user(d, "nora", NORA_PASSWORD)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.app = cls.start_app(cls.port, cls.app_url + "/")
        except BaseException:
            cls.app = None
            cls.tearDownClass()
            raise

    @classmethod
    def start_app(cls, port, post_logout=None):
        program = Program([WEBAPP, cls.url, "sdk-web", str(port)] + ([post_logout] if post_logout else []))
        try:
            line = program.wait_line("READY ")
            if port and line != f"READY {port}":
                raise AssertionError(line)
        except BaseException:
            program.stop()
            raise
        return program

    @classmethod
    def stop_app(cls, program):
        # SIGTERM stops the app cleanly: exit 0 (under AddressSanitizer, also no leak).
        code = program.stop()
        if code != 0:
            raise AssertionError(f"the example web app exited with {code}: {program.output()[-3000:]}")

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "app", None) is not None:
                cls.stop_app(cls.app)
        finally:
            super().tearDownClass()

    # --- helpers ---------------------------------------------------------------------------------

    def browser(self):
        b = requests.Session()
        self.addCleanup(b.close)
        return b

    def get(self, browser, url, **kw):
        return browser.get(url, allow_redirects=False, timeout=15, **kw)

    def start_login(self, browser, app_url=None):
        """GET /login: returns (the redirect to the provider, the Set-Cookie header)."""
        r = self.get(browser, (app_url or self.app_url) + "/login")
        self.assertEqual(r.status_code, 302, r.text[:300])
        self.assertTrue(r.headers["Location"].startswith(self.url + "/authorize?"), r.headers["Location"])
        return r.headers["Location"], r.headers.get("Set-Cookie", "")

    def through_provider(self, browser, authorize_url, username="wendy", password=PASSWORD, decision="allow",
                         app_url=None):
        """The person at Latchkey: login page, consent page. Returns the URL Latchkey sends the
        browser back to (the app's /callback)."""
        flow = Flow(self.url, session=browser)
        r = self.get(browser, authorize_url)
        for _ in range(6):
            if r.status_code in (302, 303) and r.headers["Location"].startswith((app_url or self.app_url) + "/"):
                return r.headers["Location"]
            if r.status_code in (302, 303):
                r = self.get(browser, urllib.parse.urljoin(r.url, r.headers["Location"]))
            elif r.status_code == 200 and Page(r.text).form("/login"):
                r = flow.login(r, username, password)
            elif r.status_code == 200 and Page(r.text).form("/consent"):
                r = flow.consent(r, decision)
            else:
                break
        raise AssertionError(f"the provider did not send the browser back: {r.status_code} {r.text[:300]}")

    def sign_in(self, browser, username="wendy", password=PASSWORD):
        """A whole sign-in; returns (callback URL, session id before, session id after)."""
        authorize_url, _ = self.start_login(browser)
        before = browser.cookies.get("session")
        callback = self.through_provider(browser, authorize_url, username, password)
        r = self.get(browser, callback)
        self.assertEqual(r.status_code, 302, r.text[:500])
        self.assertEqual(r.headers["Location"], "/")
        return callback, before, browser.cookies.get("session")

    def signed_in_as(self, browser=None, cookie=None, app_url=None):
        """The sub the app's / page shows, or None when it shows the signed-out page."""
        r = self.get(browser or requests, (app_url or self.app_url) + "/",
                     cookies={"session": cookie} if cookie else None)
        self.assertEqual(r.status_code, 200, r.text[:300])
        m = SUB.search(r.text)
        if m is None:
            self.assertIn('id="signed-out"', r.text)
        return m.group(1) if m else None

    def error_text(self, r):
        page = Page(r.text)
        self.assertIn("error", page.ids, r.text[:300])
        return page.text

    # --- tests -----------------------------------------------------------------------------------

    def test_sign_in_shows_the_person_and_rotates_the_session_cookie(self):
        b = self.browser()
        self.assertIsNone(self.signed_in_as(b))
        _, set_cookie = self.start_login(b)
        attributes = [a.strip() for a in set_cookie.split(";")]
        self.assertRegex(attributes[0], r"^session=[0-9a-f]{64}$")
        self.assertIn("HttpOnly", attributes)
        self.assertIn("SameSite=Lax", attributes)
        self.assertIn("Path=/", attributes)
        self.assertNotIn("Secure", attributes)  # the app's URL is http: not every browser would send it back

        callback, before, after = self.sign_in(b)
        self.assertIsNotNone(before)
        self.assertIsNotNone(after)
        self.assertNotEqual(before, after)  # session fixation: a new id once signed in
        self.assertEqual(self.signed_in_as(b), self.wendy["sub"])
        page = self.get(b, self.app_url + "/").text
        self.assertIn('<span id="name">Wendy Webb</span>', page)
        self.assertIn('<span id="email">wendy@example.com</span>', page)
        # The id from before the sign-in signs nobody in.
        self.assertIsNone(self.signed_in_as(cookie=before))
        self.assertEqual(self.signed_in_as(cookie=after), self.wendy["sub"])
        # /profile asks UserInfo with the TokenManager's access token.
        profile = self.get(b, self.app_url + "/profile")
        self.assertEqual(profile.status_code, 200, profile.text[:300])
        self.assertIn(f'<span id="claim-sub">{self.wendy["sub"]}</span>', profile.text)
        self.assertIn('<span id="claim-email">wendy@example.com</span>', profile.text)

    def test_a_replayed_callback_is_refused_and_signs_nobody_in(self):
        b = self.browser()
        callback, before, after = self.sign_in(b)
        # The same browser, its old session id, and another browser: each replay is refused.
        again = self.get(b, callback)
        self.assertEqual(again.status_code, 400)
        self.assertIn("No sign-in is in progress", self.error_text(again))
        for cookies in ({"session": before}, None):
            r = self.get(requests, callback, cookies=cookies)
            self.assertEqual(r.status_code, 400)
            self.assertNotIn("Set-Cookie", r.headers)
        self.assertIsNone(self.signed_in_as(cookie=before))
        self.assertEqual(self.signed_in_as(b), self.wendy["sub"])

    def test_a_tampered_state_is_refused_and_ends_the_attempt(self):
        b = self.browser()
        authorize_url, _ = self.start_login(b)
        callback = self.through_provider(b, authorize_url)
        state = single(query_of(callback), "state")
        forged = callback.replace("state=" + urllib.parse.quote(state, safe=""),
                                  "state=" + ("A" if state[0] != "A" else "B") + state[1:])
        self.assertNotEqual(forged, callback)
        r = self.get(b, forged)
        self.assertEqual(r.status_code, 400)
        self.assertIn("state_mismatch", self.error_text(r))
        self.assertIsNone(self.signed_in_as(b))
        # The pending request was used up: the genuine callback now fails too.
        r = self.get(b, callback)
        self.assertEqual(r.status_code, 400)
        self.assertIsNone(self.signed_in_as(b))

    def test_a_denied_consent_is_shown_as_an_error(self):
        b = self.browser()
        authorize_url, _ = self.start_login(b)
        callback = self.through_provider(b, authorize_url, "nora", NORA_PASSWORD, decision="deny")
        self.assertEqual(single(query_of(callback), "error"), "access_denied")
        r = self.get(b, callback)
        self.assertEqual(r.status_code, 400)
        self.assertIn("access_denied", self.error_text(r))
        self.assertIsNone(self.signed_in_as(b))

    def test_an_error_callback_is_shown_escaped(self):
        b = self.browser()
        authorize_url, _ = self.start_login(b)
        state = single(query_of(authorize_url), "state")
        query = urllib.parse.urlencode({"error": "access_denied", "error_description": "<b>nope</b>",
                                        "state": state, "iss": self.url})
        r = self.get(b, self.app_url + "/callback?" + query)
        self.assertEqual(r.status_code, 400)
        self.assertIn("access_denied", self.error_text(r))
        self.assertIn("&lt;b&gt;nope&lt;/b&gt;", r.text)
        self.assertNotIn("<b>nope", r.text)
        self.assertIsNone(self.signed_in_as(b))

    def test_a_callback_without_a_session_is_refused(self):
        r = self.get(requests, self.app_url + "/callback?code=abc&state=def&iss=" + urllib.parse.quote(self.url))
        self.assertEqual(r.status_code, 400)
        self.assertIn("No sign-in is in progress", self.error_text(r))
        # Nor with a session id the app never issued.
        r = self.get(requests, self.app_url + "/callback?code=abc&state=def", cookies={"session": "0" * 64})
        self.assertEqual(r.status_code, 400)

    def test_logout_ends_the_session_here_and_at_the_provider(self):
        b = self.browser()
        _, _, session_id = self.sign_in(b)
        r = self.get(b, self.app_url + "/logout")
        self.assertEqual(r.status_code, 302)
        self.assertIn("Max-Age=0", r.headers.get("Set-Cookie", ""))
        location = r.headers["Location"]
        self.assertTrue(location.startswith(self.meta["end_session_endpoint"] + "?"), location)
        q = query_of(location)
        self.assertEqual(single(q, "post_logout_redirect_uri"), self.app_url + "/")
        self.assertEqual(len(single(q, "id_token_hint").split(".")), 3)
        self.assertIsNone(self.signed_in_as(b))
        self.assertIsNone(self.signed_in_as(cookie=session_id))
        # RP-Initiated Logout: Latchkey ends its session and sends the browser back to the app.
        back = self.get(b, location)
        self.assertEqual(back.status_code, 302, back.text[:300])
        self.assertTrue(back.headers["Location"].startswith(self.app_url + "/"), back.headers["Location"])
        # Signed out at Latchkey too: the next sign-in asks for the password again.
        authorize_url, _ = self.start_login(b)
        login_page = self.get(b, authorize_url)
        self.assertIsNotNone(Page(login_page.text).form("/login"), login_page.text[:300])

    def test_the_app_may_listen_on_any_port(self):
        app = self.start_app(0)
        self.addCleanup(self.stop_app, app)
        app_url = "http://127.0.0.1:" + app.wait_line("READY ").split()[1]
        b = self.browser()
        authorize_url, _ = self.start_login(b, app_url)
        self.assertEqual(single(query_of(authorize_url), "redirect_uri"), app_url + "/callback")
        callback = self.through_provider(b, authorize_url, app_url=app_url)
        r = self.get(b, callback)
        self.assertEqual(r.status_code, 302, r.text[:500])
        self.assertEqual(self.signed_in_as(b, app_url=app_url), self.wendy["sub"])


class SdkDeviceCli(SignInServerTestCase):
    """examples/sdk/device_cli.cpp with a public device client (RFC 8628)."""

    server_env = {"LATCHKEY_DEVICE_POLL_INTERVAL": "1"}

    @classmethod
    def setup_data(cls, d):
        create_client(d, "sdk-tv", "--public", "--name", "SDK TV", "--grant-type", DEVICE_GRANT,
                      "--grant-type", "refresh_token", "--scope", "openid", "--scope", "profile",
                      "--scope", "offline_access")
        cls.dora = add_user(d, "dora", PASSWORD)

    def start(self):
        program = Program([DEVICE, self.url, "sdk-tv"])
        self.addCleanup(program.stop)
        user_code = program.wait_line("user_code: ").split(": ", 1)[1]
        self.assertRegex(user_code, r"^[A-Z]{4}-[A-Z]{4}$")
        self.assertEqual(program.wait_line("verification_uri: "), "verification_uri: " + self.url + "/device")
        self.assertEqual(program.wait_line("verification_uri_complete: "),
                         "verification_uri_complete: " + self.url + "/device?user_code=" + user_code)
        return program, user_code

    def decide(self, user_code, decision):
        """A person at a browser: types the code at /device, signs in, approves or denies."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        entry = flow.s.get(self.url + "/device", timeout=15)
        r = flow.submit(entry, "/device", {"user_code": user_code})
        self.assertIsNotNone(Page(r.text).form("/login"), r.text[:300])
        r = flow.login(r, "dora", PASSWORD)
        self.assertEqual(r.status_code, 303, r.text[:300])
        r = flow.s.get(self.url + r.headers["Location"], allow_redirects=False, timeout=15)
        self.assertIn(user_code, Page(r.text).text)
        done = flow.submit(r, "/device", {"decision": decision})
        self.assertEqual(done.status_code, 200, done.text[:300])

    def finish(self, program, timeout=30):
        try:
            program.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the device CLI did not finish: " + program.output())
        return program.proc.returncode

    def test_approval_signs_the_person_in(self):
        program, user_code = self.start()
        self.decide(user_code, "approve")
        self.assertEqual(self.finish(program), 0, program.output())
        self.assertEqual(program.wait_line("signed-in: "), "signed-in: sub=" + self.dora["sub"])
        self.assertEqual(program.wait_line("refresh-token: "), "refresh-token: yes")

    def test_denial_exits_1_with_access_denied(self):
        program, user_code = self.start()
        self.decide(user_code, "deny")
        self.assertEqual(self.finish(program), 1, program.output())
        self.assertIn("access_denied", program.wait_line("error: "))
        self.assertFalse(any(line.startswith("signed-in") for line in program.lines), program.output())

    def test_sigint_while_polling_exits_130_at_once(self):
        program, _ = self.start()
        started = time.monotonic()
        program.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.finish(program, timeout=10), 130, program.output())
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(program.wait_line("cancelled"), "cancelled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
