"""Test harness: runs the real `latchkey` binary on 127.0.0.1 port 0 with a temporary data dir.

Every process started here is stopped by its PID when the test ends; every wait is bounded.

Storage: by default each data dir holds its own SQLite database. With LATCHKEY_TEST_STORAGE=postgres
each data dir gets a fresh database on one throw-away PostgreSQL server per test process (pg.py),
and the server and the admin commands started here for that data dir all use it.
"""

import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import requests

BIN = os.environ.get("LATCHKEY_BIN", "build/dev/src/cli/latchkey")
TEST_STORAGE = os.environ.get("LATCHKEY_TEST_STORAGE", "")

_databases = {}  # real path of a data dir -> the PostgreSQL URI of its database
_databases_lock = threading.Lock()


def storage_env(data_dir):
    """The environment that points `latchkey` at the database of `data_dir`: {} with SQLite (the
    default: the database is a file in the data dir); with LATCHKEY_TEST_STORAGE=postgres,
    LATCHKEY_STORAGE naming the data dir's own database on this process's throw-away PostgreSQL
    server, created on first use. Any other value of LATCHKEY_TEST_STORAGE is an error."""
    if TEST_STORAGE in ("", "sqlite"):
        return {}
    if TEST_STORAGE != "postgres":
        raise RuntimeError(f"LATCHKEY_TEST_STORAGE={TEST_STORAGE!r}: expected 'sqlite' or 'postgres'")
    key = os.path.realpath(data_dir)
    with _databases_lock:
        if key not in _databases:
            import pg  # only in this mode: the default runs never touch PostgreSQL
            _databases[key] = pg.shared_server().create_database()
        return {"LATCHKEY_STORAGE": _databases[key]}


# TEST_KEK: the key-encryption key (server/key_vault.hpp) of every server this test process starts
# outside dev mode, and of the admin commands for a data dir without a dev-mode DATA_DIR/kek, unless
# the caller gives LATCHKEY_KEK itself. One per process, so nodes sharing a database open each
# other's signing keys.
TEST_KEK = base64.b64encode(os.urandom(32)).decode()


def _kek_unless_given(data_dir, env, dev):
    """{"LATCHKEY_KEK": TEST_KEK} when a process for `data_dir` needs a KEK it would not find."""
    if "LATCHKEY_KEK" in (env or {}) or "LATCHKEY_KEK" in os.environ or dev:
        return {}
    return {} if os.path.exists(os.path.join(data_dir, "kek")) else {"LATCHKEY_KEK": TEST_KEK}


def _storage_unless_given(data_dir, env):
    """storage_env(data_dir), unless the caller names the storage itself."""
    return {} if "LATCHKEY_STORAGE" in (env or {}) else storage_env(data_dir)


# --- looking into a data dir's database, the same way on SQLite and on PostgreSQL ---------------
#
# These read the database the harness gives `data_dir` (storage_env: DATA_DIR/latchkey.db, or the
# data dir's own PostgreSQL database), not one a caller named with env={"LATCHKEY_STORAGE": ...}.

SQLITE_FILE = "latchkey.db"


def sql_string(value):
    """`value` as an SQL string literal that means the same in SQLite and in PostgreSQL, also where
    PostgreSQL compares it with a BYTEA column (every string of a record there): single quotes
    doubled. Backslashes and NUL are refused (a BYTEA literal gives backslashes a meaning of their
    own, and neither dialect takes NUL in a literal)."""
    value = str(value)
    if "\\" in value or "\0" in value:
        raise ValueError(f"sql_string: {value!r} holds a backslash or NUL")
    return "'" + value.replace("'", "''") + "'"


