"""Which lines of CPython's multiprocessing/shared_memory.py and resource_tracker.py a process
and the resource trackers it starts run (shm-harness --py-coverage): a sys.settrace tracer limited to those two files, standard
library only, for every CPython 3.8 - 3.13. start() begins; the lines are written at exit (and by
dump(), before a SIGKILL) to $SHM_AGENT_COVERAGE/<version>-<pid>.json with, for each file, its
path, the lines run and the lines its code objects have (what the compiler of this very version
calls executable)."""

import atexit
import dis
import json
import os
import platform
import sys
import threading
import types

FILES = ("shared_memory.py", "resource_tracker.py")
_lines = {}  # path -> set of line numbers run
_started = False


def _wanted(path):
    base = os.path.basename(path)
    return base in FILES and os.path.basename(os.path.dirname(path)) == "multiprocessing"


def _local(frame, event, arg):
    if event == "line":
        _lines[frame.f_code.co_filename].add(frame.f_lineno)
    return _local


def _global(frame, event, arg):
    path = frame.f_code.co_filename
    if path in _lines:
        _lines[path].add(frame.f_lineno)  # the def/class line itself (the "call" event)
        return _local
    if _wanted(path):
        _lines[path] = {frame.f_lineno}
        return _local
    return None


def _executable(path):
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    lines, todo = set(), [code]
    while todo:
        c = todo.pop()
        lines.update(line for _, line in dis.findlinestarts(c) if line is not None and line > 0)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return lines


def dump():
    out = os.environ.get("SHM_AGENT_COVERAGE")
    if not out or not _started:
        return
    files = {}
    for path, run in _lines.items():
        files[os.path.basename(path)] = {"path": path, "run": sorted(run),
                                         "executable": sorted(_executable(path))}
    name = os.path.join(out, "%s-%d.json" % (platform.python_version(), os.getpid()))
    with open(name + ".tmp", "w") as f:
        json.dump({"version": platform.python_version(), "argv": sys.argv[:3], "files": files}, f)
    os.replace(name + ".tmp", name)


def trace_trackers():
    """Makes the resource trackers this process starts trace too. Agents run isolated (-I),
    which their trackers inherit, so no PYTHONPATH or sitecustomize reaches them: the tracker's
    "-c" command is prefixed with the start of this tracer instead."""
    from multiprocessing import util
    here = os.path.dirname(os.path.abspath(__file__))
    spawn = util.spawnv_passfds

    def spawnv_passfds(path, args, passfds):
        args = list(args)
        if len(args) >= 2 and args[-2] == "-c":
            args[-1] = ("import sys; sys.path.insert(0, %r); import shm_line_tracer; "
                        "shm_line_tracer.start(); sys.path.pop(0)\n" % here) + args[-1]
        return spawn(path, args, passfds)

    util.spawnv_passfds = spawnv_passfds


def start():
    global _started
    if _started or not os.environ.get("SHM_AGENT_COVERAGE"):
        return
    _started = True
    sys.settrace(_global)
    threading.settrace(_global)
    atexit.register(dump)
