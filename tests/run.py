#!/usr/bin/python3
"""run.py: netshop's test runner (what `make test` calls). For each --build directory it runs
every unit test binary <build>/tests/test_* (cmocka, TAP output) and then the end-to-end suite
(tests/e2e/suite.py, in a child process, against that build's netshopd and netshop). Prints one
line per failed test with its reason, a summary per build, and ends with exactly one line
`N passed, M failed`; exits 0 only when nothing failed. Debian's python3 standard library only.

    /usr/bin/python3 tests/run.py --build build --build build-asan [--only PATTERN] [-v]
    [--no-unit] [--no-e2e]

--only PATTERN selects tests by name: a substring, or a glob when it contains * ? [. Unit tests
are named unit.<binary>.<test>, end-to-end tests e2e.<module>.<Class>.<method>.
"""

import argparse
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(REPO, "tests", "e2e", "suite.py")
UNIT_TIMEOUT = 120      # seconds per unit test binary
# seconds for the whole e2e suite of one build (bench/crash raises it for its long runs)
E2E_TIMEOUT = int(os.environ.get("NETSHOP_E2E_TIMEOUT", "600"))
REASON_MAX = 600        # characters of a reason on the one-line failure report

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

OK_RE = re.compile(r"^ok (\d+)(?: - (.*))?$")
NOT_OK_RE = re.compile(r"^not ok (\d+)(?: - (.*))?$")


def matches(name, pattern):
    if pattern is None:
        return True
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name.split(".", 1)[-1], pattern)
    return pattern in name


def one_line(text):
    text = " | ".join(line.strip() for line in str(text).splitlines() if line.strip())
    return text if len(text) <= REASON_MAX else text[:REASON_MAX - 3] + "..."


def resolve_build(b):
    if os.path.isabs(b) or os.path.isdir(b):
        return os.path.abspath(b)
    return os.path.join(REPO, b)


def describe_status(rc):
    if rc is None:
        return "no status"
    if rc < 0:
        try:
            return "killed by signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


class Tally:
    """Results of one build: lists of (name, reason) for failures, counts of passes/skips."""

    def __init__(self, build):
        self.build = build
        self.passed = {"unit": 0, "e2e": 0}
        self.failed = {"unit": [], "e2e": []}
        self.skipped = {"unit": 0, "e2e": 0}

    def ok(self, kind, name, verbose, secs=None):
        self.passed[kind] += 1
        if verbose:
            print("  ok   %s%s" % (name, "" if secs is None else " (%.2fs)" % secs), flush=True)

    def fail(self, kind, name, reason, verbose):
        self.failed[kind].append((name, reason))
        if verbose:
            print("  FAIL %s: %s" % (name, reason), flush=True)


# --------------------------------------------------------------------------------------------
# Unit tests

def unit_binaries(build):
    d = os.path.join(build, "tests")
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if (name.startswith("test_") and os.path.isfile(path) and os.access(path, os.X_OK)
                and "." not in name):
            out.append(path)
    return out


def parse_tap(text):
    """[(status 'ok'|'fail', number, name, reason)] from cmocka's TAP output."""
    results = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m_ok, m_bad = OK_RE.match(line), NOT_OK_RE.match(line)
        if m_ok:
            results.append(("ok", int(m_ok.group(1)), (m_ok.group(2) or "").strip(), ""))
        elif m_bad:
            reason = []
            j = i + 1
            while j < len(lines) and lines[j].startswith("#") and not lines[j].startswith("# not ok"):
                reason.append(lines[j].lstrip("# ").strip())
                j += 1
            results.append(("fail", int(m_bad.group(1)), (m_bad.group(2) or "").strip(),
                            "; ".join(r for r in reason if r)))
        i += 1
    return results


