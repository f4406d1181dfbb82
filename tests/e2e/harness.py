"""harness: what the end-to-end tests need to drive the real netshopd and netshop.

Owns: locating the binaries of one build (env NETSHOP_BUILD), the ShopServer context manager
(temp data dir, `netshopd init`, start on a free port, SIGTERM stop with exit-status and
sanitizer checks), ShopConn (a raw SHOP/1-over-TLS client that reads replies byte-exactly),
helpers to run the real client (plain pipes or a pseudo-terminal) and the demo catalog's
expected contents. Debian's python3 standard library only. Every socket and subprocess wait
is bounded, so no test can hang.
"""

import csv
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CATALOG = os.path.join(REPO, "data", "catalog.csv")

SOCKET_TIMEOUT = 5.0        # every raw socket read/write
START_TIMEOUT = 20.0        # server start-up until its "listening" line
STOP_TIMEOUT = 10.0         # SIGTERM until SIGKILL
TOOL_TIMEOUT = 60.0         # netshopd init / user add, openssl
CLIENT_TIMEOUT = 30.0       # one run of the netshop client

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}

READY_RE = re.compile(r"netshopd: listening on (\S+) port (\d+) \(TLS/TCP and UDP\), (\d+) worker threads")
PORT_RE = re.compile(r"\bport (\d+)\b")

DEFAULT_CATEGORY_NAMES = {1: "Electronics", 2: "Cosmetics", 3: "Clothes", 4: "Shoes",
                          5: "House-hold items"}

VERBS = ("LOGIN", "LOGOUT", "QUIT", "PING", "HELP", "CATEGORIES", "BROWSE", "ITEM", "BUY",
         "RECEIPT", "ORDERS")


class HarnessError(AssertionError):
    """A failure of the system under test found by the harness (counts as a test failure)."""


# --------------------------------------------------------------------------------------------
# Binaries and environment

def build_dir():
    """The build directory under test: $NETSHOP_BUILD (relative to the repo), default build."""
    b = os.environ.get("NETSHOP_BUILD", "build")
    if not os.path.isabs(b):
        b = os.path.join(REPO, b)
    return b


def server_binary():
    return os.path.join(build_dir(), "netshopd")


def root_args():
    """["--allow-root"] when the tests run as root (CI, containers): every netshopd command refuses
    to run as root without it."""
    return ["--allow-root"] if os.geteuid() == 0 else []


def netshopd_argv(*args):
    """argv for netshopd with args (a subcommand first, if any), plus --allow-root as root."""
    return [server_binary()] + [str(a) for a in args] + root_args()


def client_binary():
    return os.path.join(build_dir(), "netshop")


def bench_binary():
    return os.path.join(build_dir(), "netshop-bench")


