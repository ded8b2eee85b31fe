"""End-to-end: the token lifecycle against the real binary. Introspection (RFC 7662), revocation
(RFC 7009), opaque access tokens, the device authorization grant (RFC 8628) with its verification
page driven like a browser, and the admin commands that sign people out everywhere.
"""

import json
import os
import re
import sys
import tempfile
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
from harness import basic, cli, create_client, wait_until  # noqa: E402
from signin_helpers import (Flow, Page, SignInServerTestCase, add_user, create_code_client,  # noqa: E402
                            is_html, pkce_pair, query_of, single)

WEB = "lc-web"
WEB_CB = "https://web.example.com/cb"
OPAQUE = "lc-opaque"
OPAQUE_CB = "https://opaque.example.com/cb"
SCOPES = "openid profile email offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
PASSWORD = "dora-password-123"


class LifecycleBase(SignInServerTestCase):
    server_env = {"LATCHKEY_DEVICE_POLL_INTERVAL": "1", "LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": "0"}

    @classmethod
    def setup_data(cls, d):
        cls.web = create_code_client(d, WEB, [WEB_CB], SCOPES, name="Lifecycle Web")
        cls.opaque = create_code_client(d, OPAQUE, [OPAQUE_CB], SCOPES, name="Opaque Web")
        cli("client", "update", OPAQUE, "--access-token-format", "opaque", data_dir=d)
        # A resource server that may introspect every client's tokens, also by bearer token.
        cls.api = create_client(d, "lc-api", "--scope", "api", "--scope", "introspect", "--introspect-any", "true")
        cls.svc = create_client(d, "lc-svc", "--scope", "api")
        cls.svc_opaque = create_client(d, "lc-svc-opaque", "--scope", "api", "--access-token-format", "opaque")
        cls.tv = create_client(d, "lc-tv", "--public", "--name", "Living Room TV", "--grant-type", DEVICE_GRANT,
                               "--grant-type", "refresh_token", "--scope", "openid", "--scope", "profile",
                               "--scope", "offline_access")
        add_user(d, "dora", PASSWORD)

    # --- helpers ---------------------------------------------------------------------------------

    def post(self, path, data, auth=None, headers=None):
        h = dict(headers or {})
        if auth:
            h["Authorization"] = basic(*auth)
        return self.http.post(self.url + path, data=data, headers=h, timeout=10)

    def introspect(self, token, auth=None, **extra):
        return self.post("/introspect", {"token": token, **extra}, auth=auth or ("lc-api", self.api["client_secret"]))

    def revoke(self, token, auth=None, **extra):
        return self.post("/revoke", {"token": token, **extra}, auth=auth or (WEB, self.web["client_secret"]))

    def sign_in(self, client=WEB, redirect_uri=WEB_CB, username="dora", password=PASSWORD,
                scope="openid profile offline_access"):
        secret = (self.web if client == WEB else self.opaque)["client_secret"]
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client, "redirect_uri": redirect_uri, "scope": scope,
                  "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        r, _, _ = flow.sign_in(params, username, password)
        code = flow.code_from(r, redirect_uri)
        t = self.post("/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                 "code_verifier": verifier}, auth=(client, secret))
        self.assertEqual(t.status_code, 200, t.text)
        return t.json(), flow

    def refresh(self, refresh_token, client=WEB):
        secret = (self.web if client == WEB else self.opaque)["client_secret"]
        return self.post("/token", {"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=(client, secret))

    def userinfo(self, access_token):
        return self.http.get(self.url + "/userinfo", headers={"Authorization": "Bearer " + access_token}, timeout=10)

    def assert_inactive(self, r):
        self.assertEqual(r.status_code, 200, r.text)
        # RFC 7662 §2.2: nothing but "active": false.
        self.assertEqual(r.json(), {"active": False})
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")

    def client_token(self, client_id, secret, scope="api"):
        r = self.post("/token", {"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret))
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["access_token"]


class Introspection(LifecycleBase):

    def test_discovery_advertises_the_endpoints(self):
        self.assertEqual(self.meta["introspection_endpoint"], self.url + "/introspect")
        self.assertEqual(self.meta["revocation_endpoint"], self.url + "/revoke")
        self.assertEqual(self.meta["device_authorization_endpoint"], self.url + "/device_authorization")
        self.assertIn(DEVICE_GRANT, self.meta["grant_types_supported"])

    def test_rfc7662_section2_2_active_jwt_access_token(self):
        tokens, _ = self.sign_in()
        r = self.introspect(tokens["access_token"])
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], WEB)
        self.assertEqual(body["username"], "dora")
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["scope"], "openid profile offline_access")
        self.assertEqual(body["iss"], self.url)
        for member in ("exp", "iat", "nbf", "sub", "aud", "jti"):
            self.assertIn(member, body)
        self.assertGreater(body["exp"], time.time())

    def test_rfc7662_section4_a_client_sees_only_its_own_tokens(self):
        tokens, _ = self.sign_in()
        own = self.introspect(tokens["access_token"], auth=(WEB, self.web["client_secret"]))
        self.assertIs(own.json()["active"], True)
        self.assert_inactive(self.introspect(tokens["access_token"], auth=("lc-svc", self.svc["client_secret"])))

    def test_rfc7662_section2_1_bearer_token_with_introspect_scope(self):
        tokens, _ = self.sign_in()
        bearer = self.client_token("lc-api", self.api["client_secret"], scope="introspect")
        r = self.post("/introspect", {"token": tokens["access_token"]}, headers={"Authorization": "Bearer " + bearer})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIs(r.json()["active"], True)
        # A bearer token without the introspect scope authorizes nothing.
        plain = self.client_token("lc-api", self.api["client_secret"], scope="api")
        r = self.post("/introspect", {"token": tokens["access_token"]}, headers={"Authorization": "Bearer " + plain})
        self.assertEqual(r.status_code, 401, r.text)
        self.assertIn("Bearer", r.headers.get("WWW-Authenticate", ""))

    def test_rfc7662_section2_1_caller_must_authenticate(self):
        tokens, _ = self.sign_in()
        r = self.post("/introspect", {"token": tokens["access_token"]})
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["error"], "invalid_client")
        wrong = self.introspect(tokens["access_token"], auth=("lc-api", "wrong-secret"))
        self.assertEqual(wrong.status_code, 401)
        # A public client cannot authenticate, so it cannot introspect.
        public = self.post("/introspect", {"token": tokens["access_token"], "client_id": "lc-tv"})
        self.assertEqual(public.status_code, 401)

    def test_malformed_requests(self):
        auth = {"Authorization": basic("lc-api", self.api["client_secret"])}
        r = self.http.post(self.url + "/introspect", json={"token": "x"}, headers=auth, timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "invalid_request")
        r = self.http.post(self.url + "/introspect", data="token=a&token=b", headers={
            **auth, "Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
        self.assertEqual(r.status_code, 400)
        r = self.http.get(self.url + "/introspect", timeout=10)
        self.assertEqual(r.status_code, 405)
        self.assertEqual(self.introspect("").status_code, 400)

    def test_unknown_forged_and_hint_ignored(self):
        self.assert_inactive(self.introspect("no-such-token"))
        self.assert_inactive(self.introspect("a.b.c"))
        self.assert_inactive(self.introspect("\u00e9\u0000" * 50))
        tokens, _ = self.sign_in()
        # A wrong hint only orders the search (RFC 7662 §2.1).
        r = self.introspect(tokens["access_token"], token_type_hint="refresh_token")
        self.assertIs(r.json()["active"], True)
        r = self.introspect(tokens["refresh_token"], token_type_hint="access_token")
        self.assertIs(r.json()["active"], True)
        self.assertEqual(r.json()["token_type"], "refresh_token")
        # An ID token is not an access token.
        self.assert_inactive(self.introspect(tokens["id_token"]))

    def test_rotated_refresh_token_is_inactive(self):
        tokens, _ = self.sign_in()
        r = self.refresh(tokens["refresh_token"])
        self.assertEqual(r.status_code, 200, r.text)
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        self.assertIs(self.introspect(r.json()["refresh_token"]).json()["active"], True)

    def test_a_disabled_users_refresh_token_is_refused_without_being_spent(self):
        tokens, _ = self.sign_in()
        cli("user", "disable", "dora", data_dir=self.data_dir)
        self.addCleanup(cli, "user", "enable", "dora", data_dir=self.data_dir)
        r = self.refresh(tokens["refresh_token"])
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"], "invalid_grant")
        # Enabled again, the same token still works once: the refusal did not rotate it away.
        cli("user", "enable", "dora", data_dir=self.data_dir)
        r = self.refresh(tokens["refresh_token"])
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.refresh(tokens["refresh_token"]).json()["error"], "invalid_grant")

    def test_client_credentials_token(self):
        token = self.client_token("lc-svc", self.svc["client_secret"])
        body = self.introspect(token).json()
        self.assertIs(body["active"], True)
        self.assertEqual(body["sub"], "lc-svc")
        self.assertNotIn("username", body)


class Revocation(LifecycleBase):

    def test_rfc7009_section2_1_refresh_token_revokes_family_and_access_tokens(self):
        tokens, _ = self.sign_in()
        r = self.revoke(tokens["refresh_token"], token_type_hint="refresh_token")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.refresh(tokens["refresh_token"]).json()["error"], "invalid_grant")
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        # The access token issued from the same grant is dead too, though it is a JWT.
        self.assert_inactive(self.introspect(tokens["access_token"]))
        self.assertEqual(self.userinfo(tokens["access_token"]).status_code, 401)

    def test_rfc7009_jwt_access_token_remembered_by_jti(self):
        tokens, _ = self.sign_in()
        self.assertEqual(self.userinfo(tokens["access_token"]).status_code, 200)
        self.assertEqual(self.revoke(tokens["access_token"], token_type_hint="access_token").status_code, 200)
        self.assert_inactive(self.introspect(tokens["access_token"]))
        self.assertEqual(self.userinfo(tokens["access_token"]).status_code, 401)
        # The refresh token lives on, and a new access token from it is active.
        r = self.refresh(tokens["refresh_token"])
        self.assertEqual(r.status_code, 200, r.text)
        self.assertIs(self.introspect(r.json()["access_token"]).json()["active"], True)

    def test_rfc7009_section2_2_unknown_and_repeated_tokens_get_200(self):
        self.assertEqual(self.revoke("no-such-token").status_code, 200)
        self.assertEqual(self.revoke("x.y.z").status_code, 200)
        tokens, _ = self.sign_in()
        self.assertEqual(self.revoke(tokens["refresh_token"]).status_code, 200)
        self.assertEqual(self.revoke(tokens["refresh_token"]).status_code, 200)

    def test_rfc7009_section2_1_another_clients_token_is_refused(self):
        tokens, _ = self.sign_in()
        r = self.revoke(tokens["refresh_token"], auth=("lc-svc", self.svc["client_secret"]))
        self.assertEqual(r.status_code, 400, r.text)
        r = self.revoke(tokens["access_token"], auth=("lc-svc", self.svc["client_secret"]))
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIs(self.introspect(tokens["refresh_token"]).json()["active"], True)
        self.assertIs(self.introspect(tokens["access_token"]).json()["active"], True)

    def test_client_must_authenticate(self):
        tokens, _ = self.sign_in()
        r = self.post("/revoke", {"token": tokens["refresh_token"]}, auth=(WEB, "wrong"))
        self.assertEqual(r.status_code, 401)
        self.assertIn("WWW-Authenticate", r.headers)
        self.assertIs(self.introspect(tokens["refresh_token"]).json()["active"], True)

    def test_code_replay_revokes_the_access_token(self):
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB, "scope": "openid",
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        r, _, _ = flow.sign_in(params, "dora", PASSWORD)
        code = flow.code_from(r, WEB_CB)
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB, "code_verifier": verifier}
        first = self.post("/token", data, auth=(WEB, self.web["client_secret"]))
        self.assertEqual(first.status_code, 200)
        self.assertIs(self.introspect(first.json()["access_token"]).json()["active"], True)
        second = self.post("/token", data, auth=(WEB, self.web["client_secret"]))
        self.assertEqual(second.json()["error"], "invalid_grant")
        # RFC 6749 §4.1.2: "SHOULD revoke ... all tokens previously issued based on that code".
        self.assert_inactive(self.introspect(first.json()["access_token"]))


