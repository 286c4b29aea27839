"""libshm under multiprocessing, every start method, compared with the stdlib.

Each scenario of mp_scenarios.py runs in its own interpreter (bounded by a timeout), once with
the stdlib's classes and once with libshm's: both must succeed with the same output; libshm's
stderr must be silent wherever the stdlib's is, and otherwise hold the same kinds of
resource-tracker warnings (how many, and naming which blocks, depends on process timing, in
the stdlib too), never a traceback or libshm's own tracker; no block may be left in /dev/shm.
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import unittest

import libshm

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "mp_scenarios.py")
METHODS = ("fork", "spawn", "forkserver")
TIMEOUT = 90


def leftovers(prefix):
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(prefix))


def clean(prefix):
    for name in leftovers(prefix):
        libshm._unlink_block(name)


def env_for(impl, prefix):
    env = dict(os.environ)
    env["LIBSHM_SCENARIO_IMPL"] = impl
    env["LIBSHM_SCENARIO_PREFIX"] = prefix
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(os.path.dirname(
        libshm.__file__)), env.get("PYTHONPATH")) if p)
    return env


def run(scenario, method, impl):
    prefix = "libshm_mps_%s_" % secrets.token_hex(4)
    try:
        proc = subprocess.run([sys.executable, SCRIPT, scenario, method],
                              env=env_for(impl, prefix), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
        # A tracker may still be unlinking what a scenario leaked on purpose.
        deadline = time.monotonic() + 5
        while leftovers(prefix) and time.monotonic() < deadline:
            time.sleep(0.05)
        return proc, leftovers(prefix), warning_kinds(proc.stderr, prefix)
    finally:
        clean(prefix)


def warning_kinds(stderr, prefix):
    """The distinct kinds of resource-tracker warnings in `stderr`: without counts and block
    names (which worker tracker saw which block depends on how the pool handed out tasks)."""
    kinds = set()
    for line in stderr.splitlines():
        if "UserWarning: resource_tracker" in line:
            line = line.split("UserWarning: ", 1)[1]
            line = re.sub(r"'[^']*'", "'NAME'", line)
            line = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "NAMES", line)
            kinds.add(re.sub(r"be \d+ leaked", "be N leaked", line))
    return kinds


class ScenarioTest(unittest.TestCase):
    maxDiff = None

    def compare(self, scenario, silent=False):
        for method in METHODS:
            with self.subTest(method=method):
                ref, ref_left, ref_kinds = run(scenario, method, "stdlib")
                got, got_left, got_kinds = run(scenario, method, "libshm")
                self.assertEqual(ref.returncode, 0, ref.stderr)
                self.assertEqual(got.returncode, 0, got.stderr)
                self.assertEqual(got.stdout, ref.stdout)
                self.assertTrue(got.stdout)
                self.assertNotIn("Traceback", got.stderr)
                self.assertNotIn("libshm resource_tracker", got.stderr)
                if not ref.stderr or silent:
                    self.assertEqual(ref.stderr, "" if silent else ref.stderr)
                    self.assertEqual(got.stderr, "")
                self.assertEqual(got_kinds, ref_kinds)
                self.assertEqual(got_left, [])

    def test_pools_before_and_after_and_untracked_child(self):
        self.compare("pools")

    def test_pool_maxtasksperchild_1(self):
        self.compare("maxtasks")

    def test_shared_memory_manager_docs_example(self):
        self.compare("manager", silent=True)  # the stdlib is silent at exit: so is libshm

    def test_sigkilled_parent(self):
        # The parent is SIGKILLed while its child runs: the child still uses the list; the
        # block is unlinked (by multiprocessing's tracker, which the child kept alive) once the
        # child is gone too.
        for method in METHODS:
            with self.subTest(method=method):
                prefix = "libshm_mps_%s_" % secrets.token_hex(4)
                proc = subprocess.Popen([sys.executable, SCRIPT, "sigkill", method],
                                        env=env_for("libshm", prefix), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, universal_newlines=True)
                try:
                    line = proc.stdout.readline()  # bounded by the scenario's own 60 s sleep
                    self.assertEqual(line, "ready\n")
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=TIMEOUT)  # reaped: the child sees its parent gone
                    out, err = proc.communicate(timeout=TIMEOUT)
                    self.assertEqual(proc.returncode, -signal.SIGKILL)
                    self.assertIn("child after parent's death [42, 'alive']", out)
                    self.assertNotIn("Traceback", err)
                    deadline = time.monotonic() + 10
                    while leftovers(prefix) and time.monotonic() < deadline:
                        time.sleep(0.05)
                    self.assertEqual(leftovers(prefix), [])
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.communicate()
                    clean(prefix)


if __name__ == "__main__":
    unittest.main()
