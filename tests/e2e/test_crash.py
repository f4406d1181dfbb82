"""Crash safety: a flash sale from many clients, netshopd killed with SIGKILL at seeded random
moments, restarted, and after every round: every purchase a client saw acknowledged is in the store
(its request id replays the same outcome), nothing was bought that no client asked for, every item's
initial stock = stock + sold, and PRAGMA integrity_check is ok.

NETSHOP_CRASH_ROUNDS (default 5) and NETSHOP_CRASH_SEED set the length and the seed; bench/crash runs
many more rounds with the same code."""

import os
import random
import sqlite3
import threading
import time

from harness import HarnessError, ServerTestCase, ShopConn

ROUNDS = int(os.environ.get("NETSHOP_CRASH_ROUNDS", "5"))
SEED = int(os.environ.get("NETSHOP_CRASH_SEED", "20261128"))
BUYERS = 8
ORDER_LINES_MAX = 1000
ITEMS = (101, 102, 103)
CATALOG = "Sno,Name,Quantity,Price\n101,hot,1000000,10\n102,warm,1000000,20\n103,cool,1000000,30\n"


class Buyer(threading.Thread):
    """Buys qty 1 with unique request ids, one at a time, until the connection dies."""

    def __init__(self, port, ca, user, tag, rng):
        super().__init__(daemon=True)
        self.port, self.ca, self.user, self.tag, self.rng = port, ca, user, tag, rng
        self.sent = {}    # request id -> sno
        self.acked = {}   # request id -> (order id, sno, qty) from the OK row
        self.error = None

    def run(self):
        try:
            c = ShopConn(self.port, self.ca, timeout=10)
            c.login(self.user, self.user)
        except Exception as e:  # the server may die before or during login
            self.error = e
            return
        n = 0
        try:
            while True:
                if n and n % ORDER_LINES_MAX == 0:
                    c.request("LOGOUT")  # an order holds at most 1000 lines: start a new one
                    c.login(self.user, self.user)
                sno = self.rng.choice(ITEMS)
                rid = "%s-%d" % (self.tag, n)
                n += 1
                self.sent[rid] = sno
                r = c.request("BUY %d 1 %s" % (sno, rid))
                if not r.final.startswith("OK "):
                    raise HarnessError("BUY %d 1 %s: %r" % (sno, rid, r))
                row = r.rows[0]
                self.acked[rid] = (int(row[0]), int(row[1]), int(row[3]))
        except Exception:
            pass  # killed mid-conversation: expected
        finally:
            c.close()


class CrashTest(ServerTestCase):

    def check_store(self, srv, sent, acked):
        """Reads the database as netshopd left it after SIGKILL (SQLite recovers the WAL)."""
        db = sqlite3.connect(os.path.join(srv.data, "shop.db"))
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            recorded = {}
            for user, rid, sno, qty, outcome, line_id in db.execute(
                    "SELECT u.name, r.request_id, r.sno, r.qty, r.outcome, r.line_id "
                    "FROM buy_requests r JOIN users u ON u.id = r.user_id"):
                self.assertEqual(outcome, 0, "request %s was refused (outcome %d) in a 1M-stock sale"
                                 % (rid, outcome))
                recorded[(user, rid)] = (sno, qty, line_id)
            # Nothing extra: every recorded purchase was asked for by a client.
            for key, (sno, qty, _) in recorded.items():
                self.assertIn(key, sent, "purchase %r recorded but never sent" % (key,))
                self.assertEqual((sno, qty), (sent[key], 1))
            # Nothing lost: every acknowledged purchase is recorded with its line, in the order
            # it was acknowledged in (clients see opaque order ids: one store id per shown id).
            store_id_of, shown_id_of = {}, {}
            for key, (order_id, sno, qty) in acked.items():
                self.assertIn(key, recorded, "acknowledged purchase %r lost" % (key,))
                line = db.execute("SELECT order_id, sno, qty FROM order_lines WHERE id = ?",
                                  (recorded[key][2],)).fetchone()
                self.assertIsNotNone(line, "line of %r" % (key,))
                self.assertEqual(line[1:], (sno, qty), "line of %r" % (key,))
                self.assertEqual(store_id_of.setdefault(order_id, line[0]), line[0], "order of %r" % (key,))
                self.assertEqual(shown_id_of.setdefault(line[0], order_id), order_id, "order of %r" % (key,))
            lines = db.execute("SELECT count(*) FROM order_lines").fetchone()[0]
            self.assertEqual(lines, len(recorded), "order lines without a purchase record")
            for sno, stock, initial in db.execute("SELECT sno, stock, initial_stock FROM items"):
                sold = db.execute("SELECT coalesce(sum(qty), 0) FROM order_lines WHERE sno = ?",
                                  (sno,)).fetchone()[0]
                self.assertEqual(initial, stock + sold, "item %d: initial = stock + sold" % sno)
            return {sno: stock for sno, stock, _ in db.execute("SELECT sno, stock, initial_stock FROM items")}
        finally:
            db.close()

    def check_replays(self, srv, acked, stock):
        """After the restart, each acknowledged request id answers its first outcome again and
        buys nothing; the server's stock equals the store's."""
        by_user = {}
        for (user, rid), outcome in acked.items():
            by_user.setdefault(user, []).append((rid, outcome))
        for user, items in by_user.items():
            c = srv.login(user)
            try:
                c.settimeout(60)
                c.send_bytes("".join("BUY %d 1 %s\n" % (o[1], rid) for rid, o in items).encode())
                for rid, (order_id, sno, qty) in items:
                    r = c.read_reply()
                    self.assertTrue(r.final.startswith("OK "), (rid, r))
                    self.assertEqual([int(r.rows[0][0]), int(r.rows[0][1]), int(r.rows[0][3])],
                                     [order_id, sno, qty], "replay of %s" % rid)
                for sno in ITEMS:
                    r = c.request("ITEM %d" % sno)
                    self.assertEqual(int(r.rows[0][2]), stock[sno], "stock of %d after restart" % sno)
            finally:
                c.close()

    def test_sigkill_during_flash_sale_loses_no_acknowledged_purchase(self):
        rng = random.Random(SEED)
        srv = self.new_server(catalog_text=CATALOG)
        srv.add_user("root1", "root1")  # demo already has it; harmless if it exists
        sent, acked = {}, {}
        total_acked = 0
        for rnd in range(ROUNDS):
            buyers = [Buyer(srv.port, srv.ca, "root" if i % 2 else "root1", "c%d-%d" % (rnd, i),
                            random.Random(rng.random())) for i in range(BUYERS)]
            for b in buyers:
                b.start()
            time.sleep(rng.uniform(0.8, 2.5))   # logins take a moment; then buying is under way
            srv.kill9()
            round_acked = {}
            for b in buyers:
                b.join(30)
                self.assertFalse(b.is_alive(), "a buyer did not stop after the kill")
                for rid, sno in b.sent.items():
                    sent[(b.user, rid)] = sno
                for rid, outcome in b.acked.items():
                    round_acked[(b.user, rid)] = outcome
            acked.update(round_acked)
            total_acked = len(acked)
            stock = self.check_store(srv, sent, acked)   # every round's purchases, in the store
            srv.start()
            self.check_replays(srv, round_acked, stock)  # this round's, through the server
        self.assertGreater(total_acked, 0, "no purchase was acknowledged in %d rounds" % ROUNDS)
        if os.environ.get("NETSHOP_CRASH_VERBOSE"):
            print("crash: %d rounds, %d purchases sent, %d acknowledged" % (ROUNDS, len(sent), total_acked))
