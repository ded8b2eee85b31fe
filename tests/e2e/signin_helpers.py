"""Helpers for the sign-in (authorization code) tests: the login and consent HTML forms, PKCE, the
redirect back to the client, and ID token verification with jwcrypto.

Shared by tests/e2e/test_signin.py, tests/interop/test_authlib_code.py and tests/browser/test_browser.py.
Only the standard library, requests and jwcrypto (Debian's python3-* packages).
"""

import base64
import hashlib
import html.parser
import json
import os
import secrets
import shutil
import tempfile
import time
import urllib.parse

import requests

from harness import Server, ServerTestCase, cli

GENERIC_LOGIN_ERROR = "Incorrect username or password."


# --- HTML -----------------------------------------------------------------------------------------

class Form:
    """One <form>: its action and method, the inputs and buttons it holds (name -> value)."""

    def __init__(self, attrs):
        self.attrs = attrs
        self.action = attrs.get("action") or ""
        self.method = (attrs.get("method") or "get").lower()
        self.inputs = {}       # name -> value (hidden, text, password, ... last one wins)
        self.input_attrs = []  # every <input>'s attributes, in order
        self.buttons = []      # (name, value, type, text) of each <button> / <input type=submit>

    def input(self, name):
        for a in self.input_attrs:
            if a.get("name") == name:
                return a
        return None

    def __repr__(self):
        return f"Form(action={self.action!r}, method={self.method!r}, inputs={sorted(self.inputs)})"


class Page(html.parser.HTMLParser):
    """A lenient parse of an HTML page: forms, labels, title, scripts and visible text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.labels = {}  # for= id -> label text
        self.ids = {}     # id -> tag attributes
        self.title = ""
        self.scripts = 0
        self.noscript = 0
        self.links = []   # href of <link> and <a>
        self._text = []
        self._form = None
        self._button = None
        self._label = None
        self._in = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] = dict(a, tag=tag)
        if tag in ("title", "script", "style", "noscript"):
            self._in.append(tag)
            if tag == "script":
                self.scripts += 1
            if tag == "noscript":
                self.noscript += 1
        if tag == "form":
            self._form = Form(a)
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form.input_attrs.append(a)
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self._form.buttons.append((a.get("name", ""), a.get("value", ""), kind, a.get("value", "")))
            elif a.get("name"):
                self._form.inputs[a["name"]] = a.get("value", "")
        elif tag == "button" and self._form is not None:
            self._button = [a.get("name", ""), a.get("value", ""), a.get("type", "submit").lower(), ""]
        elif tag == "label":
            self._label = [a.get("for", ""), ""]
        elif tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None:
            if self._form is not None:
                self._button[3] = self._button[3].strip()
                self._form.buttons.append(tuple(self._button))
            self._button = None
        elif tag == "label" and self._label is not None:
            if self._label[0]:
                self.labels[self._label[0]] = " ".join(self._label[1].split())
            self._label = None

    def handle_data(self, data):
        if self._in and self._in[-1] == "title":
            self.title += data
        if self._in and self._in[-1] in ("script", "style"):
            return
        if self._button is not None:
            self._button[3] += data
        if self._label is not None:
            self._label[1] += data
        self._text.append(data)

    @property
    def text(self):
        return " ".join(" ".join(self._text).split())

    def form(self, action_suffix=None):
        """The first form whose action ends with `action_suffix` (any form when None)."""
        for f in self.forms:
            if action_suffix is None or f.action.split("?")[0].endswith(action_suffix):
                return f
        return None


def is_html(response):
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/html"


# --- Protocol values ------------------------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pkce_pair():
    """RFC 7636: a 43-character verifier and its S256 challenge."""
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def at_hash(access_token):
    """OIDC Core 3.1.3.6 for the SHA-256 algorithms (RS256, PS256, ES256)."""
    return b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def query_of(url):
    """The query parameters of a URL as a dict of lists (keeps repeats visible)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def single(params, name):
    values = params.get(name, [])
    if len(values) != 1:
        raise AssertionError(f"expected exactly one {name!r} in {params}")
    return values[0]


def jwt_parts(token):
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


# --- Server set-up --------------------------------------------------------------------------------

def demo_password(server, data_dir):
    """The dev-mode demo user's password: DATA_DIR/dev-users.json, else the line dev mode prints."""
    path = os.path.join(data_dir, "dev-users.json")
    if os.path.exists(path):
        with open(path) as f:
            password = json.load(f).get("demo")
        if password:
            return password
    for line in server.stdout:
        marker = "Demo user: username=demo password="
        if line.startswith(marker):
            return line[len(marker):].strip()
    raise AssertionError("dev mode did not report the demo user's password:\n" + server.log_text()[-2000:])


def create_code_client(data_dir, client_id, redirect_uris, scopes, public=False, name=None, refresh=True,
                       id_token_alg=None):
    """Registers an authorization_code client with the CLI; returns its JSON (client_secret for
    confidential clients)."""
    args = ["client", "create", "--id", client_id, "--json", "--grant-type", "authorization_code"]
    if refresh:
        args += ["--grant-type", "refresh_token"]
    if public:
        args += ["--public"]
    if name:
        args += ["--name", name]
    if id_token_alg:
        args += ["--id-token-alg", id_token_alg]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    for scope in scopes.split():
        args += ["--scope", scope]
    _, out, _ = cli(*args, data_dir=data_dir)
    return json.loads(out)


def add_user(data_dir, username, password, *extra):
    _, out, _ = cli("user", "add", username, "--password-stdin", "--json", *extra, data_dir=data_dir,
                    stdin=password + "\n")
    return json.loads(out)


