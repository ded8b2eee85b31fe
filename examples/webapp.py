#!/usr/bin/python3
"""A sample web application that signs people in through Latchkey.

It is the relying party of the authorization code flow with PKCE (RFC 7636), state and nonce
(OIDC Core 3.1.2.1), validates the ID token against the provider's JWKS and shows the person's
claims from the UserInfo endpoint. Standard library plus Debian's python3-requests and
python3-jwcrypto.

    make run                          # in one terminal: Latchkey in dev mode on 127.0.0.1:8080
    /usr/bin/python3 examples/webapp.py   # in another; then open http://127.0.0.1:9999

By default it uses the dev server's public client `demo-app`. For your own client:
    webapp.py --issuer https://id.example.com --client-id shop-web --client-secret ... --port 9999
(the client must have http://127.0.0.1:PORT/callback registered, or any loopback port if public).
"""

import argparse
import base64
import hashlib
import html
import http.server
import json
import secrets
import urllib.parse

import requests
from jwcrypto import jwk, jwt


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class App:
    def __init__(self, issuer, client_id, client_secret, port):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = f"http://127.0.0.1:{port}/callback"
        self.meta = requests.get(self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.pending = {}  # state -> (verifier, nonce); one browser at a time is enough for a sample
        self.signed_in = {}  # our own session cookie -> (claims, userinfo)

    def login_url(self):
        verifier = b64url(secrets.token_bytes(32))
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.pending[state] = (verifier, nonce)
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid profile email", "state": state, "nonce": nonce,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256"})
        return self.meta["authorization_endpoint"] + "?" + query

    def callback(self, query):
        params = urllib.parse.parse_qs(query)
        state = params.get("state", [""])[0]
        if state not in self.pending:
            raise ValueError("unknown state: start again")
        verifier, nonce = self.pending.pop(state)
        # RFC 9207: the response must come from the issuer we sent the person to.
        if params.get("iss", [""])[0] != self.meta["issuer"]:
            raise ValueError("authorization response from another issuer")
        if "error" in params:
            raise ValueError(params["error"][0] + ": " + params.get("error_description", [""])[0])
        data = {"grant_type": "authorization_code", "code": params["code"][0],
                "redirect_uri": self.redirect_uri, "code_verifier": verifier}
        auth = None
        if self.client_secret:
            auth = (self.client_id, self.client_secret)
        else:
            data["client_id"] = self.client_id
        tokens = requests.post(self.meta["token_endpoint"], data=data, auth=auth, timeout=10)
        tokens.raise_for_status()
        tokens = tokens.json()
        keys = jwk.JWKSet.from_json(requests.get(self.meta["jwks_uri"], timeout=10).text)
        id_token = jwt.JWT(jwt=tokens["id_token"], key=keys,
                           algs=self.meta["id_token_signing_alg_values_supported"],
                           check_claims={"iss": self.meta["issuer"], "aud": self.client_id, "exp": None})
        claims = json.loads(id_token.claims)
        if claims.get("nonce") != nonce:
            raise ValueError("nonce mismatch")
        userinfo = requests.get(self.meta["userinfo_endpoint"], timeout=10,
                                headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
        return claims, userinfo


def make_handler(app):
    class Handler(http.server.BaseHTTPRequestHandler):
        def page(self, status, body, headers=()):
            data = ("<!doctype html><html lang=en><meta charset=utf-8><title>Sample app</title>"
                    "<body style='font-family:sans-serif;max-width:40rem;margin:2rem auto'>"
                    + body + "</body></html>").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/login":
                self.send_response(302)
                self.send_header("Location", app.login_url())
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/callback":
                try:
                    claims, userinfo = app.callback(query)
                except (ValueError, KeyError, requests.RequestException, Exception) as e:  # noqa: BLE001
                    self.page(400, "<h1>Sign-in failed</h1><p>" + html.escape(str(e)) +
                              "</p><p><a href='/'>Back</a></p>")
                    return
                sid = secrets.token_urlsafe(16)
                app.signed_in[sid] = (claims, userinfo)
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Set-Cookie", f"sample_session={sid}; HttpOnly; SameSite=Lax; Path=/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/":
                cookie = self.headers.get("Cookie", "")
                sid = next((c.split("=", 1)[1] for c in cookie.split("; ") if c.startswith("sample_session=")), None)
                if sid in app.signed_in:
                    claims, userinfo = app.signed_in[sid]
                    name = userinfo.get("name") or userinfo.get("preferred_username") or claims["sub"]
                    self.page(200, "<h1>Signed in as " + html.escape(name) + "</h1>"
                              "<h2>ID token claims</h2><pre>" + html.escape(json.dumps(claims, indent=2)) +
                              "</pre><h2>UserInfo</h2><pre>" + html.escape(json.dumps(userinfo, indent=2)) +
                              "</pre>")
                else:
                    self.page(200, "<h1>Sample app</h1><p><a href='/login'>Sign in with Latchkey</a></p>")
            else:
                self.page(404, "<h1>Not found</h1>")

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:8080")
    parser.add_argument("--client-id", default="demo-app")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args()
    app = App(args.issuer, args.client_id, args.client_secret, args.port)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(app))
    print(f"Sample app on http://127.0.0.1:{args.port} (issuer {app.meta['issuer']})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
