"""PEP 517 build backend for the Python module `libshm`, stdlib only.

pip calls build_wheel() with the interpreter it installs for. The backend configures the
repository's CMake project (two directories up) with that interpreter first in SHM_PYTHONS,
so the project's own CPython discovery (compat/tools/find_cpythons.py, run by
compat/python/CMakeLists.txt) decides its include directory and extension suffix; then it builds only that interpreter's
module target and packs libshm/__init__.py and libshm/_core*.so into a wheel.

Environment:
  LIBSHM_BUILD_DIR         CMake build tree to use (default <repo>/build/python-package); one tree
                           serves every interpreter, libshm itself is compiled once.
  CMAKE_BUILD_PARALLEL_LEVEL  jobs for `cmake --build` (default 2).
"""

import base64
import fcntl
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_SOURCE = os.path.dirname(_HERE)  # compat/python
_REPO = os.path.dirname(os.path.dirname(_PACKAGE_SOURCE))
_NAME = "libshm"


def _version():
    with open(os.path.join(_REPO, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*libshm\s+VERSION\s+([0-9.]+)", f.read())
    if not m:
        raise RuntimeError("%s is not libshm's CMakeLists.txt: build from a checkout of the "
                           "repository (pip install ./compat/python)" % _REPO)
    return m.group(1)


def _tag():
    impl = "cp%d%d" % sys.version_info[:2]
    abi = impl + ("d" if hasattr(sys, "gettotalrefcount") else "")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (impl, abi, plat)


def _run(cmd, log):
    log.write("$ %s\n" % " ".join(cmd))
    log.flush()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    log.write(proc.stdout)
    log.flush()
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-6000:])
        raise RuntimeError("libshm build: %s failed (exit %d); log: %s"
                           % (cmd[0], proc.returncode, log.name))
    return proc.stdout


def _build_extension():
    """Builds the module for this interpreter; returns the path of _core<EXT_SUFFIX>."""
    build = os.path.abspath(os.environ.get("LIBSHM_BUILD_DIR")
                            or os.path.join(_REPO, "build", "python-package"))
    os.makedirs(build, exist_ok=True)
    exe = os.path.realpath(sys.executable)
    with open(os.path.join(build, "pip-build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time in a shared tree
        with open(os.path.join(build, "pip-build.log"), "a") as log:
            out = _run(["cmake", "-S", _REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                        "-DLIBSHM_BUILD_TESTS=OFF", "-DLIBSHM_BUILD_HARNESS=OFF",
                        "-DLIBSHM_BUILD_CLI=OFF", "-DLIBSHM_BUILD_BENCH=OFF",
                        "-DLIBSHM_BUILD_PYTHON=ON", "-DSHM_PYTHONS=" + exe], log)
            # "libshm Python module: CPython 3.12.1 (/path/python3.12) -> <build>/.../3.12.1"
            module_dir = None
            for m in re.finditer(r"libshm Python module: CPython \S+ \((.*)\) -> (.*)", out):
                if os.path.realpath(m.group(1)) == exe:
                    module_dir = m.group(2).strip()
            if module_dir is None:
                sys.stderr.write(out[-4000:])
                raise RuntimeError("libshm build: CMake did not set up a module for %s "
                                   "(needs CPython 3.8+ with Python.h)" % exe)
            target = "libshm_python_" + re.sub(r"[^A-Za-z0-9_]", "_",
                                               os.path.basename(module_dir))
            jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
            _run(["cmake", "--build", build, "--target", target, "-j", jobs], log)
    core = os.path.join(module_dir, _NAME, "_core" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.isfile(core):
        raise RuntimeError("libshm build: %s was not built" % core)
    return core


def _dist_info(version, tag):
    metadata = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: CPython's "
                "multiprocessing.shared_memory, backed by the C++ library libshm\n"
                "Requires-Python: >=3.8\n" % (_NAME, version))
    wheel = ("Wheel-Version: 1.0\nGenerator: libshm _build/backend.py\n"
             "Root-Is-Purelib: false\nTag: %s\n" % tag)
    return {"METADATA": metadata, "WHEEL": wheel}


def _write_wheel(directory, files, version, tag):
    """files: {archive path: bytes}. Returns the wheel's file name."""
    info = "%s-%s.dist-info" % (_NAME, version)
    for name, text in _dist_info(version, tag).items():
        files[info + "/" + name] = text.encode("utf-8")
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append("%s,sha256=%s,%d" % (path, digest.decode("ascii"), len(data)))
    record.append(info + "/RECORD,,")
    files[info + "/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")
    wheel_name = "%s-%s-%s.whl" % (_NAME, version, tag)
    with zipfile.ZipFile(os.path.join(directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zi = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = (0o755 if path.endswith(".so") else 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return wheel_name


# PEP 517 hooks --------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    version = _version()
    info = "%s-%s.dist-info" % (_NAME, version)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    for name, text in _dist_info(version, _tag()).items():
        with open(os.path.join(metadata_directory, info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    core = _build_extension()
    files = {}
    with open(os.path.join(_PACKAGE_SOURCE, _NAME, "__init__.py"), "rb") as f:
        files[_NAME + "/__init__.py"] = f.read()
    with open(core, "rb") as f:
        files[_NAME + "/" + os.path.basename(core)] = f.read()
    return _write_wheel(wheel_directory, files, version, _tag())
