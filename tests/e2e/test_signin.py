"""End-to-end: the sign-in flow (authorization code + PKCE, OIDC Core 3.1) against the real binary,
driven like a browser by requests.Session (cookies kept, redirects NOT followed) that reads the
login and consent forms with html.parser. Contract: the login/consent pages, /authorize, /login,
/consent, /token (authorization_code, refresh_token) and /userinfo.

Consent is remembered per user+client+scopes, so tests that need to see the consent page ask for
prompt=consent, and the test of remembered consent uses its own user: the tests do not depend on
their order.
"""

import json
import os
import sys
import threading
import time
import unittest
import urllib.parse

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import cli, raw_http, status_of  # noqa: E402
from signin_helpers import (GENERIC_LOGIN_ERROR, Flow, Page, SignInServerTestCase, add_user,  # noqa: E402
                            create_code_client, is_html, jwt_parts, pkce_pair, query_of, single,
                            verify_id_token)

WEB = "rp-web"  # confidential, client_secret_basic
WEB_CB = "https://rp.example.com/cb"
WEB_CB_Q = "https://rp.example.com/cb2?tenant=a"  # a registered URI with a query (kept on redirect)
NATIVE = "rp-native"  # public, PKCE
NATIVE_CB = "http://127.0.0.1:53682/cb"
FRESH = "rp-fresh"  # never approved by anyone: consent is always needed
FRESH_CB = "https://fresh.example.com/cb"
SCOPES = "openid profile email offline_access"
CAROL_PASSWORD = "carol-password-123"


class SignInBase(SignInServerTestCase):
    """Clients, users and helpers shared by the test classes below (no tests of its own)."""

    # tokens.refresh_token_grace_period = 0: every second use of a rotated token is reuse. The
    # GraceWindow class below runs with the window on.
    server_env = {"LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": "0"}

    @classmethod
    def setup_data(cls, d):
        cls.web = create_code_client(d, WEB, [WEB_CB, WEB_CB_Q], SCOPES, name="Example Web App")
        cls.native = create_code_client(d, NATIVE, [NATIVE_CB], SCOPES, public=True, name="Example Native App")
        create_code_client(d, FRESH, [FRESH_CB], "openid profile", name="Never Approved")
        for alg in ("ES256", "PS256", "EdDSA"):
            create_code_client(d, "rp-" + alg.lower(), ["https://" + alg.lower() + ".example.com/cb"], SCOPES,
                               public=True, name="Per-client " + alg, id_token_alg=alg)
        add_user(d, "carol", CAROL_PASSWORD, "--email", "carol@example.com")
        add_user(d, "eve", "eve-password-123")
        cli("user", "disable", "eve", data_dir=d)

    # --- helpers ---------------------------------------------------------------------------------

    def request_params(self, client_id=WEB, redirect_uri=WEB_CB, scope="openid profile email", **extra):
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                  "scope": scope, "state": "st-" + os.urandom(6).hex(), "nonce": "n-" + os.urandom(6).hex(),
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}, verifier

    def flow(self):
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        return flow

    def exchange(self, code, redirect_uri, verifier, client_id=WEB):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier is not None:
            data["code_verifier"] = verifier
        if client_id == WEB:
            return self.token(data, auth=(WEB, self.web["client_secret"]))
        data["client_id"] = client_id
        return self.token(data)

    def refresh(self, refresh_token, client_id=WEB, **extra):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        if client_id == WEB:
            return self.token(data, auth=(WEB, self.web["client_secret"]))
        data["client_id"] = client_id
        return self.token(data)

    def sign_in_for_tokens(self, client_id=WEB, redirect_uri=WEB_CB, scope="openid profile email",
                           username="demo", password=None, flow=None, **extra):
        """A whole sign-in; returns (token JSON, params, flow)."""
        flow = flow or self.flow()
        params, verifier = self.request_params(client_id, redirect_uri, scope, **extra)
        r, _, _ = flow.sign_in(params, username, password or self.demo_password)
        code = flow.code_from(r, redirect_uri, params["state"])
        t = self.exchange(code, redirect_uri, verifier, client_id)
        self.assertEqual(t.status_code, 200, t.text)
        return t.json(), params, flow

    def assert_error_page(self, r, status=400, what=""):
        self.assertEqual(r.status_code, status, f"{what}: {r.status_code} {r.headers} {r.text[:300]}")
        self.assertNotIn("Location", r.headers, what)
        self.assertTrue(is_html(r), f"{what}: {r.headers.get('Content-Type')}")

    def assert_error_redirect(self, r, redirect_uri, error, state):
        self.assertIn(r.status_code, (302, 303), r.text[:300])
        location = r.headers["Location"]
        self.assertTrue(location.startswith(redirect_uri + "?"), location)
        q = query_of(location)
        self.assertEqual(single(q, "error"), error, location)
        self.assertNotIn("code", q)
        if state is not None:
            self.assertEqual(single(q, "state"), state)
        self.assertEqual(single(q, "iss"), self.url)  # RFC 9207