def _normalise(value):
    """bytes as str when they are UTF-8, so that SQLite's TEXT and BLOB and PostgreSQL's BYTEA give
    the same Python values."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def _sqlite_path(data_dir):
    path = os.path.join(data_dir, SQLITE_FILE)
    if not os.path.exists(path):
        raise RuntimeError(f"there is no SQLite database at {path}")
    return path


def _pg_uri(data_dir):
    """The URI of the PostgreSQL database storage_env(data_dir) made; raises if it made none."""
    with _databases_lock:
        uri = _databases.get(os.path.realpath(data_dir))
    if uri is None:
        raise RuntimeError(f"no PostgreSQL database for {data_dir} yet (no server or admin command has used it)")
    return uri


def pg_tool(name):
    """The path of a PostgreSQL client program (psql, pg_dump, pg_restore) of the same installation
    as the throw-away server (pg.find_bin_dir)."""
    import pg
    return os.path.join(pg.find_bin_dir(), name)


def _run_pg(args, what, stdin=None, env=None, timeout=60):
    proc = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def db_query(data_dir, sql):
    """Runs one query (a SELECT, without a trailing ";") in the database of `data_dir`; returns its
    rows as a list of tuples. Strings come back as str when they are UTF-8 and as bytes otherwise,
    NULL as None, integers as int; PostgreSQL's BOOLEAN is a bool where SQLite has 0 or 1. Build
    literals with sql_string()."""
    if TEST_STORAGE in ("", "sqlite"):
        storage_env(data_dir)  # rejects an unknown LATCHKEY_TEST_STORAGE
        db = sqlite3.connect(_sqlite_path(data_dir), timeout=10)
        try:
            return [tuple(_normalise(v) for v in row) for row in db.execute(sql).fetchall()]
        finally:
            db.close()
    uri = _pg_uri(data_dir)
    sql = sql.strip().rstrip(";")
    marker = "-- rows of " + os.urandom(8).hex()
    # One psql session: the columns' types (\gdesc, without running the query), a marker, then each
    # row as one line of JSON. The types tell BYTEA (sent as hex) from TEXT.
    script = ("SET bytea_output = 'hex';\n"
              f"{sql}\n\\gdesc\n"
              f"\\echo '{marker}'\n"
              f"SELECT row_to_json(q) FROM (\n{sql}\n) AS q;\n")
    out = _run_pg([pg_tool("psql"), "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", uri,
                   "-f", "-"], "psql", stdin=script.encode()).decode()
    described, sep, data = out.partition(marker + "\n")
    if not sep:
        raise RuntimeError(f"psql printed no {marker!r}: {out!r}")
    types = [line.split("\x1f")[-1] for line in described.splitlines() if line]
    rows = []
    for line in data.splitlines():
        if not line:
            continue
        values = [v for _, v in json.loads(line, object_pairs_hook=list)]
        if len(values) != len(types):
            raise RuntimeError(f"psql: {len(types)} column types for a row of {len(values)}: {out!r}")
        rows.append(tuple(_normalise(bytes.fromhex(v[2:])) if t == "bytea" and v is not None else v
                          for t, v in zip(types, values)))
    return rows


def database_bytes(data_dir):
    """Everything the database of `data_dir` holds, as bytes, for checking that something is not
    stored: with SQLite the database file and its write-ahead log; with PostgreSQL a plain pg_dump
    of the data dir's database with bytea_output=escape, so that the printable ASCII bytes of
    BYTEA values (every string of a record) appear as themselves, not in hex."""
    if TEST_STORAGE in ("", "sqlite"):
        storage_env(data_dir)
        path = _sqlite_path(data_dir)
        chunks = []
        for name in (path, path + "-wal"):
            try:
                with open(name, "rb") as f:
                    chunks.append(f.read())
            except FileNotFoundError:
                if name == path:
                    raise
        return b"".join(chunks)
    return _run_pg([pg_tool("pg_dump"), "--no-owner", "-d", _pg_uri(data_dir)], "pg_dump",
                   env={"PGOPTIONS": "-c bytea_output=escape"})


def _require_postgres(what):
    if TEST_STORAGE != "postgres":
        raise RuntimeError(f"{what} is for LATCHKEY_TEST_STORAGE=postgres")


def pg_dump_to(data_dir, path):
    """PostgreSQL mode: backs up the database of `data_dir` the way docs/operations.md says
    (pg_dump --format=custom --file=PATH URI)."""
    _require_postgres("pg_dump_to")
    _run_pg([pg_tool("pg_dump"), "--format=custom", "--file=" + path, _pg_uri(data_dir)], "pg_dump")


def pg_restore_into(data_dir, path):
    """PostgreSQL mode: restores a pg_dump_to() file into a new, empty database and makes it the
    database of `data_dir` (which must have none yet); returns its URI."""
    _require_postgres("pg_restore_into")
    with _databases_lock:
        if os.path.realpath(data_dir) in _databases:
            raise RuntimeError(f"{data_dir} has a database already")
    uri = storage_env(data_dir)["LATCHKEY_STORAGE"]  # a new, empty one
    _run_pg([pg_tool("pg_restore"), "--exit-on-error", "--dbname=" + uri, path], "pg_restore")
    return uri


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Sends `sig` (a clean stop) to a running process, SIGKILL if it is still there after
    `timeout` seconds; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Server:
    """A running `latchkey serve` process."""

    def __init__(self, data_dir, args=(), env=None, dev=True, wait=True):
        cmd = [BIN, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"]
        if dev:
            cmd.append("--dev")
        cmd.extend(args)
        full_env = dict(os.environ)
        full_env.update(_storage_unless_given(data_dir, env))
        full_env.update(_kek_unless_given(data_dir, env, dev))
        full_env.update(env or {})
        self.lines = []
        self.stdout = []
        self._listening = threading.Event()
        self.address = None
        self.issuer = None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True)
        self._readers = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_stdout, daemon=True)]
        for reader in self._readers:
            reader.start()
        if wait:
            self.wait_started()

    def wait_started(self, timeout=30):
        """Waits until the server listens (for Server(..., wait=False)); stops it and raises if it
        does not within `timeout` seconds."""
        if not self._listening.wait(timeout):
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.lines))

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("msg") == "listening" and "issuer" in event:
                self.address = event["address"]
                self.issuer = event["issuer"]
                self._listening.set()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.stdout.append(line)

    @property
    def url(self):
        return self.issuer

    def log_text(self):
        return "".join(self.lines) + "".join(self.stdout)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        code = stop_process(self.proc, sig, timeout)
        # The readers end at the pipes' EOF, having kept every line; then the pipes are closed.
        for reader in self._readers:
            reader.join(5)
        if not any(reader.is_alive() for reader in self._readers):
            self.proc.stdout.close()
            self.proc.stderr.close()
        return code


def cli(*args, data_dir, stdin=None, check=True, env=None):
    """Runs an admin command; returns (exit code, stdout, stderr). `env` adds to the environment
    and to storage_env(data_dir)."""
    extra = dict(_storage_unless_given(data_dir, env), **_kek_unless_given(data_dir, env, False), **(env or {}))
    full_env = dict(os.environ, **extra) if extra else None
    # Options go before a "--": what follows it is positional even when it starts with "-" (a
    # random base64url id does one time in 64).
    args = list(args)
    at = args.index("--") if "--" in args else len(args)
    args[at:at] = ["--data-dir", data_dir]
    proc = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"latchkey {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


def create_client(data_dir, client_id, *extra, env=None):
    _, out, _ = cli("client", "create", "--id", client_id, "--json", *extra, data_dir=data_dir, env=env)
    return json.loads(out)


def basic(client_id, secret):
    """RFC 6749 §2.3.1: form-urlencode both halves, then Basic."""
    raw = urllib.parse.quote_plus(client_id) + ":" + urllib.parse.quote_plus(secret)
    return "Basic " + base64.b64encode(raw.encode()).decode()


def raw_http(host_port, data, timeout=10):
    """Sends raw bytes and returns everything the server answers before closing (or timeout)."""
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except socket.timeout:
            pass
    return b"".join(chunks)


def _complete(buf):
    head, _, body = buf.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


def status_of(response_bytes):
    line = response_bytes.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def wait_until(predicate, timeout=10.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class ServerTestCase(unittest.TestCase):
    """Starts one dev server per test class with a fresh data dir."""

    server_args = ()
    server_env = None

    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp(prefix="latchkey-e2e-")
        cls.server = Server(cls.data_dir, cls.server_args, cls.server_env)
        cls.url = cls.server.url
        cls.http = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        code = cls.server.stop()
        shutil.rmtree(cls.data_dir, ignore_errors=True)
        if code != 0:
            raise AssertionError(f"server exited with {code}:\n{cls.server.log_text()[-4000:]}")

    @classmethod
    def wait_for_client(cls, client_id, secret, timeout=10):
        """Waits until the running server has picked up a client an admin command just wrote."""
        def ready():
            r = cls.http.post(cls.url + "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret),
                              timeout=5)
            return r.status_code == 200
        if not wait_until(ready, timeout):
            raise AssertionError(f"server did not pick up client {client_id}")

    def token(self, data, auth=None, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            h["Authorization"] = basic(*auth)
        h.update(headers or {})
        body = data if isinstance(data, (str, bytes)) else urllib.parse.urlencode(data)
        return self.http.post(self.url + "/token", data=body, headers=h, timeout=10)
