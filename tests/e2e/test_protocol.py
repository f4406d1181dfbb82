"""test_protocol: every SHOP/1 command and its reply format, exactly as docs/PROTOCOL.md §2-§4
say, against one demo server shared by the class. Purchases here use only Shoes (4xx) items so
the other categories keep their catalog stock for the exact BROWSE/ITEM checks."""

import datetime
import re

from harness import (VERBS, ServerTestCase, load_catalog)

CATALOG = load_catalog()
CATEGORY_NAMES = ["Electronics", "Cosmetics", "Clothes", "Shoes", "House-hold items"]
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ORDER_ID_RE = re.compile(r"^[1-9][0-9]*$")


def browse_rows(category):
    return [[str(i["sno"]), i["name"], str(i["stock"]), i["price"]]
            for sno, i in sorted(CATALOG.items()) if i["category"] == category]


def item_row(sno):
    i = CATALOG[sno]
    return [str(sno), i["name"], str(i["stock"]), i["price"], str(i["category"]), i["category_name"]]


class ProtocolCommandsTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def test_greeting_is_ok_shop1_line_ending_in_lf(self):
        c = self.connection(self.srv)
        self.assertTrue(c.greeting_raw.startswith(b"OK SHOP/1 "), c.greeting_raw)
        self.assertTrue(c.greeting_raw.endswith(b" ready\n"), c.greeting_raw)
        self.assertNotIn(b"\r", c.greeting_raw)
        self.assertRegex(c.greeting, r"^OK SHOP/1 netshop/\S+ ready$")

    def test_tls_version_is_1_3(self):
        c = self.connection(self.srv)
        self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_ready_line_and_demo_warning_on_stderr(self):
        self.assertRegex(self.srv.ready_line,
                         r"^netshopd: listening on 127\.0\.0\.1 port %d \(TLS/TCP and UDP\), "
                         r"2 worker threads$" % self.srv.port)
        self.assertIn("WARNING: demo mode", self.srv.stderr_text())

    def test_reply_lines_end_with_lf_only(self):
        c = self.connection(self.srv)
        for req in ("PING", "HELP", "CATEGORIES", "BROWSE 1", "ITEM 101", "NOPE", "BUY 1 1"):
            r = c.request(req)
            for line in r.raw:
                self.assertTrue(line.endswith(b"\n") and not line.endswith(b"\r\n"), line)
                self.assertEqual(line.count(b"\n"), 1, line)

    def test_ping_replies_ok_pong(self):
        c = self.connection(self.srv)
        r = c.request("PING")
        self.assertEqual(r.raw, [b"OK PONG\n"])

    def test_help_lists_the_eleven_verbs(self):
        c = self.connection(self.srv)
        r = c.request("HELP")
        self.assertEqual(r.final, "OK 11 commands")
        self.assertEqual(sorted(row[0] for row in r.rows), sorted(VERBS))
        for row in r.rows:
            self.assertEqual(len(row), 3, row)
            self.assertTrue(row[2], row)

    def test_help_bytes(self):
        """HELP's exact bytes, pinned when HELP became a rendering of the command table (issue 9):
        one row per verb in the table's order."""
        c = self.connection(self.srv)
        self.assertEqual(c.request("HELP").raw, [
            b"* LOGIN\t<user> <password>\tlog in; starts a session with its own order\n",
            b"* LOGOUT\t\tend the session and close its order\n",
            b"* QUIT\t\tend the session and the connection\n",
            b"* PING\t\tcheck the server is alive\n",
            b"* HELP\t\tlist the commands\n",
            b"* CATEGORIES\t\tlist the categories\n",
            b"* BROWSE\t<category number or name>\tlist a category's items with stock and price\n",
            b"* ITEM\t<sno>\tshow one item\n",
            b"* BUY\t<sno> <qty> [<request-id>]\tbuy for this session's order (idempotent with an id)\n",
            b"* RECEIPT\t[<order-id>]\tthis session's receipt, or a past order's\n",
            b"* ORDERS\t\tlist your orders, newest first\n",
            b"OK 11 commands\n",
        ])

    def test_categories_lists_five_with_item_counts(self):
        c = self.connection(self.srv)
        r = c.request("CATEGORIES")
        self.assertEqual(r.rows, [[str(n + 1), name, "5"] for n, name in enumerate(CATEGORY_NAMES)])
        self.assertEqual(r.final, "OK 5 categories")

    def test_browse_by_number_lists_items_in_sno_order(self):
        c = self.connection(self.srv)
        for n in (1, 2, 3, 5):
            with self.subTest(category=n):
                r = c.request("BROWSE %d" % n)
                self.assertEqual(r.rows, browse_rows(n))
                self.assertEqual(r.final, "OK 5 items in %s" % CATEGORY_NAMES[n - 1])
        r = c.request("BROWSE 4")
        self.assertEqual([row[0:2] + row[3:] for row in r.rows],
                         [row[0:2] + row[3:] for row in browse_rows(4)])
        self.assertEqual(r.final, "OK 5 items in Shoes")

    def test_browse_by_name_is_case_insensitive(self):
        c = self.connection(self.srv)
        for name in ("electronics", "ELECTRONICS", "Electronics", "eLeCtRoNiCs"):
            with self.subTest(name=name):
                r = c.request("BROWSE " + name)
                self.assertEqual((r.rows, r.final), (browse_rows(1), "OK 5 items in Electronics"))

    def test_browse_house_hold_items_ignores_spaces_dashes_underscores(self):
        c = self.connection(self.srv)
        for name in ("house-hold items", "HOUSEHOLD ITEMS", "House-hold items", "household_items",
                     "householditems", "5"):
            with self.subTest(name=name):
                r = c.request("BROWSE " + name)
                self.assertEqual((r.rows, r.final), (browse_rows(5), "OK 5 items in House-hold items"))

    def test_browse_by_unambiguous_prefix_of_three_or_more(self):
        c = self.connection(self.srv)
        for prefix, n in (("elec", 1), ("ele", 1), ("cos", 2), ("CLO", 3), ("sho", 4), ("hou", 5),
                          ("house-h", 5)):
            with self.subTest(prefix=prefix):
                r = c.request("BROWSE " + prefix)
                self.assertEqual(r.final, "OK 5 items in %s" % CATEGORY_NAMES[n - 1])
                self.assertEqual([row[0] for row in r.rows], [row[0] for row in browse_rows(n)])

    def test_item_101_row(self):
        c = self.connection(self.srv)
        r = c.request("ITEM 101")
        self.assertEqual(r.rows, [["101", "phone", "1", "100000.00", "1", "Electronics"]])
        self.assertEqual(r.final, "OK")

    def test_item_serial_number_of_up_to_six_digits_with_leading_zeros(self):
        c = self.connection(self.srv)
        for arg in ("0101", "000101"):
            with self.subTest(arg=arg):
                r = c.request("ITEM " + arg)
                self.assertEqual((r.rows, r.final), ([item_row(101)], "OK"))
        self.assertTrue(c.request("ITEM 0000101").final.startswith("ERR BAD_REQUEST "))

    def test_ping_accepts_one_optional_token(self):
        c = self.connection(self.srv)
        self.assertEqual(c.request("PING hello-42").raw, [b"OK PONG\n"])

    def test_item_rows_of_every_demo_item(self):
        c = self.connection(self.srv)
        for sno in sorted(CATALOG):
            with self.subTest(sno=sno):
                r = c.request("ITEM %d" % sno)
                self.assertEqual(r.final, "OK")
                want = item_row(sno)
                if sno // 100 == 4:   # bought by other tests of this class
                    want[2] = r.rows[0][2]
                self.assertEqual(r.rows, [want])

    def test_login_reply_names_user_and_16_hex_session(self):
        c = self.connection(self.srv)
        r = c.request("LOGIN root root")
        self.assertEqual(r.rows, [])
        self.assertRegex(r.final, r"^OK logged in as root session [0-9a-f]{16}$")
        c2 = self.connection(self.srv)
        r2 = c2.request("LOGIN root root")
        self.assertRegex(r2.final, r"^OK logged in as root session [0-9a-f]{16}$")
        self.assertNotEqual(r.final, r2.final, "two sessions got the same session id")

    def test_receipt_before_first_purchase_is_order_none(self):
        c = self.logged_in(self.srv, "root")
        r = c.request("RECEIPT")
        self.assertEqual((r.rows, r.final), ([], "OK order none open total 0.00 INR"))

    def test_buy_row_receipt_and_orders_formats(self):
        c = self.logged_in(self.srv, "root")
        before = {s: int(c.request("ITEM %d" % s).rows[0][2]) for s in (402, 403)}
        r = c.request("BUY 402 2")
        self.assertEqual(len(r.rows), 1, r)
        oid = r.rows[0][0]
        self.assertRegex(oid, ORDER_ID_RE)
        self.assertEqual(r.rows, [[oid, "402", "heels", "2", "4000.00", "8000.00"]])
        self.assertEqual(r.final, "OK bought 2 x heels for 8000.00 INR")

        r = c.request("RECEIPT")
        self.assertEqual(r.rows, [["402", "heels", "2", "4000.00", "8000.00"]])
        self.assertEqual(r.final, "OK order %s open total 8000.00 INR" % oid)

        r = c.request("BUY 403 1")
        self.assertEqual(r.rows, [[oid, "403", "sandals", "1", "400.00", "400.00"]])
        self.assertEqual(r.final, "OK bought 1 x sandals for 400.00 INR")

        r = c.request("RECEIPT")
        self.assertEqual(r.rows, [["402", "heels", "2", "4000.00", "8000.00"],
                                  ["403", "sandals", "1", "400.00", "400.00"]])
        self.assertEqual(r.final, "OK order %s open total 8400.00 INR" % oid)
        r2 = c.request("RECEIPT " + oid)
        self.assertEqual((r2.rows, r2.final), (r.rows, r.final))

        r = c.request("ORDERS")
        self.assertEqual(r.final, "OK %d orders" % len(r.rows))
        self.assertEqual(r.rows[0][0], oid, "newest order first")
        self.assertEqual([r.rows[0][0]] + r.rows[0][2:], [oid, "open", "2", "8400.00"])
        for row in r.rows:
            self.assertEqual(len(row), 5, row)
            self.assertRegex(row[1], ISO_RE)
            self.assertIn(row[2], ("open", "closed"))
        opened = datetime.datetime.strptime(r.rows[0][1], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - opened).total_seconds()), 300, "opened %s, now %s" % (opened, now))
        ids = [int(row[0]) for row in r.rows]
        self.assertEqual(ids, sorted(ids, reverse=True), "ORDERS newest first")

        self.assertEqual(int(c.request("ITEM 402").rows[0][2]), before[402] - 2)
        self.assertEqual(int(c.request("ITEM 403").rows[0][2]), before[403] - 1)

    def test_logout_closes_the_order_and_makes_connection_anonymous(self):
        c = self.logged_in(self.srv, "root1")
        r = c.request("BUY 401 1")
        self.assertEqual(r.final, "OK bought 1 x sneakers for 3500.00 INR")
        oid = r.rows[0][0]
        r = c.request("LOGOUT")
        self.assertEqual((r.rows, r.final), ([], "OK logged out"))
        self.assertTrue(c.request("BUY 401 1").final.startswith("ERR AUTH_REQUIRED "))
        self.assertTrue(c.request("RECEIPT").final.startswith("ERR AUTH_REQUIRED "))
        self.assertPong(c)
        c.login("root1", "root1")
        r = c.request("RECEIPT")
        self.assertEqual((r.rows, r.final), ([], "OK order none open total 0.00 INR"))
        r = c.request("RECEIPT " + oid)
        self.assertEqual(r.rows, [["401", "sneakers", "1", "3500.00", "3500.00"]])
        self.assertEqual(r.final, "OK order %s closed total 3500.00 INR" % oid)
        rows = {row[0]: row for row in c.request("ORDERS").rows}
        self.assertEqual(rows[oid][2:], ["closed", "1", "3500.00"])

    def test_quit_says_bye_then_server_closes(self):
        c = self.connection(self.srv)
        r = c.request("QUIT")
        self.assertEqual(r.raw, [b"OK bye\n"])
        self.assertEqual(c.read_until_eof(), b"")

    def test_quit_ends_the_session_and_closes_its_order(self):
        c = self.logged_in(self.srv, "root1")
        r = c.request("BUY 404 1")
        self.assertEqual(r.final, "OK bought 1 x walking/running-shoes for 1000.00 INR")
        oid = r.rows[0][0]
        self.assertEqual(c.request("QUIT").final, "OK bye")
        self.assertEqual(c.read_until_eof(), b"")
        c2 = self.logged_in(self.srv, "root1")
        r = c2.request("RECEIPT " + oid)
        self.assertEqual(r.rows, [["404", "walking/running-shoes", "1", "1000.00", "1000.00"]])
        self.assertEqual(r.final, "OK order %s closed total 1000.00 INR" % oid)