class OpaqueTokens(LifecycleBase):

    def test_opaque_access_token_works_and_revokes_at_once(self):
        tokens, _ = self.sign_in(client=OPAQUE, redirect_uri=OPAQUE_CB)
        access = tokens["access_token"]
        self.assertNotIn(".", access)
        self.assertGreaterEqual(len(access), 43)
        self.assertEqual(self.userinfo(access).status_code, 200)
        body = self.introspect(access).json()
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], OPAQUE)
        self.assertEqual(body["username"], "dora")
        r = self.revoke(access, auth=(OPAQUE, self.opaque["client_secret"]))
        self.assertEqual(r.status_code, 200)
        self.assert_inactive(self.introspect(access))
        self.assertEqual(self.userinfo(access).status_code, 401)

    def test_opaque_tokens_die_with_their_refresh_family(self):
        tokens, _ = self.sign_in(client=OPAQUE, redirect_uri=OPAQUE_CB)
        self.assertEqual(self.revoke(tokens["refresh_token"], auth=(OPAQUE, self.opaque["client_secret"])).status_code,
                         200)
        self.assert_inactive(self.introspect(tokens["access_token"]))

    def test_opaque_token_from_a_refresh_works_and_dies_with_its_family(self):
        # On PostgreSQL the rotation stores this token in its own statement (grant id computed
        # there); on SQLite the server stores it after the rotation. Either way it must act alike.
        tokens, _ = self.sign_in(client=OPAQUE, redirect_uri=OPAQUE_CB)
        r = self.refresh(tokens["refresh_token"], client=OPAQUE)
        self.assertEqual(r.status_code, 200, r.text)
        refreshed = r.json()
        access = refreshed["access_token"]
        self.assertNotIn(".", access)
        self.assertNotEqual(access, tokens["access_token"])
        self.assertEqual(self.userinfo(access).status_code, 200)
        body = self.introspect(access).json()
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], OPAQUE)
        self.assertEqual(body["username"], "dora")
        self.assertEqual(body["scope"], tokens["scope"])
        self.assertEqual(body["exp"] - body["iat"], refreshed["expires_in"])
        # RFC 7009 §2.1: revoking the refresh token revokes the access tokens of its grant, this one
        # included (it carries the grant's id).
        self.assertEqual(self.revoke(refreshed["refresh_token"], auth=(OPAQUE, self.opaque["client_secret"])).status_code,
                         200)
        self.assert_inactive(self.introspect(access))
        self.assertEqual(self.userinfo(access).status_code, 401)

    def test_opaque_client_credentials(self):
        token = self.client_token("lc-svc-opaque", self.svc_opaque["client_secret"])
        self.assertNotIn(".", token)
        body = self.introspect(token).json()
        self.assertIs(body["active"], True)
        self.assertEqual(body["client_id"], "lc-svc-opaque")


