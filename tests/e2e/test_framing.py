"""test_framing: SHOP/1 line framing (PROTOCOL.md §2) — the 1024-byte limit and TOO_LONG
recovery, NUL bytes, invalid UTF-8, CR LF, case-insensitive verbs, argument separators,
requests split across TLS records, 100 pipelined requests answered in order, and a client that
half-closes after pipelining still getting every reply."""

import socket

from harness import ServerTestCase, load_catalog, stock_of
from udp_client import TlsSession

CATALOG = load_catalog()


def browse_rows(category):
    return [[str(i["sno"]), i["name"], str(i["stock"]), i["price"]]
            for sno, i in sorted(CATALOG.items()) if i["category"] == category]


def item_row(sno):
    i = CATALOG[sno]
    return [str(sno), i["name"], str(i["stock"]), i["price"], str(i["category"]), i["category_name"]]


class FramingTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server()

    def send_and_read(self, conn, data, n):
        conn.send_bytes(data)
        return [conn.read_reply() for _ in range(n)]

    def assertCode(self, reply, code):
        self.assertEqual(reply.rows, [], reply)
        self.assertTrue(reply.final.startswith("ERR %s " % code), "want ERR %s, got %r" % (code, reply.final))

    def test_line_of_2000_bytes_is_too_long_then_ping_works(self):
        c = self.connection(self.srv)
        r1, r2 = self.send_and_read(c, b"A" * 1999 + b"\n" + b"PING\n", 2)
        self.assertCode(r1, "TOO_LONG")
        self.assertEqual(r2.final, "OK PONG")
        self.assertPong(c)

    def test_megabyte_without_lf_is_one_too_long_then_ping_works(self):
        c = self.connection(self.srv)
        c.settimeout(20)
        r1, r2 = self.send_and_read(c, b"ITEM " + b"9" * 1000000 + b"\nPING\n", 2)
        self.assertCode(r1, "TOO_LONG")
        self.assertEqual(r2.final, "OK PONG")
        c.settimeout(5)
        self.assertEqual(c.buf, b"")
        self.assertPong(c)

    def test_commands_inside_the_discarded_rest_are_not_run(self):
        c = self.logged_in(self.srv, "root")
        before = stock_of(c, 105)
        r1, r2 = self.send_and_read(c, b"PING " + b"x" * 1100 + b"\rBUY 105 1\r" + b"\n" + b"PING\n", 2)
        self.assertCode(r1, "TOO_LONG")
        self.assertEqual(r2.final, "OK PONG")
        self.assertEqual(stock_of(c, 105), before)

    def test_line_of_exactly_1024_bytes_is_accepted_1025_is_too_long(self):
        c = self.connection(self.srv)
        line = b"BROWSE " + b"x" * 1016 + b"\n"
        self.assertEqual(len(line), 1024)
        (r,) = self.send_and_read(c, line, 1)
        self.assertCode(r, "NO_SUCH_CATEGORY")
        line = b"BROWSE " + b"x" * 1015 + b"\r\n"
        self.assertEqual(len(line), 1024)
        (r,) = self.send_and_read(c, line, 1)
        self.assertCode(r, "NO_SUCH_CATEGORY")
        line = b"BROWSE " + b"x" * 1017 + b"\n"
        self.assertEqual(len(line), 1025)
        (r,) = self.send_and_read(c, line, 1)
        self.assertCode(r, "TOO_LONG")
        self.assertPong(c)

    def assertBadByteAt(self, conn, data, offset):
        """data gets ERR BAD_REQUEST whose text gives the 0-based offset of the first bad byte."""
        (r,) = self.send_and_read(conn, data, 1)      # the harness checks the reply has no NUL
        self.assertCode(r, "BAD_REQUEST")
        self.assertRegex(r.final, r"\b%d\b" % offset, "offset of the first bad byte")
        self.assertPong(conn)

    def test_nul_byte_is_bad_request_giving_its_offset(self):
        c = self.connection(self.srv)
        for data, offset in ((b"PI\x00NG\n", 2), (b"ITEM 1\x0001\n", 6), (b"\x00\n", 0),
                             (b"BROWSE elec\x00\n", 11)):
            with self.subTest(data=data):
                self.assertBadByteAt(c, data, offset)

    def test_invalid_utf8_is_bad_request_giving_its_offset(self):
        c = self.connection(self.srv)
        for data, offset in ((b"\xff\xfe\n", 0), (b"\xc0\xaf\n", 0), (b"ITEM \xc0\xaf\n", 5),
                             (b"BROWSE \xe2\x82\n", 7), (b"BROWSE \xed\xa0\x80\n", 7),
                             (b"PING \x80\n", 5), (b"LOGIN r\xf5\x80\x80\x80 x\n", 7),
                             (b"BROWSE caf\xc3\xa9 \xe2\x82\xac\xe2\n", 16)):
            with self.subTest(data=data):
                self.assertBadByteAt(c, data, offset)

    def test_valid_utf8_in_a_category_name_is_no_such_category(self):
        c = self.connection(self.srv)
        (r,) = self.send_and_read(c, "BROWSE \u00e9lectronique \u20ac\n".encode(), 1)
        self.assertCode(r, "NO_SUCH_CATEGORY")

    def test_crlf_line_endings_are_accepted(self):
        c = self.connection(self.srv)
        r1, r2, r3, r4 = self.send_and_read(
            c, b"PING\r\nITEM 101\r\nBROWSE electronics\r\nBROWSE house-hold items\r\n", 4)
        self.assertEqual(r1.raw, [b"OK PONG\n"])
        self.assertEqual((r2.rows, r2.final), ([item_row(101)], "OK"))
        self.assertEqual((r3.rows, r3.final), (browse_rows(1), "OK 5 items in Electronics"))
        self.assertEqual((r4.rows, r4.final), (browse_rows(5), "OK 5 items in House-hold items"))
        c.send_bytes(b"LOGIN root root\r\n")
        self.assertRegex(c.read_reply().final, r"^OK logged in as root session [0-9a-f]{16}$")
        c.send_bytes(b"RECEIPT\r\n")
        self.assertEqual(c.read_reply().final, "OK order none open total 0.00 INR")

    def test_lowercase_and_mixed_case_verbs_are_accepted(self):
        c = self.connection(self.srv)
        self.assertEqual(c.request("ping").final, "OK PONG")
        self.assertEqual(c.request("Ping").final, "OK PONG")
        r = c.request("item 101")
        self.assertEqual((r.rows, r.final), ([item_row(101)], "OK"))
        self.assertEqual(c.request("categories").final, "OK 5 categories")
        self.assertEqual(c.request("help").final, "OK 11 commands")
        self.assertEqual(c.request("Browse 2").final, "OK 5 items in Cosmetics")
        self.assertRegex(c.request("login root root").final, r"^OK logged in as root session [0-9a-f]{16}$")
        self.assertEqual(c.request("receipt").final, "OK order none open total 0.00 INR")
        self.assertEqual(c.request("orders").final[:3], "OK ")
        self.assertEqual(c.request("logout").final, "OK logged out")
        self.assertEqual(c.request("quit").final, "OK bye")
        self.assertEqual(c.read_until_eof(), b"")

    def test_spaces_and_tabs_separate_arguments(self):
        c = self.connection(self.srv)
        for line in ("ITEM\t101", "ITEM   101", "ITEM 101 ", "ITEM \t 101\t"):
            with self.subTest(line=line):
                r = c.request(line)
                self.assertEqual((r.rows, r.final), ([item_row(101)], "OK"))
        r = c.request("BROWSE\t1")
        self.assertEqual(r.final, "OK 5 items in Electronics")
        c.request("LOGIN\troot  root")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")

    def test_requests_split_across_tls_records(self):
        c = self.connection(self.srv)
        for piece in (b"PI", b"NG\nIT", b"EM 10", b"1\n"):
            c.send_bytes(piece)
        self.assertEqual(c.read_reply().final, "OK PONG")
        r = c.read_reply()
        self.assertEqual((r.rows, r.final), ([item_row(101)], "OK"))
        for byte in b"CATEGORIES\n":
            c.send_bytes(bytes([byte]))
        self.assertEqual(c.read_reply().final, "OK 5 categories")

    def half_closed_pipeline(self, close):
        """Logs in, pipelines PING, a BUY, RECEIPT and an unfinished line, half-closes with
        close(session), then reads: every complete request is answered, then the server closes."""
        s = TlsSession(self.srv.port, self.srv.ca)
        self.addCleanup(s.close)
        self.assertTrue(s.request("LOGIN root root").final.startswith("OK logged in as root "))
        before = stock_of(self.logged_in(self.srv, "root1"), 304)
        for line in ("PING", "BUY 304 1", "RECEIPT", "PING half"):
            s.send_line(line)
        s.conn.send(b"BUY 304 1")  # no LF: an incomplete line, never run
        close(s)
        self.assertEqual(s.read_reply().final, "OK PONG")
        self.assertRegex(s.read_reply().final, r"^OK bought 1 x ")
        receipt = s.read_reply()
        self.assertEqual(len(receipt.rows), 1)
        self.assertEqual(s.read_reply().final, "OK PONG")
        with self.assertRaises(Exception):
            s.read_line()  # then the server closes
        self.assertEqual(stock_of(self.logged_in(self.srv, "root1"), 304), before - 1)

    def test_half_close_with_tcp_fin_after_pipelining_gets_every_reply(self):
        self.half_closed_pipeline(lambda s: s.sock.shutdown(socket.SHUT_WR))

    def test_half_close_with_tls_close_notify_after_pipelining_gets_every_reply(self):
        self.half_closed_pipeline(lambda s: s.conn.shutdown())

    def test_half_close_after_more_lines_than_one_wake_up_handles_gets_every_reply(self):
        # 64 requests per connection per loop turn: the rest is handled on later turns, with
        # reading already off after the FIN.
        s = TlsSession(self.srv.port, self.srv.ca)
        self.addCleanup(s.close)
        for i in range(300):
            s.send_line("PING %d" % i)
        s.sock.shutdown(socket.SHUT_WR)
        for _ in range(300):
            self.assertEqual(s.read_reply().final, "OK PONG")
        with self.assertRaises(Exception):
            s.read_line()

    def test_100_pipelined_requests_in_one_write_get_100_replies_in_order(self):
        c = self.logged_in(self.srv, "root")
        start_stock = stock_of(c, 305)
        lines, expect = [], []
        bought = 0
        for i in range(100):
            k = i % 10
            if k == 0:
                lines.append("PING"); expect.append(("pong",))
            elif k == 1:
                lines.append("ITEM 104"); expect.append(("item",))
            elif k == 2:
                lines.append("BROWSE 2"); expect.append(("browse",))
            elif k == 3:
                lines.append("BUY 305 1"); bought += 1; expect.append(("buy",))
            elif k == 4:
                lines.append("FROB %d" % i); expect.append(("err", "UNKNOWN_COMMAND"))
            elif k == 5:
                lines.append("BUY 305 0"); expect.append(("err", "BAD_QUANTITY"))
            elif k == 6:
                lines.append(""); expect.append(("empty",))
            elif k == 7:
                lines.append("ITEM 99999"); expect.append(("err", "NO_SUCH_ITEM"))
            elif k == 8:
                lines.append("BUY 305 1 pipe-%d" % i); bought += 1; expect.append(("buy",))
            else:
                lines.append("RECEIPT"); expect.append(("receipt", bought))
        c.send_bytes("".join(l + "\n" for l in lines).encode())
        c.settimeout(30)
        replies = [c.read_reply() for _ in range(100)]
        c.settimeout(5)
        oids = set()
        for i, (line, exp, r) in enumerate(zip(lines, expect, replies)):
            with self.subTest(i=i, request=line):
                kind = exp[0]
                if kind == "pong":
                    self.assertEqual((r.rows, r.final), ([], "OK PONG"))
                elif kind == "item":
                    self.assertEqual((r.rows, r.final), ([item_row(104)], "OK"))
                elif kind == "browse":
                    self.assertEqual((r.rows, r.final), (browse_rows(2), "OK 5 items in Cosmetics"))
                elif kind == "buy":
                    self.assertEqual(len(r.rows), 1, r)
                    oids.add(r.rows[0][0])
                    self.assertEqual(r.rows[0][1:], ["305", "hoodies", "1", "1000.00", "1000.00"])
                    self.assertEqual(r.final, "OK bought 1 x hoodies for 1000.00 INR")
                elif kind == "err":
                    self.assertEqual(r.rows, [])
                    self.assertTrue(r.final.startswith("ERR %s " % exp[1]), r.final)
                elif kind == "empty":
                    self.assertEqual((r.rows, r.final), ([], "ERR BAD_REQUEST empty request"))
                elif kind == "receipt":
                    n = exp[1]
                    self.assertEqual(r.rows, [["305", "hoodies", "1", "1000.00", "1000.00"]] * n)
                    self.assertRegex(r.final, r"^OK order [1-9][0-9]* open total %d\.00 INR$" % (1000 * n))
        self.assertEqual(len(oids), 1, "all purchases of one session go to one order: %r" % oids)
        self.assertEqual(c.buf, b"", "no extra reply lines")
        self.assertPong(c)
        self.assertEqual(stock_of(c, 305), start_stock - bought)
