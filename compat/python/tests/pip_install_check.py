"""ctest python.pip_install: `pip install ./compat/python` under each CPython given, offline.

For every interpreter on the command line: a fresh virtual environment, then
`pip install --no-index <compat/python>` (the in-tree backend, _build/backend.py, builds the
extension with CMake for that interpreter), then a smoke program run from a directory outside the
repository that imports the installed package and shares a list with the stdlib. The first
interpreter also runs `pip wheel` and checks the wheel's contents. One CMake build tree
(--build-dir) serves all interpreters, so libshm itself is compiled once.

usage: pip_install_check.py --build-dir DIR PYTHON...
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # compat/python
REPO = os.path.dirname(os.path.dirname(SOURCE))

SMOKE = r"""
import os, sys
import libshm
from multiprocessing import resource_tracker, shared_memory
here = os.path.dirname(os.path.abspath(libshm.__file__))
assert here.startswith(sys.prefix), (here, sys.prefix)
assert not here.startswith(%(repo)r), here
items = [1, 2.5, True, None, "h\u00e9", b"xy"]
sl = libshm.ShareableList(items)
try:
    other = shared_memory.ShareableList(name=sl.shm.name)
    assert list(other) == items, list(other)
    assert bytes(other.shm.buf) == bytes(sl.shm.buf)
    other.shm.close()
    resource_tracker.unregister(other.shm._name, "shared_memory")
finally:
    sl.shm.close()
    sl.shm.unlink()
print("smoke ok: libshm %%s from %%s" %% (libshm.__version__, here))
"""


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, **kw)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        raise SystemExit("FAILED (exit %d): %s" % (proc.returncode, " ".join(cmd)))
    return proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("pythons", nargs="+")
    args = ap.parse_args()
    env = dict(os.environ, LIBSHM_BUILD_DIR=os.path.abspath(args.build_dir),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    work = tempfile.mkdtemp(prefix="libshm-pip-")
    failures = 0
    try:
        for i, python in enumerate(args.pythons):
            start = time.monotonic()
            venv = os.path.join(work, "venv%d" % i)
            try:
                run([python, "-m", "venv", venv], env=env)
                vpy = os.path.join(venv, "bin", "python")
                if i == 0:
                    wheels = os.path.join(work, "wheels")
                    run([vpy, "-m", "pip", "wheel", "--no-deps", "-w", wheels, SOURCE],
                        env=env, cwd=work)
                    (whl,) = os.listdir(wheels)
                    names = zipfile.ZipFile(os.path.join(wheels, whl)).namelist()
                    assert "libshm/__init__.py" in names, names
                    assert any(n.startswith("libshm/_core.") and n.endswith(".so")
                               for n in names), names
                    assert any(n.endswith(".dist-info/RECORD") for n in names), names
                    print("pip wheel: %s (%d files)" % (whl, len(names)), flush=True)
                run([vpy, "-m", "pip", "install", SOURCE], env=env, cwd=work)
                out = run([vpy, "-c", SMOKE % {"repo": REPO}], env=env, cwd=work)
                print("%s: pip install + smoke in %.1f s; %s"
                      % (python, time.monotonic() - start, out.strip()), flush=True)
            except (SystemExit, AssertionError) as e:
                failures += 1
                print("%s: FAILED: %s" % (python, e), flush=True)
            finally:
                shutil.rmtree(venv, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("pip install: %d of %d interpreters passed"
          % (len(args.pythons) - failures, len(args.pythons)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
