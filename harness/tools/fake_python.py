"""Runs a Python program on this interpreter while reporting another CPython version.

    python3 -I harness/tools/fake_python.py 3.12.7 [-I] program.py [args...]

platform.python_version() answers the given version; everything else (sys.version_info, the
stdlib, its behaviour) stays the real interpreter's. The harness's canaries use this to stand in
for CPython releases this machine does not have (a patch release no run verified, a future
3.99), so that the runner's judging of versions it has never seen is tested without
special-casing anything in the runner. Standard library only; CPython 3.8+ syntax.
"""

import platform
import runpy
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    version = sys.argv[1]
    args = sys.argv[2:]
    while args and args[0].startswith("-"):  # interpreter options (-I): this run is isolated
        args = args[1:]
    if not args:
        sys.stderr.write("fake_python: no program to run\n")
        return 2
    platform.python_version = lambda: version
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
