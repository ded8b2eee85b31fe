"""Interop: Debian's python3-authlib as the relying party of the authorization code flow with PKCE
(S256): authlib builds the authorization URL (state, nonce, code_challenge), the person's part
(login and consent forms) is played by the same requests session, authlib exchanges the code
(checking state) and refreshes; the ID token is verified by python3-jwcrypto and by authlib's own
JOSE + OIDC claim validation (nonce, at_hash)."""

import json
import os
import sys
import time
import unittest

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from signin_helpers import (Flow, Page, SignInServerTestCase, create_code_client,  # noqa: E402
                            query_of, single, verify_id_token)

from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt as authlib_jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

WEB = "authlib-web"
WEB_CB = "https://rp.example.com/authlib/cb"
NATIVE = "authlib-native"
NATIVE_CB = "http://127.0.0.1:53690/cb"
SCOPE = "openid profile email offline_access"


class AuthlibCodeFlow(SignInServerTestCase):
    @classmethod
    def setup_data(cls, d):
        cls.web = create_code_client(d, WEB, [WEB_CB], SCOPE, name="Authlib Web")
        cls.native = create_code_client(d, NATIVE, [NATIVE_CB], SCOPE, public=True, name="Authlib Native")

    def rp(self, client_id, secret, redirect_uri, method, scope="openid profile email"):
        session = OAuth2Session(client_id, secret, scope=scope, redirect_uri=redirect_uri,
                                code_challenge_method="S256", token_endpoint_auth_method=method)
        self.addCleanup(session.close)
        return session

    def authorize(self, session, redirect_uri, **extra):
        """authlib builds the URL; the person's browser (a plain requests session of its own: the RP
        and the browser share no cookies) signs in, redirects not followed. Returns (callback URL,
        state, nonce, code_verifier)."""
        verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = session.create_authorization_url(self.meta["authorization_endpoint"], code_verifier=verifier,
                                                      nonce=nonce, **extra)
        browser = requests.Session()
        self.addCleanup(browser.close)
        flow = Flow(self.url, session=browser)
        r = browser.get(url, allow_redirects=False, timeout=15)
        flow.history.append(r)
        if r.status_code == 200 and Page(r.text).form("/login"):
            r = flow.login(r, "demo", self.demo_password)
        if r.status_code == 200 and Page(r.text).form("/consent"):
            r = flow.consent(r, "allow")
        self.assertIn(r.status_code, (302, 303), f"{r.status_code} {r.text[:300]}")
        callback = r.headers["Location"]
        self.assertTrue(callback.startswith(redirect_uri + "?"), callback)
        self.assertEqual(single(query_of(callback), "iss"), self.meta["issuer"])  # RFC 9207, checked by the RP
        return callback, state, nonce, verifier

    def verify_with_authlib(self, token, client_id, nonce):
        keys = JsonWebKey.import_key_set(self.http.get(self.meta["jwks_uri"], timeout=5).json())
        claims = authlib_jwt.decode(
            token["id_token"], keys, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": self.meta["issuer"]},
                            "aud": {"essential": True, "value": client_id},
                            "nonce": {"essential": True}, "at_hash": {"essential": True}},
            claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]})
        claims.validate(leeway=60)  # iss, aud, exp, iat, nonce, azp, auth_time, at_hash
        return claims

    def test_confidential_client_code_flow_and_refresh(self):
        session = self.rp(WEB, self.web["client_secret"], WEB_CB, "client_secret_basic")
        callback, state, nonce, verifier = self.authorize(session, WEB_CB)
        token = session.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                    code_verifier=verifier)
        self.assertEqual(token["token_type"].lower(), "bearer")
        self.assertTrue(token.get("refresh_token"))
        _, claims = verify_id_token(self.http, self.meta, token["id_token"], WEB, nonce=nonce,
                                    access_token=token["access_token"])
        authlib_claims = self.verify_with_authlib(token, WEB, nonce)
        self.assertEqual(authlib_claims["sub"], claims["sub"])
        self.assertEqual(authlib_claims["amr"], ["pwd"])

        # The access token works at userinfo through authlib's session (Authorization: Bearer).
        info = session.get(self.meta["userinfo_endpoint"], timeout=5)
        self.assertEqual(info.status_code, 200, info.text)
        self.assertEqual(info.json()["sub"], claims["sub"])
        self.assertEqual(info.json()["email"], "demo@example.com")

        # authlib's refresh_token(): rotation hands back a new refresh token.
        old = token["refresh_token"]
        refreshed = session.refresh_token(self.meta["token_endpoint"], refresh_token=old)
        self.assertNotEqual(refreshed["refresh_token"], old)
        self.assertNotEqual(refreshed["access_token"], token["access_token"])
        self.assertEqual(session.token["access_token"], refreshed["access_token"])
        info = session.get(self.meta["userinfo_endpoint"], timeout=5)
        self.assertEqual(info.status_code, 200, info.text)

    def test_authlib_rejects_a_callback_with_another_state(self):
        session = self.rp(WEB, self.web["client_secret"], WEB_CB, "client_secret_basic")
        callback, state, _, verifier = self.authorize(session, WEB_CB)
        with self.assertRaises(Exception) as raised:
            session.fetch_token(self.meta["token_endpoint"], authorization_response=callback,
                                state="not-" + state, code_verifier=verifier)
        self.assertIn("state", repr(raised.exception).lower())

    def test_public_client_with_pkce(self):
        session = self.rp(NATIVE, None, NATIVE_CB, "none")
        callback, state, nonce, verifier = self.authorize(session, NATIVE_CB)
        token = session.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                    code_verifier=verifier)
        self.verify_with_authlib(token, NATIVE, nonce)
        verify_id_token(self.http, self.meta, token["id_token"], NATIVE, nonce=nonce,
                        access_token=token["access_token"])

        # A wrong verifier is refused (authlib raises the OAuth error from the token endpoint).
        session = self.rp(NATIVE, None, NATIVE_CB, "none")
        callback, state, _, _ = self.authorize(session, NATIVE_CB)
        with self.assertRaises(Exception) as raised:
            session.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                code_verifier=generate_token(48))
        self.assertIn("invalid_grant", repr(raised.exception))

    def test_public_client_refresh_with_offline_access(self):
        session = self.rp(NATIVE, None, NATIVE_CB, "none", scope="openid offline_access")
        callback, state, _, verifier = self.authorize(session, NATIVE_CB, prompt="consent")
        token = session.fetch_token(self.meta["token_endpoint"], authorization_response=callback, state=state,
                                    code_verifier=verifier)
        self.assertTrue(token.get("refresh_token"), json.dumps(token))
        time.sleep(0.1)
        refreshed = session.refresh_token(self.meta["token_endpoint"], refresh_token=token["refresh_token"])
        self.assertNotEqual(refreshed["refresh_token"], token["refresh_token"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