class DeviceFlow(LifecycleBase):

    def start(self, client_id="lc-tv", scope="openid profile offline_access", ua="LivingRoomTV/2.0"):
        r = self.http.post(self.url + "/device_authorization", data={"client_id": client_id, "scope": scope},
                           headers={"User-Agent": ua}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        return r.json()

    def poll(self, device_code, client_id="lc-tv"):
        return self.http.post(self.url + "/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code,
                                                          "client_id": client_id}, timeout=10)

    def approve(self, user_code, decision="approve", typed=None, login=True):
        """A person at a browser: types the code, signs in, allows (or denies). Returns the last page."""
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        entry = flow.s.get(self.url + "/device", timeout=10)
        self.assertEqual(entry.status_code, 200)
        self.assertTrue(is_html(entry))
        r = flow.submit(entry, "/device", {"user_code": typed or user_code})
        if login:
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertIsNotNone(Page(r.text).form("/login"), r.text[:500])
            r = flow.login(r, "dora", PASSWORD)
            self.assertEqual(r.status_code, 303, r.text[:300])
            self.assertTrue(r.headers["Location"].startswith("/device?user_code="), r.headers["Location"])
            r = flow.s.get(self.url + r.headers["Location"], allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200, r.text[:500])
        confirm = Page(r.text)
        self.assertIn("Living Room TV", confirm.text)
        self.assertIn("LivingRoomTV/2.0", confirm.text)  # which device asks (RFC 8628 §5.4)
        self.assertIn(user_code, confirm.text)
        return flow.submit(r, "/device", {"decision": decision})

    def wait_interval(self, started):
        time.sleep(started["interval"] + 0.2)

    def test_rfc8628_section3_2_device_authorization_response(self):
        d = self.start()
        self.assertRegex(d["user_code"], USER_CODE)
        self.assertEqual(d["verification_uri"], self.url + "/device")
        self.assertEqual(d["verification_uri_complete"], self.url + "/device?user_code=" + d["user_code"])
        self.assertEqual(d["expires_in"], 600)
        self.assertEqual(d["interval"], 1)
        self.assertGreaterEqual(len(d["device_code"]), 43)

    def test_rfc8628_full_flow_with_browser_approval(self):
        d = self.start()
        r = self.poll(d["device_code"])
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "authorization_pending")
        # Typed in lower case and without the dash: still the code (RFC 8628 §6.1).
        done = self.approve(d["user_code"], typed=d["user_code"].lower().replace("-", " "))
        self.assertEqual(done.status_code, 200)
        self.assertIn("return to your device", Page(done.text).text)
        self.wait_interval(d)
        t = self.poll(d["device_code"])
        self.assertEqual(t.status_code, 200, t.text)
        tokens = t.json()
        self.assertIn("access_token", tokens)
        self.assertIn("refresh_token", tokens)
        self.assertIn("id_token", tokens)
        body = self.introspect(tokens["access_token"]).json()
        self.assertEqual(body["username"], "dora")
        self.assertEqual(body["client_id"], "lc-tv")
        # Single use: the device code is spent, and its replay revokes what it granted.
        self.wait_interval(d)
        again = self.poll(d["device_code"])
        self.assertEqual(again.status_code, 400)
        self.assertEqual(again.json()["error"], "invalid_grant")
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        # The refresh token of a public device client rotates like any other.

    def test_rfc8628_section3_5_access_denied(self):
        d = self.start()
        done = self.approve(d["user_code"], decision="deny")
        self.assertEqual(done.status_code, 200)
        self.assertIn("not connected", Page(done.text).text)
        self.wait_interval(d)
        r = self.poll(d["device_code"])
        self.assertEqual(r.json()["error"], "access_denied")

    def test_rfc8628_section3_5_slow_down_raises_the_interval(self):
        d = self.start()
        self.assertEqual(self.poll(d["device_code"]).json()["error"], "authorization_pending")
        r = self.poll(d["device_code"])
        self.assertEqual(r.json()["error"], "slow_down")
        # The interval is now 1 + 5 seconds: polling after the old interval is still too fast.
        self.wait_interval(d)
        self.assertEqual(self.poll(d["device_code"]).json()["error"], "slow_down")

    def test_clients_without_the_grant_and_unknown_device_codes(self):
        d = self.start()
        r = self.http.post(self.url + "/token", data={"grant_type": DEVICE_GRANT, "device_code": d["device_code"]},
                           auth=("lc-svc", self.svc["client_secret"]), timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "unauthorized_client")
        self.assertEqual(self.poll("no-such-code").json()["error"], "invalid_grant")
        missing = self.http.post(self.url + "/token", data={"grant_type": DEVICE_GRANT, "client_id": "lc-tv"},
                                 timeout=10)
        self.assertEqual(missing.json()["error"], "invalid_request")

    def test_clients_without_the_grant_and_bad_scopes(self):
        r = self.http.post(self.url + "/device_authorization", data={"scope": "openid"},
                           auth=(WEB, self.web["client_secret"]), timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "unauthorized_client")
        r = self.http.post(self.url + "/device_authorization", data={"client_id": "lc-tv", "scope": "admin"},
                           timeout=10)
        self.assertEqual(r.json()["error"], "invalid_scope")
        r = self.http.post(self.url + "/device_authorization", data={"client_id": "nobody"}, timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["error"], "invalid_client")

    def test_verification_uri_complete_with_a_session_shows_the_approval(self):
        d = self.start()
        tokens, flow = self.sign_in()  # a browser already signed in as dora
        r = flow.s.get(d["verification_uri_complete"], allow_redirects=False, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertIn(d["user_code"], Page(r.text).text)
        done = flow.submit(r, "/device", {"decision": "approve"})
        self.assertIn("return to your device", Page(done.text).text)
        # A second approval of the same code: refused, nothing changes.
        again = flow.submit(r, "/device", {"decision": "deny"})
        self.assertIn(again.status_code, (404, 409))

    def test_forged_csrf_is_refused(self):
        d = self.start()
        r = self.http.post(self.url + "/device", data={"user_code": d["user_code"], "csrf": "forged"}, timeout=10)
        self.assertEqual(r.status_code, 403)


class DeviceCodeExpiry(LifecycleBase):
    """RFC 8628 §3.5 expired_token, with device codes that live 5 seconds."""

    server_env = {"LATCHKEY_DEVICE_CODE_LIFETIME": "5", "LATCHKEY_DEVICE_POLL_INTERVAL": "1"}

    def test_rfc8628_section3_5_expired_token(self):
        r = self.http.post(self.url + "/device_authorization", data={"client_id": "lc-tv", "scope": "openid"},
                           timeout=10)
        d = r.json()
        self.assertEqual(d["expires_in"], 5)
        poll = {"grant_type": DEVICE_GRANT, "device_code": d["device_code"], "client_id": "lc-tv"}
        self.assertEqual(self.http.post(self.url + "/token", data=poll, timeout=10).json()["error"],
                         "authorization_pending")
        time.sleep(5.5)
        r = self.http.post(self.url + "/token", data=poll, timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["error"], "expired_token")
        # The page no longer accepts the code either.
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        entry = flow.s.get(self.url + "/device", timeout=10)
        r = flow.submit(entry, "/device", {"user_code": d["user_code"]})
        self.assertEqual(r.status_code, 404)


class DeviceCodeGuessing(LifecycleBase):
    """RFC 8628 §5.1: wrong user codes from one address are throttled. Its own server: the throttle
    counts per address, and every test runs from 127.0.0.1."""

    server_env = {"LATCHKEY_DEVICE_FREE_FAILURES": "3"}

    def test_rfc8628_section5_1_brute_force_is_throttled(self):
        flow = Flow(self.url)
        self.addCleanup(flow.s.close)
        entry = flow.s.get(self.url + "/device", timeout=10)
        statuses = []
        for _ in range(5):
            r = flow.submit(entry, "/device", {"user_code": "BCDF-GHJK"})
            statuses.append(r.status_code)
        self.assertEqual(statuses[:3], [404, 404, 404])
        self.assertEqual(statuses[-1], 429)
        self.assertIn("Retry-After", r.headers)
        self.assertIn("Too many wrong codes", Page(r.text).text)


AUDIT_FILE = os.path.join(tempfile.gettempdir(), f"latchkey-audit-{os.getpid()}.jsonl")


class AuditTrail(LifecycleBase):
    """audit.destination: a file of its own, one JSON event per action, never a token."""

    server_env = {"LATCHKEY_AUDIT_DESTINATION": AUDIT_FILE}

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if os.path.exists(AUDIT_FILE):
            os.unlink(AUDIT_FILE)

    def events(self):
        with open(AUDIT_FILE) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_events_go_to_the_audit_file_without_secrets(self):
        tokens, _ = self.sign_in()
        self.assertEqual(self.revoke(tokens["refresh_token"]).status_code, 200)
        wanted = {"login_succeeded", "consent_granted", "token_issued", "token_revoked"}
        self.assertTrue(wait_until(lambda: wanted <= {e.get("event") for e in self.events()}, 5),
                        [e.get("event") for e in self.events()])
        revoked = [e for e in self.events() if e.get("event") == "token_revoked"][-1]
        self.assertEqual(revoked["client_id"], WEB)
        self.assertEqual(revoked["msg"], "audit")
        self.assertIn("request_id", revoked)
        self.assertIn("remote_address", revoked)
        issued = [e for e in self.events() if e.get("event") == "token_issued"][-1]
        self.assertTrue(issued["user_id"])
        with open(AUDIT_FILE) as f:
            text = f.read()
        for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"], PASSWORD,
                       self.web["client_secret"]):
            self.assertNotIn(secret, text)
        # The audit trail left the main log.
        self.assertNotIn('"event":"token_revoked"', self.server.log_text())
        self.assertEqual(os.stat(AUDIT_FILE).st_mode & 0o077, 0)  # readable by Latchkey's user only


    def test_admin_changes_are_audited(self):
        for args in (["client", "create", "--id", "audited-svc", "--scope", "api"],
                     ["client", "rotate-secret", "audited-svc"],
                     ["user", "disable", "dora"], ["user", "enable", "dora"]):
            # Through the harness: with LATCHKEY_TEST_STORAGE=postgres it names the same database.
            cli(*args, data_dir=self.data_dir, env={"LATCHKEY_AUDIT_DESTINATION": AUDIT_FILE})
        events = [(e.get("event"), e.get("client_id") or e.get("username")) for e in self.events()]
        for wanted in [("admin_client_create", "audited-svc"), ("admin_client_rotate_secret", "audited-svc"),
                       ("admin_user_disable", "dora"), ("admin_user_enable", "dora")]:
            self.assertIn(wanted, events)


