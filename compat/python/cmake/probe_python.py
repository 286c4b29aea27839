# Prints what CMake needs to build libshm's extension module for the interpreter running this
# script, one "key=value" per line. Runs under any Python (old ones are reported, then skipped).
import os
import sys

try:
    import sysconfig

    paths = sysconfig.get_paths()
    include, stdlib = paths["include"], paths["stdlib"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
except Exception:  # very old or broken interpreters
    include, stdlib, suffix = "", "", ""

implementation = getattr(sys, "implementation", None)
suite = os.path.join(stdlib, "test", "_test_multiprocessing.py")
print("version=%d.%d.%d" % tuple(sys.version_info[:3]))
print("implementation=%s" % (implementation.name if implementation else "unknown"))
print("executable=%s" % os.path.realpath(sys.executable))
print("include=%s" % include)
print("has_headers=%d" % os.path.isfile(os.path.join(include, "Python.h")))
print("ext_suffix=%s" % suffix)
print("has_test_suite=%d" % os.path.isfile(suite))