class SignInServerTestCase(ServerTestCase):
    """A dev server whose clients and users are registered BEFORE it starts (so it loads them at
    start-up and no test depends on the reload interval). Subclasses override `setup_data`."""

    server_args = ()
    server_env = None

    @classmethod
    def setup_data(cls, data_dir):
        """Registers clients/users with the CLI; runs before the server starts."""

    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp(prefix="latchkey-signin-")
        try:
            cls.setup_data(cls.data_dir)
            cls.server = Server(cls.data_dir, cls.server_args, cls.server_env)
        except BaseException:
            shutil.rmtree(cls.data_dir, ignore_errors=True)
            raise
        cls.url = cls.server.url
        cls.http = requests.Session()
        cls.demo_password = demo_password(cls.server, cls.data_dir)
        cls.meta = cls.http.get(cls.url + "/.well-known/openid-configuration", timeout=5).json()

    def endpoint(self, name, default_path):
        return self.meta.get(name) or (self.url + default_path)


# --- Driving the login and consent pages ----------------------------------------------------------

class Flow:
    """One browser-like sign-in: a requests.Session (keeps cookies, never follows redirects)."""

    def __init__(self, issuer, session=None, timeout=15):
        self.issuer = issuer
        self.s = session or requests.Session()
        self.timeout = timeout
        self.history = []

    def _record(self, r):
        self.history.append(r)
        return r

    def authorize(self, params, method="GET"):
        url = self.issuer + "/authorize"
        if method == "GET":
            r = self.s.get(url, params=params, allow_redirects=False, timeout=self.timeout)
        else:
            r = self.s.post(url, data=params, allow_redirects=False, timeout=self.timeout)
        return self._record(r)

    def submit(self, page_response, form_action, fields):
        """Posts the form of `page_response` whose action ends with `form_action`: its hidden inputs
        plus `fields` (which override)."""
        page = Page(page_response.text)
        form = page.form(form_action)
        if form is None:
            raise AssertionError(f"no form posting to {form_action} in page "
                                 f"({page_response.status_code}): {page.text[:500]}")
        data = {k: v for k, v in form.inputs.items()}
        data.update(fields)
        target = urllib.parse.urljoin(page_response.url, form.action)
        r = self.s.post(target, data=data, allow_redirects=False, timeout=self.timeout)
        return self._record(r)

    def login(self, page_response, username, password):
        return self.submit(page_response, "/login", {"username": username, "password": password})

    def consent(self, page_response, decision="allow"):
        return self.submit(page_response, "/consent", {"decision": decision})

    def sign_in(self, params, username, password, decision="allow"):
        """authorize -> (login) -> (consent) -> the response that leaves the provider: a redirect
        (its Location) or a form_post page. Returns (final response, saw_login, saw_consent)."""
        r = self.authorize(params)
        saw_login = saw_consent = False
        if r.status_code == 200 and Page(r.text).form("/login"):
            saw_login = True
            r = self.login(r, username, password)
        if r.status_code == 200 and Page(r.text).form("/consent"):
            saw_consent = True
            r = self.consent(r, decision)
        return r, saw_login, saw_consent

    def code_from(self, response, redirect_uri, state=None):
        """The code of a successful authorization response (redirect or form_post)."""
        if response.status_code in (302, 303):
            location = response.headers.get("Location", "")
            if not location.startswith(redirect_uri):
                raise AssertionError(f"redirect to {location!r}, expected {redirect_uri!r}")
            q = query_of(location)
            if "error" in q:
                raise AssertionError(f"authorization error: {q}")
            if state is not None and single(q, "state") != state:
                raise AssertionError(f"state {q.get('state')} != {state}")
            return single(q, "code")
        if response.status_code == 200:
            form = Page(response.text).form()
            if form is not None and form.action == redirect_uri and "code" in form.inputs:
                return form.inputs["code"]
        raise AssertionError(f"not an authorization response: {response.status_code} "
                             f"{response.headers.get('Location')} {response.text[:300]}")


# --- ID tokens ------------------------------------------------------------------------------------

def verify_id_token(http, meta, id_token, client_id, nonce=None, access_token=None, max_skew=120):
    """Verifies an ID token's signature against jwks_uri with jwcrypto, and the claims of OIDC Core
    3.1.3.7. Returns (header, claims)."""
    from jwcrypto import jwk, jwt

    keys = jwk.JWKSet.from_json(http.get(meta["jwks_uri"], timeout=5).text)
    algs = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    token = jwt.JWT(jwt=id_token, key=keys, algs=algs,
                    check_claims={"iss": meta["issuer"], "aud": client_id, "exp": None, "iat": None})
    header = json.loads(token.header)
    claims = json.loads(token.claims)
    now = time.time()
    problems = []
    if not header.get("kid"):
        problems.append("no kid in the header")
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        problems.append(f"several audiences and azp {claims.get('azp')!r}")
    if "azp" in claims and claims["azp"] != client_id:
        problems.append(f"azp {claims['azp']!r}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        problems.append("no sub")
    if not (claims.get("iat", 0) <= now + max_skew and claims.get("exp", 0) > now):
        problems.append(f"iat/exp {claims.get('iat')}/{claims.get('exp')} around {now}")
    if nonce is not None and claims.get("nonce") != nonce:
        problems.append(f"nonce {claims.get('nonce')!r} != {nonce!r}")
    if access_token is not None and header.get("alg") in ("RS256", "PS256", "ES256"):
        if claims.get("at_hash") != at_hash(access_token):
            problems.append(f"at_hash {claims.get('at_hash')!r} != {at_hash(access_token)!r}")
    if problems:
        raise AssertionError("ID token: " + "; ".join(problems) + f"\n{header}\n{claims}")
    return header, claims
