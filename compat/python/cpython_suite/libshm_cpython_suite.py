"""CPython's own multiprocessing tests, installed for the start method in the environment
variable LIBSHM_START_METHOD (fork, spawn or forkserver), as CPython's test_multiprocessing_fork,
_spawn and _forkserver install them. A real module, so that children started with spawn or
forkserver can import it to find the test classes' functions."""

import os

import test._test_multiprocessing as _suite

START_METHOD = os.environ.get("LIBSHM_START_METHOD", "fork")
_suite.install_tests_in_module_dict(globals(), START_METHOD)
