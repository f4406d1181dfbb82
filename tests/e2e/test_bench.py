"""test_bench: the real load generator netshop-bench (docs/BENCH.md) against a real netshopd (and
bench/udp's peers: build/udp-echo, /usr/bin/memcached when installed), every run with --json and
short (0.3 to 1 s of load). Each mode is checked for what it promises: the exit status, the JSON
object alone on stdout, its counts, and -- in the purchase modes -- the stock invariant, cross-checked
independently through a plain SHOP/1 connection (stock before and after, the user's orders), and
made to fail for real by a purchase from another client during the run."""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (HarnessError, ServerTestCase, base_env, bench_binary, build_dir,
                     check_no_sanitizer, free_udp_tcp_port, require_binary, run_tool, stock_of)

BENCH_TIMEOUT = 40.0        # one bench run: set-up, warm-up, a short measurement, drain, check
MEMCACHED = "/usr/bin/memcached"

BIG_STOCK = 10_000_000
# 40 items, 8 per category (as bench/udp): an anonymous BROWSE reply of a category is too big
# for an unvalidated address, so udp-browse's token probe gets a RETRY and a token
SNOS = [c * 100 + i for c in range(1, 6) for i in range(1, 9)]
CATALOG = "Sno,Name,Quantity,Price\n" + "".join("%d,item%d,%d,100\n" % (sno, sno, BIG_STOCK) for sno in SNOS)
LOW_ITEM, LOW_STOCK = 101, 25            # sells out during a run
LOW_CATALOG = "Sno,Name,Quantity,Price\n101,widget,%d,5\n102,gadget,%d,5\n" % (LOW_STOCK, BIG_STOCK)

USER, PASSWORD = "bencher", "bench-pw-1"       # --hash-cost minimal: cheap LOGINs
OTHER, OTHER_PW = "shopper", "shopper-pw-1"    # the "foreign" buyer
UDP_RATE = 20                                  # netshopd --udp-rate for the browse server

SHORT = ["--warmup", "0.2", "--duration", "0.5"]


def bench_argv(mode, *args):
    return [require_binary(bench_binary()), "--mode", mode, "--json"] + [str(a) for a in args]


class BenchCase(ServerTestCase):
    """Runs netshop-bench and checks its JSON."""

    def describe(self, cp):
        return "netshop-bench %s: exit %s\nstdout: %s\nstderr tail:\n%s" % (
            " ".join(cp.args[1:]), cp.returncode, cp.stdout[:1500],
            "\n".join(cp.stderr.splitlines()[-12:]))

    def parse(self, cp):
        """The one JSON object that --json puts on stdout (nothing else there)."""
        self.assertGreaterEqual(cp.returncode, 0, "netshop-bench crashed: " + self.describe(cp))
        try:
            obj = json.loads(cp.stdout)
        except ValueError as e:
            self.fail("stdout is not one JSON object (%s): %s" % (e, self.describe(cp)))
        self.assertIsInstance(obj, dict, self.describe(cp))
        return obj

    def bench(self, mode, *args, want_exit=0):
        """Runs one bench; asserts its exit status; returns (json, CompletedProcess)."""
        cp = run_tool(bench_argv(mode, *args), timeout=BENCH_TIMEOUT)
        obj = self.parse(cp)
        if want_exit is not None:
            self.assertEqual(cp.returncode, want_exit, self.describe(cp))
        self.assertEqual(obj.get("mode"), mode, self.describe(cp))
        return obj, cp

    def shop_bench(self, srv, mode, *args, want_exit=0):
        return self.bench(mode, "--host", "localhost", "--port", srv.port, "--ca", srv.ca, *args,
                          want_exit=want_exit)

    def assertLoadOk(self, j, cp, connections):
        """A clean run: requests answered at a positive rate, no error of any kind."""
        why = self.describe(cp)
        self.assertEqual(j["connections"], connections, why)
        self.assertGreater(j["ops"], 0, why)
        self.assertGreater(j["ops_per_sec"], 0, why)
        self.assertAlmostEqual(j["ops_per_sec"], j["ops"] / j["duration_s"],
                               delta=0.01 * j["ops_per_sec"] + 0.1, msg=why)
        self.assertEqual(j["errors"], 0, why)
        self.assertEqual(j["errors_by_kind"], {}, why)
        self.assertFalse(j["interrupted"], why)
        self.assertLessEqual(j["min_us"], j["p50_us"], why)
        self.assertLessEqual(j["p50_us"], j["p99_us"], why)
        self.assertLessEqual(j["p99_us"], j["max_us"], why)

    def assertInvariantOk(self, j, cp):
        why = self.describe(cp)
        inv = j["invariant"]
        self.assertIs(j["invariant_ok"], True, why)
        self.assertIs(inv["checked"], True, why)
        self.assertIsNone(inv["problem"], why)
        self.assertEqual(inv["foreign_units"], 0, why)
        self.assertEqual(inv["acked_units"], j["acked"], why)       # --qty 1
        self.assertEqual(inv["recorded_units"], j["acked"], why)
        self.assertEqual(inv["stock_sold"], j["acked"], why)
        self.assertEqual(sum(it["acked"] for it in j["items"]), j["acked"], why)
        for it in j["items"]:
            self.assertEqual(it["recorded"], it["acked"], why)
            self.assertEqual(it["stock_before"] - it["stock_after"], it["acked"], why)

    def assertServerStock(self, srv, before, j, cp):
        """Independently of the bench: the server's stock of each item the run bought went down
        by exactly the units the bench saw acknowledged (stock read over a plain connection;
        the catalog may lag a purchase by a few ms, so it is polled briefly)."""
        acked = {it["sno"]: it["acked"] for it in j["items"]}
        with srv.connect() as c:
            deadline = time.monotonic() + 2.0
            while True:
                after = {sno: stock_of(c, sno) for sno in acked}
                sold = {sno: before[sno] - after[sno] for sno in acked}
                if sold == acked or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        self.assertEqual(sold, acked, "stock sold per item (server) vs acknowledged (bench): "
                         + self.describe(cp))
        for it in j["items"]:
            self.assertEqual(it["stock_before"], before[it["sno"]], self.describe(cp))
        return after


