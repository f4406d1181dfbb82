"""test_admin: `netshopd init` and `netshopd user add` (briefs/cli.md) — the files init makes
(the CA's key in DATA.ca, the rest in the data directory) and their modes, refusal to overwrite existing keys, the certificate chain (ECDSA P-256 signed
by the data dir's CA), users added with the password on stdin, and no demo users without
--demo."""

import hashlib
import os
import stat

from harness import ServerTestCase, netshopd_argv, openssl_binary, run_tool

KEY_FILES = ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
CAROL_PW = "Car0l-pw.long-enough"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class AdminTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.class_server(start=False)
        cls.user_add = cls.srv.add_user("carol", CAROL_PW)
        cls.srv.start()

    def path(self, name):
        """A file init made: ca.key in the CA directory DATA.ca, the others in the data directory."""
        return os.path.join(self.srv.data + ".ca" if name == "ca.key" else self.srv.data, name)

    def test_init_creates_database_keys_csr_and_certificates(self):
        for name in KEY_FILES + ("shop.db",):
            with self.subTest(file=name):
                self.assertTrue(os.path.isfile(self.path(name)), name)
                self.assertGreater(os.path.getsize(self.path(name)), 0, name)

    def test_data_dir_is_0700_and_private_keys_are_0600(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.srv.data).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.srv.data + ".ca").st_mode), 0o700)
        for name in ("ca.key", "server.key"):
            with self.subTest(file=name):
                self.assertEqual(stat.S_IMODE(os.stat(self.path(name)).st_mode), 0o600)

    def test_init_refuses_to_overwrite_existing_keys(self):
        before = {n: (digest(self.path(n)), os.stat(self.path(n)).st_mtime_ns) for n in KEY_FILES}
        cp = run_tool(netshopd_argv("init", "--data", self.srv.data, "--demo"))
        self.assertNotEqual(cp.returncode, 0, "init over an existing data dir succeeded")
        self.assertTrue(cp.stderr.strip(), "no message on stderr")
        after = {n: (digest(self.path(n)), os.stat(self.path(n)).st_mtime_ns) for n in KEY_FILES}
        self.assertEqual(after, before)
        c = self.logged_in(self.srv, "root")     # the running server is unaffected
        self.assertPong(c)

    def test_user_add_with_password_on_stdin_then_login(self):
        self.assertEqual(self.user_add.returncode, 0, self.user_add.stderr)
        c = self.connection(self.srv)
        r = c.request("LOGIN carol %s" % CAROL_PW)
        self.assertRegex(r.final, r"^OK logged in as carol session [0-9a-f]{16}$")
        self.assertEqual(c.request("RECEIPT").final, "OK order none open total 0.00 INR")
        c2 = self.connection(self.srv)
        self.assertTrue(c2.request("LOGIN carol root").final.startswith("ERR AUTH_FAILED "))

    def test_server_certificate_is_p256_and_signed_by_the_ca(self):
        openssl = openssl_binary()
        if not openssl:
            self.skipTest("openssl binary missing")
        cp = run_tool([openssl, "x509", "-in", self.path("server.crt"), "-noout", "-text"])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("id-ecPublicKey", cp.stdout)
        self.assertTrue("prime256v1" in cp.stdout or "P-256" in cp.stdout, cp.stdout)
        cp = run_tool([openssl, "verify", "-CAfile", self.path("ca.crt"), self.path("server.crt")])
        self.assertEqual((cp.returncode, cp.stdout.strip()), (0, self.path("server.crt") + ": OK"),
                         cp.stderr)
        cp = run_tool([openssl, "req", "-in", self.path("server.csr"), "-noout", "-verify"])
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_keys_are_never_logged(self):
        self.assertNotIn("PRIVATE KEY", self.srv.stderr_text())


class NoDemoTest(ServerTestCase):

    def test_without_demo_there_are_no_demo_users_and_no_warning(self):
        srv = self.new_server(demo=False)
        self.assertNotIn("WARNING: demo mode", srv.stderr_text())
        c = self.connection(srv)
        self.assertTrue(c.request("LOGIN root root").final.startswith("ERR AUTH_FAILED "))
        self.assertEqual(c.request("CATEGORIES").final, "OK 5 categories")
