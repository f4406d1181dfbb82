"""test_client: the real netshop client (docs: briefs/cli.md) — one-shot commands with --json
parsed and compared exactly, human output, exit statuses (1 refused, 2 usage, 3 connection/TLS,
4 login), password sources, the interactive menu through stdin (good and bad input, end of
input) and through a pseudo-terminal with a password prompt that does not echo."""

import json
import os
import re
import shutil
import socket
import subprocess
import ssl
import tempfile
import threading
import time

from harness import (ServerTestCase, PtyClient, base_env, check_no_sanitizer, client_argv,
                     client_binary, free_refusing_port, load_catalog, make_other_ca,
                     openssl_binary, run_client, run_tool, stock_of)

CATALOG = load_catalog()
CATEGORY_NAMES = ["Electronics", "Cosmetics", "Clothes", "Shoes", "House-hold items"]
MENU = "1. Browse  2. Purchase  3. Print Receipt  4. Exit"
ALICE_PW = "Al1ce.pw-secret"
ISO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def client_tree(root, demo_ca=None, installed_ca=None):
    """A copy of the client at root/bin/netshop, with root/var/demo/ca.crt = demo_ca and
    root/share/netshop/ca.crt = installed_ca when given: the default CA beside the executable
    is then what the test made, whatever the repo's own var/demo holds. Returns the path."""
    os.makedirs(os.path.join(root, "bin"))
    exe = os.path.join(root, "bin", "netshop")
    shutil.copy2(client_binary(), exe)
    for rel, ca in (("var/demo", demo_ca), ("share/netshop", installed_ca)):
        if ca is not None:
            os.makedirs(os.path.join(root, rel))
            shutil.copy(ca, os.path.join(root, rel, "ca.crt"))
    return exe


# What no terminal should receive from a shop: C0 (ESC starts a terminal escape sequence, BEL),
# DEL and the C1 controls U+0080..U+009F (C2 9B is CSI, the one-byte ESC [).
UNSAFE_OUTPUT_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


class HostileShop:
    """A shop gone bad: a TLS server with the test server's certificate (so the client trusts
    it) that greets like netshopd and answers each request verb with canned SHOP/1 lines, raw
    bytes a real netshopd would never send. Serves one connection at a time until closed."""

    def __init__(self, srv, replies):
        self.replies = replies
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(srv.data, "server.crt"),
                                 os.path.join(srv.data, "server.key"))
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.done.set()
        self.thread.join(10)
        self.lsock.close()

    def _serve(self):
        while not self.done.is_set():
            try:
                raw, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            raw.settimeout(5)
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as s:
                    self._talk(s)
            except (OSError, ssl.SSLError):
                pass

    def _talk(self, s):
        s.sendall(b"OK SHOP/1 netshop/hostile ready\n")
        buf = b""
        while True:
            data = s.recv(4096)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                verb = line.strip().split(b" ")[0].upper()
                if verb == b"QUIT":
                    s.sendall(b"OK bye\n")
                    return
                s.sendall(self.replies.get(verb, b"ERR UNKNOWN_COMMAND no\n"))


def json_items(category):
    return [{"sno": i["sno"], "name": i["name"], "quantity": i["stock"], "price": i["price"]}
            for sno, i in sorted(CATALOG.items()) if i["category"] == category]


class ClientTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(start=False)
        cp = cls.srv.add_user("alice", ALICE_PW)
        if cp.returncode != 0:
            raise AssertionError("netshopd user add alice: exit %d: %s" % (cp.returncode, cp.stderr))
        cls.srv.start()

    # -- helpers --------------------------------------------------------------------------
    def cli(self, *args, **kw):
        return self.srv.client(*args, **kw)

    def cli_json(self, *args, rc=0, **kw):
        cp = self.cli(*args, options=["--json"], **kw)
        self.assertEqual(cp.returncode, rc, "exit status; stdout=%r stderr=%r" % (cp.stdout, cp.stderr))
        try:
            return json.loads(cp.stdout)
        except ValueError as e:
            self.fail("stdout is not one JSON document (%s): %r" % (e, cp.stdout))

    def raw(self, user=None):
        return self.logged_in(self.srv, user) if user else self.connection(self.srv)

    def assertInOrder(self, text, pieces):
        pos = 0
        for p in pieces:
            i = text.find(p, pos)
            self.assertGreaterEqual(i, 0, "%r not found (in order) in output:\n%s" % (p, text))
            pos = i + len(p)

    def assertErrLine(self, stderr, code):
        self.assertRegex(stderr, r"(?m)^netshop: .+ \(%s\)$" % code)

    # -- one-shot commands, JSON ----------------------------------------------------------
    def test_ping_json_is_pong_true(self):
        self.assertEqual(self.cli_json("ping"), {"pong": True})

    def test_ca_from_netshop_ca_environment(self):
        cp = run_client(["ping"], port=self.srv.port, ca=None, options=["--json"],
                        env={"NETSHOP_CA": self.srv.ca}, cwd=self.srv.root)
        self.assertEqual((cp.returncode, json.loads(cp.stdout)), (0, {"pong": True}), cp.stderr)

    def run_copy(self, exe, args, cwd, user=None, password=None):
        """Runs a copied client (from client_tree) without --ca in cwd."""
        env = base_env({"NETSHOP_USER": user, "NETSHOP_PASSWORD": password})
        return run_tool([exe, "--host", "localhost", "--port", str(self.srv.port)] + list(args),
                        env=env, cwd=cwd)

    def tempdir(self, prefix):
        return tempfile.mkdtemp(prefix="netshop-e2e-%s-" % prefix, dir=self.srv.root)

    def test_no_ca_anywhere_is_an_error_naming_the_ca_option(self):
        exe = client_tree(self.tempdir("tree"))
        cp = self.run_copy(exe, ["ping"], cwd=self.tempdir("noca"))
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("--ca", cp.stderr)
        self.assertIn("var/demo/ca.crt", cp.stderr)

    def test_ca_is_never_taken_from_the_current_directory(self):
        # Audit finding 5: run from a directory someone else prepared, the client took its
        # var/demo/ca.crt as the trust anchor, verified their shop and sent it the password.
        # Here that someone's shop is the test server, their CA its CA.
        exe = client_tree(self.tempdir("tree"))
        attacker = self.tempdir("attacker")
        os.makedirs(os.path.join(attacker, "var", "demo"))
        shutil.copy(self.srv.ca, os.path.join(attacker, "var", "demo", "ca.crt"))
        cp = self.run_copy(exe, ["orders"], cwd=attacker, user="root", password="root")
        self.assertEqual((cp.returncode, cp.stdout), (2, ""), cp.stderr)
        self.assertIn("no CA certificate", cp.stderr)

    def test_ca_beside_the_executable_wins_over_the_current_directory(self):
        if not openssl_binary():
            self.skipTest("openssl binary missing")
        exe = client_tree(self.tempdir("tree"), demo_ca=self.srv.ca)
        attacker = self.tempdir("attacker")
        os.makedirs(os.path.join(attacker, "var", "demo"))
        shutil.copy(make_other_ca(attacker), os.path.join(attacker, "var", "demo", "ca.crt"))
        cp = self.run_copy(exe, ["--json", "ping"], cwd=attacker)
        self.assertEqual((cp.returncode, cp.stdout), (0, '{"pong":true}\n'), cp.stderr)

    def test_demo_ca_found_beside_the_executable_from_any_directory(self):
        # build/netshop run from anywhere finds the repo's var/demo/ca.crt: <exe dir>/../var/demo.
        root = self.tempdir("tree")
        exe = client_tree(root, demo_ca=self.srv.ca)
        elsewhere = self.tempdir("elsewhere")
        link = os.path.join(elsewhere, "netshop")
        os.symlink(exe, link)   # resolved through /proc/self/exe: the link's directory is not used
        for argv0 in (exe, link):
            with self.subTest(argv0=argv0):
                cp = self.run_copy(argv0, ["--json", "ping"], cwd=elsewhere)
                self.assertEqual((cp.returncode, cp.stdout), (0, '{"pong":true}\n'), cp.stderr)

    def test_installed_ca_found_in_share_beside_the_executable(self):
        exe = client_tree(self.tempdir("tree"), installed_ca=self.srv.ca)
        cp = self.run_copy(exe, ["--json", "ping"], cwd=self.tempdir("elsewhere"))
        self.assertEqual((cp.returncode, cp.stdout), (0, '{"pong":true}\n'), cp.stderr)

    def test_categories_json(self):
        self.assertEqual(self.cli_json("categories"),
                         {"categories": [{"number": n + 1, "name": name, "items": 5}
                                         for n, name in enumerate(CATEGORY_NAMES)]})

    def test_browse_json_by_number_and_by_name(self):
        want = {"category": "House-hold items", "items": json_items(5)}
        self.assertEqual(self.cli_json("browse", "5"), want)
        self.assertEqual(self.cli_json("browse", "house-hold", "items"), want)
        self.assertEqual(self.cli_json("browse", "HOUSEHOLD ITEMS"), want)
        got = self.cli_json("browse", "1")
        raw = self.raw().request("BROWSE 1")
        self.assertEqual(got, {"category": "Electronics", "items": [
            {"sno": int(r[0]), "name": r[1], "quantity": int(r[2]), "price": r[3]} for r in raw.rows]})

    def test_item_json(self):
        self.assertEqual(self.cli_json("item", "101"),
                         {"sno": 101, "name": "phone", "quantity": 1, "price": "100000.00",
                          "category": 1, "category_name": "Electronics"})

    def test_buy_then_receipt_then_orders_json(self):
        watch = self.raw()
        before = stock_of(watch, 102)
        bought = self.cli_json("buy", "102", "2", user="root", password="root")
        self.assertIsInstance(bought.get("order"), int)
        oid = bought["order"]
        self.assertEqual(bought, {"order": oid, "sno": 102, "name": "laptop", "quantity": 2,
                                  "unit_price": "70000.00", "total": "140000.00"})
        self.assertEqual(stock_of(watch, 102), before - 2)
        receipt = self.cli_json("receipt", user="root", password="root")
        self.assertEqual(receipt, {"order": oid, "status": "closed", "currency": "INR",
                                   "total": "140000.00",
                                   "lines": [{"sno": 102, "name": "laptop", "quantity": 2,
                                              "unit_price": "70000.00", "total": "140000.00"}]})
        self.assertEqual(self.cli_json("receipt", str(oid), user="root", password="root"), receipt)
        orders = self.cli_json("orders", user="root", password="root")
        self.assertEqual(list(orders), ["orders"])
        first = orders["orders"][0]
        self.assertRegex(first.get("opened", ""), ISO_RE)
        self.assertEqual(first, {"order": oid, "opened": first["opened"], "status": "closed",
                                 "lines": 1, "total": "140000.00"})
        raw = self.raw("root").request("ORDERS")
        self.assertEqual(orders["orders"], [
            {"order": int(r[0]), "opened": r[1], "status": r[2], "lines": int(r[3]), "total": r[4]}
            for r in raw.rows])

    def test_buy_with_request_id_is_idempotent(self):
        watch = self.raw()
        before = stock_of(watch, 104)
        a = self.cli_json("buy", "104", "1", "--request-id", "cli-retry-1", user="root1", password="root1")
        b = self.cli_json("buy", "104", "1", "--request-id", "cli-retry-1", user="root1", password="root1")
        self.assertEqual(a, b)
        self.assertEqual(a["sno"], 104)
        self.assertEqual(stock_of(watch, 104), before - 1)

    def test_receipt_json_without_orders_has_null_order(self):
        # alice buys nothing in the one-shot tests: her receipt has no order.
        r = self.cli_json("receipt", user="alice", password=ALICE_PW)
        self.assertIsNone(r.get("order", "missing"))
        self.assertEqual(r.get("lines"), [])

    # -- human output and errors ----------------------------------------------------------
    def test_browse_human_table(self):
        cp = self.cli("browse", "electronics")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"(?m)^\s*Sno\s+Item\s+Quantity\s+Price\s*$")
        for sno, i in sorted(CATALOG.items()):
            if i["category"] == 1:
                self.assertRegex(cp.stdout, r"(?m)^\s*%d\s+%s\s+\d+\s+%s\s*$"
                                 % (sno, re.escape(i["name"]), re.escape(i["price"])))

    def test_insufficient_stock_exits_1_with_code_on_stderr(self):
        cp = self.cli("buy", "101", "2", user="root", password="root")
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertErrLine(cp.stderr, "INSUFFICIENT_STOCK")
        err = self.cli_json("buy", "101", "2", user="root", password="root", rc=1)
        self.assertEqual(sorted(err), ["error", "message"])
        self.assertEqual(err["error"], "INSUFFICIENT_STOCK")
        self.assertIsInstance(err["message"], str)
        self.assertEqual(stock_of(self.raw(), 101), 1)

    def test_unknown_item_exits_1(self):
        cp = self.cli("item", "999")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertErrLine(cp.stderr, "NO_SUCH_ITEM")
        self.assertEqual(self.cli_json("item", "999", rc=1)["error"], "NO_SUCH_ITEM")

    def test_wrong_password_exits_4_with_the_documented_message(self):
        cp = self.cli("orders", user="root", password="not-root")
        self.assertEqual(cp.returncode, 4, cp.stderr)
        self.assertIn("netshop: login failed: wrong user name or password (AUTH_FAILED)",
                      cp.stderr.splitlines())

    def test_password_file_is_read(self):
        pwfile = os.path.join(self.srv.root, "pw.txt")
        with open(pwfile, "w") as f:
            f.write("root1\nignored second line\n")
        cp = self.cli("orders", options=["--json", "--user", "root1", "--password-file", pwfile])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("orders", json.loads(cp.stdout))

    def test_refused_port_exits_3(self):
        s, port = free_refusing_port()
        self.addCleanup(s.close)
        cp = self.cli("ping", port=port)
        self.assertEqual(cp.returncode, 3, cp.stderr)
        self.assertEqual(cp.stdout, "")

    def test_untrusted_ca_exits_3(self):
        if not openssl_binary():
            self.skipTest("openssl binary missing")
        other = make_other_ca(self.srv.root)
        cp = self.cli("ping", ca=other)
        self.assertEqual(cp.returncode, 3, cp.stderr)
        self.assertEqual(cp.stdout, "")
        cp = self.cli("buy", "102", "1", ca=other, user="root", password="root")
        self.assertEqual(cp.returncode, 3, cp.stderr)

    def test_server_that_never_answers_times_out_with_exit_3(self):
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        t0 = time.monotonic()
        cp = self.cli("ping", port=lsock.getsockname()[1], options=["--timeout", "1"])
        elapsed = time.monotonic() - t0
        self.assertEqual(cp.returncode, 3, cp.stderr)
        self.assertLess(elapsed, 5.0)

    def test_usage_errors_exit_2(self):
        for args in (["frobnicate"], ["buy", "102"], ["item"], ["--port"], ["--no-such-option", "ping"]):
            with self.subTest(args=args):
                cp = self.cli(*args, user="root", password="root")
                self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)

    # -- a hostile server's text ------------------------------------------------------------------
    def hostile_shop(self):
        shop = HostileShop(self.srv, {
            b"CATEGORIES": b"* 1\tEvil\xc2\x9b" b"2J\x1b[31m\x7fname\xc2\x80\xff!\t5\nOK 1 categories\n",
            b"ITEM": b"ERR NO_SUCH_ITEM no item\xc2\x9b" b"2J\x1b]0;pwned\x07 here\n",
        })
        self.addCleanup(shop.close)
        return shop

    def assertNoUnsafeOutput(self, cp):
        # run_tool decodes as UTF-8 (bad bytes become U+FFFD): a raw C1 control is still there
        # as U+0080..U+009F, and encodes back to C2 80..C2 9F.
        for name, data in (("stdout", cp.stdout), ("stderr", cp.stderr)):
            m = UNSAFE_OUTPUT_RE.search(data.encode("utf-8"))
            self.assertIsNone(m, "raw control character in %s: %r" % (name, data))

    def test_json_escapes_c1_controls_and_del_from_a_hostile_server(self):
        # Audit finding 13a: --json wrote DEL and C1 controls (U+0080..U+009F) raw.
        shop = self.hostile_shop()
        cp = run_client(["categories"], port=shop.port, ca=self.srv.ca, options=["--json"],
                        cwd=self.srv.root)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertNoUnsafeOutput(cp)
        self.assertIn("\\u009b2J\\u001b[31m\\u007fname\\u0080\ufffd!", cp.stdout)
        self.assertEqual(json.loads(cp.stdout), {"categories": [
            {"number": 1, "name": "Evil\u009b2J\u001b[31m\u007fname\u0080\ufffd!", "items": 5}]})
        cp = run_client(["item", "101"], port=shop.port, ca=self.srv.ca, options=["--json"],
                        cwd=self.srv.root)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertNoUnsafeOutput(cp)
        self.assertEqual(json.loads(cp.stdout)["error"], "NO_SUCH_ITEM")

    def test_human_output_shows_a_hostile_servers_controls_as_question_marks(self):
        shop = self.hostile_shop()
        cp = run_client(["categories"], port=shop.port, ca=self.srv.ca, cwd=self.srv.root)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertNoUnsafeOutput(cp)
        self.assertRegex(cp.stdout, r"(?m)^\s*1\s+Evil\?2J\?\[31m\?name\?\?!\s+5$")
        cp = run_client(["item", "101"], port=shop.port, ca=self.srv.ca, cwd=self.srv.root)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertNoUnsafeOutput(cp)
        self.assertIn("no item?2J?]0;pwned? here (NO_SUCH_ITEM)", cp.stderr)

    # -- interactive menu through stdin -------------------------------------------------------
    def test_menu_browse_purchase_receipt_exit_through_stdin(self):
        watch = self.raw()
        before = stock_of(watch, 102)
        cp = self.cli(user="root", password="root", input_text="1\n1\n2\n102\n1\n3\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        out = cp.stdout
        self.assertInOrder(out, [MENU, "Choice: ", "Electronics", "House-hold items", "Category: ",
                                 "Sno", "phone", "ps4", MENU, "Choice: ", "Sno: ", "Quantity: ",
                                 "Bought 1 x laptop for 70000.00 INR (order ", MENU, "Choice: ",
                                 "Total: 70000.00 INR", MENU, "Choice: ", "Goodbye."])
        self.assertRegex(out, r"(?m)^\s*Sno\s+Item\s+Quantity\s+Price\s*$")
        self.assertRegex(out, r"(?m)^\s*101\s+phone\s+1\s+100000\.00\s*$")
        self.assertRegex(out, r"Bought 1 x laptop for 70000\.00 INR \(order [1-9][0-9]*\)\.")
        self.assertRegex(out, r"(?m)^\s*Sno\s+Item\s+Qty\s+Unit price\s+Total\s*$")
        self.assertRegex(out, r"(?m)^\s*102\s+laptop\s+1\s+70000\.00\s+70000\.00\s*$")
        self.assertRegex(out, r"(?m)^Total: 70000\.00 INR$")
        self.assertEqual(out.count(MENU), 4)
        self.assertEqual(stock_of(watch, 102), before - 1)

    def test_menu_receipt_shows_two_purchases_of_one_item_as_one_line(self):
        """Issue 9 (item 5): two purchases of one item printed two identical receipt lines."""
        cp = self.cli(user="root", password="root",
                      input_text="2\n104\n1\n2\n105\n1\n2\n104\n2\n3\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        out = cp.stdout
        receipt = out[out.index("Receipt for order"):]
        self.assertRegex(receipt, r"(?m)^\s*104\s+usb\s+3\s+500\.00\s+1500\.00\s*$")
        self.assertEqual(len(re.findall(r"(?m)^\s*104\s+usb\s", receipt)), 1, receipt)
        self.assertRegex(receipt, r"(?m)^\s*105\s+ps4\s+1\s+40000\.00\s+40000\.00\s*$")
        self.assertLess(receipt.index("104"), receipt.index("105"), "first purchase first")
        self.assertRegex(receipt, r"(?m)^Total: 41500\.00 INR$")
        oid = re.search(r"Receipt for order ([0-9]+)", receipt).group(1)
        # The one-shot human receipt merges too; --json keeps one object per server line.
        human = self.cli("receipt", oid, user="root", password="root")
        self.assertEqual(human.returncode, 0, human.stderr)
        self.assertEqual(len(re.findall(r"(?m)^\s*104\s+usb\s+3\s", human.stdout)), 1,
                         human.stdout)
        lines = self.cli_json("receipt", oid, user="root", password="root")["lines"]
        self.assertEqual([(l["sno"], l["quantity"], l["total"]) for l in lines],
                         [(104, 1, "500.00"), (105, 1, "40000.00"), (104, 2, "1000.00")])

    def test_menu_prompts_for_user_and_password_on_stdin(self):
        cp = self.cli(input_text="root1\nroot1\n3\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertInOrder(cp.stdout + cp.stderr, ["User: ", "Password: "])
        self.assertInOrder(cp.stdout, [MENU, "Choice: ", "No purchases yet in this session.", MENU,
                                       "Goodbye."])

    def test_menu_wrong_password_asks_again(self):
        """Issue 9: a mistyped password used to end the program at once."""
        cp = self.cli(user="root", input_text="wrong1\nroot\n3\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertInOrder(cp.stdout, ["Password: ", "Wrong user name or password; please try "
                                       "again (2 tries left).", "Password: ", "Logged in as root.",
                                       MENU, "No purchases yet in this session.", "Goodbye."])

    def test_menu_three_wrong_passwords_exit_4(self):
        cp = self.cli(user="root", input_text="wrong1\nwrong2\nwrong3\nroot\n4\n")
        self.assertEqual(cp.returncode, 4, cp.stdout + cp.stderr)
        self.assertEqual(cp.stdout.count("Password: "), 3, cp.stdout)
        self.assertIn("(1 try left)", cp.stdout)
        self.assertNotIn(MENU, cp.stdout)
        self.assertIn("netshop: login failed: wrong user name or password (AUTH_FAILED)", cp.stderr)

    def test_menu_wrong_password_from_the_environment_is_not_retried(self):
        cp = self.cli(user="root", password="wrong1", input_text="root\n4\n")
        self.assertEqual(cp.returncode, 4, cp.stdout + cp.stderr)
        self.assertNotIn("try again", cp.stdout)

    def test_menu_unknown_sno_is_reported_before_the_quantity(self):
        """Issue 9: an unknown Sno was reported only after the quantity was asked."""
        cp = self.cli(user="root", password="root", input_text="2\n999\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertInOrder(cp.stdout, ["Sno: ", "There is no item with Sno 999", MENU,
                                       "Goodbye."])
        self.assertNotIn("Quantity: ", cp.stdout)

    def test_menu_unknown_category_names_no_protocol_verb(self):
        """Issue 9: the menu showed the server's "(see CATEGORIES)"."""
        cp = self.cli(user="root", password="root", input_text="1\nnosuch\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("Could not browse: no category 'nosuch'; choose a number or a name from "
                      "the list (NO_SUCH_CATEGORY)", cp.stdout)
        self.assertNotIn("see CATEGORIES", cp.stdout)

    def test_menu_bad_input_gets_a_message_and_the_menu_again(self):
        watch = self.raw()
        before = (stock_of(watch, 101), stock_of(watch, 102))
        script = "9\nabc\n2\nxyz\n2\n102\n0\n2\n101\n5\n1\nnosuch\n\n4\n"
        cp = self.cli(user="root", password="root", input_text=script)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        out = cp.stdout
        self.assertIn("Could not buy: ", out)
        self.assertTrue(out.rstrip().endswith("Goodbye."), out[-300:])
        # initial + after 9, abc, Sno xyz, quantity 0, refused purchase, unknown category, empty
        self.assertEqual(out.count(MENU), 8, out)
        segments = out.split(MENU)[1:-1]
        for seg in segments:
            text = seg.replace("Choice: ", "").replace("Sno: ", "").replace("Quantity: ", "")
            text = text.replace("Category: ", "").strip()
            self.assertTrue(text or cp.stderr.strip(), "no message between menus: %r" % seg)
        self.assertEqual((stock_of(watch, 101), stock_of(watch, 102)), before)

    def test_menu_end_of_input_at_any_prompt_exits_0(self):
        watch = self.raw()
        before = stock_of(watch, 103)
        for script in ("", "1\n", "2\n", "2\n103\n"):
            with self.subTest(script=script):
                cp = self.cli(user="root", password="root", input_text=script)
                self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
                self.assertIn("Goodbye.", cp.stdout)
        self.assertEqual(stock_of(watch, 103), before)

    # -- interactive menu through a pseudo-terminal -----------------------------------------------
    def test_menu_on_a_terminal_prompts_password_without_echo(self):
        argv = client_argv([], port=self.srv.port, ca=self.srv.ca)
        p = PtyClient(argv, base_env({"TERM": "xterm"}), self.srv.root)
        self.addCleanup(p.close)
        p.expect("User: ")
        p.send("alice\r")
        p.expect("Password: ")
        self.assertTrue(p.wait_echo_off(), "terminal echo still on at the Password: prompt")
        p.send(ALICE_PW + "\r")
        seg = p.expect("Choice: ")
        self.assertIn(MENU, seg)
        p.send("1\r")
        seg = p.expect("Category: ")
        for name in CATEGORY_NAMES:
            self.assertIn(name, seg)
        p.send("5\r")
        seg = p.expect("Choice: ")
        self.assertRegex(seg, r"(?m)^\s*Sno\s+Item\s+Quantity\s+Price\s*\r?$")
        self.assertRegex(seg, r"(?m)^\s*505\s+shoerack\s+41\s+1000\.00\s*\r?$")
        p.send("3\r")
        seg = p.expect("Choice: ")
        self.assertIn("No purchases yet in this session.", seg)
        p.send("4\r")
        p.expect("Goodbye.")
        status = p.wait()
        check_no_sanitizer("netshop on a pty", p.text())
        self.assertEqual(status, 0)
        self.assertNotIn(ALICE_PW, p.text(), "the password was echoed")

    def test_menu_ctrl_c_at_a_prompt_returns_to_the_menu(self):
        """Issue 9: Ctrl-C at any menu prompt killed the client."""
        argv = client_argv([], port=self.srv.port, ca=self.srv.ca, options=["--user", "root"])
        p = PtyClient(argv, base_env({"TERM": "xterm", "NETSHOP_PASSWORD": "root"}),
                      self.srv.root)
        self.addCleanup(p.close)
        p.expect("Choice: ")
        for choice, prompts in (("2", ["Sno: "]), ("2", ["Sno: ", "Quantity: "]),
                                ("1", ["Category: "])):
            p.send(choice + "\r")
            for i, prompt in enumerate(prompts):
                p.expect(prompt)
                if i + 1 < len(prompts):
                    p.send("102\r")
            time.sleep(0.2)
            p.send("\x03")  # Ctrl-C
            seg = p.expect("Choice: ")
            self.assertIn(MENU, seg)
            self.assertNotIn("Bought", seg)
        p.send("\x03")  # at the menu itself: leaves cleanly
        p.expect("Goodbye.")
        status = p.wait()
        check_no_sanitizer("netshop on a pty", p.text())
        self.assertEqual(status, 0, p.text())


SOLD_OUT_CATALOG = "Sno,Name,Quantity,Price\n101,phone,0,100000\n102,laptop,2,70000\n"


class ClientSoldOutTest(ServerTestCase):
    """The menu with an item that has none left (a server of its own: the stock is the test's)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(catalog_text=SOLD_OUT_CATALOG)

    assertInOrder = ClientTest.assertInOrder

    def test_menu_sold_out_item_says_sold_out_before_the_quantity(self):
        """Issue 9: a sold-out item said "only 0 left", after the quantity was asked."""
        cp = self.srv.client(user="root", password="root", input_text="2\n101\n4\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertInOrder(cp.stdout, ["Sno: ", "Sorry, phone is sold out.", MENU, "Goodbye."])
        self.assertNotIn("Quantity: ", cp.stdout)
        self.assertNotIn("only 0 left", cp.stdout)

    def test_json_buy_of_a_sold_out_item_keeps_the_servers_text(self):
        cp = self.srv.client("buy", "101", "1", user="root", password="root", options=["--json"])
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertEqual(json.loads(cp.stdout), {"error": "INSUFFICIENT_STOCK",
                                                 "message": "only 0 left of phone (asked 1)"})


class ClientIdleTest(ServerTestCase):
    """Issue 9 (item 7): waiting at a menu prompt longer than the server's idle timeout lost the
    session (the next choice said "connection to server lost" and exited 3)."""

    assertInOrder = ClientTest.assertInOrder
    IDLE = ["--idle-timeout", "2"]

    def test_menu_on_a_terminal_keeps_the_session_past_the_idle_timeout(self):
        srv = self.new_server(extra_args=self.IDLE)
        argv = client_argv([], port=srv.port, ca=srv.ca, options=["--user", "root",
                                                                  "--keepalive", "1"])
        p = PtyClient(argv, base_env({"TERM": "xterm", "NETSHOP_PASSWORD": "root"}), srv.root)
        self.addCleanup(p.close)
        p.expect("Choice: ")
        p.send("2\r")
        p.expect("Sno: ")
        p.send("104\r")
        p.expect("Quantity: ")
        p.send("1\r")
        seg = p.expect("Choice: ")
        self.assertIn("Bought 1 x usb", seg)
        time.sleep(3)
        p.send("1")  # half a line typed, then more waiting: still kept alive
        time.sleep(2.5)
        p.send("\r")
        seg = p.expect("Category: ")
        self.assertIn("Electronics", seg)
        time.sleep(5)
        p.send("1\r")
        p.expect("Choice: ")
        time.sleep(5)
        p.send("3\r")
        seg = p.expect("Choice: ")
        self.assertRegex(seg, r"(?m)^\s*104\s+usb\s+1\s+500\.00\s+500\.00\s*\r?$")
        p.send("4\r")
        p.expect("Goodbye.")
        status = p.wait()
        check_no_sanitizer("netshop on a pty", p.text())
        self.assertEqual(status, 0, p.text())
        self.assertNotIn("connection to server lost", p.text())

    def _piped_menu(self, srv, transport):
        argv = client_argv([], port=srv.port, ca=srv.ca,
                           options=["--user", "root", "--keepalive", "1", "--transport", transport])
        env = base_env({"NETSHOP_PASSWORD": "root"})
        proc = subprocess.Popen(argv, env=env, cwd=srv.root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        proc.stdin.write("2\n104\n1\n")
        proc.stdin.flush()
        time.sleep(5)
        out, err = proc.communicate(input="3\n4\n", timeout=20)
        check_no_sanitizer("netshop with piped input", out + err)
        return proc.returncode, out, err

    def test_menu_through_a_pipe_keeps_the_session_past_the_idle_timeout(self):
        srv = self.new_server(extra_args=self.IDLE)
        for transport in ("udp", "tls"):
            with self.subTest(transport=transport):
                rc, out, err = self._piped_menu(srv, transport)
                self.assertEqual(rc, 0, out + err)
                self.assertInOrder(out, ["Bought 1 x usb", MENU, "Choice: ", "Receipt for order",
                                         "Total: 500.00 INR", "Goodbye."])
                self.assertNotIn("connection to server lost", err)