class PurchaseModesTest(BenchCase):
    """tls-buy and udp-buy against one server; the runs follow each other, so each run's stock
    change is its own."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(catalog_text=CATALOG, start=False)
        for name, pw in ((USER, PASSWORD), (OTHER, OTHER_PW)):
            cp = cls.srv.add_user(name, pw, ["--hash-cost", "minimal"])
            if cp.returncode != 0:
                raise HarnessError("user add %s: %s" % (name, cp.stderr))
        cls.srv.start()

    def stocks(self, snos):
        with self.srv.connect() as c:
            return {sno: stock_of(c, sno) for sno in snos}

    def buy_run(self, mode, item_args, snos, connections=3, extra=()):
        before = self.stocks(snos)
        j, cp = self.shop_bench(self.srv, mode, "--connections", connections, "--user", USER,
                                "--password", PASSWORD, *item_args, *SHORT, *extra)
        self.assertLoadOk(j, cp, connections)
        self.assertGreater(j["acked"], 0, self.describe(cp))
        self.assertGreaterEqual(j["acked"], j["acked_measured"], self.describe(cp))
        self.assertInvariantOk(j, cp)
        # one order per session, a new session after every 1000 BUYs (the default --order-lines)
        self.assertGreaterEqual(j["sessions"], max(connections, -(-j["acked"] // 1000)), self.describe(cp))
        self.assertLessEqual(j["sessions"], connections + j["acked"] // 1000, self.describe(cp))
        self.assertLessEqual(j["invariant"]["orders"], j["sessions"], self.describe(cp))
        self.assertGreaterEqual(j["invariant"]["orders"], connections, self.describe(cp))
        self.assertServerStock(self.srv, before, j, cp)
        return j, cp

    def test_tls_buy_hot_item(self):
        j, cp = self.buy_run("tls-buy", ["--item", 101], [101])
        self.assertEqual(j["item"], 101, self.describe(cp))
        self.assertEqual([it["sno"] for it in j["items"]], [101], self.describe(cp))
        self.assertEqual(j["insufficient"], 0, self.describe(cp))

    def test_tls_buy_spread_buys_every_item(self):
        j, cp = self.buy_run("tls-buy", ["--spread"], SNOS, extra=["--outstanding", 2])
        self.assertIs(j["spread"], True, self.describe(cp))
        self.assertEqual(sorted(it["sno"] for it in j["items"]), SNOS, self.describe(cp))
        self.assertEqual(j["insufficient"], 0, self.describe(cp))
        if j["acked"] >= 2 * len(SNOS):    # round-robin: every item got its share
            for it in j["items"]:
                self.assertGreater(it["acked"], 0, "item %d never bought: %s"
                                   % (it["sno"], self.describe(cp)))

    def test_udp_buy_hot_item(self):
        j, cp = self.buy_run("udp-buy", ["--item", 102], [102], extra=["--outstanding", 2])
        self.assertEqual(j["item"], 102, self.describe(cp))
        self.assertEqual(j["insufficient"], 0, self.describe(cp))
        # every BUY went out as a datagram; a TLS fallback is the exception, not the path
        self.assertLess(j["fallbacks"], max(1, j["acked"] // 10), self.describe(cp))

    def test_udp_buy_beyond_the_session_queue_is_dropped_and_nothing_is_oversold(self):
        """More BUYs in flight than the server queues per session (64): the excess datagrams are
        dropped (no reply), retransmitted (a short --udp-timeout-ms), finished over TLS when the
        retries run out, and every request id still gets its one outcome (PROTOCOL.md 7.3):
        acknowledged = sold. A BUSY may only come over TLS, and says nothing was bought."""
        item = 104
        before = self.stocks([item])
        j, cp = self.shop_bench(self.srv, "udp-buy", "--item", item, "--connections", 1,
                                "--outstanding", 100, "--udp-timeout-ms", 10,
                                "--max-errors", 1000000000, "--user", USER, "--password", PASSWORD,
                                "--warmup", "0.1", "--duration", "0.3", want_exit=None)
        why = self.describe(cp)
        self.assertEqual(set(j["errors_by_kind"]) - {"BUSY"}, set(), why)
        self.assertGreater(j["retransmits"], 0, "the queue never filled: " + why)
        self.assertInvariantOk(j, cp)
        self.assertServerStock(self.srv, before, j, cp)
        self.assertEqual(cp.returncode, 0, why)

    def test_tls_buy_sells_out_exactly_the_stock(self):
        """An item with 25 units: exactly 25 BUYs succeed, the rest are INSUFFICIENT_STOCK
        (answered, not errors), and the check still agrees."""
        srv = self.new_server(catalog_text=LOW_CATALOG, demo=True)
        before = {LOW_ITEM: LOW_STOCK}
        j, cp = self.shop_bench(srv, "tls-buy", "--item", LOW_ITEM, "--connections", 2,
                                "--warmup", "0.1", "--duration", "0.3")
        self.assertLoadOk(j, cp, 2)
        self.assertEqual(j["acked"], LOW_STOCK, "the last units sell, no more: " + self.describe(cp))
        self.assertGreater(j["insufficient"], 0, self.describe(cp))
        self.assertInvariantOk(j, cp)
        after = self.assertServerStock(srv, before, j, cp)
        self.assertEqual(after[LOW_ITEM], 0)

    def test_foreign_purchase_during_the_run_fails_the_invariant(self):
        """Another user buys the hot item while the bench runs: the stock sold is then more
        than the bench's orders hold, which the check must report (exit 1, invariant_ok false)."""
        item, foreign_qty = 103, 7
        before = self.stocks([item])[item]
        argv = bench_argv("tls-buy", "--host", "localhost", "--port", self.srv.port, "--ca",
                          self.srv.ca, "--connections", 2, "--user", USER, "--password", PASSWORD,
                          "--item", item, "--warmup", "0.3", "--duration", "1")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace", env=base_env())
        try:
            with self.srv.connect() as c:
                c.login(OTHER, OTHER_PW)
                # the stock falling means the bench has read its "before" and is buying
                deadline = time.monotonic() + 15
                while stock_of(c, item) == before:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        self.fail("the bench bought nothing of item %d (exit %s)" % (item, proc.poll()))
                    time.sleep(0.01)
                r = c.request("BUY %d %d foreign-1" % (item, foreign_qty))
                self.assertTrue(r.final.startswith("OK bought %d x" % foreign_qty), r)
                self.assertIsNone(proc.poll(), "the bench ended before the foreign purchase")
            out, err = proc.communicate(timeout=BENCH_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        check_no_sanitizer("netshop-bench", err)
        cp = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        j = self.parse(cp)
        why = self.describe(cp)
        self.assertEqual(cp.returncode, 1, "an invariant mismatch exits 1: " + why)
        self.assertEqual(j["errors"], 0, why)
        self.assertGreater(j["acked"], 0, why)
        inv = j["invariant"]
        self.assertIs(inv["checked"], True, why)
        self.assertIs(j["invariant_ok"], False, why)
        self.assertIn("item %d" % item, inv["problem"] or "", why)
        self.assertEqual(inv["acked_units"], j["acked"], why)
        self.assertEqual(inv["recorded_units"], j["acked"], why)
        self.assertEqual(inv["stock_sold"], j["acked"] + foreign_qty, why)
        self.assertIn("invariant", err, why)
        with self.srv.connect() as c:
            self.assertEqual(stock_of(c, item), before - j["acked"] - foreign_qty)


class OrderLinesTest(BenchCase):
    """netshopd --order-lines 5: the bench, told the same, logs in again for every order of 5
    lines; told more, it hits the server's limit (errors, exit 1) without breaking the stock."""

    LINES = 5

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(catalog_text=CATALOG, start=False,
                                   extra_args=["--order-lines", str(cls.LINES)])
        for name in ("tls-orders", "udp-orders", "too-many"):
            cp = cls.srv.add_user(name, PASSWORD, ["--hash-cost", "minimal"])
            if cp.returncode != 0:
                raise HarnessError("user add %s: %s" % (name, cp.stderr))
        cls.srv.start()

    def orders_of(self, user):
        """[(order id, state, line count)] from ORDERS (newest first, at most 100)."""
        with self.srv.connect() as c:
            c.login(user, PASSWORD)
            r = c.request("ORDERS")
            self.assertTrue(r.final.startswith("OK "), r)
            return [(int(row[0]), row[2], int(row[3])) for row in r.rows]

    def relogin_run(self, mode, user, item):
        connections = 2
        with self.srv.connect() as c:
            before = {item: stock_of(c, item)}
        j, cp = self.shop_bench(self.srv, mode, "--connections", connections, "--user", user,
                                "--password", PASSWORD, "--item", item,
                                "--order-lines", self.LINES, *SHORT)
        why = self.describe(cp)
        self.assertLoadOk(j, cp, connections)
        self.assertInvariantOk(j, cp)
        self.assertGreater(j["sessions"], connections, "no re-login: " + why)
        # every session that bought is one order of at most LINES purchases, all full but each
        # connection's last (a session opened just before the end may have bought nothing)
        orders_n = j["invariant"]["orders"]
        self.assertLessEqual(orders_n, j["sessions"], why)
        self.assertGreaterEqual(orders_n, j["sessions"] - connections, why)
        self.assertLessEqual(j["acked"], self.LINES * orders_n, why)
        self.assertGreaterEqual(j["acked"], self.LINES * (orders_n - connections), why)
        self.assertServerStock(self.srv, before, j, cp)
        orders = self.orders_of(user)
        self.assertEqual(len(orders), min(100, orders_n), "orders on the server: %r" % orders[:5])
        for oid, state, lines in orders:
            self.assertEqual(state, "closed", "order %d" % oid)
            self.assertTrue(1 <= lines <= self.LINES, "order %d has %d lines" % (oid, lines))

    def test_tls_buy_logs_in_again_per_order(self):
        self.relogin_run("tls-buy", "tls-orders", 201)

    def test_udp_buy_logs_in_again_per_order(self):
        self.relogin_run("udp-buy", "udp-orders", 202)

    def test_more_order_lines_than_the_server_is_an_error_not_a_stock_mismatch(self):
        connections = 2
        j, cp = self.shop_bench(self.srv, "tls-buy", "--connections", connections, "--user", "too-many",
                                "--password", PASSWORD, "--item", 203,
                                "--order-lines", self.LINES + 3, "--warmup", "0.1", "--duration", "0.3",
                                want_exit=1)
        why = self.describe(cp)
        self.assertGreater(j["errors_by_kind"].get("LIMIT", 0), 0, why)
        self.assertEqual(j["errors"], sum(j["errors_by_kind"].values()), why)
        self.assertEqual(j["acked"], self.LINES * connections, why)    # each first order filled
        self.assertInvariantOk(j, cp)


class ShopModesTest(BenchCase):
    """The modes that do not buy: UDP and TLS browsing, logins, handshakes, idle connections."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(catalog_text=CATALOG, start=False,
                                   extra_args=["--udp-rate", str(UDP_RATE)])
        cp = cls.srv.add_user(USER, PASSWORD, ["--hash-cost", "minimal"])
        if cp.returncode != 0:
            raise HarnessError("user add: %s" % cp.stderr)
        cls.srv.start()

    def udp_browse(self, *extra):
        j, cp = self.shop_bench(self.srv, "udp-browse", "--connections", 3, *extra, *SHORT)
        why = self.describe(cp)
        self.assertLoadOk(j, cp, 3)
        self.assertNotIn("without a RETRY", cp.stderr, why)
        # with the address token no datagram is rate-limited: all connections share 127.0.0.1,
        # which without a token gets --udp-rate (20) datagrams per second
        self.assertGreater(j["ops_per_sec"], 10 * UDP_RATE, "address token not used? " + why)
        self.assertEqual(j["acked"], 0, why)
        self.assertNotIn("invariant", j, why)
        return j, cp

    def test_udp_browse(self):
        self.udp_browse()

    def test_udp_browse_one_category(self):
        self.udp_browse("--category", 3)

    def test_udp_browse_page_small(self):
        j, cp = self.udp_browse("--udp-page-small")
        self.assertIs(j["spread"], True, self.describe(cp))

    def test_tls_browse(self):
        j, cp = self.shop_bench(self.srv, "tls-browse", "--connections", 2, *SHORT)
        self.assertLoadOk(j, cp, 2)
        j, cp = self.shop_bench(self.srv, "tls-browse", "--connections", 2, "--category", "Electronics",
                                "--warmup", "0.1", "--duration", "0.3")
        self.assertLoadOk(j, cp, 2)

    def test_tls_browse_unknown_category_cannot_start(self):
        cp = run_tool(bench_argv("tls-browse", "--port", self.srv.port, "--ca", self.srv.ca,
                                 "--category", 9, "--connections", 1, "--warmup", "0.1",
                                 "--duration", "0.3"), timeout=BENCH_TIMEOUT)
        self.assertEqual(cp.returncode, 1, self.describe(cp))
        self.assertIn("9", cp.stderr)

    def test_login(self):
        j, cp = self.shop_bench(self.srv, "login", "--connections", 2, "--user", USER,
                                "--password", PASSWORD, *SHORT)
        self.assertLoadOk(j, cp, 2)
        self.assertGreaterEqual(j["sessions"], j["ops"], "one LOGIN per op: " + self.describe(cp))

    def test_login_wrong_password_is_an_error(self):
        j, cp = self.shop_bench(self.srv, "login", "--connections", 1, "--user", USER,
                                "--password", "wrong-pw", "--max-errors", 0,
                                "--warmup", "0.1", "--duration", "0.3", want_exit=1)
        self.assertGreater(j["errors"], 0, self.describe(cp))
        self.assertEqual(j["sessions"], 0, self.describe(cp))
        # one error per refused LOGIN, not a second one for the LOGOUT behind it
        self.assertNotIn("AUTH_REQUIRED", j.get("errors_by_kind", {}), self.describe(cp))

    def test_handshake_until_greeting(self):
        j, cp = self.shop_bench(self.srv, "handshake", "--connections", 2, *SHORT)
        self.assertLoadOk(j, cp, 2)
        self.assertEqual(j["sessions"], 0, self.describe(cp))

    def test_handshake_until_ticket(self):
        j, cp = self.shop_bench(self.srv, "handshake", "--connections", 2,
                                "--handshake-until", "ticket", *SHORT)
        self.assertLoadOk(j, cp, 2)

    def test_hold(self):
        """N logged-in idle connections: held == N, and the server really has N connections open
        on its port while the bench says it holds them."""
        n = 6
        argv = bench_argv("hold", "--port", self.srv.port, "--ca", self.srv.ca, "--connections", n,
                          "--threads", 2, "--user", USER, "--password", PASSWORD,
                          "--warmup", "0.1", "--duration", "1")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=base_env())
        err = b""
        established = None
        try:
            deadline = time.monotonic() + 20
            while b"holding:" not in err and time.monotonic() < deadline:
                r, _, _ = select.select([proc.stderr], [], [], 0.1)
                if r:
                    chunk = os.read(proc.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    err += chunk
            if b"holding:" in err:
                established = established_to(self.srv.port)
            out, rest = proc.communicate(timeout=BENCH_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        err = (err + rest).decode("utf-8", "replace")
        check_no_sanitizer("netshop-bench", err)
        cp = subprocess.CompletedProcess(argv, proc.returncode, out.decode("utf-8", "replace"), err)
        j = self.parse(cp)
        why = self.describe(cp)
        self.assertEqual(cp.returncode, 0, why)
        self.assertIsNotNone(established, "no 'holding:' line on stderr: " + why)
        self.assertEqual(j["held"], n, why)
        self.assertEqual(j["sessions"], n, why)
        self.assertEqual(j["errors"], 0, why)
        self.assertEqual(j["ops"], 0, why)
        # n held (+ the control connection, if still open)
        self.assertIn(established, (n, n + 1), "TCP connections established to the server's port "
                      "during the hold: " + why)


def established_to(port):
    """Client-side sockets in state ESTABLISHED whose remote port is `port` (/proc/net/tcp*)."""
    count = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


class BadOptionsTest(BenchCase):
    """Usage errors: exit 2, a message on stderr naming the problem, nothing on stdout."""

    CASES = [
        (["--mode", "bogus"], "unknown mode 'bogus'"),
        (["--mode", "tls-buy", "--connections", "0"], "--connections"),
        (["--mode", "handshake", "--handshake-until", "bogus"], "--handshake-until"),
        (["--connections", "2"], "--mode is required"),
        (["--mode", "tls-buy", "--outstanding", "1025"], "--outstanding"),
        (["--mode", "tls-buy", "--duration", "-1"], "--duration"),
        (["--mode", "tls-buy", "--threads", "4", "--connections", "2"], "--threads"),
        (["--mode", "tls-buy", "--user", "a", "--users", "b:c"], "--users"),
        (["--mode", "memcached-get", "--key", ""], "--key"),
        (["--mode", "tls-buy", "stray"], "stray"),
        (["--mode", "udp-browse", "--udp-page-small", "--category", "3"],
         "--category does not go with --udp-page-small"),
        (["--mode", "tls-buy", "--category", "3"], "--category is for tls-browse and udp-browse"),
    ]

    def test_bad_options_exit_2(self):
        for args, needle in self.CASES:
            with self.subTest(args=args):
                cp = run_tool([require_binary(bench_binary())] + args + ["--json", "--port", "1"],
                              timeout=10)
                self.assertEqual(cp.returncode, 2, self.describe(cp))
                self.assertEqual(cp.stdout, "", self.describe(cp))
                self.assertIn(needle, cp.stderr, self.describe(cp))
                self.assertIn("netshop-bench", cp.stderr)

    def test_help_exits_0(self):
        cp = run_tool([require_binary(bench_binary()), "--help"], timeout=10)
        self.assertEqual(cp.returncode, 0, self.describe(cp))
        self.assertIn("usage: netshop-bench --mode MODE", cp.stdout + cp.stderr)


class BenchTrustTest(BenchCase):
    """Audit finding 5, in the load generator: without --ca or NETSHOP_CA it took
    var/demo/ca.crt from the current directory, so a directory someone else prepared chose whom
    it trusted with its accounts' passwords."""

    def test_no_ca_is_taken_from_the_current_directory(self):
        srv = self.new_server()
        with tempfile.TemporaryDirectory() as cwd:
            os.makedirs(os.path.join(cwd, "var", "demo"))
            shutil.copy(srv.ca, os.path.join(cwd, "var", "demo", "ca.crt"))
            cp = run_tool(bench_argv("tls-browse", "--host", "localhost", "--port", srv.port,
                                     "--connections", "1"), timeout=BENCH_TIMEOUT, cwd=cwd)
        self.assertNotEqual(cp.returncode, 0, self.describe(cp))
        self.assertIn("no CA certificate", cp.stderr, self.describe(cp))


class Peer:
    """A peer server process (udp-echo, memcached): started here, stopped by PID."""

    def __init__(self, argv):
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=base_env())
        self.out = b""

    def read_until(self, needle, timeout=10.0):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise HarnessError("%s: no %r within %.0f s (exit %s): %r"
                                   % (self.argv[0], needle, timeout, self.proc.poll(), self.out[-500:]))
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.1))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk and self.proc.poll() is not None:
                    continue
                self.out += chunk
        return self.out.decode("utf-8", "replace")

    def stop(self):
        """SIGTERM by PID; returns the exit status (SIGKILL after 10 s: None)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                self.proc.stdout.close()
                return None
        self.proc.stdout.close()
        return self.proc.returncode


class UdpPeersTest(BenchCase):
    """bench/udp's peers: the bare echo server and memcached, no SHOP/1, no TLS."""

    def start_peer(self, argv):
        peer = Peer(argv)
        self.addCleanup(peer.stop)
        return peer

    def test_udp_echo(self):
        echo_bin = require_binary(os.path.join(build_dir(), "udp-echo"))
        echo = self.start_peer([echo_bin, "--port", 0, "--reply-bytes", 300])
        text = echo.read_until(b"listening on 127.0.0.1 port ")
        port = int(text.split("listening on 127.0.0.1 port ")[1].split()[0])
        j, cp = self.bench("udp-echo", "--host", "127.0.0.1", "--port", port, "--connections", 3,
                           "--outstanding", 4, *SHORT)
        self.assertLoadOk(j, cp, 3)
        self.assertNotIn("invariant", j)
        self.assertEqual(echo.stop(), 0, "udp-echo exit status after SIGTERM: %r" % echo.out[-500:])

    def test_udp_echo_nobody_listening_is_an_error(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:   # bound, never answers
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            j, cp = self.bench("udp-echo", "--host", "127.0.0.1", "--port", port, "--connections", 1,
                               "--udp-timeout-ms", 20, "--udp-retries", 1, "--max-errors", 0,
                               "--warmup", "0.1", "--duration", "0.3", want_exit=1)
        self.assertEqual(j["ops"], 0, self.describe(cp))
        self.assertGreater(j["errors_by_kind"].get("udp_timeout", 0), 0, self.describe(cp))

    def memcached(self):
        if not os.access(MEMCACHED, os.X_OK):
            self.skipTest("%s is not installed" % MEMCACHED)
        port = free_udp_tcp_port()
        argv = [MEMCACHED, "-l", "127.0.0.1", "-p", port, "-U", port, "-t", 1, "-m", 64]
        if os.geteuid() == 0:
            argv[1:1] = ["-u", "nobody"]      # memcached refuses to run as root
        mc = self.start_peer(argv)
        deadline = time.monotonic() + 10
        while True:
            try:
                return mc, port, socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                if mc.proc.poll() is not None or time.monotonic() > deadline:
                    raise HarnessError("memcached did not accept on port %d (exit %s): %r"
                                       % (port, mc.proc.poll(), mc.out))
                time.sleep(0.05)

    def test_memcached_get(self):
        mc, port, tcp = self.memcached()
        key, value = "netshop-bench-e2e", b"v" * 200
        with tcp:
            tcp.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key.encode(), len(value), value))
            self.assertEqual(tcp.recv(64), b"STORED\r\n")
        j, cp = self.bench("memcached-get", "--host", "127.0.0.1", "--port", port, "--key", key,
                           "--connections", 2, "--outstanding", 2, *SHORT)
        self.assertLoadOk(j, cp, 2)
        # a key that is not set: memcached answers END alone, a protocol error for every get
        j, cp = self.bench("memcached-get", "--host", "127.0.0.1", "--port", port, "--key", "no-such-key",
                           "--connections", 1, "--warmup", "0.1", "--duration", "0.3")
        self.assertEqual(j["ops"], 0, self.describe(cp))
        self.assertGreater(j["errors_by_kind"].get("protocol", 0), 0, self.describe(cp))
        self.assertEqual(j["errors"], j["errors_by_kind"]["protocol"], self.describe(cp))
        self.assertEqual(mc.stop(), 0)


if __name__ == "__main__":
    unittest.main()
