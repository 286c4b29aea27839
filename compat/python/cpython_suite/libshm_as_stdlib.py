"""Puts libshm in the place of the stdlib's shared memory, for CPython's own tests.

Imported at interpreter start-up by a .pth file in the adapter's virtual environment, so that
every Python process of a test run (the test runner, its fork()ed children, and subprocesses
started with sys.executable, even with -E or -I) uses libshm:

* multiprocessing.shared_memory.SharedMemory and .ShareableList become libshm's classes
  (multiprocessing.managers and the tests look them up there at call time);
* the stdlib's resource tracker calls for "shared_memory" resources go to libshm's tracker,
  which holds libshm's registrations: the tests call resource_tracker.unregister() to withdraw
  a registration that an attach made, and SharedMemoryManager calls ensure_running() so that
  its forked server shares the parent's tracker (bpo-36867), which must then be libshm's;
* libshm draws default block names from the stdlib's private _make_filename, looked up at each
  call, so that tests that mock it to force a name collision reach libshm's retry loop (both
  functions make '/psm_' + 8 hex digits).
"""


def install():
    import multiprocessing.resource_tracker as resource_tracker
    import multiprocessing.shared_memory as shared_memory

    import libshm

    shared_memory.SharedMemory = libshm.SharedMemory
    shared_memory.ShareableList = libshm.ShareableList
    libshm._make_filename = lambda: shared_memory._make_filename()

    stdlib_register = resource_tracker.register
    stdlib_unregister = resource_tracker.unregister
    stdlib_ensure_running = resource_tracker.ensure_running

    def register(name, rtype):
        if rtype == "shared_memory":
            libshm._tracker_register(name)
        else:
            stdlib_register(name, rtype)

    def unregister(name, rtype):
        if rtype == "shared_memory":
            libshm._tracker_unregister(name)
        else:
            stdlib_unregister(name, rtype)

    def ensure_running():
        libshm._tracker_ensure_running()
        stdlib_ensure_running()

    resource_tracker.register = register
    resource_tracker.unregister = unregister
    resource_tracker.ensure_running = ensure_running


def installed():
    """True if this process runs with libshm in the stdlib's place."""
    import multiprocessing.shared_memory as shared_memory

    import libshm

    return shared_memory.SharedMemory is libshm.SharedMemory
