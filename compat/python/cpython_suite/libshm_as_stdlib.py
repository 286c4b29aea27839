"""Puts libshm in the place of the stdlib's shared memory, for CPython's own tests.

Imported at interpreter start-up by a .pth file in the adapter's virtual environment, so that
every Python process of a test run (the test runner, its children under every start method, and
subprocesses started with sys.executable, even with -E or -I) uses libshm:

* multiprocessing.shared_memory.SharedMemory and .ShareableList become libshm's classes
  (multiprocessing.managers and the tests look them up there at call time);
* libshm draws default block names from the stdlib's private _make_filename, looked up at each
  call, so that tests that mock it to force a name collision reach libshm's retry loop (both
  functions make '/psm_' + 8 hex digits).

Nothing else is replaced: libshm registers its blocks with multiprocessing's own resource
tracker, as the stdlib does, so the tests' calls to resource_tracker reach the registrations
libshm made.
"""


def install():
    import multiprocessing.shared_memory as shared_memory

    import libshm

    shared_memory.SharedMemory = libshm.SharedMemory
    shared_memory.ShareableList = libshm.ShareableList
    libshm._make_filename = lambda: shared_memory._make_filename()


def installed():
    """True if this process runs with libshm in the stdlib's place."""
    import multiprocessing.shared_memory as shared_memory

    import libshm

    return shared_memory.SharedMemory is libshm.SharedMemory
