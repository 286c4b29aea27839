"""Differential test: every bad operation of bad_operations.py raises, under this CPython, the
same exception type with the same message from libshm as from the stdlib; nothing leaks."""

import json
import os
import secrets
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class Differential(unittest.TestCase):
    maxDiff = None

    def test_bad_operations_raise_what_the_stdlib_raises(self):
        prefix = "libshm_bad_%s_" % secrets.token_hex(3)
        proc = subprocess.run([sys.executable, os.path.join(HERE, "bad_operations.py"), prefix],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Nothing left registered with the tracker (it would warn at exit), nothing printed.
        self.assertEqual(proc.stderr, "")
        results = json.loads(proc.stdout)
        self.assertGreaterEqual(len(results), 40)
        for name, result in sorted(results.items()):
            with self.subTest(operation=name):
                self.assertIsNotNone(result["stdlib"], "the stdlib does not fail here")
                self.assertEqual(result["libshm"], result["stdlib"])
        self.assertEqual([n for n in os.listdir("/dev/shm") if n.startswith(prefix)], [])


if __name__ == "__main__":
    unittest.main()
