"""Runs CPython's own shared-memory tests against libshm, under the interpreter running this.

The tests are _TestSharedMemory from this interpreter's own test/_test_multiprocessing.py, as
CPython runs them in test_multiprocessing_fork, _spawn and _forkserver (the class
WithProcessesTestSharedMemory, under the start method given by --start-method), with the
stdlib's classes replaced by libshm's (libshm_as_stdlib.py says exactly what is replaced and
why). The classes are installed by the importable module libshm_cpython_suite.py, so that
spawn and forkserver children find them.

So that subprocesses started with sys.executable (even with -E or -I) use libshm too, the run
happens in a virtual environment (--venv, made here with `venv --without-pip` and reused)
whose .pth file installs libshm at start-up: this script re-executes itself there.

Tests listed in --divergent for this version and start method must fail (they are run as expected failures);
every other test must pass. Both directions are enforced: a listed test that passes, or a
listed test that does not exist, fails the run. Prints per-version counts and exits non-zero
on any problem.

usage: run_cpython_tests.py --module-dir DIR --venv DIR --divergent FILE
                            [--start-method fork|spawn|forkserver] [-v] [test ...]
"""

import argparse
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CLASS_NAME = "WithProcessesTestSharedMemory"
VERSION = "%d.%d.%d" % sys.version_info[:3]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module-dir", required=True, help="directory holding the package libshm")
    parser.add_argument("--venv", required=True, help="virtual environment to create or reuse")
    parser.add_argument("--divergent", required=True, help="JSON list of divergent tests")
    parser.add_argument("--start-method", default="fork", choices=("fork", "spawn", "forkserver"))
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("tests", nargs="*", help="run only these test methods")
    return parser.parse_args()


def in_venv(venv):
    return os.path.realpath(sys.prefix) == os.path.realpath(venv)


def enter_venv(args):
    """Creates (or refreshes) the virtual environment and re-executes this script in it."""
    venv = os.path.abspath(args.venv)
    python = os.path.join(venv, "bin", "python")
    cfg = os.path.join(venv, "pyvenv.cfg")
    home = os.path.dirname(os.path.realpath(sys.executable))
    fresh = os.path.exists(python) and os.path.exists(cfg)
    if fresh:
        with open(cfg) as f:
            fresh = any(line.split("=", 1)[-1].strip() == home
                        for line in f if line.startswith("home"))
    if not fresh:
        subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", venv],
                       check=True)
    # The venv's own site-packages (never the base interpreter's: the .pth file would then
    # put libshm in the stdlib's place for every user of that interpreter).
    site = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if not os.path.isdir(site):
        sys.exit("run_cpython_tests: %s has no %s" % (venv, site))
    pth = os.path.join(site, "libshm_as_stdlib.pth")
    lines = [os.path.abspath(args.module_dir), HERE,
             "import libshm_as_stdlib; libshm_as_stdlib.install()"]
    with open(pth, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.environ["LIBSHM_START_METHOD"] = args.start_method
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def divergent_tests(path, start_method):
    """{test method: reason} for this interpreter's version and the start method (entries
    without "start_methods" apply to all)."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for entry in data["divergent"]:
        versions = entry["versions"]
        if start_method not in entry.get("start_methods", (start_method,)):
            continue
        if versions == "all" or VERSION in versions or VERSION.rsplit(".", 1)[0] in versions:
            out[entry["test"]] = entry["reason"]
    return out


def main():
    args = parse_args()
    if not in_venv(args.venv):
        enter_venv(args)  # does not return

    import libshm_as_stdlib

    if not libshm_as_stdlib.installed():
        sys.exit("run_cpython_tests: libshm is not in the stdlib's place in %s" % sys.prefix)
    # ... nor in the children of this start method (spawn and forkserver start new interpreters).
    import multiprocessing

    with multiprocessing.get_context(args.start_method).Pool(1) as pool:
        if not pool.apply_async(libshm_as_stdlib.installed).get(60):
            sys.exit("run_cpython_tests: libshm is not in the stdlib's place in %s children"
                     % args.start_method)

    os.environ["LIBSHM_START_METHOD"] = args.start_method
    import libshm_cpython_suite as module

    cls = getattr(module, CLASS_NAME)
    names = sorted(n for n in dir(cls) if n.startswith("test_"))

    listed = divergent_tests(args.divergent, args.start_method)
    problems = ["listed as divergent but not in CPython %s's suite: %s" % (VERSION, name)
                for name in sorted(set(listed) - set(names))]
    for name in listed.keys() & set(names):
        setattr(cls, name, unittest.expectedFailure(getattr(cls, name)))

    wanted = args.tests or names
    tests = unittest.TestSuite(cls(name) for name in names if name in wanted)
    module.setUpModule()
    try:
        result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(tests)
    finally:
        module.tearDownModule()

    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors)
    expected = len(result.expectedFailures)
    unexpected = len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - expected - unexpected - skipped
    for test in result.unexpectedSuccesses:
        problems.append("listed as divergent but passed: %s" % test.id())
    for test, _ in result.failures + result.errors:
        problems.append("failed: %s" % test.id())
    print("\nCPython %s _TestSharedMemory against libshm, start method %s: %d tests, "
          "%d passed, %d listed as divergent (failed as listed), %d skipped"
          % (VERSION, args.start_method, result.testsRun, passed, expected, skipped))
    for test, _ in result.expectedFailures:
        name = test.id().rsplit(".", 1)[-1]
        print("  divergent: %s: %s" % (name, listed.get(name, "?")))
    for test, reason in result.skipped:
        print("  skipped: %s: %s" % (test.id().rsplit(".", 1)[-1], reason))
    for problem in problems:
        print("  PROBLEM: " + problem)
    sys.stdout.flush()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
