"""End-to-end: malformed, hostile, oversized and repeated input gets a 4xx, never a 5xx or a crash."""

import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ServerTestCase, create_client, raw_http, status_of  # noqa: E402


class Hostile(ServerTestCase):
    # Short deadlines so the slow-client tests stay quick.
    server_env = {"LATCHKEY_HTTP_READ_TIMEOUT_SECONDS": "1", "LATCHKEY_HTTP_IDLE_TIMEOUT_SECONDS": "2"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = create_client(cls.data_dir, "svc", "--scope", "api")
        cls.wait_for_client("svc", cls.client["client_secret"])

    def tearDown(self):
        # Whatever a test sent, the server is still alive and serving.
        self.assertIsNone(self.server.proc.poll(), "server died")
        self.assertEqual(self.http.get(self.url + "/healthz", timeout=5).status_code, 200)

    def send(self, data):
        return raw_http(self.server.address, data)

    def test_oversized_header_is_431(self):
        req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertEqual(status_of(self.send(req)), 431)

    def test_oversized_body_is_413(self):
        body = b"grant_type=client_credentials&x=" + b"a" * 100000
        req = (b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.assertEqual(status_of(self.send(req)), 413)

    def test_garbage_is_400(self):
        for garbage in (b"\x00\x01\x02\r\n\r\n", b"HELLO\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                        b"GET /token HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                        b"POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            with self.subTest(garbage=garbage):
                status = status_of(self.send(garbage))
                self.assertTrue(status is None or 400 <= status < 500, status)

    def test_slow_loris_is_cut_off(self):
        start = time.time()
        with socket.create_connection(self.server.address.rsplit(":", 1), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            # Trickle one header byte at a time; the server must close at its read deadline.
            closed = False
            for _ in range(50):
                try:
                    s.sendall(b"X")
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                    break
                time.sleep(0.1)
        self.assertTrue(closed, "slow client was not disconnected")
        self.assertLess(time.time() - start, 4)

    def test_random_token_requests_never_5xx(self):
        rng = random.Random(7)
        pieces = ["grant_type=client_credentials", "grant_type=", "scope=api", "scope=%", "client_id=svc",
                  "client_secret=x", "&&", "=", "%00", "a=b", "grant_type=client_credentials", "\u00e9", "+", "%2"]
        auths = [None, "Basic", "Basic !!!", "Bearer x", "Basic c3ZjOg==", "basic " + "A" * 500, "Basic Og=="]
        types = ["application/x-www-form-urlencoded", "text/plain", "", "application/x-www-form-urlencoded; charset=x",
                 "multipart/form-data"]
        for i in range(300):
            body = "&".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
            headers = {"Content-Type": rng.choice(types)}
            auth = rng.choice(auths)
            if auth:
                headers["Authorization"] = auth
            r = self.http.post(self.url + "/token", data=body.encode("utf-8"), headers=headers, timeout=5)
            self.assertGreaterEqual(r.status_code, 400, body)
            self.assertLess(r.status_code, 500, body)
            self.assertIn(r.json()["error"], ("invalid_request", "invalid_client", "invalid_scope",
                                              "unsupported_grant_type", "unauthorized_client"))

    def test_repeated_request_gets_a_fresh_token_each_time(self):
        auth = ("svc", self.client["client_secret"])
        tokens = {self.token({"grant_type": "client_credentials"}, auth=auth).json()["access_token"]
                  for _ in range(3)}
        self.assertEqual(len(tokens), 3)

    def test_unknown_methods_and_paths(self):
        self.assertEqual(status_of(self.send(b"DELETE /jwks HTTP/1.1\r\nHost: x\r\n\r\n")), 405)
        self.assertEqual(status_of(self.send(b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")), 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