class SignIn(SignInBase):
    """The flows. Failed logins are in classes of their own (below), with a server of their own, so
    that a login throttle can never make these tests depend on their order."""

    # --- discovery and pages ---------------------------------------------------------------------

    def test_discovery_advertises_the_code_flow(self):
        m = self.meta
        self.assertEqual(m["authorization_endpoint"], self.url + "/authorize")
        self.assertEqual(m["userinfo_endpoint"], self.url + "/userinfo")
        self.assertEqual(m["response_types_supported"], ["code"])
        self.assertEqual(m["code_challenge_methods_supported"], ["S256"])
        self.assertIn("RS256", m["id_token_signing_alg_values_supported"])
        self.assertIs(m["authorization_response_iss_parameter_supported"], True)
        for grant in ("authorization_code", "refresh_token"):
            self.assertIn(grant, m.get("grant_types_supported", [grant]))

    def test_login_page_is_a_form_with_csrf_and_the_request(self):
        params, _ = self.request_params()
        for method in ("GET", "POST"):
            with self.subTest(method=method):
                flow = self.flow()
                r = flow.authorize(params, method)
                self.assertEqual(r.status_code, 200, r.text[:300])
                self.assertTrue(is_html(r))
                self.assertNotIn("Location", r.headers)
                self.assertIn("latchkey_csrf", flow.s.cookies.get_dict())
                page = Page(r.text)
                form = page.form("/login")
                self.assertIsNotNone(form, page.forms)
                self.assertEqual(form.method, "post")
                self.assertEqual(form.input("username").get("id"), "username")
                self.assertEqual(form.input("password").get("type"), "password")
                self.assertEqual(form.input("password").get("id"), "password")
                self.assertTrue(form.inputs.get("csrf"))
                self.assertTrue(form.inputs.get("request"))
                self.assertIn("Sign in", [b[3] for b in form.buttons])
        css = requests.get(self.url + "/assets/latchkey.css", timeout=5)
        self.assertEqual(css.status_code, 200)
        self.assertTrue(css.headers.get("Content-Type", "").startswith("text/css"))

    # --- the code flow ---------------------------------------------------------------------------

    def test_confidential_client_code_flow(self):
        started = int(time.time())
        flow = self.flow()
        params, verifier = self.request_params(prompt="consent")
        r = flow.authorize(params)
        self.assertEqual(r.status_code, 200)
        r = flow.login(r, "demo", self.demo_password)
        self.assertEqual(r.status_code, 200, r.text[:300])
        cookies = [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("latchkey_session=")]
        self.assertEqual(len(cookies), 1, r.raw.headers.getlist("Set-Cookie"))
        attrs = [a.strip().lower() for a in cookies[0].split(";")[1:]]
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=lax", attrs)
        self.assertIn("path=/", attrs)
        self.assertNotIn("secure", attrs)  # http issuer: a Secure cookie would never come back

        consent = Page(r.text)
        form = consent.form("/consent")
        self.assertIsNotNone(form, consent.text[:300])
        self.assertEqual(form.method, "post")
        self.assertTrue(form.inputs.get("csrf") and form.inputs.get("request"))
        self.assertIn(("decision", "allow"), [(b[0], b[1]) for b in form.buttons])
        self.assertIn(("decision", "deny"), [(b[0], b[1]) for b in form.buttons])
        self.assertIn("Example Web App", consent.text)

        r = flow.consent(r, "allow")
        self.assertEqual(r.status_code, 303, r.text[:300])
        location = r.headers["Location"]
        self.assertTrue(location.startswith(WEB_CB + "?"), location)
        q = query_of(location)
        self.assertEqual(single(q, "state"), params["state"])
        self.assertEqual(single(q, "iss"), self.url)
        code = single(q, "code")

        t = self.exchange(code, WEB_CB, verifier)
        self.assertEqual(t.status_code, 200, t.text)
        self.assertIn("no-store", t.headers.get("Cache-Control", ""))
        tokens = t.json()
        self.assertEqual(tokens["token_type"].lower(), "bearer")
        self.assertGreater(tokens["expires_in"], 0)
        self.assertEqual(set(tokens["scope"].split()), {"openid", "profile", "email"})
        self.assertTrue(tokens.get("refresh_token"), "confidential client with refresh_token grant")
        header, claims = verify_id_token(self.http, self.meta, tokens["id_token"], WEB, nonce=params["nonce"],
                                         access_token=tokens["access_token"])
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["iss"], self.url)
        self.assertEqual(claims["aud"], WEB)
        self.assertEqual(claims["azp"], WEB)
        self.assertEqual(claims["amr"], ["pwd"])
        self.assertIsInstance(claims["auth_time"], int)
        self.assertTrue(started - 5 <= claims["auth_time"] <= time.time() + 5, claims)
        self.assertTrue(claims.get("sid"))
        self.assertIn("at_hash", claims)

        # RFC 6749 4.1.2: a code is used once.
        replay = self.exchange(code, WEB_CB, verifier)
        self.assertEqual(replay.status_code, 400, replay.text)
        self.assertEqual(replay.json()["error"], "invalid_grant")

    def test_id_token_signed_response_alg_per_client(self):
        # OIDC Registration 2: the client's id_token_signed_response_alg; the default is RS256.
        tokens, params, _ = self.sign_in_for_tokens()
        header, _ = verify_id_token(requests, self.meta, tokens["id_token"], WEB, params["nonce"],
                                    tokens["access_token"])
        self.assertEqual(header["alg"], "RS256")
        for alg in ("ES256", "PS256", "EdDSA"):
            with self.subTest(alg=alg):
                client_id = "rp-" + alg.lower()
                tokens, params, _ = self.sign_in_for_tokens(client_id, "https://" + alg.lower() + ".example.com/cb")
                header, claims = verify_id_token(requests, self.meta, tokens["id_token"], client_id,
                                                 params["nonce"], tokens["access_token"])
                self.assertEqual(header["alg"], alg)
                # at_hash needs a hash named by the alg (OIDC Core 3.1.3.6); EdDSA names none.
                self.assertEqual("at_hash" in claims, alg != "EdDSA")

    def test_code_replay_revokes_the_refresh_token_it_produced(self):
        # RFC 6749 4.1.2 / 10.5 "SHOULD revoke ... tokens previously issued based on that code";
        # the code's refresh token family (RefreshFamilyForCode) is revoked.
        flow = self.flow()
        params, verifier = self.request_params()
        r, _, _ = flow.sign_in(params, "demo", self.demo_password)
        code = flow.code_from(r, WEB_CB, params["state"])
        first = self.exchange(code, WEB_CB, verifier)
        self.assertEqual(first.status_code, 200, first.text)
        self.assertEqual(self.exchange(code, WEB_CB, verifier).json().get("error"), "invalid_grant")
        again = self.refresh(first.json()["refresh_token"])
        self.assertEqual(again.status_code, 400, again.text)
        self.assertEqual(again.json()["error"], "invalid_grant")

    def test_code_is_bound_to_client_redirect_uri_and_verifier(self):
        flow = self.flow()
        self.sign_in_for_tokens(flow=flow)  # consent remembered for demo + WEB + these scopes

        def fresh_code(redirect_uri=WEB_CB):
            params, verifier = self.request_params(redirect_uri=redirect_uri)
            r = flow.authorize(params)
            self.assertEqual(r.status_code, 302, r.text[:300])
            return flow.code_from(r, redirect_uri, params["state"]), verifier

        cases = {
            "wrong code_verifier": lambda c, v: self.exchange(c, WEB_CB, pkce_pair()[0]),
            "missing code_verifier": lambda c, v: self.exchange(c, WEB_CB, None),
            "other redirect_uri": lambda c, v: self.exchange(c, WEB_CB_Q, v),
            "other client": lambda c, v: self.exchange(c, WEB_CB, v, client_id=NATIVE),
            "unknown code": lambda c, v: self.exchange(c + "x", WEB_CB, v),
        }
        for name, attempt in cases.items():
            with self.subTest(case=name):
                code, verifier = fresh_code()
                r = attempt(code, verifier)
                self.assertEqual(r.status_code, 400, r.text)
                self.assertEqual(r.json()["error"], "invalid_grant")
        code, verifier = fresh_code()
        r = self.token({"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB,
                        "code_verifier": verifier}, auth=(WEB, "wrong-secret"))
        self.assertEqual(r.status_code, 401, r.text)
        self.assertEqual(r.json()["error"], "invalid_client")

    def test_public_client_with_pkce(self):
        tokens, params, _ = self.sign_in_for_tokens(NATIVE, NATIVE_CB, "openid profile", prompt="consent")
        _, claims = verify_id_token(self.http, self.meta, tokens["id_token"], NATIVE, nonce=params["nonce"],
                                    access_token=tokens["access_token"])
        self.assertEqual(claims["azp"], NATIVE)
        self.assertNotIn("refresh_token", tokens, "public client without offline_access")

        flow = self.flow()
        for name, extra, error in (("no code_challenge", {"code_challenge": None, "code_challenge_method": None},
                                    "invalid_request"),
                                   ("plain", {"code_challenge_method": "plain"}, "invalid_request")):
            with self.subTest(case=name):
                params, _ = self.request_params(NATIVE, NATIVE_CB, "openid", **extra)
                self.assert_error_redirect(flow.authorize(params), NATIVE_CB, error, params["state"])

    def test_public_client_gets_a_refresh_token_with_offline_access(self):
        tokens, _, _ = self.sign_in_for_tokens(NATIVE, NATIVE_CB, "openid offline_access", prompt="consent")
        self.assertTrue(tokens.get("refresh_token"), tokens)
        r = self.refresh(tokens["refresh_token"], client_id=NATIVE)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotEqual(r.json()["refresh_token"], tokens["refresh_token"])

    def test_refresh_token_rotation_and_reuse(self):
        tokens, _, _ = self.sign_in_for_tokens()
        r0 = tokens["refresh_token"]
        a = self.refresh(r0)
        self.assertEqual(a.status_code, 200, a.text)
        self.assertIn("no-store", a.headers.get("Cache-Control", ""))
        r1 = a.json()["refresh_token"]
        self.assertNotEqual(r1, r0)
        self.assertNotEqual(a.json()["access_token"], tokens["access_token"])
        b = self.refresh(r1, scope="openid profile")
        self.assertEqual(b.status_code, 200, b.text)
        self.assertEqual(set(b.json()["scope"].split()), {"openid", "profile"})
        r2 = b.json()["refresh_token"]
        # r0 is rotated and its successor r1 is rotated too: reuse, whatever the grace window.
        reuse = self.refresh(r0)
        self.assertEqual(reuse.status_code, 400, reuse.text)
        self.assertEqual(reuse.json()["error"], "invalid_grant")
        # RFC 9700 4.14.2: reuse revokes the whole family, the current token included.
        self.assertEqual(self.refresh(r2).json().get("error"), "invalid_grant")

        # Reusing the token just rotated: with the grace window at 0 it is reuse (invalid_grant),
        # and the successor dies with it.
        tokens, _, _ = self.sign_in_for_tokens()
        first = self.refresh(tokens["refresh_token"])
        self.assertEqual(first.status_code, 200, first.text)
        time.sleep(1.1)
        retry = self.refresh(tokens["refresh_token"])
        self.assertEqual(retry.status_code, 400, retry.text)
        self.assertEqual(retry.json()["error"], "invalid_grant")
        self.assertEqual(self.refresh(first.json()["refresh_token"]).json().get("error"), "invalid_grant")
        # A refresh token is bound to its client.
        tokens, _, _ = self.sign_in_for_tokens()
        other = self.refresh(tokens["refresh_token"], client_id=NATIVE)
        self.assertEqual(other.status_code, 400, other.text)
        self.assertEqual(other.json()["error"], "invalid_grant")

    def test_remembered_consent_prompt_and_max_age(self):
        flow = self.flow()
        params, _ = self.request_params(scope="openid profile")
        r, saw_login, saw_consent = flow.sign_in(params, "carol", CAROL_PASSWORD)
        self.assertTrue(saw_login and saw_consent, "carol has approved nothing yet")
        flow.code_from(r, WEB_CB, params["state"])

        for scope in ("openid profile", "openid"):
            with self.subTest(scope=scope):
                params, _ = self.request_params(scope=scope)
                r = flow.authorize(params)
                self.assertEqual(r.status_code, 302, r.text[:300])
                q = query_of(r.headers["Location"])
                self.assertTrue(r.headers["Location"].startswith(WEB_CB + "?"))
                self.assertEqual(single(q, "state"), params["state"])
                self.assertEqual(single(q, "iss"), self.url)
                self.assertTrue(single(q, "code"))
        params, _ = self.request_params(scope="openid profile", prompt="none")
        self.assertEqual(flow.authorize(params).status_code, 302)

        # More scopes than approved, or prompt=consent: the consent page again.
        for extra in ({"scope": "openid profile email"}, {"prompt": "consent"}):
            with self.subTest(**extra):
                params, _ = self.request_params(**{"scope": "openid profile", **extra})
                r = flow.authorize(params)
                self.assertEqual(r.status_code, 200, r.headers.get("Location"))
                self.assertIsNotNone(Page(r.text).form("/consent"))
        # prompt=login, or an authentication older than max_age: the login page again.
        time.sleep(1.1)
        for extra in ({"prompt": "login"}, {"max_age": "0"}):
            with self.subTest(**extra):
                params, _ = self.request_params(scope="openid profile", **extra)
                r = flow.authorize(params)
                self.assertEqual(r.status_code, 200, r.headers.get("Location"))
                self.assertIsNotNone(Page(r.text).form("/login"))

    def test_state_with_special_characters_and_redirect_query_round_trip(self):
        flow = self.flow()
        params, verifier = self.request_params(redirect_uri=WEB_CB_Q, state="a b&c=d/é?#%")
        r, _, _ = flow.sign_in(params, "demo", self.demo_password)
        self.assertIn(r.status_code, (302, 303))
        location = r.headers["Location"]
        self.assertTrue(location.startswith("https://rp.example.com/cb2?tenant=a&"), location)
        q = query_of(location)
        self.assertEqual(single(q, "tenant"), "a")
        self.assertEqual(single(q, "state"), "a b&c=d/é?#%")
        self.assertEqual(self.exchange(single(q, "code"), WEB_CB_Q, verifier).status_code, 200)

    def test_deny_redirects_access_denied(self):
        flow = self.flow()
        params, _ = self.request_params(prompt="consent")
        r, _, saw_consent = flow.sign_in(params, "demo", self.demo_password, decision="deny")
        self.assertTrue(saw_consent)
        self.assertEqual(r.status_code, 303)
        self.assert_error_redirect(r, WEB_CB, "access_denied", params["state"])

    def test_prompt_none_without_a_session_is_login_required(self):
        params, _ = self.request_params(prompt="none")
        self.assert_error_redirect(self.flow().authorize(params), WEB_CB, "login_required", params["state"])

    def test_prompt_none_without_consent_is_consent_required(self):
        flow = self.flow()
        self.sign_in_for_tokens(flow=flow)
        params, _ = self.request_params(FRESH, FRESH_CB, "openid profile", prompt="none")
        self.assert_error_redirect(flow.authorize(params), FRESH_CB, "consent_required", params["state"])

    def test_form_post_response_mode(self):
        flow = self.flow()
        params, verifier = self.request_params(prompt="consent", response_mode="form_post")
        r, saw_login, saw_consent = flow.sign_in(params, "demo", self.demo_password)
        self.assertTrue(saw_login and saw_consent)
        self.assertEqual(r.status_code, 200, r.headers.get("Location"))
        self.assertNotIn("Location", r.headers)
        self.assertTrue(is_html(r))
        page = Page(r.text)
        form = page.form()
        self.assertEqual(form.action, WEB_CB)
        self.assertEqual(form.method, "post")
        self.assertEqual(form.inputs["state"], params["state"])
        self.assertEqual(form.inputs["iss"], self.url)
        self.assertGreaterEqual(page.scripts, 1, "auto-submitted by a script")
        self.assertGreaterEqual(page.noscript, 1, "a noscript submit button")
        self.assertEqual(self.exchange(form.inputs["code"], WEB_CB, verifier).status_code, 200)
        # Errors go the same way (src/oauth/authorize.hpp ErrorResponseMode).
        params, _ = self.request_params(prompt="none", response_mode="form_post")
        r = self.flow().authorize(params)
        self.assertEqual(r.status_code, 200, r.headers.get("Location"))
        form = Page(r.text).form()
        self.assertEqual(form.action, WEB_CB)
        self.assertEqual(form.inputs.get("error"), "login_required")
        self.assertNotIn("code", form.inputs)

    # --- requests that must not redirect, and errors that must --------------------------------------

    def test_unknown_client_or_bad_redirect_uri_is_an_error_page(self):
        flow = self.flow()
        cases = {
            "unknown client": {"client_id": "no-such-client"},
            "no client_id": {"client_id": None},
            "no redirect_uri with openid": {"redirect_uri": None},
            "another client's redirect_uri": {"redirect_uri": FRESH_CB},
        }
        for name, extra in cases.items():
            with self.subTest(case=name):
                params, _ = self.request_params(**extra)
                self.assert_error_page(flow.authorize(params), 400, name)

    def test_open_redirect_attempts_are_error_pages(self):
        attempts = [
            (WEB, "https://evil.example/cb"),
            (WEB, "https://rp.example.com/cb/extra"),
            (WEB, "https://rp.example.com/cbx"),
            (WEB, "https://rp.example.com/cb?x=1"),
            (WEB, "https://rp.example.com/cb#fragment"),
            (WEB, "https://rp.example.com@evil.example/cb"),
            (WEB, "https://evil.example@rp.example.com/cb"),
            (WEB, "https://rp.example.com.evil.example/cb"),
            (WEB, "https://RP.example.com/cb"),
            (WEB, "http://rp.example.com/cb"),
            (WEB, "https://rp.example.com/%63b"),
            (WEB, "https://rp.example.com/cb/../cb"),
            (WEB, "https://rp.example.com:443/cb"),
            (WEB, "//evil.example/cb"),
            (WEB, "javascript:alert(1)//rp.example.com/cb"),
            (NATIVE, "http://127.0.0.1.evil.example/cb"),
            (NATIVE, "http://localhost:53682/cb"),
            (NATIVE, "http://127.0.0.1:53682/cb/extra"),
            (NATIVE, "http://evil@127.0.0.1:53682/cb"),
        ]
        flow = self.flow()
        for client_id, uri in attempts:
            for method in ("GET", "POST"):
                with self.subTest(client=client_id, redirect_uri=uri, method=method):
                    params, _ = self.request_params(client_id, uri)
                    r = flow.authorize(params, method)
                    self.assert_error_page(r, 400, uri)
                    page = Page(r.text)
                    for target in page.links + [f.action for f in page.forms]:
                        self.assertNotIn("evil", target)

    def test_repeated_parameters(self):
        flow = self.flow()
        params, _ = self.request_params()
        # RFC 6749 3.1: when client_id and redirect_uri are single and valid, the error is redirected.
        repeated = list(params.items()) + [("scope", "openid")]
        r = flow.authorize(repeated)
        self.assert_error_redirect(r, WEB_CB, "invalid_request", params["state"])
        # A repeated redirect_uri or client_id cannot be trusted: never redirected.
        for name, value in (("redirect_uri", "https://evil.example/cb"), ("client_id", FRESH)):
            with self.subTest(repeated=name, value=value):
                self.assert_error_page(flow.authorize(list(params.items()) + [(name, value)]), 400)

    def test_protocol_errors_are_redirected(self):
        flow = self.flow()
        cases = [
            ({"response_type": "token"}, "unsupported_response_type"),
            ({"response_type": "code id_token"}, "unsupported_response_type"),
            ({"response_type": None}, "invalid_request"),
            ({"request": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."}, "request_not_supported"),
            ({"request_uri": "https://rp.example.com/request.jwt"}, "request_uri_not_supported"),
            ({"scope": "openid admin"}, "invalid_scope"),
            ({"prompt": "none login"}, "invalid_request"),
            ({"max_age": "-1"}, "invalid_request"),
            ({"response_mode": "fragment"}, "invalid_request"),
        ]
        for extra, error in cases:
            with self.subTest(**{k: str(v) for k, v in extra.items()}):
                params, _ = self.request_params(**extra)
                self.assert_error_redirect(flow.authorize(params), WEB_CB, error, params["state"])

    # --- userinfo --------------------------------------------------------------------------------

    def test_userinfo(self):
        tokens, _, _ = self.sign_in_for_tokens(scope="openid profile email")
        _, claims = jwt_parts(tokens["id_token"])
        at = tokens["access_token"]
        endpoint = self.meta.get("userinfo_endpoint", self.url + "/userinfo")

        for name, send in (
                ("GET header", lambda: requests.get(endpoint, headers={"Authorization": "Bearer " + at}, timeout=5)),
                ("POST header", lambda: requests.post(endpoint, headers={"Authorization": "Bearer " + at}, timeout=5)),
                # RFC 6750 2.2: the form body.
                ("POST form body", lambda: requests.post(endpoint, data={"access_token": at}, timeout=5))):
            with self.subTest(how=name):
                r = send()
                self.assertEqual(r.status_code, 200, r.text)
                self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
                info = r.json()
                self.assertEqual(info["sub"], claims["sub"])
                self.assertEqual(info["email"], "demo@example.com")
                self.assertIs(info["email_verified"], True)
                self.assertEqual(info["name"], "Demo User")
                self.assertNotIn("address", info)
                self.assertNotIn("phone_number", info)

        # Claims follow the granted scope: openid alone releases sub only.
        only, _, _ = self.sign_in_for_tokens(scope="openid")
        r = requests.get(endpoint, headers={"Authorization": "Bearer " + only["access_token"]}, timeout=5)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(set(r.json()), {"sub"})

        # RFC 6750 2.3 query parameter: refused (and no claims).
        r = requests.get(endpoint, params={"access_token": at}, timeout=5)
        self.assertIn(r.status_code, (400, 401), r.text)
        self.assertNotIn("email", r.text)

        for name, token in (("garbage", "not-a-token"), ("tampered", at[:-4] + ("AAAA" if at[-4:] != "AAAA" else "BBBB")),
                            ("id token", tokens["id_token"])):
            with self.subTest(bad=name):
                r = requests.get(endpoint, headers={"Authorization": "Bearer " + token}, timeout=5)
                self.assertEqual(r.status_code, 401, r.text)
                www = r.headers.get("WWW-Authenticate", "")
                self.assertTrue(www.startswith("Bearer"), www)
                self.assertIn('error="invalid_token"', www)
        r = requests.get(endpoint, timeout=5)
        self.assertEqual(r.status_code, 401)
        self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"))

        # A client_credentials token speaks for no person.
        with open(os.path.join(self.data_dir, "dev-clients.json")) as f:
            secret = json.load(f)["demo-service"]
        cc = self.token({"grant_type": "client_credentials"}, auth=("demo-service", secret))
        self.assertEqual(cc.status_code, 200, cc.text)
        r = requests.get(endpoint, headers={"Authorization": "Bearer " + cc.json()["access_token"]}, timeout=5)
        self.assertIn(r.status_code, (401, 403), r.text)


class Refresh(SignInBase):
    """Refresh token concurrency (grace window 0) and the grace window (its own server)."""

    def test_two_concurrent_refreshes_of_one_token_exactly_one_succeeds(self):
        for _ in range(3):
            tokens, _, _ = self.sign_in_for_tokens()
            results = []
            barrier = threading.Barrier(2)

            def go():
                barrier.wait()
                results.append(self.refresh(tokens["refresh_token"]).status_code)

            threads = [threading.Thread(target=go) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            self.assertEqual(sorted(results), [200, 400])


class GraceWindow(SignInBase):
    """tokens.refresh_token_grace_period = 30: a retry after a lost response gets the same token."""

    server_env = {"LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": "30"}

    def test_retry_inside_the_window_returns_the_same_successor(self):
        tokens, _, _ = self.sign_in_for_tokens()
        first = self.refresh(tokens["refresh_token"])
        self.assertEqual(first.status_code, 200, first.text)
        retry = self.refresh(tokens["refresh_token"])
        self.assertEqual(retry.status_code, 200, retry.text)
        self.assertEqual(retry.json()["refresh_token"], first.json()["refresh_token"])
        # Once the successor has been used, the old token is reuse even inside the window.
        second = self.refresh(first.json()["refresh_token"])
        self.assertEqual(second.status_code, 200, second.text)
        late = self.refresh(tokens["refresh_token"])
        self.assertEqual(late.status_code, 400, late.text)
        self.assertEqual(late.json()["error"], "invalid_grant")
        # ... and the reuse revoked the family: the newest token is dead too.
        self.assertEqual(self.refresh(second.json()["refresh_token"]).json().get("error"), "invalid_grant")


class LoginFailures(SignInBase):
    """Wrong credentials and forged CSRF tokens (a server of its own: failed logins may be throttled)."""

    def test_wrong_password_unknown_and_disabled_users_get_one_generic_message(self):
        params, _ = self.request_params()
        bodies = []
        for username, password in (("demo", "wrong-password-1"), ("nobody-here", "whatever-123"),
                                   ("eve", "eve-password-123")):
            with self.subTest(username=username):
                flow = self.flow()
                r = flow.login(flow.authorize(params), username, password)
                self.assertEqual(r.status_code, 401, r.text[:300])
                self.assertTrue(is_html(r))
                self.assertIn(GENERIC_LOGIN_ERROR, Page(r.text).text)
                self.assertIsNotNone(Page(r.text).form("/login"), "the login form is shown again")
                self.assertNotIn(password, r.text)
                self.assertNotIn("latchkey_session", flow.s.cookies.get_dict())
                page_text = Page(r.text).text
                bodies.append(page_text.replace(username, "USER"))
        self.assertEqual(len(set(bodies)), 1, "the three failures must be indistinguishable")

    def test_forged_or_missing_csrf_is_refused(self):
        params, _ = self.request_params()
        other = self.flow()
        other_csrf = Page(other.authorize(params).text).form("/login").inputs["csrf"]
        for name, fields in (("forged", {"csrf": "forged-token"}), ("missing", {"csrf": ""}),
                             ("another session's", {"csrf": other_csrf})):
            with self.subTest(csrf=name):
                flow = self.flow()
                page = flow.authorize(params)
                r = flow.submit(page, "/login", {"username": "demo", "password": self.demo_password, **fields})
                self.assert_error_page(r, 403, name)
                self.assertNotIn("latchkey_session", flow.s.cookies.get_dict())
        # A client without the csrf cookie (a cross-site form post) cannot use a page's token either.
        page = self.flow().authorize(params)
        form = Page(page.text).form("/login")
        r = requests.post(self.url + "/login", data={**form.inputs, "username": "demo",
                                                     "password": self.demo_password},
                          allow_redirects=False, timeout=10)
        self.assert_error_page(r, 403, "no csrf cookie")


class HostileInput(SignInBase):
    """Oversized and non-UTF-8 input never gets a 5xx (a server of its own)."""

    def test_hostile_inputs_never_5xx(self):
        base, _ = self.request_params()
        q = urllib.parse.urlencode(base)
        urls = [
            "/authorize?" + q + "&state=" + "A" * 6000,
            "/authorize?" + q.replace("client_id=rp-web", "client_id=%FF%FE"),
            "/authorize?" + q.replace("redirect_uri=", "redirect_uri=%FF"),
            "/authorize?" + q + "&login_hint=%C0%AF%00",
            "/authorize?" + urllib.parse.urlencode({**base, "state": "x"}).replace("state=x", "state=%FF%00"),
            "/authorize?" + urllib.parse.urlencode({**base, "nonce": "x"}).replace("nonce=x", "nonce=%ED%A0%80"),
            "/authorize?" + urllib.parse.urlencode({**base, "scope": "x"}).replace("scope=x", "scope=openid%FF"),
            "/authorize?" + q + "&max_age=99999999999999999999999",
            "/authorize?" + q + "&" + "&".join(f"p{i}=v" for i in range(500)),
            "/authorize?" + "%" * 100,
            "/authorize?" + q + "&x=" + "B" * 20000,
        ]
        flow = self.flow()
        for url in urls:
            with self.subTest(url=url[:80]):
                r = flow.s.get(self.url + url, allow_redirects=False, timeout=10)
                self.assertLess(r.status_code, 500, r.text[:200])
                if "Location" in r.headers:
                    self.assertTrue(r.headers["Location"].startswith(WEB_CB + "?"), r.headers["Location"])
        # Raw bytes that are not UTF-8, and bodies near the size limit.
        host = self.server.address
        body = b"client_id=\xff\xfe\xfd&redirect_uri=https://rp.example.com/cb&state=\xc3&response_type=code"
        for raw in (b"GET /authorize?client_id=\xff\xfe&state=\xc0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    b"POST /authorize HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                    b"application/x-www-form-urlencoded\r\nContent-Length: " + str(len(body)).encode() +
                    b"\r\n\r\n" + body):
            with self.subTest(raw=raw[:40]):
                status = status_of(raw_http(host, raw))
                self.assertIsNotNone(status)
                self.assertLess(status, 500)
        page = flow.authorize(base)
        form = Page(page.text).form("/login")
        self.assertIsNotNone(form)
        posts = [
            ("/login", {**form.inputs, "username": "\udcff-not-utf8", "password": "x"}),
            ("/login", {**form.inputs, "username": "nobody-at-all", "password": "P" * 60000}),
            # Counted by the throttle under its username: too long for a database index as it is.
            ("/login", {**form.inputs, "username": os.urandom(12000).hex(), "password": "x"}),
            ("/login", {**form.inputs, "request": "garbage", "username": "nobody", "password": "x"}),
            ("/login", {**form.inputs, "request": form.inputs["request"][::-1], "username": "nobody",
                        "password": "x"}),
            ("/consent", {"csrf": form.inputs["csrf"], "request": "garbage", "decision": "allow"}),
            ("/consent", {"csrf": form.inputs["csrf"], "request": form.inputs["request"], "decision": "maybe"}),
        ]
        for path, data in posts:
            with self.subTest(path=path, fields=sorted(data)):
                body = urllib.parse.urlencode(data, encoding="utf-8", errors="surrogateescape")
                r = flow.s.post(self.url + path, data=body, allow_redirects=False, timeout=15,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertLess(r.status_code, 500, r.text[:200])
                if "Location" in r.headers:
                    self.assertTrue(r.headers["Location"].startswith(WEB_CB), r.headers["Location"])
        self.assertEqual(self.http.get(self.url + "/.well-known/openid-configuration", timeout=5).status_code, 200)
        self.assertIsNone(self.server.proc.poll())

if __name__ == "__main__":
    unittest.main(verbosity=2)
