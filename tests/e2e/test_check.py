"""test_check: `netshopd check --data DIR` — after purchases from a few clients it finds the data
consistent (exit 0, one summary line) while the server runs, even while purchases go on, and after
it stops; a row changed behind the store's back (stock, an order's total, a purchase record) makes
it exit 1 naming the item, order or record; a missing data directory or database is a clear
error (exit 2), and check never creates a database."""

import os
import sqlite3
import threading

from harness import HarnessError, ServerTestCase, netshopd_argv, run_tool

CATALOG = "Sno,Name,Quantity,Price\n101,widget,1000,250\n102,gadget,500,12.50\n"
CLIENTS = 3
BUYS_PER_CLIENT = 20


def check(data_dir):
    return run_tool(netshopd_argv("check", "--data", data_dir))


def corrupt(data_dir, sql):
    """Changes shop.db behind the store's back, as an operator's mistake or a bad disk would."""
    db = sqlite3.connect(os.path.join(data_dir, "shop.db"))
    try:
        db.execute(sql)
        db.commit()
    finally:
        db.close()


class CheckTest(ServerTestCase):

    def shop_with_purchases(self):
        """A server after BUYS_PER_CLIENT purchases on each of CLIENTS connections at once."""
        srv = self.new_server(catalog_text=CATALOG)
        self.buy_from_clients(srv)
        return srv

    def buy_from_clients(self, srv, tag="a"):
        errors = []

        def client(n):
            try:
                with srv.login("root") as c:
                    for i in range(BUYS_PER_CLIENT):
                        r = c.request("BUY %d %d %s-%d-%d" % (101 + i % 2, 1 + i % 3, tag, n, i))
                        if not r.final.startswith("OK bought"):
                            raise HarnessError("BUY refused: %s" % r.final)
            except BaseException as e:   # noqa: B902 - reported to the main thread
                errors.append(e)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if errors:
            raise errors[0]
        self.assertFalse(any(t.is_alive() for t in threads), "buyers still running")

    def assertConsistent(self, cp):
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        lines = cp.stdout.splitlines()
        self.assertEqual(len(lines), 1, cp.stdout)
        self.assertIn("is consistent: 2 items", lines[0])
        return lines[0]

    def test_consistent_while_serving_and_after_stop(self):
        srv = self.shop_with_purchases()
        line = self.assertConsistent(check(srv.data))
        self.assertIn("%d lines, %d purchase records" % (CLIENTS * BUYS_PER_CLIENT,
                                                          CLIENTS * BUYS_PER_CLIENT), line)
        self.assertEqual(srv.stop(), 0)
        self.assertConsistent(check(srv.data))

    def test_consistent_while_purchases_go_on(self):
        """Each check reads one snapshot: purchases committed meanwhile never show as half done."""
        srv = self.new_server(catalog_text=CATALOG)
        buyer = threading.Thread(target=self.buy_from_clients, args=(srv, "b"), daemon=True)
        buyer.start()
        runs = 0
        while buyer.is_alive() or runs < 2:
            self.assertConsistent(check(srv.data))
            runs += 1
        buyer.join()
        self.assertConsistent(check(srv.data))

    def test_stock_changed_behind_its_back_is_reported(self):
        srv = self.shop_with_purchases()
        srv.stop()
        corrupt(srv.data, "UPDATE items SET stock = stock + 1 WHERE sno = 102")
        cp = check(srv.data)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertRegex(cp.stdout, r"^item 102: initial stock 500 != stock \d+ \+ sold \d+\n$")
        self.assertIn("1 problem found", cp.stderr)

    def test_stock_changed_while_serving_is_reported(self):
        srv = self.shop_with_purchases()
        corrupt(srv.data, "UPDATE items SET stock = stock + 1 WHERE sno = 101")
        cp = check(srv.data)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertRegex(cp.stdout, r"^item 101: initial stock 1000 != stock \d+ \+ sold \d+\n$")

    def test_order_total_and_purchase_record_are_reported(self):
        srv = self.shop_with_purchases()
        srv.stop()
        db = sqlite3.connect(os.path.join(srv.data, "shop.db"))
        order_id, total = db.execute("SELECT id, total FROM orders ORDER BY id LIMIT 1").fetchone()
        db.close()
        corrupt(srv.data, "UPDATE orders SET total = total + 1 WHERE id = %d" % order_id)
        corrupt(srv.data, "UPDATE buy_requests SET line_id = 99999 WHERE request_id = 'a-1-3'")
        cp = check(srv.data)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        lines = cp.stdout.splitlines()
        self.assertEqual(len(lines), 2, cp.stdout)
        self.assertEqual(lines[0], "order %d: total %d.%02d but its lines sum to %d.%02d"
                         % (order_id, (total + 1) // 100, (total + 1) % 100, total // 100, total % 100))
        self.assertRegex(lines[1], r"^purchase record \(user \d+, request 'a-1-3'\): item 102 qty 1"
                                   r" line 99999, but that line does not exist$")
        self.assertIn("2 problems found", cp.stderr)

    def test_missing_data_directory_is_a_clear_error(self):
        srv = self.new_server(start=False)
        missing = os.path.join(srv.root, "nowhere")
        cp = check(missing)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertEqual(cp.stdout, "")
        self.assertIn(missing, cp.stderr)
        self.assertIn("No such file or directory", cp.stderr)
        self.assertFalse(os.path.exists(missing))

    def test_data_directory_without_database_is_an_error_and_stays_empty(self):
        srv = self.new_server(start=False)
        empty = os.path.join(srv.root, "empty")
        os.mkdir(empty, 0o700)
        cp = check(empty)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertIn("does not exist; run 'netshopd init --data %s' first" % empty, cp.stderr)
        self.assertEqual(os.listdir(empty), [])

    def test_usage(self):
        cp = run_tool(netshopd_argv("check"))
        self.assertEqual(cp.returncode, 2)
        self.assertIn("usage: netshopd check --data DIR", cp.stderr)
        cp = run_tool(netshopd_argv("--help"))
        self.assertIn("netshopd check --data DIR", cp.stdout)
