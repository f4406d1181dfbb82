"""test_purchase: buying — the last unit, idempotent request ids (one connection, two
connections, per user, repeated errors), separate orders for two users and for two sessions of
one user, 32 clients racing for 10 units, and restarts that keep users, stock and orders."""

import threading
import time

from harness import HarnessError, ServerTestCase, ShopConn, stock_of

RACE_CATALOG = "Sno,Name,Quantity,Price\n101,widget,10,250\n102,spare,1000,5\n"


def run_threads(targets, timeout=90):
    """Runs the callables in threads; re-raises the first exception; bounded by timeout."""
    errors = []

    def wrap(fn):
        try:
            fn()
        except BaseException as e:   # noqa: B902 - reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise HarnessError("threads still running after %d s" % timeout)
    if errors:
        raise errors[0]


def eventually_stock(test, conn, sno, want, within=2.0):
    """ITEM stock may lag purchases on other connections by a few ms: poll (bounded)."""
    deadline = time.monotonic() + within
    while True:
        got = stock_of(conn, sno)
        if got == want or time.monotonic() > deadline:
            test.assertEqual(got, want, "stock of %d" % sno)
            return
        time.sleep(0.02)


class PurchaseTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def test_last_unit_in_stock_can_be_bought_then_insufficient_stock(self):
        c = self.logged_in(self.srv, "root")
        self.assertEqual(stock_of(c, 101), 1)
        r = c.request("BUY 101 1")
        self.assertEqual(len(r.rows), 1, r)
        self.assertEqual(r.rows[0][1:], ["101", "phone", "1", "100000.00", "100000.00"])
        self.assertEqual(r.final, "OK bought 1 x phone for 100000.00 INR")
        self.assertEqual(stock_of(c, 101), 0)
        browse = c.request("BROWSE 1")
        self.assertEqual(browse.rows[0], ["101", "phone", "0", "100000.00"])
        r2 = c.request("BUY 101 1")
        self.assertEqual(r2.rows, [])
        self.assertTrue(r2.final.startswith("ERR INSUFFICIENT_STOCK "), r2.final)
        self.assertEqual(stock_of(c, 101), 0)
        self.assertEqual(c.request("RECEIPT").final,
                         "OK order %s open total 100000.00 INR" % r.rows[0][0])

    def test_same_request_id_twice_gives_same_row_and_buys_once(self):
        c = self.logged_in(self.srv, "root")
        before = stock_of(c, 503)
        r1 = c.request("BUY 503 2 idem-same-conn")
        self.assertEqual(r1.final, "OK bought 2 x carpets for 1600.00 INR")
        r2 = c.request("BUY 503 2 idem-same-conn")
        self.assertEqual((r2.rows, r2.final), (r1.rows, r1.final))
        self.assertEqual(stock_of(c, 503), before - 2)
        r = c.request("RECEIPT")
        self.assertEqual(r.rows, [["503", "carpets", "2", "800.00", "1600.00"]])
        self.assertEqual(r.final, "OK order %s open total 1600.00 INR" % r1.rows[0][0])

    def test_same_request_id_on_another_connection_of_the_user_buys_once(self):
        a = self.logged_in(self.srv, "root")
        before = stock_of(a, 504)
        r1 = a.request("BUY 504 3 idem-two-conns")
        self.assertEqual(r1.final, "OK bought 3 x bedsheets for 2550.00 INR")
        b = self.logged_in(self.srv, "root")
        r2 = b.request("BUY 504 3 idem-two-conns")
        self.assertEqual((r2.rows, r2.final), (r1.rows, r1.final))
        self.assertEqual(stock_of(b, 504), before - 3)
        self.assertEqual(b.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertEqual(a.request("RECEIPT").rows, [["504", "bedsheets", "3", "850.00", "2550.00"]])
        a.close()
        c = self.logged_in(self.srv, "root")   # after the first session ended
        r3 = c.request("BUY 504 3 idem-two-conns")
        self.assertEqual((r3.rows, r3.final), (r1.rows, r1.final))
        self.assertEqual(stock_of(c, 504), before - 3)

    def test_request_ids_are_per_user(self):
        a = self.logged_in(self.srv, "root")
        before = stock_of(a, 505)
        r1 = a.request("BUY 505 1 idem-per-user")
        b = self.logged_in(self.srv, "root1")
        r2 = b.request("BUY 505 1 idem-per-user")
        self.assertEqual(r1.final, "OK bought 1 x shoerack for 1000.00 INR")
        self.assertEqual(r2.final, "OK bought 1 x shoerack for 1000.00 INR")
        self.assertNotEqual(r1.rows[0][0], r2.rows[0][0])
        self.assertEqual(r1.rows[0][1:], r2.rows[0][1:])
        self.assertEqual(stock_of(a, 505), before - 2)

    def test_repeated_request_id_repeats_an_error_outcome(self):
        c = self.logged_in(self.srv, "root")
        self.assertEqual(stock_of(c, 205), 1)
        e1 = c.request("BUY 205 5 idem-error")
        self.assertTrue(e1.final.startswith("ERR INSUFFICIENT_STOCK "), e1.final)
        e2 = c.request("BUY 205 5 idem-error")
        self.assertEqual((e2.rows, e2.final), (e1.rows, e1.final))
        self.assertEqual(stock_of(c, 205), 1)
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")

    def test_two_users_buying_at_once_keep_separate_receipts_and_orders(self):
        conns = {"root": self.logged_in(self.srv, "root"), "root1": self.logged_in(self.srv, "root1")}
        item = {"root": ("301", "shirts", "2000.00"), "root1": ("302", "pants", "2500.00")}
        before = {u: stock_of(conns[u], int(item[u][0])) for u in conns}
        barrier = threading.Barrier(2, timeout=30)
        replies = {}

        def buyer(user):
            def go():
                c = conns[user]
                barrier.wait()
                c.send_bytes(("BUY %s 1\n" % item[user][0]).encode() * 10)
                replies[user] = [c.read_reply() for _ in range(10)]
            return go

        run_threads([buyer("root"), buyer("root1")])
        oid = {}
        for user, (sno, name, price) in item.items():
            rs = replies[user]
            self.assertEqual([r.final for r in rs], ["OK bought 1 x %s for %s INR" % (name, price)] * 10)
            oids = {r.rows[0][0] for r in rs}
            self.assertEqual(len(oids), 1, oids)
            oid[user] = oids.pop()
            self.assertEqual([r.rows[0][1:] for r in rs], [[sno, name, "1", price, price]] * 10)
        self.assertNotEqual(oid["root"], oid["root1"])
        for user, (sno, name, price) in item.items():
            c = conns[user]
            r = c.request("RECEIPT")
            self.assertEqual(r.rows, [[sno, name, "1", price, price]] * 10)
            total = "%d.00" % (10 * int(price.split(".")[0]))
            self.assertEqual(r.final, "OK order %s open total %s INR" % (oid[user], total))
            other = "root1" if user == "root" else "root"
            ids = [row[0] for row in c.request("ORDERS").rows]
            self.assertIn(oid[user], ids)
            self.assertNotIn(oid[other], ids)
            r = c.request("RECEIPT " + oid[other])
            self.assertTrue(r.final.startswith("ERR NO_SUCH_ORDER "), r.final)
            self.assertEqual(stock_of(c, int(sno)), before[user] - 10)

    def test_two_sessions_of_one_user_have_separate_orders(self):
        a = self.logged_in(self.srv, "root1")
        b = self.logged_in(self.srv, "root1")
        ra = a.request("BUY 304 1")
        rb = b.request("BUY 305 2")
        self.assertEqual(ra.final, "OK bought 1 x kurtas for 750.00 INR")
        self.assertEqual(rb.final, "OK bought 2 x hoodies for 2000.00 INR")
        oa, ob = ra.rows[0][0], rb.rows[0][0]
        self.assertNotEqual(oa, ob)
        r = a.request("RECEIPT")
        self.assertEqual((r.rows, r.final), ([["304", "kurtas", "1", "750.00", "750.00"]],
                                             "OK order %s open total 750.00 INR" % oa))
        r = b.request("RECEIPT")
        self.assertEqual((r.rows, r.final), ([["305", "hoodies", "2", "1000.00", "2000.00"]],
                                             "OK order %s open total 2000.00 INR" % ob))
        rows = {row[0]: row for row in a.request("ORDERS").rows}
        self.assertEqual(rows[oa][2:], ["open", "1", "750.00"])
        self.assertEqual(rows[ob][2:], ["open", "1", "2000.00"])
        # Each session may read the other's order (same user) by id.
        self.assertEqual(a.request("RECEIPT " + ob).final, "OK order %s open total 2000.00 INR" % ob)


class RaceTest(ServerTestCase):

    def test_32_clients_race_for_10_units_exactly_10_win_and_survive_restart(self):
        srv = self.new_server(catalog_text=RACE_CATALOG)
        n = 32
        barrier = threading.Barrier(n, timeout=60)
        results = [None] * n
        conns = [None] * n
        busy_retries = [0]

        def client(i):
            def go():
                user = "root" if i % 2 == 0 else "root1"
                try:
                    c = ShopConn(srv.port, srv.ca, timeout=20)
                    conns[i] = c
                    for _ in range(100):
                        r = c.request("LOGIN %s %s" % (user, user))
                        if not r.final.startswith("ERR BUSY "):
                            break
                        busy_retries[0] += 1
                        time.sleep(0.1)
                    if not r.final.startswith("OK logged in as %s " % user):
                        raise HarnessError("client %d: LOGIN: %r" % (i, r.final))
                    barrier.wait()
                    results[i] = (user, c.request("BUY 101 1"))
                except BaseException:
                    barrier.abort()
                    raise
            return go

        try:
            run_threads([client(i) for i in range(n)], timeout=120)
            finals = [r.final for _, r in results]
            ok = [(u, r) for u, r in results if r.final.startswith("OK")]
            short = [f for f in finals if f.startswith("ERR INSUFFICIENT_STOCK ")]
            self.assertEqual((len(ok), len(short)), (10, 22), finals)
            won = {"root": set(), "root1": set()}
            for u, r in ok:
                self.assertEqual(r.final, "OK bought 1 x widget for 250.00 INR")
                self.assertEqual(len(r.rows), 1)
                self.assertEqual(r.rows[0][1:], ["101", "widget", "1", "250.00", "250.00"])
                won[u].add(r.rows[0][0])
            self.assertEqual(len(won["root"] | won["root1"]), 10, "10 distinct orders")
            for u, r in results:
                if not r.final.startswith("OK"):
                    self.assertEqual(r.rows, [])
            watch = self.connection(srv)
            eventually_stock(self, watch, 101, 0)
            for user in ("root", "root1"):
                c = next(conns[i] for i in range(n) if results[i][0] == user)
                ids = {row[0] for row in c.request("ORDERS").rows}
                self.assertEqual(ids, won[user], "ORDERS of %s" % user)
        finally:
            for c in conns:
                if c is not None:
                    c.close()

        self.assertEqual(srv.restart(), 0, "exit status after SIGTERM")
        watch = self.connection(srv)
        self.assertEqual(stock_of(watch, 101), 0)
        self.assertEqual(stock_of(watch, 102), 1000)
        for user in ("root", "root1"):
            c = self.logged_in(srv, user)
            r = c.request("ORDERS")
            self.assertEqual(r.final, "OK %d orders" % len(won[user]))
            self.assertEqual({row[0] for row in r.rows}, won[user])
            for row in r.rows:
                self.assertEqual(row[2:], ["closed", "1", "250.00"])
            for oid in sorted(won[user]):
                r = c.request("RECEIPT " + oid)
                self.assertEqual((r.rows, r.final), ([["101", "widget", "1", "250.00", "250.00"]],
                                                     "OK order %s closed total 250.00 INR" % oid))
            r = c.request("BUY 101 1")
            self.assertTrue(r.final.startswith("ERR INSUFFICIENT_STOCK "), r.final)


OUTCOME_CATALOG = "Sno,Name,Quantity,Price\n101,widget,1,250\n102,spare,50,5\n"


class RefusedOutcomeTest(ServerTestCase):
    """A refused BUY's first outcome is recorded under its request id, like a purchase."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(catalog_text=OUTCOME_CATALOG)

    def test_regression_refused_buy_repeated_with_its_id_returns_first_outcome_not_current_stock(self):
        # An independent client found the refusal re-evaluated: the repeat said "only 0 left".
        c = self.logged_in(self.srv, "root")
        self.assertEqual(stock_of(c, 101), 1)
        first = c.request("BUY 101 2 refused-then-sold")
        self.assertEqual(first.final, "ERR INSUFFICIENT_STOCK only 1 left of widget (asked 2)")
        self.assertEqual(c.request("BUY 101 1").final, "OK bought 1 x widget for 250.00 INR")
        again = c.request("BUY 101 2 refused-then-sold")
        self.assertEqual(again.raw, first.raw)
        other = self.logged_in(self.srv, "root")   # another connection of the user
        self.assertEqual(other.request("BUY 101 2 refused-then-sold").raw, first.raw)
        self.assertEqual(stock_of(c, 101), 0)

    def test_refusal_for_no_such_item_is_recorded_under_its_request_id(self):
        c = self.logged_in(self.srv, "root1")
        first = c.request("BUY 999 1 no-such-item-rid")
        self.assertEqual(first.final, "ERR NO_SUCH_ITEM no item 999")
        self.assertEqual(c.request("BUY 999 1 no-such-item-rid").raw, first.raw)
        # the id is taken by that refusal: another purchase under it is a conflict
        r = c.request("BUY 102 1 no-such-item-rid")
        self.assertTrue(r.final.startswith("ERR CONFLICT "), r.final)
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")

    def test_refusal_repeated_after_a_restart_returns_its_first_text(self):
        srv = self.new_server(catalog_text=OUTCOME_CATALOG)
        c = srv.login("root")
        first = c.request("BUY 102 60 refused-restart")
        self.assertEqual(first.final, "ERR INSUFFICIENT_STOCK only 50 left of spare (asked 60)")
        self.assertEqual(c.request("BUY 102 5").final, "OK bought 5 x spare for 25.00 INR")
        c.close()
        srv.restart()
        d = self.logged_in(srv, "root")
        self.assertEqual(d.request("BUY 102 60 refused-restart").raw, first.raw)
        self.assertEqual(stock_of(d, 102), 45)


class PersistenceTest(ServerTestCase):

    def test_restart_keeps_users_stock_orders_and_request_ids(self):
        srv = self.new_server()
        a = srv.login("root")
        r = a.request("BUY 102 3")
        self.assertEqual(r.final, "OK bought 3 x laptop for 210000.00 INR")
        oid = r.rows[0][0]
        b = srv.login("root1")
        rb = b.request("BUY 103 1 persist-rid")
        self.assertEqual(rb.final, "OK bought 1 x tv for 150000.00 INR")
        first_log = srv.stderr_path
        # Stop while both sessions are still connected.
        self.assertEqual(srv.stop(), 0, "exit status after SIGTERM")
        self.assertIn("netshopd: stopped", srv.stderr_text(first_log))
        a.close()
        b.close()
        srv.start()
        self.assertIn("WARNING: demo mode", srv.stderr_text())
        c = self.logged_in(srv, "root")
        self.assertEqual(stock_of(c, 102), 14)
        self.assertEqual(stock_of(c, 103), 18)
        rows = {row[0]: row for row in c.request("ORDERS").rows}
        self.assertEqual(rows[oid][2:], ["closed", "1", "210000.00"])
        r = c.request("RECEIPT " + oid)
        self.assertEqual((r.rows, r.final), ([["102", "laptop", "3", "70000.00", "210000.00"]],
                                             "OK order %s closed total 210000.00 INR" % oid))
        d = self.logged_in(srv, "root1")
        rb2 = d.request("BUY 103 1 persist-rid")
        self.assertEqual((rb2.rows, rb2.final), (rb.rows, rb.final))
        self.assertEqual(stock_of(d, 103), 18)
        self.assertEqual(d.request("RECEIPT").final, "OK order none open total 0.00 INR")