class ReplySanitisingTest(ServerTestCase):
    """Names that reached the database without the CSV importer's checks (an older netshopd, a
    hand edit) still leave the server as UTF-8 without control characters (audit finding 13c:
    the sanitiser covered C0 and DEL only)."""

    # "Ev" CSI "2J" NEL "il" 0xFF (C1 controls, a stray byte; the catalog refuses C0 on load),
    # and a category "Gad" CSI "gets" then a lone 0xC3
    ITEM_NAME = b"Ev\xc2\x9b2J\xc2\x85il\xff"
    CATEGORY_NAME = b"Gad\xc2\x9bgets\xc3"

    @classmethod
    def setUpClass(cls):
        import os
        import sqlite3
        cls.srv = cls.class_server(start=False)
        db = sqlite3.connect(os.path.join(cls.srv.data, "shop.db"))
        try:
            db.execute("UPDATE items SET name = CAST(? AS TEXT) WHERE sno = 101", (cls.ITEM_NAME,))
            db.execute("UPDATE categories SET name = CAST(? AS TEXT) WHERE number = 1",
                       (cls.CATEGORY_NAME,))
            db.commit()
        finally:
            db.close()
        cls.srv.start()

    def test_item_row_has_c1_as_space_and_invalid_bytes_as_question_marks(self):
        r = self.connection(self.srv).request("ITEM 101")   # read_reply insists on UTF-8
        self.assertEqual(r.raw[0], b"* 101\tEv 2J il?\t1\t100000.00\t1\tGad gets?\n")

    def test_browse_and_categories_carry_no_control_characters(self):
        c = self.connection(self.srv)
        for req in ("BROWSE 1", "CATEGORIES", "ITEM 101"):
            with self.subTest(request=req):
                r = c.request(req)
                for line in r.raw:
                    self.assertIsNone(re.search(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", line),
                                      "control character in %r" % line)
