"""End-to-end fault tests: a node killed under load, and the database stopped under load.

KillNineUnderLoad: several clients sign in, take authorization codes and redeem and rotate refresh
tokens as fast as they can; in the middle of that the node gets SIGKILL (no clean shutdown, no
flush, whatever it was doing is cut off) and is started again on the same data directory. Every
code and refresh token a client received before the kill, in a response that reached the client
whole, must then work exactly once: an unused code redeems once (RFC 6749 §4.1.2: a second use is
invalid_grant), the newest refresh token of each grant rotates once (RFC 9700 §4.14.2, with the
grace window off a second use is invalid_grant), and a code or refresh token that was used before
the kill stays used. A request that was in flight when the node died, whose response the client
never received, decides nothing: its code or refresh-token chain is left out of the checks (the
client cannot know whether it took effect). The storage is the harness's: SQLite by default, the
node's own database on a throw-away PostgreSQL server with LATCHKEY_TEST_STORAGE=postgres.

PostgresOutage: two nodes on one throw-away PostgreSQL database, under load (opaque and JWT
client_credentials tokens, code redemptions, refresh rotations, /authorize with a signed-in
session). PostgreSQL is stopped (`pg_ctl stop -m fast`) for a few seconds and started again on the
same data. docs/operations.md: "While the database is unreachable, requests that need it get 503
(temporarily_unavailable) and /readyz answers 503; both recover by themselves when it is back."
Checked: no response but success or 503 temporarily_unavailable (at /authorize: the error
redirect with temporarily_unavailable, RFC 6749 §4.1.2.1), every request around the outage
answered within FAIL_FAST_BOUND; /readyz 503 while PostgreSQL is down and 200 within
RECOVERY_BOUND of its return; every request started after that succeeds; neither node exits or
logs an error or a 5xx other than 503; and nothing is half-written: a code or refresh token whose
use got 503 works when retried after the outage, every opaque access token given out is known to
introspection, and codes and refresh tokens given out before the outage work exactly once after
it. A second test repeats short outages under a load of code redemptions only, to look closely
at the one grant that spends something (the code) before it writes its result (the tokens).

With LATCHKEY_TEST_STORAGE=postgres (ctest e2e.faults_pg) only KillNineUnderLoad runs:
PostgresOutage always brings its own PostgreSQL, whatever the harness's storage, and already ran
in the default mode (ctest e2e.faults).
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(__file__))
import pg  # noqa: E402
from harness import TEST_STORAGE, Server, basic, cli, wait_until  # noqa: E402
from signin_helpers import Flow, pkce_pair, query_of, single  # noqa: E402

ISSUER = "http://127.0.0.1:9"  # the public URL (a load balancer's); never contacted
WEB, WEB_CB = "fault-web", "https://rp.example.com/cb"
SVC_JWT, SVC_OPAQUE = "fault-svc", "fault-svc-opaque"
USER, PASSWORD = "fay", "fay-password-123"
WORKERS = 4                # client threads generating load
REQUEST_TIMEOUT = 15       # seconds, any single request
KILL_AFTER = 2.0           # seconds of load before the SIGKILL
MAX_ITERATIONS = 5000      # per worker: the load stops by itself even if nothing else stops it
START_BOUND = 30           # seconds a (re)started node may take to listen
OUTAGE_SECONDS = 3.0       # PostgreSQL stays down this long (measured from when it is down)
FAIL_FAST_BOUND = 2.0      # seconds: a request during the outage must be answered within this
RECOVERY_BOUND = 10.0      # seconds from PostgreSQL listening again to /readyz 200 at every node
AFTER_SECONDS = 1.5        # seconds of load after recovery, all of which must succeed
# The grace window for the outage test: a rotation that committed just before the connection was
# lost is answered 503, and the client's retry after the outage must still fall inside the window
# (the outage plus recovery is bounded well below this). The kill test turns the window off.
OUTAGE_GRACE = 120
OUTAGE_CYCLES = 4          # short outages in the half-write test
REDEEMERS = 8              # client threads in the half-write test
CODES_PER_REDEEMER = 30    # codes each of them redeems per outage


def node_env(grace):
    """Settings common to every node here: codes that outlive the test (600 s, the maximum), the
    refresh-token grace window given."""
    return {"LATCHKEY_TOKENS_CODE_LIFETIME": "600", "LATCHKEY_TOKENS_REFRESH_TOKEN_GRACE_PERIOD": str(grace)}


def authorize_params():
    """A fresh code request for WEB with PKCE (RFC 7636 S256); (params, verifier)."""
    verifier, challenge = pkce_pair()
    return ({"response_type": "code", "client_id": WEB, "redirect_uri": WEB_CB, "scope": "openid profile",
             "state": "st-" + os.urandom(6).hex(), "code_challenge": challenge, "code_challenge_method": "S256"},
            verifier)


def code_of(r, state):
    """The code of an /authorize response that redirects to WEB_CB with one (and the right state),
    else None."""
    if r.status_code not in (302, 303):
        return None
    location = r.headers.get("Location", "")
    if not location.startswith(WEB_CB):
        return None
    q = query_of(location)
    if "code" not in q or q.get("state") != [state]:
        return None
    return single(q, "code")


def error_of(r):
    """The `error` of a JSON error response, else None."""
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def describe(r):
    """A response in one line: status, Location, the start of the body."""
    return f"{r.status_code} {r.headers.get('Location', '')} {' '.join(r.text[:300].split())}"


def log_problems(server):
    """Lines of a node's log that must not be there: level error (a handler that threw, a store
    that found its data inconsistent, ...) and request lines with a 5xx other than 503."""
    problems = []
    for line in server.log_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        status = event.get("status") if event.get("msg") == "request" else None
        if event.get("level") == "error" or (isinstance(status, int) and status >= 500 and status != 503):
            problems.append(line)
    return problems


def summarize(bad):
    """(category, kind, text) entries as one line per category and kind: count and first text."""
    groups = {}
    for category, kind, text in bad:
        groups.setdefault((category, kind), []).append(text)
    return "".join(f"\n{len(texts)} x {category} ({kind}), first: {texts[0][:400]}"
                   for (category, kind), texts in sorted(groups.items()))


class FaultTestCase(unittest.TestCase):
    """Shared helpers: a web client's token requests, signing in, temporary directories."""

    maxDiff = None  # a failure shows what went wrong in full

    def new_dir(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def web_auth(self):
        return {"Authorization": basic(WEB, self.web["client_secret"])}

    def redeem(self, http, node, code, verifier):
        return http.post(node + "/token", data={"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": WEB_CB, "code_verifier": verifier},
                         headers=self.web_auth(), timeout=REQUEST_TIMEOUT)

    def refresh(self, http, node, refresh_token):
        return http.post(node + "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         headers=self.web_auth(), timeout=REQUEST_TIMEOUT)

    def signed_in_flow(self, node):
        """A browser-like session at `node` that has signed in as USER and approved WEB, so that
        each later /authorize is answered with a code at once."""
        flow = Flow(node, timeout=REQUEST_TIMEOUT)
        self.addCleanup(flow.s.close)
        params, _ = authorize_params()
        r, _, _ = flow.sign_in(params, USER, PASSWORD)
        self.assertIsNotNone(code_of(r, params["state"]), describe(r))
        return flow

    def take_code(self, flow):
        """(code, verifier) from an /authorize at the flow's node; fails the test otherwise."""
        params, verifier = authorize_params()
        r = flow.authorize(params)
        code = code_of(r, params["state"])
        self.assertIsNotNone(code, describe(r))
        return code, verifier

    def assert_ok_token(self, r, what):
        self.assertEqual(r.status_code, 200, f"{what}: {describe(r)}")
        body = r.json()
        self.assertTrue(body.get("access_token"), f"{what}: {r.text}")
        self.assertTrue(body.get("refresh_token"), f"{what}: {r.text}")
        return body

    def assert_invalid_grant(self, r, what):
        self.assertEqual((r.status_code, error_of(r)), (400, "invalid_grant"), f"{what}: {describe(r)}")

    def stop_cleanly(self, server):
        """Stops a node with SIGTERM: it must exit 0, and its whole log (request lines are buffered
        until then) must hold no error and no 5xx other than 503."""
        self.assertEqual(server.stop(), 0, server.log_text()[-3000:])
        self.assertTrue(wait_until(lambda: '"msg":"stopped"' in server.log_text(), 5),
                        "the node's last log line did not arrive")
        self.assertEqual(log_problems(server), [], "lines in the node's log that must not be there")


# --- kill -9 under load ---------------------------------------------------------------------------


class KillWorker(threading.Thread):
    """One client under load until the node dies: takes a code at /authorize, redeems two codes of
    every three (the third is kept unused), and rotates its refresh tokens, round-robin.

    Its ledger holds every code and refresh token it received in a complete 2xx response:
      unused   code -> verifier, never sent back
      used     code -> verifier, redeemed with a 200 before the kill
      chains   one list per grant: the refresh tokens in the order received; `live` are the chains
               whose newest token was never sent back
      unknown  what was sent in the request the kill cut off (a code or a chain): left out of the
               checks, as the client cannot know whether it took effect.
    """

    def __init__(self, test, flow, killing):
        super().__init__(daemon=True)
        self.test = test
        self.flow = flow
        self.node = flow.issuer
        self.killing = killing   # set by the main thread right before the SIGKILL
        self.http = requests.Session()
        self.unused = {}
        self.used = {}
        self.chains = []
        self.live = set()        # indexes into chains
        self.unknown_codes = set()
        self.unknown_chains = set()
        self.iterations = 0
        self.last_response = None  # time.monotonic() of the last complete response
        self.failure = None      # an unexpected answer or exception: fails the test
        self.cut_off = None      # the exception of the request the kill cut off

    def run(self):
        # The loop ends when a request finds the node gone (connection reset or refused), at the
        # latest at MAX_ITERATIONS.
        try:
            while self.iterations < MAX_ITERATIONS:
                self.iterations += 1
                self.step()
            self.failure = f"the node was not killed within {MAX_ITERATIONS} iterations"
        except requests.RequestException as e:
            # Expected only once the node is being killed: anything earlier is a failure of the node.
            if self.killing.is_set():
                self.cut_off = e
            else:
                self.failure = f"request failed before the kill: {e!r}"
        except BaseException as e:  # reported by the main thread
            self.failure = f"{e!r}"
        finally:
            self.http.close()

    def received(self):
        self.last_response = time.monotonic()

    def step(self):
        # 1. A new code. Sent as a GET with the session cookie: no state on our side changes until
        #    the redirect arrives, so a cut-off request here leaves nothing unknown.
        params, verifier = authorize_params()
        r = self.flow.authorize(params)
        self.received()
        code = code_of(r, params["state"])
        if code is None:
            raise AssertionError(f"/authorize: {describe(r)}")
        if self.iterations % 3 == 0:
            self.unused[code] = verifier
        else:
            # 2. Redeem it: from the moment the request leaves, the code's fate is unknown until
            #    the answer arrives.
            self.unknown_codes.add(code)
            r = self.test.redeem(self.http, self.node, code, verifier)
            self.received()
            body = self.ok(r, "redeem")
            self.unknown_codes.discard(code)
            self.used[code] = verifier
            self.chains.append([body["refresh_token"]])
            self.live.add(len(self.chains) - 1)
        # 3. Rotate the newest token of one earlier chain (round-robin over the live ones).
        if self.live:
            i = sorted(self.live)[self.iterations % len(self.live)]
            self.live.discard(i)
            self.unknown_chains.add(i)
            r = self.test.refresh(self.http, self.node, self.chains[i][-1])
            self.received()
            body = self.ok(r, "rotate")
            self.unknown_chains.discard(i)
            self.chains[i].append(body["refresh_token"])
            self.live.add(i)

    @staticmethod
    def ok(r, what):
        if r.status_code != 200:
            raise AssertionError(f"{what}: {describe(r)}")
        try:
            body = r.json()
        except ValueError:
            raise AssertionError(f"{what}: not JSON: {r.text[:200]}") from None
        if not body.get("refresh_token"):
            raise AssertionError(f"{what}: no refresh token: {r.text[:200]}")
        return body


class KillNineUnderLoad(FaultTestCase):

    def test_tokens_received_before_sigkill_work_exactly_once_after_restart(self):
        """WORKERS clients under load for KILL_AFTER seconds, SIGKILL, a restart on the same data,
        then every code and refresh token in the clients' ledgers checked (module docstring)."""
        data_dir = self.new_dir("latchkey-faults-kill-")
        # Clients and the user go in before the node starts, so it loads them at start-up.
        _, out, _ = cli("client", "create", "--id", WEB, "--json", "--grant-type", "authorization_code",
                        "--grant-type", "refresh_token", "--redirect-uri", WEB_CB, "--scope", "openid",
                        "--scope", "profile", data_dir=data_dir)
        self.web = json.loads(out)
        cli("user", "add", USER, "--password-stdin", data_dir=data_dir, stdin=PASSWORD + "\n")
        env = node_env(grace=0)
        args = ["--issuer", ISSUER]
        server = Server(data_dir, args, env, dev=False)
        self.addCleanup(server.stop)
        node = "http://" + server.address

        killing = threading.Event()
        workers = [KillWorker(self, self.signed_in_flow(node), killing) for _ in range(WORKERS)]
        started = time.monotonic()
        for w in workers:
            w.start()
        time.sleep(KILL_AFTER)
        # The node must still be there and every worker still busy: the kill lands under load.
        self.assertIsNone(server.proc.poll(), "the node exited under load:\n" + server.log_text()[-3000:])
        kill_at = time.monotonic()
        killing.set()
        server.proc.send_signal(signal.SIGKILL)
        self.assertEqual(server.proc.wait(10), -signal.SIGKILL)
        for w in workers:
            w.join(REQUEST_TIMEOUT + 5)
        self.assertFalse(any(w.is_alive() for w in workers), "a worker did not stop after the kill")
        failures = [w.failure for w in workers if w.failure]
        self.assertEqual(failures, [], "unexpected answers before the kill")
        for w in workers:
            self.assertIsNotNone(w.last_response, "a worker received nothing")
            self.assertLess(kill_at - w.last_response, 1.0, "a worker was idle when the node was killed")

        unused = {c: v for w in workers for c, v in w.unused.items()}
        used = {c: v for w in workers for c, v in w.used.items()}
        chains = [w.chains[i] for w in workers for i in w.live]
        rotated = [t for w in workers for chain in w.chains for t in chain[:-1]]
        cut_off = sum(1 for w in workers if w.cut_off is not None)
        unknown = sum(len(w.unknown_codes) + len(w.unknown_chains) for w in workers)
        print(f"\n[faults] {sum(w.iterations for w in workers)} iterations in {kill_at - started:.2f} s before "
              f"SIGKILL; {cut_off} request(s) cut off ({unknown} code(s)/chain(s) left out); to check: "
              f"{len(unused)} unused codes, {len(chains)} refresh chains ({len(rotated)} rotated tokens), "
              f"{len(used)} used codes", file=sys.stderr)
        # Enough of each kind that the checks below mean something.
        self.assertGreaterEqual(len(unused), 10)
        self.assertGreaterEqual(len(chains), 10)
        self.assertGreaterEqual(len(rotated), 10)

        # Started again on the same data directory (and so the same database).
        restarted_at = time.monotonic()
        server = Server(data_dir, args, env, dev=False, wait=False)
        self.addCleanup(server.stop)
        server.wait_started(START_BOUND)
        print(f"[faults] restarted in {time.monotonic() - restarted_at:.2f} s", file=sys.stderr)
        node = "http://" + server.address
        http = requests.Session()
        self.addCleanup(http.close)

        # Each unused code redeems exactly once. The refresh token it yields is fresh, so it must
        # rotate too (the store accepts writes after the restart).
        for code, verifier in unused.items():
            body = self.assert_ok_token(self.redeem(http, node, code, verifier), "unused code after the restart")
            successor = self.assert_ok_token(self.refresh(http, node, body["refresh_token"]), "its refresh token")
            self.assert_invalid_grant(self.redeem(http, node, code, verifier), "second use of a code")
            # RFC 6749 §4.1.2: the replay revoked what the code granted.
            self.assert_invalid_grant(self.refresh(http, node, successor["refresh_token"]), "after the code replay")
        # The newest refresh token of each chain rotates exactly once.
        for chain in chains:
            self.assert_ok_token(self.refresh(http, node, chain[-1]), "newest refresh token after the restart")
            self.assert_invalid_grant(self.refresh(http, node, chain[-1]), "second use of a refresh token")
        # What was used before the kill stays used: the kill lost no write. (Checked last: a replay
        # revokes the grant, RFC 6749 §4.1.2 and RFC 9700 §4.14.2.)
        for code, verifier in used.items():
            self.assert_invalid_grant(self.redeem(http, node, code, verifier), "code redeemed before the kill")
        for token in rotated:
            self.assert_invalid_grant(self.refresh(http, node, token), "refresh token rotated before the kill")

        self.stop_cleanly(server)


# --- PostgreSQL stopped under load ----------------------------------------------------------------


class Outcome:
    """One request during the outage test: what was sent, when, and what came back."""

    __slots__ = ("kind", "node", "start", "end", "status", "error", "ok", "detail")

    def __init__(self, kind, node, start, end, status, error, ok, detail):
        self.kind, self.node, self.start, self.end = kind, node, start, end
        self.status, self.error, self.ok, self.detail = status, error, ok, detail

    def __repr__(self):
        return (f"{self.kind}@{self.node} {self.start:.3f}-{self.end:.3f} ({self.end - self.start:.3f} s): "
                f"{self.status} {self.error} {self.detail[:160]}")


class OutageWorker(threading.Thread):
    """One client under load at one node until told to stop. Each iteration: an opaque and a JWT
    client_credentials token, one code redeemed, the worker's refresh token rotated, a new code
    from /authorize. A code or refresh token whose use got 503 is kept and sent again later (it
    must work once the database is back); any other failure is recorded as such."""

    def __init__(self, test, node, flow, codes, refresh_token, stop, clock0):
        super().__init__(daemon=True)
        self.test = test
        self.node = node
        self.flow = flow
        self.codes = list(codes)        # (code, verifier) not yet redeemed, oldest first
        self.refresh_token = refresh_token
        self.refresh_pending = False    # the last use of refresh_token got 503
        self.pending_codes = set()      # codes whose last redemption got 503
        self.stop = stop
        self.clock0 = clock0
        self.http = requests.Session()
        self.outcomes = []
        self.opaque_tokens = []         # opaque access tokens received with a 200
        self.bad = []                   # answers that are wrong whenever they come
        self.iterations = 0

    def run(self):
        try:
            while not self.stop.is_set() and self.iterations < MAX_ITERATIONS:
                self.iterations += 1
                self.step()
        except BaseException as e:  # reported by the main thread
            self.bad.append(("worker stopped", "-", repr(e)))
        finally:
            self.http.close()

    def timed(self, kind, send):
        """Sends one request; records and returns (Outcome, response or None)."""
        start = time.monotonic() - self.clock0
        try:
            r = send()
        except requests.RequestException as e:
            end = time.monotonic() - self.clock0
            o = Outcome(kind, self.node, start, end, None, None, False, repr(e))
            self.outcomes.append(o)
            self.bad.append(("no answer", kind, repr(o)))
            return o, None
        end = time.monotonic() - self.clock0
        o = Outcome(kind, self.node, start, end, r.status_code, None, False, "")
        self.outcomes.append(o)
        return o, r

    def classify_token(self, o, r):
        """200 is success; 503 temporarily_unavailable is the outage; anything else is wrong."""
        o.error = error_of(r)
        if r.status_code == 200:
            o.ok = True
        elif (r.status_code, o.error) != (503, "temporarily_unavailable"):
            o.detail = describe(r)
            self.bad.append(("unexpected answer", o.kind, repr(o)))

    def step(self):
        svc, opaque = self.test.svc, self.test.svc_opaque
        for kind, client in (("cc_opaque", opaque), ("cc_jwt", svc)):
            o, r = self.timed(kind, lambda c=client: self.http.post(
                self.node + "/token", data={"grant_type": "client_credentials"},
                headers={"Authorization": basic(c["client_id"], c["client_secret"])}, timeout=REQUEST_TIMEOUT))
            if r is not None:
                self.classify_token(o, r)
                if o.ok and kind == "cc_opaque":
                    self.opaque_tokens.append(r.json()["access_token"])

        if self.codes:
            code, verifier = self.codes[0]
            o, r = self.timed("redeem", lambda: self.test.redeem(self.http, self.node, code, verifier))
            if r is not None:
                self.classify_token(o, r)
                if not o.ok and o.status != 503 and code in self.pending_codes:
                    self.bad.append(("half-written: a code whose redemption got 503 is now refused", o.kind,
                                     repr(o)))
                if o.ok:
                    self.codes.pop(0)
                    self.pending_codes.discard(code)
                elif o.status == 503:
                    self.pending_codes.add(code)  # kept at the head: sent again next time
                else:
                    self.codes.pop(0)

        o, r = self.timed("refresh", lambda: self.test.refresh(self.http, self.node, self.refresh_token))
        if r is not None:
            self.classify_token(o, r)
            if o.ok:
                self.refresh_token = r.json()["refresh_token"]
                self.refresh_pending = False
            elif o.status == 503:
                self.refresh_pending = True
            else:
                why = " after its previous use got 503 (half-written)" if self.refresh_pending else ""
                raise AssertionError(f"the worker's refresh token is refused{why}: {o!r} {describe(r)}")

        # A new code with the signed-in session: success is a redirect with a code; the outage is a
        # redirect to the client with error=temporarily_unavailable (RFC 6749 §4.1.2.1) or a 503.
        # Anything else is wrong, a login page above all: the person is signed in, and asking them
        # to sign in again (or answering prompt=none with login_required) because the session
        # could not be read is not what the database being away means.
        params, verifier = authorize_params()
        o, r = self.timed("authorize", lambda: self.flow.authorize(params))
        if r is not None:
            code = code_of(r, params["state"])
            if code is not None:
                o.ok = True
                self.codes.append((code, verifier))
            else:
                location = r.headers.get("Location", "")
                q = query_of(location) if location.startswith(WEB_CB) else {}
                o.error = (q.get("error") or [None])[0] if r.status_code in (302, 303) else error_of(r)
                o.detail = describe(r)
                outage = (r.status_code in (302, 303) and o.error == "temporarily_unavailable"
                          and q.get("state") == [params["state"]]) or r.status_code == 503
                if not outage:
                    self.bad.append(("unexpected answer", o.kind, repr(o)))


class PostgresOutage(FaultTestCase):
    """Two nodes on one database of a throw-away PostgreSQL server of their own, which each test
    stops and starts again."""

    def setUp(self):
        self.pg = pg.PgServer()
        self.addCleanup(self.pg.stop)
        self.env = dict(node_env(OUTAGE_GRACE), LATCHKEY_STORAGE=self.pg.create_database("faults"))
        self.admin_dir = self.new_dir("latchkey-faults-pg-")
        self.web = self.admin("client", "create", "--id", WEB, "--json", "--grant-type", "authorization_code",
                              "--grant-type", "refresh_token", "--redirect-uri", WEB_CB, "--scope", "openid",
                              "--scope", "profile")
        self.svc = self.admin("client", "create", "--id", SVC_JWT, "--scope", "api", "--json")
        self.svc_opaque = self.admin("client", "create", "--id", SVC_OPAQUE, "--scope", "api", "--json",
                                     "--access-token-format", "opaque")
        self.admin("user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
        self.nodes = []
        for _ in range(2):
            self.nodes.append(Server(self.new_dir("latchkey-faults-node-"), ["--issuer", ISSUER], self.env,
                                     dev=False, wait=False))
            self.addCleanup(self.nodes[-1].stop)
        for n in self.nodes:
            n.wait_started(START_BOUND)
        self.urls = ["http://" + n.address for n in self.nodes]
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    def admin(self, *args, stdin=None):
        _, out, _ = cli(*args, data_dir=self.admin_dir, stdin=stdin, env=self.env)
        return json.loads(out) if "--json" in args else out

    def readyz(self, node):
        """The status of GET /readyz at `node` (None when it does not answer in time)."""
        try:
            return requests.get(node + "/readyz", timeout=FAIL_FAST_BOUND).status_code
        except requests.RequestException:
            return None

    def wait_ready(self):
        """Waits until /readyz is 200 at every node; fails past RECOVERY_BOUND."""
        recovered = wait_until(lambda: all(self.readyz(u) == 200 for u in self.urls), RECOVERY_BOUND, 0.05)
        self.assertTrue(recovered, f"/readyz not 200 at every node {RECOVERY_BOUND} s after PostgreSQL returned")

    def assert_clean_logs_and_stop(self):
        for n in self.nodes:
            self.assertIsNone(n.proc.poll(), "a node exited:\n" + n.log_text()[-3000:])
        for n in self.nodes:
            self.stop_cleanly(n)

    def test_requests_fail_fast_with_503_while_postgres_is_down_and_recover(self):
        """WORKERS clients under load at both nodes; PostgreSQL stopped for OUTAGE_SECONDS and
        started again; then AFTER_SECONDS more load. The checks are listed in the module docstring;
        each group runs in a subTest of its own."""
        nodes, urls, http, server = self.nodes, self.urls, self.http, self.pg

        # Before the outage: a reserve of codes and refresh tokens that nobody touches until
        # PostgreSQL is back, and for each worker a signed-in session, a few codes and a refresh
        # token of its own. Workers alternate between the nodes.
        reserve_flow = self.signed_in_flow(urls[0])
        reserve_codes = [self.take_code(reserve_flow) for _ in range(10)]
        reserve_refresh = []
        for _ in range(10):
            code, verifier = self.take_code(reserve_flow)
            reserve_refresh.append(self.assert_ok_token(self.redeem(http, urls[1], code, verifier),
                                                        "reserve")["refresh_token"])
        clock0 = time.monotonic()
        stop = threading.Event()
        workers = []
        for i in range(WORKERS):
            node = urls[i % 2]
            flow = self.signed_in_flow(node)
            codes = [self.take_code(flow) for _ in range(3)]
            code, verifier = self.take_code(flow)
            refresh_token = self.assert_ok_token(self.redeem(http, node, code, verifier), "worker")["refresh_token"]
            workers.append(OutageWorker(self, node, flow, codes, refresh_token, stop, clock0))

        def now():
            return time.monotonic() - clock0

        try:
            for w in workers:
                w.start()
            time.sleep(1.0)
            down_begin = now()
            server.stop_server()
            down = now()
            # While it is down: /readyz says so at every node, and the nodes stay up.
            time.sleep(0.5)
            for u in urls:
                self.assertEqual(self.readyz(u), 503, f"{u}/readyz while PostgreSQL is down")
            time.sleep(max(0.0, OUTAGE_SECONDS - (now() - down)))
            for n in nodes:
                self.assertIsNone(n.proc.poll(), "a node exited while PostgreSQL was down:\n" + n.log_text()[-3000:])
            up_begin = now()
            server.start_server()
            up = now()
            self.wait_ready()
            ready = now()
            time.sleep(AFTER_SECONDS)
        finally:
            stop.set()
            for w in workers:
                w.join(REQUEST_TIMEOUT + 5)
        self.assertFalse(any(w.is_alive() for w in workers), "a worker did not stop")

        outcomes = sorted((o for w in workers for o in w.outcomes), key=lambda o: o.start)
        failed = [o for o in outcomes if not o.ok]
        print(f"\n[faults] PostgreSQL stop took {down - down_begin:.2f} s, start {up - up_begin:.2f} s; "
              f"/readyz 200 at both nodes {ready - up:.2f} s after it listened again", file=sys.stderr)
        for kind in ("cc_opaque", "cc_jwt", "redeem", "refresh", "authorize"):
            mine = [o for o in outcomes if o.kind == kind]
            bad = [o for o in mine if not o.ok]
            slowest = max((o.end - o.start for o in bad), default=0.0)
            print(f"[faults]   {kind:9} {len(mine):4} requests, {len(bad):3} failed (slowest failure "
                  f"{slowest * 1000:.0f} ms)", file=sys.stderr)
        if failed:
            print(f"[faults]   failures from {failed[0].start:.2f} s to {failed[-1].end:.2f} s "
                  f"(PostgreSQL down {down_begin:.2f}-{up:.2f} s)", file=sys.stderr)

        # Each group of checks runs in a subTest of its own, so that one failing group does not hide
        # what the others would show.
        with self.subTest("only success or 503 temporarily_unavailable, anywhere"):
            self.assertEqual(summarize([b for w in workers for b in w.bad]), "")
        with self.subTest("load before, during and after the outage"):
            self.assertTrue(any(o.end < down_begin for o in outcomes), "no load before the outage")
            self.assertTrue(any(down < o.start and o.end < up_begin for o in outcomes), "no load during the outage")
            self.assertTrue(any(o.start > ready for o in outcomes), "no load after the recovery")
        with self.subTest("before the stop began, everything succeeded"):
            self.assertEqual([o for o in failed if o.end < down_begin], [])
        with self.subTest("during the outage, what needs the database fails, and fails fast"):
            during = [o for o in outcomes if down < o.start and o.end < up_begin]
            for kind in ("cc_opaque", "redeem", "refresh", "authorize"):
                self.assertTrue(any(o.kind == kind and not o.ok for o in during),
                                f"no {kind} failed during the outage")
            # Every request around the outage, failed or not: none waits on the missing database.
            around = [o for o in outcomes if o.end > down_begin and o.start < ready]
            self.assertEqual([o for o in around if o.end - o.start > FAIL_FAST_BOUND], [],
                             f"requests slower than {FAIL_FAST_BOUND} s")
        with self.subTest("after /readyz said ready again, everything succeeds"):
            self.assertEqual([o for o in failed if o.start > ready], [])
        with self.subTest("both nodes still run"):
            for n in nodes:
                self.assertIsNone(n.proc.poll(), "a node exited:\n" + n.log_text()[-3000:])

        # Nothing half-written. A code or refresh token whose last use got 503 works now (a refresh
        # token may have been rotated before the connection was lost: the retry falls in the grace
        # window and gets the same successor).
        with self.subTest("a code or refresh token whose use got 503 works after the outage"):
            for w in workers:
                for code, verifier in [(c, v) for c, v in w.codes if c in w.pending_codes]:
                    self.assert_ok_token(self.redeem(http, w.node, code, verifier),
                                         "a code whose redemption got 503")
                if w.refresh_pending:
                    w.refresh_token = self.assert_ok_token(self.refresh(http, w.node, w.refresh_token),
                                                           "a refresh token whose rotation got 503")["refresh_token"]
                # The worker's newest refresh token still rotates: its chain survived the outage.
                self.assert_ok_token(self.refresh(http, w.node, w.refresh_token), "the worker's newest refresh token")
        with self.subTest("every opaque access token given out is known to introspection"):
            for w in workers:
                for token in w.opaque_tokens:
                    r = http.post(w.node + "/introspect", data={"token": token},
                                  headers={"Authorization": basic(SVC_OPAQUE, self.svc_opaque["client_secret"])},
                                  timeout=REQUEST_TIMEOUT)
                    self.assertEqual(r.status_code, 200, describe(r))
                    self.assertIs(r.json().get("active"), True, "an opaque token given out is unknown")
        # Codes and refresh tokens given out before the outage and untouched during it work exactly
        # once after it (at either node).
        with self.subTest("codes and refresh tokens from before the outage work exactly once"):
            for i, (code, verifier) in enumerate(reserve_codes):
                self.assert_ok_token(self.redeem(http, urls[i % 2], code, verifier), "reserve code")
                self.assert_invalid_grant(self.redeem(http, urls[(i + 1) % 2], code, verifier), "reserve code again")
            for i, token in enumerate(reserve_refresh):
                successor = self.assert_ok_token(self.refresh(http, urls[i % 2], token), "reserve refresh")
                # Its successor rotates; after that the original is reuse whatever the grace window.
                self.assert_ok_token(self.refresh(http, urls[(i + 1) % 2], successor["refresh_token"]), "successor")
                self.assert_invalid_grant(self.refresh(http, urls[i % 2], token), "reserve refresh token again")

        with self.subTest("no error in the logs, a clean stop"):
            self.assert_clean_logs_and_stop()


    def test_a_code_whose_redemption_got_503_redeems_after_the_outage(self):
        """Nothing half-written, looked at closely: OUTAGE_CYCLES short outages, each landing while
        REDEEMERS clients redeem codes as fast as they can. A 503 temporarily_unavailable tells the
        client to try again later (docs/operations.md: requests "recover by themselves"), so every
        code whose redemption got 503 must redeem when it is sent again after the outage: the failed
        request must not have spent it (RFC 6749 §4.1.2 lets a code be used once; a request that
        failed did not use it). Refresh tokens are left to the test above: a rotation that committed
        before the connection was lost is answered from the grace window, and it checks that."""
        flows = [self.signed_in_flow(self.urls[i % 2]) for i in range(REDEEMERS)]
        requests_sent = failed = 0
        for cycle in range(OUTAGE_CYCLES):
            codes = [[self.take_code(flow) for _ in range(CODES_PER_REDEEMER)] for flow in flows]
            done = [0]
            done_lock = threading.Lock()
            results = [[] for _ in flows]  # per redeemer: ((code, verifier), response or exception)

            def redeem_all(i):
                http = requests.Session()
                try:
                    for code, verifier in codes[i]:
                        try:
                            r = self.redeem(http, flows[i].issuer, code, verifier)
                        except requests.RequestException as e:
                            r = e
                        results[i].append(((code, verifier), r))
                        with done_lock:
                            done[0] += 1
                finally:
                    http.close()

            threads = [threading.Thread(target=redeem_all, args=(i,), daemon=True) for i in range(REDEEMERS)]
            for t in threads:
                t.start()
            # The stop lands under load: once a fifth of the codes are redeemed.
            target = REDEEMERS * CODES_PER_REDEEMER // 5
            self.assertTrue(wait_until(lambda: done[0] >= target, 30, 0.002), "the redeemers made no progress")
            self.pg.stop_server()
            self.pg.start_server()
            for t in threads:
                t.join(REQUEST_TIMEOUT * 2)
            self.assertFalse(any(t.is_alive() for t in threads), "a redeemer did not finish")
            self.wait_ready()

            retry = []  # (code, verifier, node) whose redemption got 503
            for i, outcomes in enumerate(results):
                for item, r in outcomes:
                    requests_sent += 1
                    self.assertNotIsInstance(r, Exception, f"cycle {cycle}: no answer")
                    if r.status_code == 503:
                        self.assertEqual(error_of(r), "temporarily_unavailable", describe(r))
                        retry.append((*item, flows[i].issuer))
                    else:
                        self.assertEqual(r.status_code, 200, f"cycle {cycle}: {describe(r)}")
            self.assertTrue(retry, f"cycle {cycle}: the outage failed no request")
            failed += len(retry)
            refused = []
            for code, verifier, node in retry:
                r = self.redeem(self.http, node, code, verifier)
                if r.status_code != 200:
                    refused.append(describe(r))
            self.assertEqual(refused, [], f"cycle {cycle}: of {len(retry)} codes whose redemption got 503, "
                                          f"{len(refused)} were spent (half-written)")
        print(f"\n[faults] {OUTAGE_CYCLES} outages: {requests_sent} redemptions, {failed} answered 503 and "
              f"redeemed when sent again", file=sys.stderr)
        self.assert_clean_logs_and_stop()


def load_tests(loader, standard_tests, pattern):
    """PostgresOutage brings its own PostgreSQL whatever LATCHKEY_TEST_STORAGE says: it runs in the
    default mode only, not again when the harness puts the kill test on PostgreSQL."""
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(KillNineUnderLoad))
    if TEST_STORAGE != "postgres":
        suite.addTests(loader.loadTestsFromTestCase(PostgresOutage))
    return suite


if __name__ == "__main__":
    unittest.main()
