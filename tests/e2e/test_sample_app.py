"""The sample web application (examples/webapp.py) signs the demo person in through Latchkey.

Starts the real server in dev mode and the sample app as separate processes, then acts as the
browser with a cookie-keeping requests.Session: sample app -> Latchkey login page -> consent ->
back to the sample app, which shows the validated ID token's subject and the UserInfo claims.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server  # noqa: E402
from signin_helpers import Page, demo_password  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "examples", "webapp.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SampleApp(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="latchkey-sample-")
        self.server = Server(self.data_dir)
        self.port = free_port()
        self.app = subprocess.Popen(["/usr/bin/python3", SAMPLE, "--issuer", self.server.issuer,
                                     "--port", str(self.port)],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.app.stdout.readline()
        self.assertIn("Sample app on", line)
        self.url = f"http://127.0.0.1:{self.port}"

    def tearDown(self):
        self.app.terminate()
        try:
            self.app.wait(10)
        except subprocess.TimeoutExpired:
            self.app.kill()
            self.app.wait(5)
        self.app.stdout.close()
        self.server.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def submit(self, browser, page_url, form, **values):
        data = dict(form.inputs)
        data.update(values)
        return browser.post(urllib.parse.urljoin(page_url, form.attrs["action"]), data=data, timeout=30)

    def test_demo_person_signs_in_to_the_sample_app(self):
        browser = requests.Session()
        start = browser.get(self.url + "/", timeout=10)
        self.assertIn("Sign in with Latchkey", start.text)
        login = browser.get(self.url + "/login", timeout=10)  # redirected to Latchkey's login page
        self.assertEqual(login.status_code, 200)
        self.assertTrue(login.url.startswith(self.server.issuer + "/authorize?"), login.url)
        form = Page(login.text).forms[0]
        consent = self.submit(browser, login.url, form, username="demo",
                              password=demo_password(self.server, self.data_dir))
        self.assertEqual(consent.status_code, 200, consent.text[:500])
        form = Page(consent.text).forms[0]
        self.assertEqual(form.attrs["action"], "/consent")
        done = self.submit(browser, consent.url, form, decision="allow")
        # Latchkey -> sample /callback (code exchanged, ID token validated) -> sample / page.
        self.assertEqual(done.status_code, 200, done.text[:500])
        self.assertEqual(done.url, self.url + "/")
        self.assertIn("Signed in as Demo User", done.text)
        self.assertIn("demo@example.com", done.text)  # from /userinfo, scope email
        # A second sign-in reuses the Latchkey session and the remembered consent: no pages.
        again = browser.get(self.url + "/login", timeout=10)
        self.assertEqual(again.url, self.url + "/")
        self.assertEqual([r.status_code for r in again.history][:2], [302, 302])
        self.assertIn("Signed in as Demo User", again.text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