def run_unit(build, tally, only, verbose):
    bins = unit_binaries(build)
    if not bins and verbose:
        print("  (no unit test binaries in %s/tests)" % build)
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    for path in bins:
        binname = os.path.basename(path)
        t0 = time.monotonic()
        try:
            cp = subprocess.run([path], stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=UNIT_TIMEOUT, env=env, cwd=REPO)
            out = cp.stdout.decode("utf-8", "replace")
            err = cp.stderr.decode("utf-8", "replace")
            rc = cp.returncode
            timed_out = False
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            err = (e.stderr or b"").decode("utf-8", "replace")
            rc = None
            timed_out = True
        results = parse_tap(out + "\n" + err)
        counted_failures = 0
        for status, num, name, reason in results:
            full = "unit.%s.%s" % (binname, name or num)
            if not matches(full, only) and not matches("unit." + binname, only):
                continue
            if status == "ok":
                tally.ok("unit", full, verbose)
            else:
                counted_failures += 1
                tally.fail("unit", full, reason or "failed", verbose)
        if not matches("unit." + binname, only) and not any(
                matches("unit.%s.%s" % (binname, r[2] or r[1]), only) for r in results):
            continue
        san = next((l for l in err.splitlines() if any(m in l for m in SANITIZER_MARKERS)), None)
        if timed_out:
            tally.fail("unit", "unit." + binname, "timed out after %d s (%d results counted)"
                       % (UNIT_TIMEOUT, len(results)), verbose)
        elif rc != 0 and counted_failures == 0:
            why = describe_status(rc)
            if san:
                why += "; " + san.strip()
            elif err.strip():
                why += "; stderr: " + err.strip().splitlines()[-1]
            tally.fail("unit", "unit." + binname, why, verbose)
        elif san and counted_failures == 0:
            tally.fail("unit", "unit." + binname, "sanitizer report: " + san.strip(), verbose)
        if verbose:
            print("  (%s: %.2fs)" % (binname, time.monotonic() - t0), flush=True)


# --------------------------------------------------------------------------------------------
# End-to-end suite

def run_e2e(build, tally, only, verbose):
    fd, results_path = tempfile.mkstemp(prefix="netshop-e2e-results-", suffix=".jsonl")
    os.close(fd)
    argv = [sys.executable, SUITE, "--build", build, "--results", results_path]
    if only:
        argv += ["--only", only]
    if verbose:
        argv.append("-v")
    log = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=None if verbose else log,
                            stderr=None if verbose else subprocess.STDOUT,
                            cwd=REPO, start_new_session=True, env=dict(os.environ))
    timed_out = False
    try:
        rc = proc.wait(timeout=E2E_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
    # Anything the suite left behind in its process group (servers, clients).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    n = 0
    try:
        with open(results_path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                n += 1
                if rec["status"] == "pass":
                    tally.ok("e2e", rec["name"], False)
                elif rec["status"] == "skip":
                    tally.skipped["e2e"] += 1
                else:
                    tally.fail("e2e", rec["name"], rec["reason"], False)
    finally:
        os.unlink(results_path)
    if timed_out:
        tally.fail("e2e", "e2e (suite)", "timed out after %d s (%d results so far)" % (E2E_TIMEOUT, n),
                   verbose)
    elif rc != 0:
        log.seek(0)
        tail = log.read().decode("utf-8", "replace").strip().splitlines()[-5:]
        tally.fail("e2e", "e2e (suite)", "suite runner %s: %s" % (describe_status(rc), " | ".join(tail)),
                   verbose)
    log.close()
    if verbose:
        print("  (e2e suite: %.1fs)" % (time.monotonic() - t0), flush=True)


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="Runs netshop's unit and end-to-end tests.")
    ap.add_argument("--build", action="append", required=True, help="build directory (repeatable)")
    ap.add_argument("--only", help="run only tests whose name matches (substring or glob)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--no-unit", action="store_true", help="skip the unit test binaries")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end suite")
    args = ap.parse_args()

    tallies = []
    for b in args.build:
        build = resolve_build(b)
        tally = Tally(b)
        tallies.append(tally)
        print("== %s" % b, flush=True)
        if not args.no_unit:
            run_unit(build, tally, args.only, args.verbose)
        if not args.no_e2e:
            run_e2e(build, tally, args.only, args.verbose)
        for kind in ("unit", "e2e"):
            for name, reason in tally.failed[kind]:
                print("FAIL [%s] %s: %s" % (b, name, one_line(reason)), flush=True)
        print("%s: unit %d passed, %d failed; e2e %d passed, %d failed, %d skipped"
              % (b, tally.passed["unit"], len(tally.failed["unit"]), tally.passed["e2e"],
                 len(tally.failed["e2e"]), tally.skipped["e2e"]), flush=True)
    passed = sum(t.passed["unit"] + t.passed["e2e"] for t in tallies)
    failed = sum(len(t.failed["unit"]) + len(t.failed["e2e"]) for t in tallies)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
