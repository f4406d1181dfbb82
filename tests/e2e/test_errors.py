"""test_errors: every error code a client can provoke (PROTOCOL.md §5), each with its exact code;
after each error the connection still answers PING and no stock, order or session changed.
Failed logins on this server stay below the per-address limit (5), see test_limits for
RATE_LIMITED."""

from harness import ServerTestCase, stock_snapshot


class ErrorCodesTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def setUp(self):
        self.watch = self.connection(self.srv)
        self.before = stock_snapshot(self.watch)

    def assertErr(self, conn, request, code, raw=None):
        """Sends request (str line, or raw bytes when raw=True) and checks `ERR <code> <text>`."""
        if raw:
            conn.send_bytes(request)
            r = conn.read_reply()
        else:
            r = conn.request(request)
        self.assertEqual(r.rows, [], "%r: %r" % (request, r))
        self.assertTrue(r.final.startswith("ERR %s " % code) and len(r.final) > len("ERR %s " % code),
                        "%r: want ERR %s <text>, got %r" % (request, code, r.final))
        return r.final

    def assertUnchanged(self, conn, changes=None):
        """PING still works on conn, and the stock is as before (plus the expected changes)."""
        self.assertPong(conn)
        want = dict(self.before)
        want.update(changes or {})
        self.assertEqual(stock_snapshot(self.watch), want)

    def test_empty_line_is_bad_request_empty_request(self):
        c = self.connection(self.srv)
        for line in ("", "   ", " \t "):
            with self.subTest(line=line):
                self.assertEqual(c.request(line).final, "ERR BAD_REQUEST empty request")
        self.assertUnchanged(c)

    def test_unknown_verb_is_unknown_command(self):
        c = self.connection(self.srv)
        text = self.assertErr(c, "FROBNICATE 1 2", "UNKNOWN_COMMAND")
        self.assertIn("FROBNICATE", text)
        self.assertErr(c, "CHECKOUTX", "UNKNOWN_COMMAND")
        self.assertErr(c, "* 1", "UNKNOWN_COMMAND")
        self.assertUnchanged(c)

    def test_wrong_argument_count_is_bad_request_usage(self):
        c = self.connection(self.srv)
        for line in ("ITEM", "ITEM 101 102", "BROWSE", "LOGIN root", "LOGIN root root extra",
                     "PING a b", "CATEGORIES x", "HELP x"):
            with self.subTest(line=line):
                self.assertTrue(self.assertErr(c, line, "BAD_REQUEST").startswith("ERR BAD_REQUEST usage: "))
        c.login("root", "root")
        for line in ("BUY", "BUY 102", "BUY 102 1 rid extra", "RECEIPT 1 2", "ORDERS x", "LOGOUT x"):
            with self.subTest(line=line):
                self.assertTrue(self.assertErr(c, line, "BAD_REQUEST").startswith("ERR BAD_REQUEST usage: "))
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_malformed_values_are_bad_request_quoting_the_value(self):
        c = self.connection(self.srv)
        for line, bad in (("ITEM abc", "abc"), ("ITEM -5", "-5"), ("ITEM 10x", "10x"), ("ITEM 0", "0"),
                          ("ITEM 1000000", "1000000"), ("ITEM 0000101", "0000101"),
                          ("LOGIN bad!name pw", "bad!name"), ("LOGIN " + "u" * 33 + " pw", "u" * 33)):
            with self.subTest(line=line):
                self.assertIn("'%s" % bad[:30], self.assertErr(c, line, "BAD_REQUEST"))
        c.login("root", "root")
        for line, bad in (("BUY abc 1", "abc"), ("BUY 0 1", "0"), ("BUY 1000000 1", "1000000"),
                          ("BUY 102 1 bad!id", "bad!id"), ("BUY 102 1 " + "r" * 65, "r" * 65),
                          ("RECEIPT abc", "abc"), ("RECEIPT 0", "0"), ("RECEIPT -1", "-1"),
                          ("RECEIPT 9007199254740993", "9007199254740993")):
            with self.subTest(line=line):
                self.assertIn("'%s" % bad[:30], self.assertErr(c, line, "BAD_REQUEST"))
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_auth_required_for_buy_receipt_orders_logout_before_login(self):
        c = self.connection(self.srv)
        for line in ("BUY 102 1", "BUY 102 1 rid-anon", "RECEIPT", "RECEIPT 1", "ORDERS", "LOGOUT"):
            with self.subTest(line=line):
                self.assertErr(c, line, "AUTH_REQUIRED")
        self.assertUnchanged(c)

    def test_auth_failed_same_text_for_wrong_password_and_unknown_user(self):
        c = self.connection(self.srv)
        wrong = self.assertErr(c, "LOGIN root not-the-password", "AUTH_FAILED")
        unknown = self.assertErr(c, "LOGIN nosuchuser whatever", "AUTH_FAILED")
        self.assertEqual(wrong, unknown)
        self.assertErr(c, "BUY 102 1", "AUTH_REQUIRED")
        self.assertUnchanged(c)
        c.login("root", "root")   # the connection is still usable for a good login

    def test_login_during_session_is_already_logged_in(self):
        c = self.logged_in(self.srv, "root")
        self.assertErr(c, "LOGIN root root", "ALREADY_LOGGED_IN")
        self.assertErr(c, "LOGIN root1 root1", "ALREADY_LOGGED_IN")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_unknown_serial_number_is_no_such_item(self):
        c = self.connection(self.srv)
        for sno in (999, 106, 100, 999999):
            with self.subTest(sno=sno):
                text = self.assertErr(c, "ITEM %d" % sno, "NO_SUCH_ITEM")
                self.assertIn(str(sno), text)
        c.login("root", "root")
        self.assertErr(c, "BUY 999 1", "NO_SUCH_ITEM")
        self.assertErr(c, "BUY 106 1 rid-nsi", "NO_SUCH_ITEM")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_unknown_category_is_no_such_category(self):
        c = self.connection(self.srv)
        for cat in ("0", "6", "99", "nosuch", "el", "ho", "electronicsx", "house hold itemz"):
            with self.subTest(category=cat):
                self.assertErr(c, "BROWSE " + cat, "NO_SUCH_CATEGORY")
        self.assertUnchanged(c)

    def test_other_users_or_missing_order_is_no_such_order(self):
        owner = self.logged_in(self.srv, "root")
        r = owner.request("BUY 305 1")
        self.assertEqual(r.final, "OK bought 1 x hoodies for 1000.00 INR")
        oid = r.rows[0][0]
        self.before[305] -= 1
        other = self.logged_in(self.srv, "root1")
        self.assertErr(other, "RECEIPT " + oid, "NO_SUCH_ORDER")
        self.assertErr(other, "RECEIPT 999999", "NO_SUCH_ORDER")
        self.assertErr(other, "RECEIPT 999999999", "NO_SUCH_ORDER")
        self.assertErr(other, "RECEIPT 9007199254740992", "NO_SUCH_ORDER")   # 2^53, the largest id
        self.assertNotIn(oid, [row[0] for row in other.request("ORDERS").rows])
        self.assertEqual(other.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertEqual(owner.request("RECEIPT " + oid).final,
                         "OK order %s open total 1000.00 INR" % oid)
        self.assertUnchanged(other)

    def test_bad_quantities_are_bad_quantity(self):
        c = self.logged_in(self.srv, "root")
        for i, qty in enumerate(("0", "-1", "10001", "99999999999999999999", "abc", "1.5", "00",
                                 "1e3", "0x10")):
            with self.subTest(qty=qty):
                self.assertErr(c, "BUY 102 %s" % qty, "BAD_QUANTITY")
                self.assertErr(c, "BUY 102 %s rid-badq-%d" % (qty, i), "BAD_QUANTITY")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_more_than_in_stock_is_insufficient_stock_saying_how_many_left(self):
        c = self.logged_in(self.srv, "root")
        text = self.assertErr(c, "BUY 101 2", "INSUFFICIENT_STOCK")
        self.assertRegex(text, r"\b1\b", "text should say 1 is left")
        self.assertErr(c, "BUY 502 10000", "INSUFFICIENT_STOCK")   # 10000 is a valid quantity
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        self.assertUnchanged(c)

    def test_reused_request_id_with_other_arguments_is_conflict(self):
        c = self.logged_in(self.srv, "root")
        r = c.request("BUY 503 1 rid-conflict-1")
        self.assertEqual(r.final, "OK bought 1 x carpets for 800.00 INR")
        self.assertErr(c, "BUY 503 2 rid-conflict-1", "CONFLICT")
        self.assertErr(c, "BUY 504 1 rid-conflict-1", "CONFLICT")
        other = self.logged_in(self.srv, "root")     # another session of the same user
        self.assertErr(other, "BUY 503 3 rid-conflict-1", "CONFLICT")
        r2 = c.request("BUY 503 1 rid-conflict-1")   # the original arguments still replay
        self.assertEqual((r2.rows, r2.final), (r.rows, r.final))
        self.assertEqual(len(c.request("RECEIPT").rows), 1)
        self.assertUnchanged(c, {503: self.before[503] - 1})