def free_udp_tcp_port():
    """A port free on 127.0.0.1 for both TCP and UDP at the time of the call."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise HarnessError("no port free for both TCP and UDP")


def require_binary(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise HarnessError("binary missing: %s (not built yet?)" % path)
    return path


def base_env(extra=None):
    """A clean environment for a child: PATH, a UTF-8 locale, the sanitizer options, no
    NETSHOP_* variables inherited from the caller, then `extra` (None values delete)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "HOME": os.environ.get("HOME", "/tmp"), "TERM": "dumb"}
    env.update(SANITIZER_ENV)
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def sanitizer_report(text):
    """The sanitizer report in text (from the first marker, at most 60 lines), or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(m in line for m in SANITIZER_MARKERS):
            start = max(0, i - 2)
            return "\n".join(lines[start:start + 60])
    return None


def check_no_sanitizer(what, text):
    rep = sanitizer_report(text)
    if rep is not None:
        raise HarnessError("%s: sanitizer report:\n%s" % (what, rep))


def run_tool(argv, input_text=None, timeout=TOOL_TIMEOUT, env=None, cwd=None):
    """Runs a short-lived program; returns CompletedProcess (text). Raises HarnessError on a
    timeout or a sanitizer report in its stderr."""
    try:
        cp = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                            errors="replace", timeout=timeout, env=env or base_env(), cwd=cwd,
                            stdin=None if input_text is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise HarnessError("%s: no exit within %.0f s" % (" ".join(argv), timeout))
    check_no_sanitizer(" ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv)),
                       cp.stderr)
    return cp


# --------------------------------------------------------------------------------------------
# The demo catalog, as the tests expect to see it on the wire

def money(text):
    """'100000' or '100000.5' -> '100000.00' (two minor digits, INR)."""
    if "." in text:
        whole, frac = text.split(".", 1)
    else:
        whole, frac = text, ""
    return "%d.%s" % (int(whole), (frac + "00")[:2])


def load_catalog(path=DEMO_CATALOG):
    """{sno: {"sno", "name", "stock", "price", "category", "category_name"}} from a CSV file."""
    items = {}
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    for row in rows[1:]:
        if not row:
            continue
        sno = int(row[0])
        cat = sno // 100
        items[sno] = {"sno": sno, "name": row[1], "stock": int(row[2]), "price": money(row[3]),
                      "category": cat, "category_name": DEFAULT_CATEGORY_NAMES.get(cat)}
    return items


# --------------------------------------------------------------------------------------------
# Server runs are recorded so that run.py can report one "server exits cleanly" check per run.

SERVER_RUNS = []          # dicts: owner, index, status, problems (list of str)
_LIVE = set()             # running ShopServer processes, killed at exit of the suite
_LIVE_LOCK = threading.Lock()
_current_owner = ["?"]


def set_owner(name):
    """Names the test (class) that the next server runs belong to, for the reports."""
    _current_owner[0] = name


def kill_live_servers():
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        try:
            p.kill()
            p.wait(timeout=5)
        except Exception:
            pass


class ShopServer:
    """One netshopd data directory and the server processes started on it.

    with ShopServer(catalog_text=None, extra_args=(), demo=True, threads=2) as srv:
        srv.port, srv.data, srv.ca, srv.connect(), srv.client(...), srv.restart()
    On entry: mkdtemp, `netshopd init --data <tmp>/data [--demo] [--catalog F]`, start.
    On exit: SIGTERM (SIGKILL after 10 s), records the exit status and any sanitizer report in
    SERVER_RUNS, removes the temp dir (kept when NETSHOP_KEEP=1)."""

    def __init__(self, catalog_text=None, catalog_path=None, extra_args=(), demo=True, threads=2,
                 start=True, owner=None):
        self.catalog_text = catalog_text
        self.catalog_path = catalog_path
        self.extra_args = list(extra_args)
        self.demo = demo
        self.threads = threads
        self.autostart = start
        self.owner = owner or _current_owner[0]
        self.root = None
        self.data = None
        self.proc = None
        self.port = None
        self.ready_line = None
        self.stderr_path = None
        self.runs = 0
        self.last_status = None

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.setup()
            if self.autostart:
                self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def setup(self):
        """Makes the temp dir and runs `netshopd init`."""
        require_binary(server_binary())
        self.root = tempfile.mkdtemp(prefix="netshop-e2e-")
        self.data = os.path.join(self.root, "data")
        argv = netshopd_argv("init", "--data", self.data)
        if self.demo:
            argv.append("--demo")
        cat = self.catalog_path
        if self.catalog_text is not None:
            cat = os.path.join(self.root, "catalog.csv")
            with open(cat, "w") as f:
                f.write(self.catalog_text)
        if cat:
            argv += ["--catalog", cat]
        cp = run_tool(argv, cwd=REPO)   # the default catalog is data/catalog.csv
        if cp.returncode != 0:
            raise HarnessError("netshopd init failed (exit %d): %s" % (cp.returncode, cp.stderr.strip()))

    @property
    def ca(self):
        return os.path.join(self.data, "ca.crt")

    def add_user(self, name, password, extra_args=()):
        """`netshopd user add NAME --data D [extra_args]` with the password on stdin; returns
        CompletedProcess."""
        return run_tool(netshopd_argv("user", "add", name, "--data", self.data, *extra_args),
                        input_text=password + "\n")

    def start(self, extra_args=None):
        """Starts netshopd on a free port; waits (<= 20 s) for its listening line."""
        if self.proc is not None:
            raise HarnessError("server already running")
        self.runs += 1
        self.stderr_path = os.path.join(self.root, "stderr-%d.log" % self.runs)
        argv = netshopd_argv("--data", self.data, "--listen", "127.0.0.1", "--port", "0",
                             "--threads", self.threads, *self.extra_args, *(extra_args or []))
        errf = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                         env=base_env(), cwd=self.root)
        finally:
            errf.close()
        with _LIVE_LOCK:
            _LIVE.add(self.proc)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self.stderr_text()
            for line in text.splitlines():
                if "listening on" in line:
                    m = PORT_RE.search(line)
                    if m:
                        self.port = int(m.group(1))
                        self.ready_line = line
                        return self
            if self.proc.poll() is not None:
                status = self.proc.returncode
                self._forget()
                raise HarnessError("netshopd exited with status %s before listening:\n%s"
                                   % (status, text[-3000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise HarnessError("netshopd printed no 'listening ... port N' line within %.0f s:\n%s"
                                   % (START_TIMEOUT, text[-3000:]))
            time.sleep(0.02)

    def stderr_text(self, path=None):
        try:
            with open(path or self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _forget(self):
        with _LIVE_LOCK:
            _LIVE.discard(self.proc)
        self.proc = None

    def stop(self):
        """SIGTERM by PID, SIGKILL after 10 s. Records the run in SERVER_RUNS (status must be 0
        and stderr free of sanitizer reports). Returns the exit status (negative: signal)."""
        if self.proc is None:
            return self.last_status
        problems = []
        try:
            self.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait(timeout=10)
            problems.append("did not exit within %.0f s of SIGTERM (killed)" % STOP_TIMEOUT)
        self._forget()
        self.last_status = status
        text = self.stderr_text()
        if status != 0:
            problems.append("exit status %s after SIGTERM (want 0)" % status)
        rep = sanitizer_report(text)
        if rep is not None:
            problems.append("sanitizer report in server stderr:\n" + rep)
        if problems and not rep:
            problems.append("server stderr tail:\n" + "\n".join(text.splitlines()[-15:]))
        SERVER_RUNS.append({"owner": self.owner, "index": self.runs, "status": status,
                            "problems": problems})
        self.port = None
        return status

    def kill9(self):
        """SIGKILL by PID: a crash at whatever moment the server is in. Not checked like a clean
        stop (no exit status, no leak report to expect)."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._forget()
        self.port = None

    def restart(self, extra_args=None):
        """Stops (checked by the caller through the return value) and starts again on the same
        data dir. Returns the stop's exit status."""
        status = self.stop()
        self.start(extra_args)
        return status

    def cleanup(self):
        if self.proc is not None:
            self.stop()
        if self.root and os.environ.get("NETSHOP_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    # -- clients ----------------------------------------------------------------------------
    def connect(self, greeting=True, timeout=SOCKET_TIMEOUT, rcvbuf=None, source=None):
        return ShopConn(self.port, self.ca, timeout=timeout, read_greeting=greeting, rcvbuf=rcvbuf,
                        source=source)

    def login(self, user="root", password=None, timeout=SOCKET_TIMEOUT):
        """A new connection logged in as user (password defaults to the user name)."""
        c = self.connect(timeout=timeout)
        c.login(user, user if password is None else password)
        return c

    def client(self, *args, **kw):
        kw.setdefault("port", self.port)
        kw.setdefault("ca", self.ca)
        kw.setdefault("cwd", self.root)
        return run_client(list(args), **kw)


# --------------------------------------------------------------------------------------------
# Raw TLS client

class ConnectionClosed(HarnessError):
    pass


class Reply:
    """One reply: data rows (lists of str fields), the final line (str, no LF), raw lines."""

    def __init__(self, rows, final, raw):
        self.rows = rows
        self.final = final
        self.raw = raw

    def __iter__(self):
        return iter((self.rows, self.final))

    def __repr__(self):
        return "Reply(rows=%r, final=%r)" % (self.rows, self.final)


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class ShopConn:
    """A SHOP/1 connection over TLS, verified against ca for the name "localhost".

    Reads are byte-exact: every reply line must end with LF (not CR LF), data lines must start
    with "* ", every line must be UTF-8; anything else raises HarnessError."""

    def __init__(self, port, ca, host="localhost", timeout=SOCKET_TIMEOUT, read_greeting=True,
                 rcvbuf=None, source=None):
        self.timeout = timeout
        if rcvbuf is None and source is None:
            raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        else:   # a small receive window, set before connecting, or another loopback source
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf is not None:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if source is not None:
                raw.bind((source, 0))
            raw.settimeout(timeout)
            try:
                raw.connect(("127.0.0.1", port))
            except BaseException:
                raw.close()
                raise
        try:
            self.sock = tls_context(ca).wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False
        self.greeting = None
        self.greeting_raw = None
        if read_greeting:
            self.greeting_raw = self.read_line()
            try:
                self.greeting = self.greeting_raw[:-1].decode("utf-8")
            except UnicodeDecodeError:
                raise HarnessError("greeting is not UTF-8: %r" % self.greeting_raw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def settimeout(self, t):
        self.timeout = t
        self.sock.settimeout(t)

    def send_bytes(self, data):
        self.sock.sendall(data)

    def send_line(self, line):
        self.send_bytes(line.encode("utf-8") + b"\n")

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise HarnessError("no data from server within %.1f s (have %r)" % (self.timeout, self.buf[:200]))
        except (ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk
        return chunk

    def read_line(self):
        """The next line, bytes including its LF. Raises ConnectionClosed at EOF."""
        while b"\n" not in self.buf:
            if self.eof or not self._fill():
                raise ConnectionClosed("connection closed by server (pending %r)" % self.buf[:200])
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        if line.endswith(b"\r\n"):
            raise HarnessError("reply line ends with CR LF, want LF only: %r" % line)
        return line

    def read_reply(self):
        """Reads one whole reply: data lines then the final OK/ERR line."""
        rows, raw = [], []
        while True:
            line = self.read_line()
            raw.append(line)
            try:
                text = line[:-1].decode("utf-8")
            except UnicodeDecodeError:
                raise HarnessError("reply line is not UTF-8: %r" % line)
            if "\0" in text or "\r" in text:
                raise HarnessError("reply line contains NUL or CR: %r" % line)
            if text.startswith("* "):
                rows.append(text[2:].split("\t"))
            elif text == "OK" or text.startswith("OK ") or text.startswith("ERR "):
                return Reply(rows, text, raw)
            else:
                raise HarnessError("reply line is neither '* ' data nor OK/ERR: %r" % line)

    def request(self, line):
        """Sends one request line (str, LF appended) and returns its Reply (rows, final)."""
        self.send_line(line)
        return self.read_reply()

    def login(self, user, password):
        r = self.request("LOGIN %s %s" % (user, password))
        if not r.final.startswith("OK logged in as %s session " % user):
            raise HarnessError("LOGIN %s failed: %r" % (user, r.final))
        return r.final

    def read_until_eof(self, timeout=None):
        """Everything the server sends until it closes (bytes). Raises HarnessError if the
        connection is still open after timeout seconds."""
        if timeout is not None:
            self.settimeout(timeout)
        while not self.eof:
            self._fill()
        data, self.buf = self.buf, b""
        return data


def stock_of(conn, sno):
    """The stock ITEM <sno> reports (int)."""
    r = conn.request("ITEM %d" % sno)
    if not r.final.startswith("OK") or len(r.rows) != 1 or len(r.rows[0]) < 3:
        raise HarnessError("ITEM %d: %r" % (sno, r))
    return int(r.rows[0][2])


def stock_snapshot(conn):
    """{sno: stock} of every item, from BROWSE 1..5 (demo categories)."""
    snap = {}
    for cat in range(1, 6):
        r = conn.request("BROWSE %d" % cat)
        if not r.final.startswith("OK "):
            raise HarnessError("BROWSE %d: %r" % (cat, r))
        for row in r.rows:
            snap[int(row[0])] = int(row[2])
    return snap


# --------------------------------------------------------------------------------------------
# The real client

def client_argv(args, port=None, ca=None, host="localhost", options=()):
    argv = [require_binary(client_binary())]
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    if ca is not None:
        argv += ["--ca", ca]
    return argv + list(options) + list(args)


def run_client(args, port=None, ca=None, host="localhost", options=(), user=None, password=None,
               env=None, input_text="", cwd=None, timeout=CLIENT_TIMEOUT):
    """Runs build/netshop once: options (before the command) then args. user/password go to
    NETSHOP_USER / NETSHOP_PASSWORD. Returns CompletedProcess (text). Raises HarnessError on a
    timeout or a sanitizer report."""
    extra = {"NETSHOP_USER": user, "NETSHOP_PASSWORD": password}
    extra.update(env or {})
    argv = client_argv(args, port, ca, host, options)
    return run_tool(argv, input_text=input_text, timeout=timeout, env=base_env(extra),
                    cwd=cwd or tempfile.gettempdir())


class PtyClient:
    """The real client on a pseudo-terminal (pty.fork: the pty is its controlling terminal)."""

    def __init__(self, argv, env, cwd):
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.out = b""
        self.pos = 0
        self.status = None

    def read_some(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return None
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        self.out += chunk
        return chunk

    def expect(self, text, timeout=10.0):
        """Waits until text (str) appears after the last match; returns the output between."""
        want = text.encode()
        deadline = time.monotonic() + timeout
        while True:
            i = self.out.find(want, self.pos)
            if i >= 0:
                seg = self.out[self.pos:i]
                self.pos = i + len(want)
                return seg.decode("utf-8", "replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("pty: %r not seen within %.0f s; output so far:\n%s"
                                   % (text, timeout, self.out.decode("utf-8", "replace")[-2000:]))
            chunk = self.read_some(left)
            if chunk == b"":
                raise HarnessError("pty: client ended before %r; output:\n%s"
                                   % (text, self.out.decode("utf-8", "replace")[-2000:]))

    def echo_enabled(self):
        import termios
        return bool(termios.tcgetattr(self.fd)[3] & termios.ECHO)

    def wait_echo_off(self, timeout=3.0):
        """True once the terminal's ECHO flag is off (polled for at most timeout seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.echo_enabled():
                return True
            time.sleep(0.01)
        return not self.echo_enabled()

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self, timeout=10.0):
        """Reads to EOF and waits for exit; returns the exit status (or raises)."""
        deadline = time.monotonic() + timeout
        while True:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(st)
                while self.read_some(0.05):
                    pass
                return self.status
            if time.monotonic() > deadline:
                self.kill()
                raise HarnessError("pty: client did not exit within %.0f s; output:\n%s"
                                   % (timeout, self.out.decode("utf-8", "replace")[-2000:]))
            self.read_some(0.05)

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -9

    def close(self):
        self.kill()
        try:
            os.close(self.fd)
        except OSError:
            pass

    def text(self):
        return self.out.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# Test case base

class ServerTestCase(unittest.TestCase):
    """A TestCase that starts servers whose runs are reported under its own name."""

    maxDiff = 4000

    def assertSequence(self, got, want, what="item"):
        """Long lists: equal length and elements, reporting the first difference (no difflib)."""
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                self.fail("%s %d of %d: got %r, want %r" % (what, i, len(want), g, w))
        self.assertEqual(len(got), len(want), "number of %ss" % what)

    @classmethod
    def class_server(cls, **kw):
        """A ShopServer shared by the class (started now, stopped after the class)."""
        srv = ShopServer(owner="%s.%s" % (cls.__module__, cls.__qualname__), **kw)
        srv.__enter__()
        cls.addClassCleanup(srv.cleanup)
        return srv

    def new_server(self, **kw):
        """A ShopServer for this test only (stopped at the end of the test)."""
        srv = ShopServer(owner=self.id(), **kw)
        srv.__enter__()
        self.addCleanup(srv.cleanup)
        return srv

    def connection(self, srv, **kw):
        c = srv.connect(**kw)
        self.addCleanup(c.close)
        return c

    def logged_in(self, srv, user="root", password=None):
        c = srv.login(user, password)
        self.addCleanup(c.close)
        return c

    def assertPong(self, conn):
        r = conn.request("PING")
        self.assertEqual((r.rows, r.final), ([], "OK PONG"))


# --------------------------------------------------------------------------------------------
# Misc

def openssl_binary():
    return shutil.which("openssl")


def make_other_ca(directory):
    """A second, unrelated CA certificate (P-256) in directory; returns its path."""
    key = os.path.join(directory, "other-ca.key")
    crt = os.path.join(directory, "other-ca.crt")
    cp = run_tool([openssl_binary(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                   "-subj", "/CN=Other Test CA"])
    if cp.returncode != 0:
        raise HarnessError("openssl req failed: %s" % cp.stderr)
    return crt


def free_refusing_port():
    """A bound but not listening TCP socket on 127.0.0.1 (connects to it are refused).
    Returns (socket, port); keep the socket open while using the port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]