class HostileInput(LifecycleBase):
    """Malformed, hostile, oversized and repeated input to the new endpoints: a 4xx (or the
    documented 200 of introspection and revocation), never a 5xx, and the server keeps serving."""

    def test_never_a_server_error(self):
        big = "A" * 60000
        bad_utf8 = "%FF%FE%C0%AF"
        api = {"Authorization": basic("lc-api", self.api["client_secret"])}
        web = {"Authorization": basic(WEB, self.web["client_secret"])}
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        cases = [
            ("POST", "/introspect", "token=" + big, {**api, **form}),
            ("POST", "/introspect", "token=" + bad_utf8, {**api, **form}),
            ("POST", "/introspect", "token=a.b.c&token_type_hint=" + bad_utf8, {**api, **form}),
            ("POST", "/introspect", "token=%", {**api, **form}),
            ("POST", "/introspect", "token=x", {"Authorization": "Bearer " + big, **form}),
            ("POST", "/introspect", "token=x", {"Authorization": "Basic " + big, **form}),
            ("POST", "/revoke", "token=" + big, {**web, **form}),
            ("POST", "/revoke", "token=eyJhbGciOiJub25lIn0.e30.", {**web, **form}),
            ("POST", "/revoke", "token=a&token=b", {**web, **form}),
            ("POST", "/device_authorization", "client_id=lc-tv&scope=" + big, form),
            ("POST", "/device_authorization", "client_id=" + bad_utf8, form),
            ("POST", "/device_authorization", "client_id=lc-tv&client_id=lc-tv", form),
            ("POST", "/token", "grant_type=" + DEVICE_GRANT + "&client_id=lc-tv&device_code=" + big, form),
            ("POST", "/token", "grant_type=" + DEVICE_GRANT + "&client_id=lc-tv&device_code=" + bad_utf8, form),
            ("GET", "/device?user_code=" + big[:6000], "", {}),
            ("GET", "/device?user_code=" + bad_utf8, "", {}),
            ("GET", "/device?user_code=%", "", {}),
            ("POST", "/device", "user_code=" + bad_utf8 + "&csrf=x", form),
            ("POST", "/device", "{}", {"Content-Type": "application/json"}),
            ("GET", "/logout?id_token_hint=" + big[:6000], "", {}),
            ("GET", "/logout?post_logout_redirect_uri=" + bad_utf8 + "&client_id=" + WEB, "", {}),
            ("GET", "/logout?state=%", "", {}),
            ("POST", "/logout", "decision=logout", form),
            ("POST", "/logout", "x", {"Content-Type": "text/plain"}),
        ]
        for method, path, body, headers in cases:
            r = self.http.request(method, self.url + path, data=body.encode(), headers=headers, timeout=10,
                                  allow_redirects=False)
            self.assertLess(r.status_code, 500, (method, path[:80], r.status_code, r.text[:200]))
            if path == "/introspect" and r.status_code == 200:
                self.assertEqual(r.json(), {"active": False}, path)
        self.assertEqual(self.http.get(self.url + "/healthz", timeout=5).status_code, 200)


