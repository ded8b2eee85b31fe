"""A throw-away PostgreSQL server for the Python tests, from Debian's postgresql package.

The same recipe as src/store/postgres/testing/pg_server.cpp: `initdb -A trust` into a temporary
directory, a unix socket in that directory and no TCP port, durability off (the cluster is thrown
away), `pg_ctl stop -m fast` at the end (immediate as a fallback) and the directory removed. As
root, initdb, pg_ctl and postgres run as the `postgres` user (`runuser -u postgres --`), because
they refuse to run as root.

Without the server binaries, PgServer() raises PgError saying what to install: a test that needs
PostgreSQL fails, it never skips.

A watchdog (a small shell loop in a session of its own, no terminal, stdio on /dev/null) stops the
server and removes the directory once the test process is gone, also when it was killed before
its own clean-up could run.
"""

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import urllib.parse

# The socket file is named .s.PGSQL.<port> inside the private directory; there is no TCP listener,
# so this port cannot clash with anything.
PORT = 5432
START_TIMEOUT = 60  # seconds, for initdb and for pg_ctl -w
STOP_TIMEOUT = 30
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes, with the socket file name and a NUL


class PgError(RuntimeError):
    """The throw-away server could not be set up, started or used."""


def find_bin_dir():
    """The newest /usr/lib/postgresql/<major>/bin with initdb, pg_ctl and postgres, else the one
    `pg_config --bindir` names; raises PgError when there is none."""
    def complete(d):
        return all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres", "createdb"))

    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        major = os.path.basename(os.path.dirname(d))
        if major.isdigit() and complete(d):
            found.append((int(major), d))
    if found:
        return max(found)[1]
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    if out and complete(out):
        return out
    raise PgError("PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin with initdb, pg_ctl and "
                  "postgres, and pg_config --bindir names none): install the postgresql package "
                  "(scripts/deps.sh does)")


def _tail(path, limit=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-limit:]
    except OSError:
        return "(no log)"


class PgServer:
    """One running throw-away cluster. Start it with PgServer(); stop() is idempotent and also runs
    at interpreter exit."""

    def __init__(self):
        self.bin_dir = find_bin_dir()
        self.prefix = []  # how server-side programs are run: as the postgres user when root
        owner = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PgError("running as root, but there is no `postgres` user to run the server as "
                              "(the postgresql package creates it)") from None
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            if not os.access(runuser, os.X_OK):
                raise PgError("running as root, but runuser (util-linux) is missing")
            self.prefix = [runuser, "-u", "postgres", "--"]
            owner = (pw.pw_uid, pw.pw_gid)
        base = None
        if len(tempfile.gettempdir()) + 40 > SOCKET_PATH_MAX:
            base = "/tmp"  # a long TMPDIR would not fit a unix socket path
        self.dir = tempfile.mkdtemp(prefix="latchkey-pg-", dir=base)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self._lock = threading.Lock()
        self._databases = 0
        self._stopped = False
        atexit.register(self.stop)
        try:
            if owner:
                os.chown(self.dir, *owner)
            self._watchdog()
            self._initdb()
            self._start()
        except BaseException:
            self.stop()
            raise

    # --- life cycle ---------------------------------------------------------------------------

    def _run(self, args, what, timeout):
        try:
            proc = subprocess.run(args, cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PgError(f"{what} did not finish within {timeout} s\n{_tail(self.log)}") from None
        if proc.returncode != 0:
            raise PgError(f"{what} failed ({proc.returncode}): {proc.stdout}{proc.stderr}\n{_tail(self.log)}")
        return proc.stdout

    def _initdb(self):
        self._run(self.prefix + [os.path.join(self.bin_dir, "initdb"), "-D", self.data, "-U", "postgres",
                                 "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                  "initdb", START_TIMEOUT)
        # Settings go into the cluster's own file (owned by postgres; root may append to it), so
        # nothing passes through pg_ctl's shell quoting.
        settings = {
            "listen_addresses": "''",  # no TCP at all: only the socket in the private directory
            "unix_socket_directories": "'" + self.dir + "'",
            "port": str(PORT),
            # Speed over durability: the cluster is thrown away.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'16MB'",
            "max_connections": "100",
        }
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# latchkey tests\n")
            for name, value in settings.items():
                f.write(f"{name} = {value}\n")

    def _pg_ctl(self, *args, timeout):
        return self._run(self.prefix + [os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data, *args],
                         "pg_ctl " + " ".join(args), timeout)

    def _start(self):
        # -l: the postmaster writes to the log file, not to our pipes (which would keep
        # subprocess.run waiting for as long as the server lives).
        self._pg_ctl("-l", self.log, "-w", "-t", str(START_TIMEOUT), "start", timeout=START_TIMEOUT + 15)

    def _watchdog(self):
        """Starts the shell loop that cleans up after this process if it dies without stop()."""
        pg_ctl = " ".join(shlex.quote(a) for a in self.prefix + [os.path.join(self.bin_dir, "pg_ctl")])
        script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                  f"if [ -f {shlex.quote(self.data)}/postmaster.pid ]; then "
                  f"timeout {STOP_TIMEOUT} {pg_ctl} -D {shlex.quote(self.data)} stop -m immediate -w; fi; "
                  f"rm -rf {shlex.quote(self.dir)}")
        # The loop runs in the background of a shell that exits at once: nothing of ours waits for
        # it, and it outlives this process by at most a second plus the stop.
        subprocess.run(["/bin/sh", "-c", "(" + script + ") &"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, start_new_session=True, cwd="/", timeout=10, check=True)

    def stop(self):
        """Stops the server (fast, then immediate) and removes its directory. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            for mode in ("fast", "immediate"):
                try:
                    self._pg_ctl("stop", "-m", mode, "-w", "-t", str(STOP_TIMEOUT), timeout=STOP_TIMEOUT + 10)
                    break
                except PgError:
                    continue
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- outages (fault tests) --------------------------------------------------------------------

    def stop_server(self):
        """Stops the running server the way an operator would (`pg_ctl stop -m fast -w`: sessions
        are terminated, open transactions roll back) and keeps its data directory, so that
        start_server() brings the same databases back. Waits until the server has exited."""
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(STOP_TIMEOUT), timeout=STOP_TIMEOUT + 10)

    def start_server(self):
        """Starts the server stopped by stop_server() again on the same data; waits until it
        accepts connections."""
        self._start()

    # --- use ----------------------------------------------------------------------------------

    def uri(self, database):
        """The libpq URI of `database` over the unix socket (host= names the socket directory);
        Latchkey takes it as `storage` / LATCHKEY_STORAGE."""
        host = urllib.parse.quote(self.dir, safe="/")
        return f"postgresql:///{database}?host={host}&port={PORT}&user=postgres"

    def create_database(self, prefix="lk"):
        """Creates a fresh, empty database and returns its URI."""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
            raise ValueError(f"bad database name prefix {prefix!r}")
        with self._lock:
            self._databases += 1
            name = f"{prefix}_{self._databases}"
        self._run([os.path.join(self.bin_dir, "createdb"), "-h", self.dir, "-p", str(PORT), "-U", "postgres", name],
                  "createdb " + name, 60)
        return self.uri(name)

    def psql(self, database, sql):
        """Runs `sql` in `database` with psql; returns its unaligned, tuples-only output."""
        return self._run([os.path.join(self.bin_dir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-h", self.dir, "-p", str(PORT), "-U", "postgres", "-d", database, "-c", sql],
                         "psql", 60)


_shared = None
_shared_lock = threading.Lock()


def shared_server():
    """The one throw-away server of this test process, started on first use, stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PgServer()
        return _shared
