"""Browser: a person signs in with Debian's Chromium (headless, driven by playwright-core from
tests/browser/node_modules, which scripts/deps.sh installs) against the real binary in dev mode.

Starts the server (tests/e2e/harness.py), registers a public PKCE client whose redirect URI is a
port this driver picked, and runs signin.mjs, which listens on that port for the callback.
Screenshots (login.png, consent.png, error.png, login-error.png) go to $LATCHKEY_TEST_OUTPUT, else
build/dev/test-output/browser. Exit code 77 (ctest SKIP_RETURN_CODE) when Chromium, node or the
node modules are missing.
"""

import os
import shutil
import socket
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from signin_helpers import SignInServerTestCase, create_code_client  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
CLIENT_ID = "browser-rp"
CLIENT_NAME = "Browser Test App"


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


@unittest.skipIf(MISSING, f"browser test skipped: {MISSING}")
class BrowserSignIn(SignInServerTestCase):
    @classmethod
    def setup_data(cls, data_dir):
        cls.redirect_port = free_port()
        create_code_client(data_dir, CLIENT_ID, [f"http://127.0.0.1:{cls.redirect_port}/cb"],
                           "openid profile email", public=True, name=CLIENT_NAME, refresh=False)

    def test_sign_in_with_chromium(self):
        out = os.environ.get("LATCHKEY_TEST_OUTPUT") or os.path.join(REPO, "build", "dev", "test-output", "browser")
        os.makedirs(out, exist_ok=True)
        shots = ("login.png", "consent.png", "error.png")
        for name in shots:
            if os.path.exists(os.path.join(out, name)):
                os.unlink(os.path.join(out, name))
        env = dict(os.environ, LK_PASSWORD=self.demo_password)  # not on the command line
        cmd = [NODE, os.path.join(HERE, "signin.mjs"), "--issuer", self.url, "--client-id", CLIENT_ID,
               "--client-name", CLIENT_NAME, "--redirect-port", str(self.redirect_port), "--username", "demo",
               "--out", out, "--chromium", CHROMIUM]
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
        for name in shots:
            path = os.path.join(out, name)
            self.assertTrue(os.path.exists(path) and os.path.getsize(path) > 0, f"{path} missing or empty")


if __name__ == "__main__":
    if MISSING:
        print(f"SKIP: browser test: {MISSING}")
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    sys.exit(77 if MISSING else 0)
