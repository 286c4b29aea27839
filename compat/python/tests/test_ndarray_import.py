"""`import libshm` needs no numpy; its arrays say so when numpy is missing (every CPython).
The arrays themselves are tested by ndarray_tests.py, where numpy is importable."""

import unittest

from support import run_python

NO_NUMPY = """
import sys
sys.modules["numpy"] = None  # import numpy raises ImportError, as where it is not installed
import libshm
assert "numpy" not in sys.modules or sys.modules["numpy"] is None
from libshm import *
assert "ndarray" not in globals()  # a star import must not replace numpy's
for call in (lambda: libshm.ndarray(3), lambda: libshm.attach_ndarray("x"),
             lambda: libshm.SharedArray):
    try:
        call()
    except ImportError as e:
        assert "need numpy" in str(e), e
    else:
        raise AssertionError("no ImportError")
try:
    libshm.no_such_name
except AttributeError as e:
    assert "no_such_name" in str(e)
print("ok")
"""


class WithoutNumpy(unittest.TestCase):

    def test_import_works_and_arrays_raise_import_error(self):
        proc = run_python(NO_NUMPY)
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, "ok\n", ""))


if __name__ == "__main__":
    unittest.main()
