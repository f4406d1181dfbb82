"""RECEIPT and ORDERS are read by the reader pool, never on a worker's event loop
(ARCHITECTURE.md "Data flow of a read"): replies stay byte-identical over TLS and UDP, a read
stuck on the store leaves the worker serving, a full reader queue answers BUSY, and a session or
connection that ends while its read is out is cleaned up.

A stuck read is real, not a test hook: the test process takes SQLite's WAL read-mark locks
(bytes 123..127 of shop.db-shm, POSIX record locks, as SQLite's unix VFS takes them) for
writing, so every SQLite read transaction in the server retries until they are released
(SQLite gives up after ~10 s with SQLITE_PROTOCOL; the tests release them within ~2 s)."""

import contextlib
import fcntl
import os
import select
import time

from harness import HarnessError, ServerTestCase
from udp_client import SealedClient, TlsSession

CATALOG = "Sno,Name,Quantity,Price\n101,widget,100000,5\n102,gadget with a long name %s,100000,12.34\n" % ("x" * 30)
READ_LOCKS_OFFSET = 120 + 3   # WALINDEX_LOCK_OFFSET + WAL_READ_LOCK(0)
READ_LOCKS = 5                # WAL_NREADER
BUSY = "ERR BUSY too many reads in progress; try again"
STUCK = 0.7                   # how long a stuck read is watched for not answering


@contextlib.contextmanager
def store_reads_blocked(srv):
    """Holds every WAL read-mark lock of the server's database: reads wait until the block ends."""
    fd = os.open(os.path.join(srv.data, "shop.db-shm"), os.O_RDWR)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:   # a server thread may hold one for a moment (a checkpoint)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, READ_LOCKS, READ_LOCKS_OFFSET)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise HarnessError("could not take the WAL read locks of shop.db-shm")
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)   # releases the locks


def silent(conn, secs):
    """True when nothing arrives on the TLS connection within secs."""
    if conn.buf:
        return False
    r, _, _ = select.select([conn.sock], [], [], secs)
    return not r


class ReadersTest(ServerTestCase):

    def buy(self, conn, lines):
        """Pipelines `lines` BUYs (alternating items) and checks each was bought."""
        conn.send_bytes(b"".join(b"BUY %d 1\n" % (101 + i % 2) for i in range(lines)))
        for _ in range(lines):
            r = conn.read_reply()
            self.assertTrue(r.final.startswith("OK bought 1 x "), r.final)

    def test_receipt_and_orders_are_the_same_bytes_over_tls_and_udp(self):
        srv = self.new_server(catalog_text=CATALOG)
        t = TlsSession(srv.port, srv.ca)
        self.addCleanup(t.close)
        sid, keys = t.login("root")
        s = SealedClient(srv.port, sid, keys)
        self.addCleanup(s.close)
        for i in range(40):
            self.assertTrue(t.request("BUY %d 1" % (101 + i % 2)).final.startswith("OK bought"))
        rec = t.request("RECEIPT")
        self.assertEqual(len(rec.rows), 40)
        self.assertEqual(rec.rows[0], ["101", "widget", "1", "5.00", "5.00"])
        oid = rec.final.split()[2]
        self.assertEqual(rec.final, "OK order %s open total %s INR" % (oid, "346.80"))
        self.assertEqual(t.request("RECEIPT %s" % oid).raw, rec.raw)
        orders = t.request("ORDERS")
        self.assertEqual(len(orders.rows), 1)
        self.assertEqual(orders.rows[0][0], oid)
        self.assertEqual(orders.rows[0][2:], ["open", "40", "346.80"])
        self.assertEqual(orders.final, "OK 1 orders")
        pages, udp_rec = s.request_all("RECEIPT")
        self.assertGreater(len(pages), 1)
        self.assertEqual(b"".join(udp_rec.raw), b"".join(rec.raw))
        _, udp_orders = s.request_all("ORDERS")
        self.assertEqual(b"".join(udp_orders.raw), b"".join(orders.raw))
        self.assertEqual(s.request("RECEIPT 1").final, t.request("RECEIPT 1").final)

    def test_a_stuck_read_does_not_block_the_worker_and_a_full_queue_is_busy(self):
        # One worker, so every connection below shares its event loop; one reader, one queued.
        srv = self.new_server(catalog_text=CATALOG, threads=1,
                              extra_args=["--reader-threads", "1", "--reader-queue", "1"])
        a, b, c = (self.logged_in(srv, u, u) for u in ("root", "root1", "root"))
        self.buy(a, 3)
        want = a.request("RECEIPT")
        self.assertEqual(len(want.rows), 3)
        oid = want.final.split()[2]
        want_orders = b.request("ORDERS")
        p = self.connection(srv)
        with store_reads_blocked(srv):
            a.send_line("RECEIPT")               # the reader takes it and waits for the store
            self.assertTrue(silent(a, STUCK), "RECEIPT answered while the store was locked: "
                            "the test did not block the read")
            started = time.monotonic()
            self.assertPong(p)                   # the worker's loop is not waiting for the disk
            self.assertLess(time.monotonic() - started, 2.0)
            b.send_line("ORDERS")                # queued behind it
            self.assertTrue(silent(b, 0.2))
            self.assertEqual(c.request("ORDERS").final, BUSY)   # the queue is full: at once
            self.assertEqual(c.request("RECEIPT %s" % oid).final, BUSY)
            self.assertPong(p)
        # released: the stuck reads finish and answer what they always answer
        self.assertEqual(a.read_reply().raw, want.raw)
        self.assertEqual(b.read_reply().raw, want_orders.raw)
        self.assertEqual(c.request("RECEIPT %s" % oid).raw, want.raw)
        self.assertPong(a)

    def test_reads_outlived_by_their_connection_or_session_are_dropped(self):
        srv = self.new_server(catalog_text=CATALOG, threads=1)
        t = TlsSession(srv.port, srv.ca)
        self.addCleanup(t.close)
        sid, keys = t.login("root")
        s = SealedClient(srv.port, sid, keys)
        self.addCleanup(s.close)
        self.assertTrue(t.request("BUY 101 2").final.startswith("OK bought"))
        gone = self.logged_in(srv, "root1", "root1")
        self.buy(gone, 1)
        with store_reads_blocked(srv):
            rid, _ = s.send_text("RECEIPT")      # a datagram's read is out ...
            gone.send_line("RECEIPT")            # ... and a TLS connection's
            time.sleep(0.3)
            self.assertEqual(t.request("LOGOUT").final, "OK logged out")   # ends the datagram's session
            gone.close()                          # and the TLS connection goes away
            time.sleep(0.3)
        self.assertIsNone(s.await_reply(rid, 1.5), "a reply came for a session that had ended")
        # the server is well: same worker, new session, reads work
        c = self.logged_in(srv, "root1", "root1")
        r = c.request("RECEIPT")
        self.assertEqual(r.final, "OK order none open total 0.00 INR")
        self.assertEqual(len(c.request("ORDERS").rows), 1)
        self.assertPong(c)
