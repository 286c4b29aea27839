"""Shared helpers for libshm's Python tests: fresh random block names, cleanup, the stdlib."""

import os
import secrets
import subprocess
import sys
import unittest
from multiprocessing import resource_tracker
from multiprocessing import shared_memory as stdlib

import libshm

# Make sure the stdlib classes here are the stdlib's own (the CPython-suite adapter swaps them).
assert stdlib.SharedMemory is not libshm.SharedMemory

PY38 = sys.version_info < (3, 9)


def fresh_name():
    """A random block name no test has used: 'libshm_pyt_' + 12 hex digits."""
    return "libshm_pyt_" + secrets.token_hex(6)


def exists(name):
    return os.path.exists("/dev/shm/" + name)


def stdlib_attach(name):
    """Attaches with the stdlib without leaving a registration with its tracker (gh-82300).

    libshm and the stdlib share this process's multiprocessing tracker, which holds one
    registration per name: a block libshm registered is left registered (libshm's unlink()
    withdraws it)."""
    if sys.version_info >= (3, 13):
        return stdlib.SharedMemory(name, track=False)
    block = stdlib.SharedMemory(name)
    if block._name not in libshm._registered:
        resource_tracker.unregister(block._name, "shared_memory")
    return block


def stdlib_attach_list(name):
    sl = stdlib.ShareableList(name=name)
    if sl.shm._name not in libshm._registered:
        resource_tracker.unregister(sl.shm._name, "shared_memory")
    return sl


def run_python(code, *args):
    """Runs `code` in a new interpreter (this one, same PYTHONPATH); returns the process."""
    return subprocess.run([sys.executable, "-c", code] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


class BlockTest(unittest.TestCase):
    """Unlinks, at the end of each test, every block name it handed out that still exists."""

    def setUp(self):
        self._names = []

    def name(self):
        name = fresh_name()
        self._names.append(name)
        return name

    def keep(self, name):
        """Also clean up `name` (a block named by the library) at the end of the test."""
        self._names.append(name)
        return name

    def tearDown(self):
        for name in self._names:
            if exists(name):
                libshm._unlink_block(name)
            if "/" + name in libshm._registered:  # withdraw what the test left registered
                libshm._unregister("/" + name)
