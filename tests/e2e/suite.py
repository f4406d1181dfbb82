"""suite: runs the end-to-end tests (tests/e2e/test_*.py) against one build and writes one JSON
line per result. Started by tests/run.py as a child process (so the whole suite can be bounded
and killed with everything it started):

    python3 tests/e2e/suite.py --build build-asan --results FILE [--only PATTERN] [-v]

Each test method is one result named e2e.<module>.<Class>.<method>. A class whose setUpClass
fails reports each of its methods as failed with that reason. Each server run adds one
"server_exits_cleanly" result (exit status 0 after SIGTERM, no sanitizer report in stderr).
Result line: {"name": ..., "status": "pass"|"fail"|"skip", "reason": ..., "secs": ...}.
"""

import argparse
import fnmatch
import json
import os
import signal
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def name_matches(name, pattern):
    """--only: a glob (if it has * ? [) matched against the full or the short name, else a
    substring of the full name."""
    if pattern is None:
        return True
    if any(ch in pattern for ch in "*?["):
        short = name.split(".", 2)[-1]
        return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(short, pattern)
    return pattern in name


def full_name(test_id):
    return "e2e." + test_id


def describe(err):
    """One readable reason from an exc_info tuple: where in a test file, and the message."""
    etype, value, tb = err
    where = ""
    for frame in traceback.extract_tb(tb):
        if os.path.basename(frame.filename).startswith("test_"):
            where = "%s:%d: " % (os.path.basename(frame.filename), frame.lineno)
    msg = "".join(traceback.format_exception_only(etype, value)).strip()
    return where + msg


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class JsonResult(unittest.TestResult):
    """Collects outcomes per test id and writes each as a JSON line when the test stops."""

    def __init__(self, out, verbose):
        super().__init__()
        self.out = out
        self.verbose = verbose
        self.state = {}
        self.started = {}
        self.reported = set()
        self.fixture_errors = {}   # class id -> reason (setUpClass / module setup)
        self.extra = []            # tearDownClass and cleanup errors

    def emit(self, name, status, reason="", secs=0.0):
        rec = {"name": name, "status": status, "reason": reason, "secs": round(secs, 3)}
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()
        if self.verbose:
            tag = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}[status]
            print("%s %s (%.2fs)%s" % (tag, name, secs, (": " + reason) if reason else ""),
                  flush=True)

    def startTest(self, test):
        super().startTest(test)
        harness.set_owner(test.id())
        self.started[test.id()] = time.monotonic()
        self.state[test.id()] = {"fail": [], "skip": None}

    def _note(self, test, err):
        tid = test.id()
        if tid not in self.state:
            # _ErrorHolder: a class or module fixture failed ("setUpClass (mod.Class)").
            desc = str(test)
            reason = describe(err)
            if "setUpClass" in desc or "setUpModule" in desc:
                key = desc[desc.find("(") + 1:desc.rfind(")")]
                self.fixture_errors[key] = reason
            else:
                self.extra.append((desc, reason))
            return
        self.state[tid]["fail"].append(describe(err))

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test, err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.state[test.id()]["fail"].append("%s: %s" % (subtest._subDescription(), describe(err)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if test.id() in self.state:
            self.state[test.id()]["skip"] = reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.state[test.id()]["fail"].append("unexpected success")

    def stopTest(self, test):
        super().stopTest(test)
        tid = test.id()
        st = self.state.get(tid)
        if st is None:
            return
        secs = time.monotonic() - self.started.get(tid, time.monotonic())
        self.reported.add(tid)
        if st["fail"]:
            self.emit(full_name(tid), "fail", " || ".join(st["fail"]), secs)
        elif st["skip"] is not None:
            self.emit(full_name(tid), "skip", st["skip"], secs)
        else:
            self.emit(full_name(tid), "pass", "", secs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    os.environ["NETSHOP_BUILD"] = args.build

    def on_term(signum, frame):
        harness.kill_live_servers()
        os._exit(124)
    signal.signal(signal.SIGTERM, on_term)

    loader = unittest.TestLoader()
    discovered = loader.discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = [t for t in flatten(discovered) if name_matches(full_name(t.id()), args.only)]

    with open(args.results, "w") as out:
        result = JsonResult(out, args.verbose)
        try:
            unittest.TestSuite(tests).run(result)
        finally:
            harness.kill_live_servers()
        # Methods never run because their class (or module) fixture failed.
        for t in tests:
            tid = t.id()
            if tid in result.reported:
                continue
            cls_key = tid.rsplit(".", 1)[0]
            mod_key = tid.split(".", 1)[0]
            reason = result.fixture_errors.get(cls_key) or result.fixture_errors.get(mod_key)
            if reason is None and tid.startswith("unittest.loader._FailedTest"):
                reason = "could not load test module"
            result.emit(full_name(tid), "fail",
                        "not run: class set-up failed: %s" % (reason or "unknown reason"))
        for desc, reason in result.extra:
            result.emit("e2e.fixture " + desc, "fail", reason)
        for run in harness.SERVER_RUNS:
            name = "e2e.%s.server_exits_cleanly[%d]" % (run["owner"], run["index"])
            if run["problems"]:
                result.emit(name, "fail", " || ".join(run["problems"]))
            else:
                result.emit(name, "pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
