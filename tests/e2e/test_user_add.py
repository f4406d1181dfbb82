"""test_user_add: `netshopd user add --hash-cost` — a load-test account hashed at libsodium's
minimum argon2id cost (with a warning) logs in like any other, the stored hash really carries the
minimum parameters, and a bad --hash-cost value is refused with a clear error before anything is
asked or stored."""

import os
import sqlite3

from harness import ServerTestCase, netshopd_argv, run_tool

LOAD_PW = "L0ad-test.pw"
# libsodium's crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN for argon2id: 1 pass over 8 KiB
MINIMAL_PARAMS = "$argon2id$v=19$m=8,t=1,p=1$"


def stored_hash(data_dir, name):
    """The pwhash column of user name in the data dir's database, or None."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "shop.db"), uri=True)
    try:
        row = db.execute("SELECT pwhash FROM users WHERE name = ?", (name,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


class UserAddHashCostTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(start=False)
        cls.minimal = cls.user_add("loadtester", LOAD_PW, "--hash-cost", "minimal")
        cls.bad = cls.user_add("cheapo", LOAD_PW, "--hash-cost", "cheap")
        cls.srv.start()

    @classmethod
    def user_add(cls, name, password, *options):
        return run_tool(netshopd_argv("user", "add", name, "--data", cls.srv.data, *options),
                        input_text=password + "\n")

    def test_minimal_cost_user_is_added_with_a_warning(self):
        self.assertEqual(self.minimal.returncode, 0, self.minimal.stderr)
        self.assertIn("added user loadtester", self.minimal.stdout)
        self.assertIn("WARNING", self.minimal.stderr)
        self.assertIn("load tests only", self.minimal.stderr)

    def test_minimal_cost_hash_has_the_minimum_parameters(self):
        self.assertTrue(stored_hash(self.srv.data, "loadtester").startswith(MINIMAL_PARAMS))

    def test_minimal_cost_user_can_log_in(self):
        c = self.connection(self.srv)
        r = c.request("LOGIN loadtester %s" % LOAD_PW)
        self.assertRegex(r.final, r"^OK logged in as loadtester session [0-9a-f]{16}$")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        other = self.connection(self.srv)
        self.assertTrue(other.request("LOGIN loadtester root").final.startswith("ERR AUTH_FAILED "))

    def test_bad_hash_cost_is_refused_and_no_user_is_created(self):
        self.assertEqual(self.bad.returncode, 2, self.bad.stderr)
        self.assertIn("--hash-cost wants interactive or minimal, not 'cheap'", self.bad.stderr)
        self.assertNotIn("added user", self.bad.stdout)
        self.assertIsNone(stored_hash(self.srv.data, "cheapo"))

    def test_default_cost_is_still_interactive(self):
        cp = self.user_add("regular", LOAD_PW)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertNotIn("WARNING", cp.stderr)
        self.assertFalse(stored_hash(self.srv.data, "regular").startswith(MINIMAL_PARAMS))