class AdminRevocation(LifecycleBase):

    def test_user_revoke_tokens_signs_out_everywhere(self):
        tokens, flow = self.sign_in()
        _, out, _ = cli("session", "list", "--user", "dora", "--json", data_dir=self.data_dir)
        sessions = json.loads(out)["sessions"]
        self.assertTrue(any(not s["revoked"] and WEB in s["clients"] for s in sessions), sessions)
        # Introspected once, so the server remembers the answer (introspection.cache_size).
        self.assertIs(self.introspect(tokens["access_token"]).json()["active"], True)
        revoked_at = time.monotonic()
        cli("user", "revoke-tokens", "dora", data_dir=self.data_dir)
        # A revocation by an admin command (another process) reaches the remembered answer within
        # the server's half-second store poll.
        self.assertTrue(wait_until(lambda: self.introspect(tokens["access_token"]).json() == {"active": False},
                                   timeout=5, interval=0.05))
        self.assertLess(time.monotonic() - revoked_at, 2.5, "seen within the store poll (plus the command's run)")
        self.assert_inactive(self.introspect(tokens["access_token"]))
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        self.assertEqual(self.refresh(tokens["refresh_token"]).json()["error"], "invalid_grant")
        _, out, _ = cli("session", "list", "--user", "dora", "--json", data_dir=self.data_dir)
        self.assertTrue(all(s["revoked"] for s in json.loads(out)["sessions"]))
        # Signing in again afterwards gives working tokens. Tokens issued in the second of the
        # revocation count as revoked (NumericDate has whole seconds; the denylist errs on the safe
        # side), so the new sign-in comes a second later.
        time.sleep(1.1)
        fresh, _ = self.sign_in()
        self.assertIs(self.introspect(fresh["access_token"]).json()["active"], True)

    def test_session_revoke_ends_that_session_and_its_grants(self):
        def live():
            _, out, _ = cli("session", "list", "--user", "dora", "--json", data_dir=self.data_dir)
            return {s["id"] for s in json.loads(out)["sessions"] if not s["revoked"]}
        before = live()
        other, _ = self.sign_in()
        between = live()
        tokens, flow = self.sign_in()
        mine = live() - between
        self.assertEqual(len(mine), 1)
        self.assertEqual(len(between - before), 1)
        cli("session", "revoke", "--", mine.pop(), data_dir=self.data_dir)
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        # Another session's grants are untouched.
        self.assertIs(self.introspect(other["refresh_token"]).json()["active"], True)
        # The browser is signed out: /authorize shows the login page again.
        verifier, challenge = pkce_pair()
        r = flow.authorize({"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB, "scope": "openid",
                            "code_challenge": challenge, "code_challenge_method": "S256"})
        self.assertIsNotNone(Page(r.text).form("/login"))
        code, _, err = cli("session", "revoke", "not-a-session", data_dir=self.data_dir, check=False)
        self.assertEqual(code, 3, err)

    def test_grant_list_and_revoke(self):
        tokens, _ = self.sign_in()
        _, out, _ = cli("grant", "list", "--user", "dora", "--json", data_dir=self.data_dir)
        self.assertIn(WEB, [c["client_id"] for c in json.loads(out)["consents"]])
        cli("grant", "revoke", "--user", "dora", WEB, data_dir=self.data_dir)
        self.assert_inactive(self.introspect(tokens["refresh_token"]))
        self.assert_inactive(self.introspect(tokens["access_token"]))
        _, out, _ = cli("grant", "list", "--user", "dora", "--json", data_dir=self.data_dir)
        self.assertNotIn(WEB, [c["client_id"] for c in json.loads(out)["consents"]])


if __name__ == "__main__":
    unittest.main()
