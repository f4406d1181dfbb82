"""test_setup_safety: the security audit's findings 6 and 12(c) against the real netshopd — a data
directory of another user, or writable by others, is refused; shop.db is never followed through a
symbolic link (the password hashes once went, mode 0644, where a dangling link pointed); nothing
runs as root without --allow-root; init keeps the CA's private key out of the data directory and a
server refuses to start with ca.key in its data directory unless --allow-ca-key. Each test here
failed on the code before the fix."""

import os
import shutil
import stat
import tempfile

from harness import (HarnessError, ServerTestCase, netshopd_argv, openssl_binary, run_tool,
                     server_binary)

NOBODY_UID = 65534


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class TempRoot:
    """A fresh temp dir (removed at the end) for tests that run `netshopd init` themselves."""

    def __init__(self, test):
        self.path = tempfile.mkdtemp(prefix="netshop-e2e-setup-")
        test.addCleanup(shutil.rmtree, self.path, True)

    def join(self, *names):
        return os.path.join(self.path, *names)


def init(data, *extra):
    return run_tool(netshopd_argv("init", "--data", data, "--demo", *extra))


class SymlinkTest(ServerTestCase):

    def test_regression_init_refuses_a_dangling_symlink_for_shop_db(self):
        # Before: init followed the link and created the database, password hashes included,
        # mode 0644 where it pointed.
        root = TempRoot(self)
        data, target = root.join("data"), root.join("elsewhere.db")
        os.mkdir(data, 0o700)
        os.symlink(target, os.path.join(data, "shop.db"))
        cp = init(data)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("symbolic link", cp.stderr)
        self.assertFalse(os.path.lexists(target), "init created the link's target")
        self.assertFalse(os.path.lexists(os.path.join(data, "server.key")),
                         "init wrote keys before refusing")

    def test_regression_server_refuses_a_symlinked_shop_db(self):
        srv = self.new_server(start=False)
        db = os.path.join(srv.data, "shop.db")
        moved = os.path.join(srv.root, "moved.db")
        os.rename(db, moved)
        os.symlink(moved, db)
        with self.assertRaises(HarnessError) as cm:
            srv.start()
        self.assertIn("shop.db is a symbolic link", str(cm.exception))

    def test_regression_existing_database_is_narrowed_to_0600_with_its_wal_and_shm(self):
        srv = self.new_server(start=False)
        db = os.path.join(srv.data, "shop.db")
        os.chmod(db, 0o644)          # as a database made by an older netshopd through a link was
        srv.start()
        self.assertPong(self.logged_in(srv))
        for name in ("shop.db", "shop.db-wal", "shop.db-shm"):
            with self.subTest(file=name):
                self.assertEqual(mode_of(os.path.join(srv.data, name)), 0o600)


class OwnershipTest(ServerTestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give a directory to another user")

    def test_regression_init_refuses_a_data_dir_owned_by_another_user(self):
        root = TempRoot(self)
        data = root.join("data")
        os.mkdir(data, 0o700)
        os.chown(data, NOBODY_UID, NOBODY_UID)
        cp = init(data)
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("belongs to uid %d" % NOBODY_UID, cp.stderr)
        self.assertEqual(os.listdir(data), [], "init wrote into another user's directory")
        self.assertEqual(os.stat(data).st_uid, NOBODY_UID)
        self.assertEqual(mode_of(data), 0o700)

    def test_regression_server_and_user_add_refuse_a_data_dir_owned_by_another_user(self):
        srv = self.new_server(start=False)
        os.chown(srv.data, NOBODY_UID, NOBODY_UID)
        with self.assertRaises(HarnessError) as cm:
            srv.start()
        self.assertIn("belongs to uid %d" % NOBODY_UID, str(cm.exception))
        cp = srv.add_user("mallory", "Mall0ry-pw.long")
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("belongs to uid %d" % NOBODY_UID, cp.stderr)

    def test_regression_server_refuses_a_group_writable_data_dir(self):
        srv = self.new_server(start=False)
        os.chmod(srv.data, 0o770)
        with self.assertRaises(HarnessError) as cm:
            srv.start()
        self.assertIn("writable by group or others", str(cm.exception))


class RootTest(ServerTestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("runs as root only")

    def test_regression_init_serve_and_user_add_refuse_root_without_allow_root(self):
        root = TempRoot(self)
        data = root.join("data")
        cp = run_tool([server_binary(), "init", "--data", data, "--demo"])
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn("refusing to run init as root", cp.stderr)
        self.assertIn("--allow-root", cp.stderr)
        self.assertFalse(os.path.exists(data), "init made the data directory before refusing")

        srv = self.new_server(start=False)   # made with --allow-root by the harness
        cp = run_tool([server_binary(), "--data", srv.data, "--port", "0"], timeout=20)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("refusing to serve as root", cp.stderr)
        cp = run_tool([server_binary(), "user", "add", "eve", "--data", srv.data],
                      input_text="Eve-pw.long-enough\n")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("refusing to add users as root", cp.stderr)

    def test_allow_root_serves_with_a_warning(self):
        srv = self.new_server()
        self.assertIn("WARNING: serving as root (--allow-root)", srv.stderr_text())
        self.assertPong(self.logged_in(srv))


class CaKeyTest(ServerTestCase):

    def test_regression_init_keeps_ca_key_out_of_the_data_dir(self):
        srv = self.new_server(start=False)
        self.assertFalse(os.path.lexists(os.path.join(srv.data, "ca.key")))
        ca_dir = srv.data + ".ca"
        ca_key = os.path.join(ca_dir, "ca.key")
        self.assertEqual(mode_of(ca_dir), 0o700)
        self.assertEqual(mode_of(ca_key), 0o600)
        openssl = openssl_binary()
        if openssl:                 # it is the key of the data dir's ca.crt
            a = run_tool([openssl, "pkey", "-in", ca_key, "-pubout"])
            b = run_tool([openssl, "x509", "-in", os.path.join(srv.data, "ca.crt"), "-noout", "-pubkey"])
            self.assertEqual((a.returncode, b.returncode), (0, 0), a.stderr + b.stderr)
            self.assertEqual(a.stdout, b.stdout)

    def test_regression_server_refuses_ca_key_in_the_data_dir_unless_allowed(self):
        srv = self.new_server(start=False)
        shutil.copy2(os.path.join(srv.data + ".ca", "ca.key"), os.path.join(srv.data, "ca.key"))
        with self.assertRaises(HarnessError) as cm:
            srv.start()
        self.assertIn("ca.key is the CA's private key", str(cm.exception))
        self.assertIn("--allow-ca-key", str(cm.exception))
        srv.start(["--allow-ca-key"])
        self.assertIn("the CA's private key is in the data directory (--allow-ca-key)",
                      srv.stderr_text())
        self.assertPong(self.logged_in(srv))

    def test_ca_dir_option_and_its_refusal_of_the_data_dir(self):
        root = TempRoot(self)
        data, ca = root.join("data"), root.join("offline-ca")
        cp = init(data, "--ca-dir", ca)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertTrue(os.path.isfile(os.path.join(ca, "ca.key")))
        self.assertFalse(os.path.exists(data + ".ca"))
        other = root.join("other")
        cp = init(other, "--ca-dir", other)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("is the data directory", cp.stderr)
        self.assertFalse(os.path.lexists(os.path.join(other, "ca.key")))
