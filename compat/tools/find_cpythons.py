#!/usr/bin/env python3
"""Every CPython here with multiprocessing.shared_memory: the one discovery that the build
(compat/python/CMakeLists.txt), the conformance runner (harness/runner/discovery.cpp), ci/bench,
compat/tools/regen_vectors and compat/tools/gen_printable.py all use. The rules are described
in harness/README.md ("How interpreters are chosen").

    find_cpythons.py [--json]

Prints one line per CPython, oldest first: "VERSION<TAB>PATH<TAB>FOUND_VIA" (the rule that
found it: SHM_PYTHONS, pyenv, PATH or ci/cpythons, the cache that script fills), and notes
about skipped candidates on stderr. --json prints {"pythons": [...], "skipped": [...]} instead,
each CPython with what the build needs as well (executable, include, multiarch_include, has_headers,
ext_suffix, has_test_suite). Exit 0, even if none is
found. Standard library only; runs under CPython 3.8+.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TIMEOUT = 30  # seconds for all probes: a hanging candidate is skipped, not waited for

# Run by each candidate as a file (not -c: harness/tools/fake_python.py wrappers run programs
# only), hence this script probes with itself. Must run on old interpreters to report them.
PROBE_ARG = "--probe"


def probe_self():
    """What the build and the runners need about the interpreter running this, as JSON."""
    import platform

    info = {"version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": os.path.realpath(sys.executable)}
    try:
        import multiprocessing.shared_memory  # noqa: F401  (3.8+)

        info["shared_memory"] = True
    except ImportError:
        info["shared_memory"] = False
    try:
        import sysconfig

        paths = sysconfig.get_paths()
        info["include"] = paths["include"]
        # Debian's pyconfig.h includes <MULTIARCH/python3.X/pyconfig.h>, which outside /usr
        # (ci/cpythons' unpacked prefixes) the compiler does not find: the build links that
        # one directory (never the prefix's whole include tree, whose C library headers are
        # not the system's) into a directory of its own.
        info["multiarch_include"] = None
        multiarch = sysconfig.get_config_var("MULTIARCH") or ""
        parent = os.path.dirname(paths["include"])
        name = os.path.join(multiarch, os.path.basename(paths["include"]))
        if (multiarch and parent not in ("/usr/include", "/usr/local/include")
                and os.path.isfile(os.path.join(parent, name, "pyconfig.h"))):
            info["multiarch_include"] = {"name": name, "dir": os.path.join(parent, name)}
        info["has_headers"] = os.path.isfile(os.path.join(paths["include"], "Python.h"))
        info["ext_suffix"] = sysconfig.get_config_var("EXT_SUFFIX") or ""
        info["has_test_suite"] = os.path.isfile(
            os.path.join(paths["stdlib"], "test", "_test_multiprocessing.py"))
    except Exception:  # a broken installation: reported, the build skips it
        info.update(include="", multiarch_include=None, has_headers=False, ext_suffix="", has_test_suite=False)
    sys.stdout.write(json.dumps(info) + "\n")


def pyenv_root():
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            root = subprocess.run([pyenv, "root"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, universal_newlines=True,
                                  timeout=TIMEOUT).stdout.strip()
            if root:
                return root
        except (OSError, subprocess.SubprocessError):
            pass
    return os.path.join(os.path.expanduser("~"), ".pyenv")


def cpythons_cache():
    """Where ci/cpythons unpacks today's CPythons (the same default and variable as there)."""
    if os.environ.get("SHM_CPYTHONS_DIR"):
        return os.environ["SHM_CPYTHONS_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "libshm", "cpythons")


def candidates():
    """(path, found_via) in rule order: the first of a full version wins."""
    found = []
    # SHM_PYTHONS: paths, or names looked up on PATH; colon- or blank-separated.
    for entry in re.split(r"[:\s]+", os.environ.get("SHM_PYTHONS", "")):
        if entry:
            found.append((entry if "/" in entry else shutil.which(entry) or entry,
                          "SHM_PYTHONS"))
    root = pyenv_root()
    for path in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3"))):
        found.append((path, "pyenv"))
    # pyenv's shims only re-run the versions above, slowly, and fail for unselected ones.
    shims = os.path.realpath(os.path.join(root, "shims"))
    for directory in os.environ.get("PATH", "").split(":"):
        if not directory or not os.path.isdir(directory):
            continue
        if os.path.realpath(directory) == shims:
            continue
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if re.fullmatch(r"python3(\.[0-9]+)?", name) and os.access(path, os.X_OK):
                found.append((path, "PATH"))
    # ci/cpythons' releases, one prefix each; only complete ones (the stamp is written last).
    cache = cpythons_cache()
    for stamp in sorted(glob.glob(os.path.join(cache, "*", ".libshm-complete"))):
        bindir = os.path.join(os.path.dirname(stamp), "usr", "bin")
        for path in sorted(glob.glob(os.path.join(bindir, "python3.*"))):
            if re.fullmatch(r"python3\.[0-9]+", os.path.basename(path)):
                found.append((path, "ci/cpythons"))
    return found


def discover():
    """(pythons, skipped): CPythons with shared memory, deduplicated, oldest first."""
    seen_paths, todo = set(), []
    for path, via in candidates():
        real = os.path.realpath(path)
        if real not in seen_paths:
            seen_paths.add(real)
            todo.append((path, via))
    # Probing is mostly interpreter start-up: all at once.
    running = []
    for path, via in todo:
        try:
            # Its own session, so that a timeout kills what it started too (a wrapper's child
            # would keep the pipe open).
            proc = subprocess.Popen([path, "-I", os.path.abspath(__file__), PROBE_ARG],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, universal_newlines=True,
                                    start_new_session=True)
        except OSError as e:
            running.append((path, via, None, e.strerror or str(e)))
            continue
        running.append((path, via, proc, None))
    pythons, skipped, versions = [], [], set()
    deadline = time.monotonic() + TIMEOUT
    for path, via, proc, error in running:
        info = None
        if proc is not None:
            try:
                out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
                lines = out.strip().splitlines()
                info = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
                if info is None:
                    error = (err.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                error = "no answer within %d s" % TIMEOUT
            except ValueError:
                error = "unreadable answer"
        if info is not None:
            if info["implementation"] != "CPython":
                error = "%s %s, not CPython" % (info["implementation"], info["version"])
            elif not info["shared_memory"]:
                error = "CPython %s has no multiprocessing.shared_memory (needs 3.8+)" % (
                    info["version"])
            elif info["version"] in versions:
                continue  # the same version, found first by an earlier rule
        if error:
            skipped.append({"path": path, "found_via": via, "reason": error})
            continue
        versions.add(info["version"])
        info.update(path=path, found_via=via)
        del info["shared_memory"], info["implementation"]
        pythons.append(info)
    pythons.sort(key=lambda p: [int(x) if x.isdigit() else 0
                                for x in re.split(r"[.a-z+]+", p["version"])])
    return pythons, skipped


def print_skipped(skipped, prog):
    """The skipped candidates as notes on stderr, each prefixed with `prog`."""
    for s in skipped:
        sys.stderr.write("%s: skipping %s (%s): %s\n"
                         % (prog, s["path"], s["found_via"], s["reason"]))


def main():
    if sys.argv[1:] == [PROBE_ARG]:
        probe_self()
        return 0
    if sys.argv[1:] not in ([], ["--json"]):
        sys.stderr.write(__doc__)
        return 2
    pythons, skipped = discover()
    if sys.argv[1:] == ["--json"]:
        json.dump({"pythons": pythons, "skipped": skipped}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print_skipped(skipped, "find_cpythons")
    for p in pythons:
        sys.stdout.write("%s\t%s\t%s\n" % (p["version"], p["path"], p["found_via"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
