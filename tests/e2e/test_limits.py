"""test_limits: the limits of PROTOCOL.md §6 seen from outside, each on its own server with the
option that sets it: failed logins (RATE_LIMITED), connections (ERR BUSY then close), idle
timeout (ERR TIMEOUT then close), 1000 lines per order (LIMIT), and the output limit (a client
that pipelines far more than it reads still gets every reply, in order)."""

import select
import ssl
import time

from harness import ServerTestCase, run_tool, server_binary, stock_of

BULK_CATALOG = "Sno,Name,Quantity,Price\n101,bolt,100000,1\n"


class LimitsTest(ServerTestCase):

    def test_sixth_login_after_five_failures_is_rate_limited_even_with_right_password(self):
        srv = self.new_server()
        c = self.connection(srv)
        for i in range(5):
            r = c.request("LOGIN root wrong-%d" % i)
            self.assertEqual(r.rows, [])
            self.assertTrue(r.final.startswith("ERR AUTH_FAILED "), "attempt %d: %r" % (i + 1, r.final))
        r = c.request("LOGIN root root")
        self.assertTrue(r.final.startswith("ERR RATE_LIMITED "), r.final)
        self.assertPong(c)
        c2 = self.connection(srv)     # another connection from the same account and address
        r = c2.request("LOGIN root root")
        self.assertTrue(r.final.startswith("ERR RATE_LIMITED "), r.final)
        self.assertPong(c2)
        self.assertTrue(c2.request("BUY 102 1").final.startswith("ERR AUTH_REQUIRED "))
        self.assertEqual(stock_of(c2, 102), 17)

    def test_connection_over_max_connections_gets_err_busy_and_is_closed(self):
        srv = self.new_server(extra_args=["--max-connections", "1"])
        first = self.connection(srv)
        self.assertTrue(first.greeting.startswith("OK SHOP/1 "))
        second = self.connection(srv, greeting=False)
        self.assertEqual(second.read_line(), b"ERR BUSY too many connections\n")
        self.assertEqual(second.read_until_eof(), b"")
        self.assertPong(first)
        self.assertEqual(first.request("QUIT").final, "OK bye")
        self.assertEqual(first.read_until_eof(), b"")
        # The slot is free again once the server has closed the first connection (bounded wait).
        deadline = time.monotonic() + 5
        while True:
            third = self.connection(srv, greeting=False)
            line = third.read_line()
            if line.startswith(b"OK SHOP/1 ") or time.monotonic() > deadline:
                break
            third.close()
            time.sleep(0.05)
        self.assertTrue(line.startswith(b"OK SHOP/1 "), line)
        self.assertPong(third)

    def test_idle_connection_gets_err_timeout_and_is_closed(self):
        srv = self.new_server(extra_args=["--idle-timeout", "1"])
        c = self.connection(srv)
        t0 = time.monotonic()
        r = c.read_reply()
        elapsed = time.monotonic() - t0
        self.assertEqual((r.rows, r.final), ([], "ERR TIMEOUT idle for 1 seconds"))
        self.assertEqual(c.read_until_eof(), b"")
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 3.5)

    def test_waiting_for_a_slow_login_is_not_idleness(self):
        # Regression: a connection waiting for the auth pool was killed by the idle timeout with no
        # reply. 16 logins on one hashing thread take longer than the 1 s idle timeout.
        srv = self.new_server(extra_args=["--idle-timeout", "1", "--auth-threads", "1"])
        conns = [self.connection(srv) for _ in range(16)]
        for i, c in enumerate(conns):
            c.settimeout(60)
            c.send_line("LOGIN %s %s" % (("root", "root") if i % 2 else ("root1", "root1")))
        finals = [c.read_reply().final for c in conns]
        for f in finals:
            self.assertRegex(f, r"^OK logged in as root1? session [0-9a-f]{16}$")

    def test_busy_connection_is_not_idle(self):
        srv = self.new_server(extra_args=["--idle-timeout", "2"])
        c = self.connection(srv)
        for _ in range(6):            # 3 s of activity, a request every 0.5 s
            time.sleep(0.5)
            self.assertPong(c)

    def test_order_line_1001_is_limit(self):
        srv = self.new_server(catalog_text=BULK_CATALOG)
        c = self.logged_in(srv, "root")
        c.settimeout(120)
        c.send_bytes(b"BUY 101 1\n" * 1001)
        replies = [c.read_reply() for _ in range(1001)]
        c.settimeout(5)
        finals = [r.final for r in replies]
        self.assertSequence(finals[:1000], ["OK bought 1 x bolt for 1.00 INR"] * 1000, "reply")
        self.assertEqual(replies[1000].rows, [])
        self.assertTrue(finals[1000].startswith("ERR LIMIT "), finals[1000])
        self.assertEqual(stock_of(c, 101), 100000 - 1000)
        r = c.request("RECEIPT")
        self.assertEqual(len(r.rows), 1000)
        self.assertRegex(r.final, r"^OK order [1-9][0-9]* open total 1000\.00 INR$")
        self.assertPong(c)

    def test_order_lines_option_sets_the_limit(self):
        srv = self.new_server(catalog_text=BULK_CATALOG, extra_args=["--order-lines", "3"])
        c = self.logged_in(srv, "root")
        for _ in range(3):
            self.assertEqual(c.request("BUY 101 1").final, "OK bought 1 x bolt for 1.00 INR")
        r = c.request("BUY 101 1")
        self.assertRegex(r.final, r"^ERR LIMIT this order is full \(3 lines")
        self.assertEqual(stock_of(c, 101), 100000 - 3)
        c.request("LOGOUT")
        c = self.logged_in(srv, "root")  # a new session opens a new order
        self.assertEqual(c.request("BUY 101 1").final, "OK bought 1 x bolt for 1.00 INR")
        self.assertEqual(stock_of(c, 101), 100000 - 4)

    def test_order_lines_option_out_of_range_is_refused_at_start(self):
        for bad in ("0", "100000001", "-1", "many"):
            with self.subTest(value=bad):
                cp = run_tool([server_binary(), "--data", "/nonexistent", "--order-lines", bad])
                self.assertEqual(cp.returncode, 2, cp.stderr)
                self.assertIn("--order-lines", cp.stderr)

    def test_regression_libevent_854_pipeline_past_the_read_limit_while_waiting_is_all_answered(self):
        # A read watermark on bufferevent_openssl stranded the tail of a long pipeline inside
        # OpenSSL while the connection waited for the committer: no reply ever came.
        srv = self.new_server(catalog_text=BULK_CATALOG)
        c = self.logged_in(srv, "root")
        n = 1000  # one order's worth of lines, each with a long request id
        lines = ["BUY 101 1 regression-854-%s-%05d\n" % ("x" * 40, i) for i in range(n)]
        self.assertGreater(len("".join(lines)), 64 * 1024)
        c.settimeout(120)
        c.send_bytes("".join(lines).encode())
        finals = [c.read_reply().final for _ in range(n)]
        c.settimeout(5)
        self.assertSequence(finals, ["OK bought 1 x bolt for 1.00 INR"] * n, "reply")
        self.assertEqual(stock_of(c, 101), 100000 - n)

    def test_client_that_stops_reading_is_paused_then_gets_every_reply(self):
        # 12000 HELPs make ~7 MB of replies: more than the kernel's socket buffers hold (our
        # receive window is kept small) and far over --output-limit 64 KiB. Then 24 MB of 1 KB
        # PINGs (8-byte replies): a server that stops reading this client makes our writes block
        # long before 24 MB; one that does not would swallow them all.
        srv = self.new_server(extra_args=["--output-limit", "65536"])
        c = self.connection(srv, rcvbuf=32768)
        n_help, n_ping = 12000, 24 * 1024
        payload = b"HELP\n" * n_help + (b"PING " + b"p" * 1018 + b"\n") * n_ping
        sock = c.sock
        sock.setblocking(False)
        sent, paused_at = 0, None
        while sent < len(payload):          # phase 1: write only, never read
            _, w, _ = select.select([], [sock], [], 1.0)
            if not w:
                paused_at = sent
                break
            try:
                sent += sock.send(payload[sent:sent + 65536])
            except ssl.SSLWantWriteError:
                pass
        self.assertIsNotNone(paused_at, "the server read all %d bytes without pausing" % len(payload))
        self.assertLess(paused_at, len(payload))
        # phase 2: read and write until every reply has come back (bounded)
        data, finals = bytearray(), []
        deadline = time.monotonic() + 90
        want = n_help + n_ping
        while len(finals) < want:
            self.assertLess(time.monotonic(), deadline, "only %d of %d replies" % (len(finals), want))
            r, w, _ = select.select([sock], [sock] if sent < len(payload) else [], [], 5.0)
            if w:
                try:
                    sent += sock.send(payload[sent:sent + 65536])
                except ssl.SSLWantWriteError:
                    pass
            if r or sock.pending():
                try:
                    chunk = sock.recv(262144)
                except ssl.SSLWantReadError:
                    continue
                self.assertTrue(chunk, "server closed the connection")
                data += chunk
                end = data.rfind(b"\n")
                if end >= 0:
                    for line in bytes(data[:end]).split(b"\n"):
                        if not line.startswith(b"* "):
                            finals.append(line)
                    del data[:end + 1]
        sock.setblocking(True)
        c.settimeout(5)
        self.assertSequence(finals, [b"OK 11 commands"] * n_help + [b"OK PONG"] * n_ping, "reply")
        self.assertEqual(bytes(data), b"")
        self.assertPong(c)
