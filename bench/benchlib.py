"""benchlib: what the benchmarks under bench/ share (Debian's python3 standard library only).

Owns: the repo and build locations (env NETSHOP_BUILD, default build), prepare() (Debian packages
through scripts/deps.sh bench, then `make all` for that build), free ports, generated catalogs,
the Netshopd context manager (a netshopd in a temp data dir, started through the e2e harness's
ShopServer so start-up and readiness are not written twice), running netshop-bench --json, an
unprivileged system user for the peers (PostgreSQL, nginx, memcached refuse or should not run as
root), temp dirs that are removed on exit, medians, the results table and the final
machine-readable `RESULT name k=v ...` line, and run_main() (SIGTERM/SIGHUP end a benchmark like
Ctrl-C, so every `with` block stops its processes and removes its temp dirs).
"""

import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("NETSHOP_BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
# harness.build_dir() reads NETSHOP_BUILD relative to the repo: give it the same directory
os.environ["NETSHOP_BUILD"] = str(BUILD)

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import harness  # noqa: E402  (needs the path above)

BENCH_USER = "netshop-bench"            # system user the peers run as (created when missing)
DEMO_CATALOG = ROOT / "data" / "catalog.csv"


class BenchFailure(Exception):
    """A failed measurement. result: netshop-bench's parsed JSON when there was one."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------------------------
# Set-up

def prepare():
    """Installs missing Debian packages (scripts/deps.sh bench) and builds netshop into BUILD."""
    subprocess.run([str(ROOT / "scripts" / "deps.sh"), "bench"], check=True)
    subprocess.run(["make", "--no-print-directory", "-s", "-C", str(ROOT), "all",
                    "BUILD=" + str(BUILD)], check=True)


def cores():
    return os.cpu_count() or 1


def free_port():
    """A port free on 127.0.0.1 for both TCP and UDP at the time of the call."""
    try:
        return harness.free_udp_tcp_port()
    except harness.HarnessError as e:
        raise BenchFailure(str(e)) from None


def wait_tcp(port, timeout=20.0, what="server"):
    """Waits until 127.0.0.1:port accepts TCP connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchFailure("%s: nothing accepts on 127.0.0.1:%d after %.0f s" % (what, port, timeout))
            time.sleep(0.05)


def write_catalog(path, items=25, stock=100_000_000):
    """Writes a catalog CSV (format of data/catalog.csv) with `items` items spread over the five
    categories (sno = category * 100 + position), each with `stock` units; the first 25 are the
    demo catalog's items (names and prices). Returns the snos in file order."""
    if not 1 <= items <= 5 * 99:
        raise ValueError("items must be 1..495")
    demo = {}
    with open(DEMO_CATALOG) as f:
        for line in f.read().splitlines()[1:]:
            sno, name, _, price = line.split(",")
            demo[int(sno)] = (name, price)
    snos = sorted((1 + i % 5) * 100 + 1 + i // 5 for i in range(items))
    with open(path, "w") as f:
        f.write("Sno,Name,Quantity,Price\n")
        for sno in snos:
            name, price = demo.get(sno, ("item%d" % sno, "100"))
            f.write("%d,%s,%d,%s\n" % (sno, name, stock, price))
    return snos


def bench_user():
    """The unprivileged system user the peers run as (BENCH_USER, created when missing).
    Returns (name, uid, gid)."""
    try:
        pw = pwd.getpwnam(BENCH_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", BENCH_USER], check=True)
        pw = pwd.getpwnam(BENCH_USER)
    return pw.pw_name, pw.pw_uid, pw.pw_gid


class TempDir:
    """A temp dir removed on exit of the `with` block. owner: a user name to chown it to."""

    def __init__(self, prefix="netshop-bench-", owner=None):
        self.prefix = prefix
        self.owner = owner
        self.path = None

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix=self.prefix)
        if self.owner:
            shutil.chown(self.path, self.owner, pwd.getpwnam(self.owner).pw_gid)
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


# --------------------------------------------------------------------------------------------
# netshopd

class Netshopd:
    """One netshopd on a fresh temp data dir (`netshopd init --demo [--catalog F]`), listening on
    127.0.0.1 on a free port (--port 0; the port is read from its "listening" line).

        with Netshopd(threads=2, catalog=path, extra_args=["--order-lines", "1000"],
                      users=[("u1", "p1")], hash_cost="minimal") as srv:
            srv.port, srv.ca, srv.data, srv.pid, srv.rss_kib()

    users are added with `netshopd user add` before the start, with `--hash-cost hash_cost` when
    given ("minimal": a benchmark's thousands of logins then measure the server, not argon2id). stop() sends SIGTERM by PID,
    waits (SIGKILL after 10 s) and raises BenchFailure unless the exit status is 0; the `with`
    block also removes the temp dir."""

    def __init__(self, threads=1, catalog=None, extra_args=(), users=(), hash_cost=None):
        self.users = list(users)
        self.user_args = ["--hash-cost", hash_cost] if hash_cost else []
        # Every benchmark client comes from one address (loopback): lift the limits per source
        # address and per UDP session, which protect a public server from one source.
        lifted = ["--max-per-address", "1000000", "--udp-session-rate", "10000000"]
        self.srv = harness.ShopServer(catalog_path=str(catalog) if catalog else None,
                                      extra_args=lifted + list(extra_args), demo=True, threads=threads,
                                      start=False, owner="bench")

    port = property(lambda self: self.srv.port)
    ca = property(lambda self: self.srv.ca)
    data = property(lambda self: self.srv.data)
    proc = property(lambda self: self.srv.proc)
    pid = property(lambda self: self.srv.proc.pid if self.srv.proc else None)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.srv.cleanup()
            raise
        return self

    def __exit__(self, exc_type, *_):
        try:
            if exc_type is None:
                self.stop()
        finally:
            self.srv.cleanup()      # stops a server still running (after an error), removes the dir
        return False

    def start(self):
        try:
            if self.srv.root is None:
                self.srv.setup()
                for name, password in self.users:
                    cp = self.srv.add_user(name, password, self.user_args)
                    if cp.returncode != 0:
                        raise BenchFailure("netshopd user add %s: %s" % (name, cp.stderr.strip()))
            self.srv.start()
        except harness.HarnessError as e:
            raise BenchFailure(str(e)) from None

    def stop(self):
        if self.srv.proc is None:
            return
        status = self.srv.stop()
        if status != 0:
            problems = harness.SERVER_RUNS[-1]["problems"]
            raise BenchFailure("netshopd: " + "\n".join(problems))

    def rss_kib(self):
        """VmRSS of the running server, KiB."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchFailure("no VmRSS for pid %d" % self.pid)


def netshop_bench(args, timeout):
    """Runs BUILD/netshop-bench ARGS --json (killed by PID after timeout seconds) and returns its
    JSON object. Raises BenchFailure (with .result when there was JSON) if it exits non-zero:
    errors over --max-errors, an invariant mismatch, or no run at all."""
    argv = [str(BUILD / "netshop-bench")] + [str(a) for a in args] + ["--json"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchFailure("netshop-bench did not finish within %.0f s: %s" % (timeout, " ".join(argv)))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    try:
        result = json.loads(out)
    except ValueError:
        result = None
    if proc.returncode != 0 or result is None:
        raise BenchFailure("netshop-bench exit status %d: %s\n%s"
                           % (proc.returncode, " ".join(argv[1:]), err.strip()[-3000:]), result)
    return result


# --------------------------------------------------------------------------------------------
# Reporting

def median(xs):
    return statistics.median(xs)


def fmt(v):
    """A cell or RESULT value: floats with 2 decimals, None as '-', the rest as str()."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.2f" % v
    return str(v)


def print_table(title, header, rows):
    """Prints a title and a table, columns right-aligned except the first."""
    cells = [[fmt(c) for c in r] for r in [header] + list(rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    sys.stdout.flush()


def result_line(name, **pairs):
    """Prints and returns the machine-readable last line: RESULT name k=v ..."""
    line = " ".join(["RESULT", name] + ["%s=%s" % (k, fmt(v)) for k, v in pairs.items()])
    print(line, flush=True)
    return line


def log(msg):
    """A progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def run_main(main):
    """Runs main() -> exit status with SIGTERM and SIGHUP turned into KeyboardInterrupt, so the
    `with` blocks stop what they started; exits 130 on an interrupt, 1 on a BenchFailure."""
    def interrupt(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        status = main()
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except BenchFailure as e:
        log("FAILED: %s" % e)
        status = 1
    sys.exit(status)
