"""Browser: a person signs in with Debian's Chromium (headless, driven by playwright-core from
tests/browser/node_modules, which scripts/deps.sh installs) against the real binary in dev mode.

Starts the server (tests/e2e/harness.py), registers a public PKCE client whose redirect URI is a
port this driver picked, and runs signin.mjs, which listens on that port for the callback.

The device flow (RFC 8628): this driver plays the device (a public client "tv"): it starts the
device authorization, polls the token endpoint from a thread honouring interval and slow_down,
while signin.mjs --user-code plays the person at /device (code typed in lower case, sign-in,
Allow). The poller must then receive the tokens within a bounded time.

Screenshots (login.png, consent.png, error.png, login-error.png, device-entry.png, device-login.png,
device-confirm.png, device-done.png) go to $LATCHKEY_TEST_OUTPUT, else build/dev/test-output/browser.
Exit code 77 (ctest SKIP_RETURN_CODE) when Chromium, node or the node modules are missing.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import create_client  # noqa: E402
from signin_helpers import SignInServerTestCase, create_code_client, verify_id_token  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
CLIENT_ID = "browser-rp"
CLIENT_NAME = "Browser Test App"
DEVICE_CLIENT_ID = "tv"
DEVICE_CLIENT_NAME = "Living Room TV"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The poller's whole life, and how long it may take to see the tokens once the person allowed.
POLL_LIFETIME = 120
TOKENS_AFTER_ALLOW = 30


def missing():
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (scripts/deps.sh installs Debian's chromium)"
    if NODE is None:
        return "node is missing (scripts/deps.sh installs nodejs)"
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        return "tests/browser/node_modules is missing (scripts/deps.sh runs npm ci there)"
    return None


MISSING = missing()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevicePoller(threading.Thread):
    """The device's half of RFC 8628 §3.4/§3.5: polls the token endpoint with the device code,
    waiting `interval` seconds before each request and 5 more for good after each slow_down, until
    it gets tokens, a final error, `stop` is set, or POLL_LIFETIME passes. Every answer is kept in
    `errors` (the error codes, in order); `tokens` is the 200 body, `done` is set when it ends."""

    def __init__(self, token_endpoint, device_code, client_id, interval):
        super().__init__(daemon=True)
        self.token_endpoint = token_endpoint
        self.device_code = device_code
        self.client_id = client_id
        self.interval = interval
        self.errors = []
        self.tokens = None
        self.tokens_at = None  # time.monotonic() when the tokens arrived
        self.failure = None
        self.stop = threading.Event()
        self.done = threading.Event()

    def run(self):
        deadline = time.monotonic() + POLL_LIFETIME
        try:
            with requests.Session() as http:
                # §3.5: the interval is the minimum wait between requests, the first one included.
                while not self.stop.wait(self.interval):
                    if time.monotonic() > deadline:
                        self.failure = f"no tokens within {POLL_LIFETIME} s"
                        return
                    r = http.post(self.token_endpoint, data={"grant_type": DEVICE_CODE_GRANT,
                                                             "device_code": self.device_code,
                                                             "client_id": self.client_id}, timeout=10)
                    if r.status_code == 200:
                        self.tokens_at = time.monotonic()
                        self.tokens = r.json()
                        return
                    error = r.json().get("error") if r.headers.get("Content-Type", "").startswith(
                        "application/json") else None
                    self.errors.append(error or f"HTTP {r.status_code}")
                    if error == "slow_down":
                        self.interval += 5  # §3.5: for this and all later requests
                    elif error != "authorization_pending":
                        self.failure = f"token endpoint answered {r.status_code} {r.text[:300]}"
                        return
        except Exception as e:  # noqa: BLE001 - reported by the test, not lost in the thread
            self.failure = f"poller: {e!r}"
        finally:
            self.done.set()


@unittest.skipIf(MISSING, f"browser test skipped: {MISSING}")
class BrowserSignIn(SignInServerTestCase):
    # The device flow's poll interval (seconds), so the test need not wait the default 5 s.
    server_env = {"LATCHKEY_DEVICE_POLL_INTERVAL": "1"}

    @classmethod
    def setup_data(cls, data_dir):
        cls.redirect_port = free_port()
        create_code_client(data_dir, CLIENT_ID, [f"http://127.0.0.1:{cls.redirect_port}/cb"],
                           "openid profile email", public=True, name=CLIENT_NAME, refresh=False)
        create_client(data_dir, DEVICE_CLIENT_ID, "--public", "--name", DEVICE_CLIENT_NAME,
                      "--grant-type", DEVICE_CODE_GRANT, "--grant-type", "refresh_token",
                      "--scope", "openid", "--scope", "profile")

    def output_dir(self, shots):
        """The screenshot directory, without stale copies of `shots` (so a skipped step shows)."""
        out = os.environ.get("LATCHKEY_TEST_OUTPUT") or os.path.join(REPO, "build", "dev", "test-output", "browser")
        os.makedirs(out, exist_ok=True)
        for name in shots:
            if os.path.exists(os.path.join(out, name)):
                os.unlink(os.path.join(out, name))
        return out

    def run_signin_mjs(self, args):
        """Runs signin.mjs with the demo user's password in its environment (not on the command
        line); fails the test unless it exits 0. Returns its output."""
        env = dict(os.environ, LK_PASSWORD=self.demo_password)
        cmd = [NODE, os.path.join(HERE, "signin.mjs"), *args, "--chromium", CHROMIUM]
        # signin.mjs bounds itself to 60 s; this is the backstop: SIGTERM (playwright then closes the
        # browser it launched), SIGKILL if that does not end it.
        proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                output, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate(timeout=10)
            output += "\nFAIL: signin.mjs did not finish within 90 s\n"
        print(output, end="")
        self.assertEqual(proc.returncode, 0, f"signin.mjs failed:\n{output}\nserver log:\n"
                                             f"{self.server.log_text()[-3000:]}")
        return output

    def assert_screenshots(self, out, shots):
        for name in shots:
            path = os.path.join(out, name)
            self.assertTrue(os.path.exists(path) and os.path.getsize(path) > 0, f"{path} missing or empty")

    def test_sign_in_with_chromium(self):
        shots = ("login.png", "consent.png", "error.png")
        out = self.output_dir(shots)
        self.run_signin_mjs(["--issuer", self.url, "--client-id", CLIENT_ID, "--client-name", CLIENT_NAME,
                             "--redirect-port", str(self.redirect_port), "--username", "demo", "--out", out])
        self.assert_screenshots(out, shots)

    def test_device_flow_with_chromium(self):
        shots = ("device-entry.png", "device-login.png", "device-confirm.png", "device-done.png")
        out = self.output_dir(shots)
        self.assertEqual(self.meta.get("device_authorization_endpoint"), self.url + "/device_authorization")

        # RFC 8628 §3.1, §3.2: the device asks for codes (a public client identifies by client_id).
        r = self.http.post(self.meta["device_authorization_endpoint"],
                           data={"client_id": DEVICE_CLIENT_ID, "scope": "openid profile"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIn("no-store", r.headers.get("Cache-Control", ""))
        grant = r.json()
        for key in ("device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in",
                    "interval"):
            self.assertIn(key, grant)
        # §6.1: upper-case consonants only (no vowels: no words), grouped 4-4.
        self.assertRegex(grant["user_code"], r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
        self.assertEqual(grant["verification_uri"], self.url + "/device")
        self.assertTrue(grant["verification_uri_complete"].startswith(self.url + "/device?"),
                        grant["verification_uri_complete"])
        self.assertEqual(grant["interval"], 1, "LATCHKEY_DEVICE_POLL_INTERVAL=1 was not applied")
        self.assertGreater(grant["expires_in"], 60)

        poller = DevicePoller(self.meta["token_endpoint"], grant["device_code"], DEVICE_CLIENT_ID,
                              grant["interval"])
        poller.start()
        try:
            # Let the device poll at least once before the person acts: it must be told to wait.
            deadline = time.monotonic() + 15
            while not poller.errors and not poller.done.is_set() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIsNone(poller.tokens, "tokens before anyone approved")
            self.assertIsNone(poller.failure, poller.failure)
            self.assertEqual(poller.errors[:1], ["authorization_pending"])

            # The person, in Chromium: /device, the code in lower case, sign in, Allow.
            self.run_signin_mjs(["--user-code", grant["user_code"], "--issuer", self.url,
                                 "--client-name", DEVICE_CLIENT_NAME, "--username", "demo", "--out", out])
            browser_done = time.monotonic()
            self.assertTrue(poller.done.wait(TOKENS_AFTER_ALLOW),
                            f"the device got no tokens within {TOKENS_AFTER_ALLOW} s of Allow; "
                            f"polls so far: {poller.errors}")
            if poller.tokens_at is not None:
                print(f"device: tokens after {len(poller.errors)} pending polls, "
                      f"{poller.tokens_at - browser_done:+.1f} s from the end of the browser run")
        finally:
            poller.stop.set()
            poller.join(15)
        self.assertIsNone(poller.failure, f"{poller.failure}\nserver log:\n{self.server.log_text()[-3000:]}")
        tokens = poller.tokens
        self.assertIsNotNone(tokens)
        self.assertTrue(tokens.get("access_token"), tokens)
        self.assertTrue(tokens.get("id_token"), tokens)
        self.assertEqual(tokens.get("token_type", "").lower(), "bearer", tokens)
        # The poller kept to the interval, so the server never had to slow it down; every answer
        # before the tokens was "keep waiting".
        self.assertEqual(set(poller.errors), {"authorization_pending"}, poller.errors)
        _, claims = verify_id_token(self.http, self.meta, tokens["id_token"], DEVICE_CLIENT_ID,
                                    access_token=tokens["access_token"])
        userinfo = self.http.get(self.meta["userinfo_endpoint"],
                                 headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10)
        self.assertEqual(userinfo.status_code, 200, userinfo.text)
        self.assertEqual(userinfo.json().get("sub"), claims["sub"])
        # The person who signed in and allowed (dev mode's demo user), with the profile scope.
        self.assertEqual(userinfo.json().get("name"), "Demo User", userinfo.json())

        # §3.5: a device code gives tokens once; the next poll (after the interval, or it would be
        # slow_down) is told the grant is spent.
        time.sleep(poller.interval)
        again = self.http.post(self.meta["token_endpoint"], data={"grant_type": DEVICE_CODE_GRANT,
                                                                  "device_code": grant["device_code"],
                                                                  "client_id": DEVICE_CLIENT_ID}, timeout=10)
        self.assertEqual(again.status_code, 400, again.text)
        self.assertEqual(again.json().get("error"), "invalid_grant", again.text)
        self.assert_screenshots(out, shots)


if __name__ == "__main__":
    if MISSING:
        print(f"SKIP: browser test: {MISSING}")
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    sys.exit(77 if MISSING else 0)
