#!/usr/bin/env python3
"""Writes the benchmark report: report.md (a table per operation, the targets, the scaling
series), getset.svg (per-item get/set time across implementations) and scaling.svg, from
libshm_bench's JSON (--cpp) and bench_py.py's JSON files (--py, any number).

Standard library only. Times are the best of several repeats of the benchmarking process's
CPU time (see bench_py.py and ci/bench); ratios compare numbers from the same run.

  report.py --cpp cpp.json --py py-*.json --out-dir build/bench [--elapsed SECONDS]
"""

import argparse
import datetime
import html
import json
import math
import os
import platform
import re
import sys

# -- what is measured ------------------------------------------------------------------------

TYPES = ["int", "float", "bool", "none", "str_short", "str_long", "bytes_short", "bytes_long"]
TYPE_LABELS = {
    "int": "int", "float": "float", "bool": "bool", "none": "None",
    "str_short": "str, 3 chars", "str_long": "str, 1000 chars",
    "bytes_short": "bytes, 3", "bytes_long": "bytes, 1000",
}
SCALARS = ["int", "float", "bool", "none"]
LIST_SIZES = [1, 100, 10000]
BLOCK_SIZES = ["4KiB", "1MiB"]
SCALE_SIZES = [10 ** k for k in range(7)]
BULK_BYTES = 64 << 20

TARGET_GET_NS = 5.0
TARGET_SET_NS = 10.0
TARGET_SYSCALL_RATIO = 1.2
TARGET_MODULE_SPEEDUP = 10.0
TARGET_BULK_RATIO = 0.8
TARGET_TYPED_NS = 1.5          # issue #17: get_as<T> per item
TARGET_TYPED_LOAD_RATIO = 5.0  # issue #17: get_as<T> ÷ a plain 8-byte load
TARGET_SCAN_LOAD_RATIO = 5.0   # issue #23: get_as<int64> over 1,000 items ÷ volatile loads of them
SCAN_ITEMS = 1000              # items of get_as.scan and load.scan (bench_list.cpp)
TARGET_ARRAY_VIEW_RATIO = 1.1  # issue #15: view sum ÷ raw loop
TARGET_TOLIST_SPEEDUP = 50.0   # issue #17: the module's list(sl) ÷ the stdlib's, every CPython
TARGET_TOLIST_PLAIN_RATIO = 3.0  # issue #17: list(sl) ÷ list(plain_list), per item
# Issue #22: the module against the stdlib of the same CPython, on every CPython in the run:
# list(sl) at least 50× the stdlib's speed, block and list create and attach at least as fast.
# Measured by bench_py.py --paired (both in one process, their repeats in turn) where the run
# has it, else from the two separate runs.
MODULE_TARGETS = [("list.tolist", "list(sl)", TARGET_TOLIST_SPEEDUP, "tolist.stdlib"),
                  ("shm.create.4KiB", "create 4 KiB", 1.0, "open.module"),
                  ("shm.attach.4KiB", "attach 4 KiB", 1.0, "open.module"),
                  ("shm.create.1MiB", "create 1 MiB", 1.0, "open.module"),
                  ("shm.attach.1MiB", "attach 1 MiB", 1.0, "open.module"),
                  ("list.create.100", "list create 100", 1.0, "open.module"),
                  ("list.attach.100", "list attach 100", 1.0, "open.module")]

# What bounds each target that this machine misses, from profiles (perf record) of the same
# operations; the report prints the note under the targets table when the target is missed.
BOUNDS = {
    "create.tracked": (
        "A tracked create + unlink makes five system calls the bare sequence does not need or "
        "makes cheaper: the block is opened unnamed (O_TMPFILE), identified (fstat), registered "
        "(one send to the resource tracker), named (linkat) and, at unlink, unregistered (a "
        "second send). perf record of 30,000 creates (2026-12-01): linkat 10.5 % and the two "
        "sends 6.8 % of the time, against 23 µs of bare calls. The unnamed create is what makes "
        "a SIGKILL at any moment leave no block behind (the named create left 10 - 16 blocks "
        "behind in 40 kills of tracker_test's KillAtRandomMomentsOfCreatesLeavesNothing); the "
        "tracker's wake-ups, which were most of the cost before, are gone (it reads in batches, "
        "1 ms apart)."),
    "create.untracked": (
        "An untracked create is the bare sequence plus the name check and the handle; its unlink "
        "still tells the resource tracker, if one runs, to forget the name (any handle's unlink "
        "withdraws this process's registration): one send, about 1 µs."),
    "tolist.plain": (
        "list(plain_list) copies 1,000 references (about 1.2 ns an item); list(sl) makes a new "
        "object for every item that is not a cached small int, None or a bool (a float, a str "
        "decoded from UTF-8, a bytes), and reaches each item through the sequence protocol "
        "(PySeqIter calling the module's C sq_item slot), kept so that iter(sl) is the stdlib's "
        "iterator. perf record of list(sl) under CPython 3.13 (2026-12-01, 23 µs a call): "
        "object allocation and freeing 30 %, CPython's iteration (PySequence_GetItem, "
        "iter_iternext, list extend) 27 %, libshm's slot reads (view, fast_get, list_item) 17 %."),
    "tolist.stdlib": (
        "Both sides run the same CPython object allocation for each item; the stdlib's extra "
        "per-item cost (struct.unpack_from and the Python-level __getitem__) is what the ratio "
        "measures, so an interpreter with faster Python-level calls (3.11+, and Debian's "
        "optimised 3.13.18 / 3.14 / 3.15 builds) shows a lower ratio. What the module's side "
        "cannot go below, measured under CPython 3.15.2 (2026-12-05, module builds whose sq_item "
        "skips the block, best of 3 × 20,000 calls): the sequence protocol alone (sq_item "
        "returning None) 3.6 µs a call, the same plus making the same 1000 objects (ints, "
        "floats, 'abc', b'abc') 9.2 µs, the module 13.0 – 13.2 µs (13.3 µs before str items "
        "were copied without a second UTF-8 scan), the stdlib 710 µs: no reader through the "
        "sequence protocol can pass about 77× there, and libshm's slot reads are the 4 µs "
        "between. perf record of the module's list(sl) (3.15.2): libshm's view() 20 %, "
        "fast_get 11 %, list_item 3 %, the rest CPython (iteration, allocation, freeing)."),
    "open.module": (
        "Create and attach are system calls and the resource tracker on both sides: the module "
        "makes fewer system calls than the stdlib (strace, CPython 3.15.2, 200 attaches of a "
        "4 KiB block: openat, fstat, mmap, close, munmap, one write to the tracker; the stdlib "
        "also dups the descriptor for mmap: a fstat, a fcntl and a close more), and no stat "
        "any more to record what it registered. cProfile of 3,000 tracked 4 KiB attaches "
        "(3.15.2; stdlib / module): the write to the resource tracker 50 / 44 µs an attach, "
        "unmapping 40 / 36 µs, opening and mapping (shm_open + fstat + mmap / the C++ attach) "
        "about 12 µs on both; they are the same calls, whose cost moves by tens of µs "
        "with the load of the shared machine (the tracker's write wakes another process), "
        "against a few µs of difference in the Python layers. A ratio below 1 "
        "by a few % is that noise; run ci/bench again, or bench_py.py --paired --only paired "
        "under that CPython, to see it move."),
}

# -- loading ---------------------------------------------------------------------------------

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load_cpp(path, clock):
    """{op: {impl: seconds}} (best repetition) and the run's context."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    field = "cpu_time" if clock == "cpu" else "real_time"
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b:
            continue
        op, _, impl = b["name"].partition("/")
        impl = impl.split("/")[0]  # drop any "/repeats:N" suffix
        # Multi-threaded runs (UseRealTime: "/real_time" in the name) are elapsed time.
        timed = "real_time" if "/real_time" in b["name"] else field
        seconds = b[timed] * UNIT_SECONDS[b.get("time_unit", "ns")]
        cell = out.setdefault(op, {})
        key = {"libshm": "cpp", "libshm_untracked": "cpp_untracked"}.get(impl, impl)
        cell[key] = min(cell.get(key, math.inf), seconds)
    return out, data.get("context", {})


def version_key(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def load_py(paths):
    """[(run dict)] of the available runs, and notes on those that were not."""
    runs, notes = [], []
    for path in paths:
        try:
            with open(path) as f:
                run = json.load(f)
        except (OSError, ValueError) as e:
            notes.append("%s: unreadable (%s)" % (os.path.basename(path), e))
            continue
        if not run.get("available"):
            notes.append("%s under Python %s: %s" % (run.get("impl"), run.get("python"),
                                                     run.get("reason", "not available")))
            continue
        runs.append(run)
    runs.sort(key=lambda r: (r["impl"] != "libshm", version_key(r["python"])))
    return runs, notes


# -- formatting ------------------------------------------------------------------------------

def fmt_time(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return "%.*f %s" % (digits, v, unit)
    return "—"


def fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return ""
    if r >= 100:
        return "×%.0f" % r
    if r >= 10:
        return "×%.1f" % r
    return "×%.2f" % r


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


class Report:
    def __init__(self, cpp, context, runs, clock, numpy=None):
        self.cpp = cpp
        self.numpy = numpy  # bench_numpy.py's result, or None
        self.context = context
        self.runs = runs
        self.clock = clock
        self.module_runs = [r for r in runs if r["impl"] == "libshm"]
        self.stdlib_runs = [r for r in runs if r["impl"] == "stdlib"]
        # The module column of the big tables: the newest CPython it was measured under.
        self.module = self.module_runs[-1] if self.module_runs else None

    # values ----------------------------------------------------------------------------
    def c(self, op, impl="cpp"):
        return self.cpp.get(op, {}).get(impl)

    @staticmethod
    def p(run, op):
        if run is None:
            return None
        return run["results"].get(op)

    def module_vs_stdlib(self, module_run, op):
        """(stdlib seconds, module seconds, paired) for one module run: the --paired
        measurement of that process where there is one, else the two separate runs."""
        pair = (module_run.get("paired") or {}).get(op)
        if pair and pair.get("stdlib") and pair.get("libshm"):
            return pair["stdlib"], pair["libshm"], True
        stdlib = next((r for r in self.stdlib_runs if r["python"] == module_run["python"]), None)
        return self.p(stdlib, op), self.p(module_run, op), False

    def module_targets_table(self):
        """Issue #22's rows: every CPython of the run, the module's speed against its stdlib's
        for MODULE_TARGETS, each marked met or missed; under the table, what bounds the misses.
        Records the misses in self.module_missed ({bound key: {CPython: [what, ...]}})."""
        self.module_missed = {}
        if not self.module_runs:
            return None
        header = ["CPython"] + ["%s (≥ %g×)" % (label, goal) for _, label, goal, _ in MODULE_TARGETS]
        rows = []
        any_separate = False
        for m in self.module_runs:
            row = [m["python"]]
            for op, label, goal, bound in MODULE_TARGETS:
                a, b, paired = self.module_vs_stdlib(m, op)
                if not (a and b):
                    row.append("—")
                    continue
                any_separate |= not paired
                ok = a / b >= goal
                # Enough digits that a miss never reads as the goal itself (×0.998, not ×1.00).
                text = fmt_ratio(a / b)
                if fmt_ratio(goal) == text and not ok:
                    text = "×%.3f" % (a / b)
                if not ok:
                    self.module_missed.setdefault(bound, {}).setdefault(m["python"], []).append(
                        "%s %s" % (label, text))
                row.append("%s %s%s" % (text, "met" if ok else "**missed**",
                                        "" if paired else " (separate runs)"))
            rows.append(row)
        out = table(header, rows)
        out += ("\n\nThe stdlib's time ÷ the module's under the same CPython (× above 1: the module "
                "is faster). Timed by `bench_py.py --impl libshm --paired`: the stdlib's and the "
                "module's repeats in turn in one process, so both meet the same machine load")
        out += ("; cells marked (separate runs) compare the two separate runs instead." if
                any_separate else ".")
        for bound, where in self.module_missed.items():
            out += "\n\nMissed: %s. What bounds it: %s" % (
                "; ".join("%s %s" % (v, ", ".join(ops)) for v, ops in where.items()),
                BOUNDS[bound])
        return out

    def py_columns(self):
        cols = []
        if self.module is not None:
            cols.append(("libshm py %s" % self.module["python"], self.module))
        else:
            cols.append(("libshm py", None))
        for run in self.stdlib_runs:
            cols.append(("stdlib %s" % run["python"], run))
        return cols

    def cell(self, seconds, reference, per=1):
        if seconds is None:
            return "—"
        text = fmt_time(seconds / per)
        if reference:
            text += " " + fmt_ratio(seconds / reference)
        return text

    # tables ----------------------------------------------------------------------------
    def item_table(self, kind):
        """get or set: a row per type; columns C++, module, stdlib per version."""
        cols = self.py_columns()
        header = ["item type", "libshm C++"] + [name for name, _ in cols]
        rows = []
        for t in TYPES:
            op = "%s.%s" % (kind, t)
            ref = self.c(op)
            row = [TYPE_LABELS[t], self.cell(ref, None)]
            row += [self.cell(self.p(run, op), ref) for _, run in cols]
            rows.append(row)
        return table(header, rows)

    def list_table(self):
        cols = self.py_columns()
        header = ["operation", "libshm C++"] + [name for name, _ in cols]
        specs = [("list.format", "format (1000 mixed items)"),
                 ("list.count", "count(0) (1000 mixed items)"),
                 ("list.iterate", "iterate (1000 mixed items)"),
                 ("list.tolist", "list(sl) (1000 mixed items)"),
                 ("plain.tolist", "reference: list(plain_list) of the same 1000 items"),
                 ("list.index.last", "index(item 996) (1000 mixed items)"),
                 ("list.repr", "repr (1000 mixed items)")]
        for n in LIST_SIZES:
            specs.append(("list.create.%d" % n, "create(%s items) + close + unlink" % f"{n:,}"))
        for n in LIST_SIZES:
            specs.append(("list.attach.%d" % n, "attach(%s items) + close" % f"{n:,}"))
        rows = []
        for op, label in specs:
            ref = self.c(op)
            rows.append([label, self.cell(ref, None)] +
                        [self.cell(self.p(run, op), ref) for _, run in cols])
        return table(header, rows)

    def block_table(self):
        cols = self.py_columns()
        header = ["operation", "bare syscalls (C)", "libshm C++ untracked", "libshm C++ (tracked)"]
        header += [name for name, _ in cols]
        rows = []
        for size in BLOCK_SIZES:
            for what, label in (("create", "create + touch + close + unlink"),
                                ("attach", "attach + touch + close")):
                op = "shm.%s.%s" % (what, size)
                bare = self.c(op, "bare")
                untracked = self.c(op, "cpp_untracked") if what == "create" else None
                tracked = self.c(op)
                row = ["%s, %s" % (label, size), self.cell(bare, None),
                       self.cell(untracked, bare) if what == "create" else "(attach is untracked)",
                       self.cell(tracked, bare)]
                row += [self.cell(self.p(run, op), bare) for _, run in cols]
                rows.append(row)
        return table(header, rows)

    def bulk_table(self):
        cols = self.py_columns()
        header = ["operation, 64 MiB", "memcpy (C)", "libshm C++"] + [name for name, _ in cols]
        rows = []
        for op, label in (("bulk.read", "read: block → private buffer"),
                          ("bulk.write", "write: private buffer → block")):
            ref = self.c(op, "memcpy")
            row = [label, self.cell(ref, None) + gbps(ref), self.cell(self.c(op), ref) + gbps(self.c(op))]
            row += [self.cell(self.p(run, op), ref) + gbps(self.p(run, op)) for _, run in cols]
            rows.append(row)
        return table(header, rows)

    def typed_table(self):
        """C++ reads that build no Item, against get() and a plain load of the same slot."""
        load = self.c("load.int", "raw")
        rows = []
        for op, label in (("load.int", "reference: a plain 8-byte load of the slot"),
                          ("get.int", "get(i) → shm::Item (int)"),
                          ("get_as.int", "get_as<std::int64_t>(i)"),
                          ("get_as.float", "get_as<double>(i)"),
                          ("get.str_short", "get(i) → shm::Item (short str)"),
                          ("get_view.str_short", "get_view(i) (short str, no copy)"),
                          ("get_view.str_long", "get_view(i) (1000-character str, no copy)"),
                          ("read_into.int.1000", "read_into of 1000 ints, per item")):
            v = self.c(op, "raw" if op == "load.int" else "cpp")
            per = 1000 if op.startswith("read_into") else 1
            rows.append([label, self.cell(v, load * per if load and op != "load.int" else None,
                                          per)])
        # The sequential scan has its own reference: the same 1000 slots loaded in a loop, which
        # pipelines as a single repeated load cannot.
        load_scan = self.c("load.scan", "raw")
        rows.append(["reference for the scan: volatile 8-byte loads of 1000 int slots, summed",
                     self.cell(load_scan, None, SCAN_ITEMS)])
        rows.append(["get_as<std::int64_t>(i) for i over those 1000 ints, summed (× the loads)",
                     self.cell(self.c("get_as.scan"), load_scan, SCAN_ITEMS)])
        return table(["operation (item 50 of 100, or all 1000)", "time per item (× the plain load)"],
                     rows)

    def array_sum(self):
        """{implementation: seconds} of summing the 1-D `<f8` array, and its element count."""
        sums = {impl: self.c("array.sum.f8", impl) for impl in ("raw", "view", "view_strided")}
        if self.numpy:
            sums["numpy"] = self.numpy.get("array.sum.f8/numpy")
        return sums

    def array_table(self):
        sums = self.array_sum()
        raw = sums.get("raw")
        n = (self.numpy or {}).get("elements")
        rows = []
        for impl, label in (("raw", "raw loop over the block's `double*` (C++)"),
                            ("view", "range-for over `NpyArray::cview().as<double>()` (C++)"),
                            ("view_strided", "the same through a Fortran-order 2-D view, "
                                             "C-order iteration (C++, its own block)"),
                            ("numpy", "numpy's `a.sum()` on the block (%s)" % (
                                "numpy %s, CPython %s" % (self.numpy["numpy"], self.numpy["python"])
                                if self.numpy else "not measured in this run"))):
            v = sums.get(impl)
            per_element = " (%s an element)" % fmt_time(v / n) if v and n else ""
            rows.append([label, self.cell(v, raw if impl != "raw" else None) + per_element])
        return table(["sum of %s `<f8` elements" % (f"{n:,}" if n else "100,000,000"),
                      "time (× the raw loop)"], rows)

    def atomic_table(self):
        """Atomic fetch-add (issue 24): C++ and the module, against a Lock-protected increment."""
        rows = []
        alone_ref = self.c("atomic.fetch_add.block")
        for op, impl, label in (
                ("atomic.fetch_add.private", "std", "reference: `std::atomic<int64_t>::fetch_add` "
                                                    "on private memory"),
                ("atomic.fetch_add.block", "cpp", "`shm::atomic_int64(block, 64).fetch_add(1)`, "
                                                  "handle made once"),
                ("atomic.fetch_add.list", "cpp", "`list.atomic_int64(50).fetch_add(1)`, handle made "
                                                 "once"),
                ("atomic.fetch_add.list_each_call", "cpp", "`list.atomic_int64(50).fetch_add(1)`, "
                                                           "handle made on every call")):
            alone = self.c(op, impl)
            if op == "atomic.fetch_add.block":
                both = self.c("atomic.fetch_add.contended2")
            elif op == "atomic.fetch_add.private":
                both = self.c("atomic.fetch_add.contended2", "std")
            else:
                both = None
            rows.append(["C++ " + label, self.cell(alone, alone_ref if impl != "cpp" or
                                                    op != "atomic.fetch_add.block" else None),
                         "%s (2 threads)" % fmt_time(both) if both else "—"])
        module_ref = self.p(self.module, "atomic.fetch_add.list")
        specs = []
        if self.module is not None:
            specs += [(self.module, "atomic.fetch_add.list", "`sl.atomic_fetch_add(50, 1)`"),
                      (self.module, "atomic.fetch_add.block", "`shm.atomic_fetch_add(64, 1)`"),
                      (self.module, "atomic.locked_increment",
                       "`with lock: sl[50] += 1` (multiprocessing.Lock)")]
        for run in self.stdlib_runs:
            specs.append((run, "atomic.locked_increment",
                          "`with lock: sl[50] += 1` (multiprocessing.Lock)"))
        for run, op, label in specs:
            who = "libshm py" if run["impl"] == "libshm" else "stdlib"
            alone = self.p(run, op)
            both = self.p(run, op + ".contended2")
            rows.append(["%s %s: %s" % (who, run["python"], label),
                         self.cell(alone, module_ref if op != "atomic.fetch_add.list" or
                                   run["impl"] != "libshm" else None),
                         "%s (2 processes)" % fmt_time(both) if both else "—"])
        return table(["operation", "alone (×: C++ rows ÷ the block fetch_add, Python rows ÷ the "
                      "module's sl.atomic_fetch_add)", "two at once, per addition in each"], rows)

    def sync_table(self):
        """CPython's Lock and Semaphores (issue 24): uncontended, and ping-pong round trips."""
        bare = self.c("sync.lock", "bare")
        rows = [["C++ `sem_wait` + `sem_post` (reference)", self.cell(bare, None)],
                ["C++ `shm::Lock` acquire + release", self.cell(self.c("sync.lock"), bare)]]
        for run in self.stdlib_runs:
            rows.append(["CPython %s `multiprocessing.Lock` acquire + release" % run["python"],
                         self.cell(self.p(run, "sync.lock"), bare)])
        trip = self.c("sync.pingpong.cpp-cpp")
        rows.append(["ping-pong round trip, C++ ↔ C++ (two `shm::Semaphore`s)",
                     self.cell(trip, None)])
        rows.append(["ping-pong round trip, C++ ↔ CPython (stdlib, the Semaphores unpickled)",
                     self.cell(self.c("sync.pingpong.cpp-py"), trip)])
        for run in self.stdlib_runs:
            rows.append(["ping-pong round trip, CPython %s ↔ CPython (spawned child)"
                         % run["python"], self.cell(self.p(run, "sync.pingpong.py-py"), trip)])
        return table(["operation", "time (× the first row of its kind)"], rows)

    def module_table(self):
        """The module against the stdlib under the same interpreter."""
        if not self.module_runs:
            return None
        ops = ["get.int", "get.str_short", "set.int", "set.str_short", "list.iterate",
               "list.tolist", "list.attach.100", "shm.attach.4KiB"]
        header = ["CPython"] + ["%s stdlib / module" % op for op in ops]
        stdlib = {r["python"]: r for r in self.stdlib_runs}
        rows = []
        for m in self.module_runs:
            s = stdlib.get(m["python"])
            row = [m["python"]]
            for op in ops:
                a, b = self.p(s, op), self.p(m, op)
                row.append("%s / %s %s" % (fmt_time(a), fmt_time(b), fmt_ratio(a / b))
                           if a and b else "—")
            rows.append(row)
        return table(header, rows)

    def scaling_table(self, kind):
        cols = self.py_columns()
        header = ["N items", "libshm C++"] + [name for name, _ in cols]
        rows = []
        for n in SCALE_SIZES:
            op = "scale.%s.%d" % (kind, n)
            per = n if kind == "iterate" else 1
            ref = self.c(op)
            row = [f"{n:,}", self.cell(ref, None, per)]
            for _, run in cols:
                v = self.p(run, op)
                if v is None and run is not None and op in run.get("skipped", {}):
                    row.append("skipped")
                else:
                    row.append(self.cell(v, ref, per) if v is not None else "—")
            rows.append(row)
        return table(header, rows)

    # targets ---------------------------------------------------------------------------
    def targets(self):
        rows = []
        self.missed = []  # keys of BOUNDS, for the targets this run misses

        def verdict(ok):
            return "—" if ok is None else ("met" if ok else "**missed**")

        gets = {t: self.c("get." + t) for t in SCALARS}
        sets = {t: self.c("set." + t) for t in SCALARS}
        if all(gets.values()):
            worst = max(gets, key=gets.get)
            rows.append(["C++ get per item (int, float, bool, None)", "≤ %g ns" % TARGET_GET_NS,
                         "%s (int); worst %s (%s)" % (fmt_time(gets["int"]),
                                                      fmt_time(gets[worst]), TYPE_LABELS[worst]),
                         verdict(gets[worst] <= TARGET_GET_NS * 1e-9)])
        if all(sets.values()):
            worst = max(sets, key=sets.get)
            rows.append(["C++ set per item (int, float, bool, None)", "≤ %g ns" % TARGET_SET_NS,
                         "%s (int); worst %s (%s)" % (fmt_time(sets["int"]),
                                                      fmt_time(sets[worst]), TYPE_LABELS[worst]),
                         verdict(sets[worst] <= TARGET_SET_NS * 1e-9)])
        for size in BLOCK_SIZES:
            bare = self.c("shm.create." + size, "bare")
            for impl, label in (("cpp_untracked", "untracked"), ("cpp", "tracked")):
                v = self.c("shm.create." + size, impl)
                if bare and v:
                    rows.append(["SharedMemory create, %s, %s ÷ bare syscalls" % (size, label),
                                 "≤ %g×" % TARGET_SYSCALL_RATIO,
                                 "%s (%s vs %s)" % (fmt_ratio(v / bare), fmt_time(v), fmt_time(bare)),
                                 verdict(v / bare <= TARGET_SYSCALL_RATIO)])
                    if v / bare > TARGET_SYSCALL_RATIO:
                        self.missed.append("create." + label)
            bare = self.c("shm.attach." + size, "bare")
            v = self.c("shm.attach." + size)
            if bare and v:
                rows.append(["SharedMemory attach, %s ÷ bare syscalls" % size,
                             "≤ %g×" % TARGET_SYSCALL_RATIO,
                             "%s (%s vs %s)" % (fmt_ratio(v / bare), fmt_time(v), fmt_time(bare)),
                             verdict(v / bare <= TARGET_SYSCALL_RATIO)])
        stdlib = {r["python"]: r for r in self.stdlib_runs}
        if self.module_runs:
            speedups = []
            for m in self.module_runs:
                a, b = self.p(stdlib.get(m["python"]), "get.int"), self.p(m, "get.int")
                if a and b:
                    speedups.append((a / b, m["python"]))
            if speedups:
                low = min(speedups)
                rows.append(["Python module getitem (int) vs stdlib, same CPython",
                             "≥ %g× faster" % TARGET_MODULE_SPEEDUP,
                             "%s–%s (lowest under %s)" % (fmt_ratio(low[0]),
                                                           fmt_ratio(max(speedups)[0]), low[1]),
                             verdict(low[0] >= TARGET_MODULE_SPEEDUP)])
        else:
            rows.append(["Python module getitem vs stdlib", "≥ %g× faster" % TARGET_MODULE_SPEEDUP,
                         "not measured: the libshm module was not available", "—"])
        for op, label in (("bulk.read", "read"), ("bulk.write", "write")):
            ref, v = self.c(op, "memcpy"), self.c(op)
            if ref and v:
                rows.append(["bulk %s of 64 MiB, throughput ÷ memcpy's" % label,
                             "≥ %g×" % TARGET_BULK_RATIO,
                             "%s (%s vs %s)" % (fmt_ratio(ref / v), fmt_time(v), fmt_time(ref)),
                             verdict(ref / v >= TARGET_BULK_RATIO)])
        if self.module_runs:
            tolist = []
            plain = []
            opens = []
            for m in self.module_runs:
                a, b, _ = self.module_vs_stdlib(m, "list.tolist")
                if a and b:
                    tolist.append((a / b, m["python"]))
                for op, _, _, bound in MODULE_TARGETS:
                    a, b, _ = self.module_vs_stdlib(m, op)
                    if bound == "open.module" and a and b:
                        opens.append((a / b, "%s %s" % (m["python"], op)))
                b = self.p(m, "list.tolist")
                ref = self.p(m, "plain.tolist")
                if b and ref:
                    plain.append((b / ref, m["python"]))
            if tolist:
                low = min(tolist)
                ok = low[0] >= TARGET_TOLIST_SPEEDUP
                rows.append(["Python module list(sl) vs stdlib, 1000 mixed items, every CPython",
                             "≥ %g× faster" % TARGET_TOLIST_SPEEDUP,
                             "%s–%s (lowest under %s)" % (fmt_ratio(low[0]),
                                                           fmt_ratio(max(tolist)[0]), low[1]),
                             verdict(ok)])
                if not ok:
                    self.missed.append("tolist.stdlib")
            if opens:
                low = min(opens)
                ok = low[0] >= 1.0
                rows.append(["Python module create and attach (blocks 4 KiB / 1 MiB, lists of 100) "
                             "vs stdlib, every CPython", "≥ 1× (as fast)",
                             "%s–%s (lowest: %s)" % (fmt_ratio(low[0]), fmt_ratio(max(opens)[0]),
                                                     low[1]),
                             verdict(ok)])
                if not ok:
                    self.missed.append("open.module")
            if plain:
                worst = max(plain)
                ok = worst[0] <= TARGET_TOLIST_PLAIN_RATIO
                rows.append(["Python module list(sl) ÷ list(plain_list), per item",
                             "≤ %g×" % TARGET_TOLIST_PLAIN_RATIO,
                             "%s–%s (highest under %s)" % (fmt_ratio(min(plain)[0]),
                                                            fmt_ratio(worst[0]), worst[1]),
                             verdict(ok)])
                if not ok:
                    self.missed.append("tolist.plain")
        typed = [self.c("get_as." + t) for t in ("int", "float")]
        load = self.c("load.int", "raw")
        if all(typed):
            worst = max(typed)
            rows.append(["C++ get_as<T> per item (int64, double)", "≤ %g ns" % TARGET_TYPED_NS,
                         "%s (int), %s (float)" % (fmt_time(typed[0]), fmt_time(typed[1])),
                         verdict(worst <= TARGET_TYPED_NS * 1e-9)])
            if load:
                rows.append(["C++ get_as<T> ÷ a plain 8-byte load", "≤ %g×" % TARGET_TYPED_LOAD_RATIO,
                             "%s (load %s)" % (fmt_ratio(worst / load), fmt_time(load)),
                             verdict(worst / load <= TARGET_TYPED_LOAD_RATIO)])
        scan, load_scan = self.c("get_as.scan"), self.c("load.scan", "raw")
        if scan and load_scan:
            r = scan / load_scan
            rows.append(["C++ get_as<int64> scan of 1000 items ÷ volatile loads of the same slots",
                         "≤ %g×" % TARGET_SCAN_LOAD_RATIO,
                         "%s (%s vs %s per item)" % (fmt_ratio(r), fmt_time(scan / SCAN_ITEMS),
                                                     fmt_time(load_scan / SCAN_ITEMS)),
                         verdict(r <= TARGET_SCAN_LOAD_RATIO)])
        sums = self.array_sum()
        if sums.get("raw") and sums.get("view"):
            r = sums["view"] / sums["raw"]
            rows.append(["array view sum ÷ raw loop (100 M `<f8`)", "≤ %g×" % TARGET_ARRAY_VIEW_RATIO,
                         "%s (%s vs %s)" % (fmt_ratio(r), fmt_time(sums["view"]),
                                            fmt_time(sums["raw"])),
                         verdict(r <= TARGET_ARRAY_VIEW_RATIO)])
        out = table(["target", "goal", "measured", ""], rows)
        if self.missed:
            out += "\n\nWhat bounds the missed targets:\n\n" + "\n".join(
                "- " + BOUNDS[key] for key in dict.fromkeys(self.missed))
        return out

    def headline(self):
        """The few numbers the README quotes."""
        rows = []
        pairs = [("get.int", "ShareableList get (int)"), ("set.int", "ShareableList set (int)"),
                 ("get.str_short", "ShareableList get (short str)"),
                 ("list.attach.100", "attach a 100-item list + close"),
                 ("list.create.100", "create a 100-item list + unlink")]
        newest = self.stdlib_runs[-1] if self.stdlib_runs else None
        stdlib = {r["python"]: r for r in self.stdlib_runs}
        same = stdlib.get(self.module["python"]) if self.module else None
        for op, label in pairs:
            cpp = self.c(op)
            row = [label, fmt_time(cpp)]
            if self.module:
                mod = self.p(self.module, op)
                ref = self.p(same, op)
                row.append("%s %s" % (fmt_time(mod), "(%s faster)" % fmt_ratio(ref / mod)
                                      if ref and mod else ""))
            else:
                row.append("—")
            s = self.p(newest, op)
            row.append("%s %s" % (fmt_time(s), "(%s C++)" % fmt_ratio(s / cpp) if s and cpp else ""))
            rows.append(row)
        for size in ("4KiB",):
            for what in ("create", "attach"):
                op = "shm.%s.%s" % (what, size)
                bare, cpp = self.c(op, "bare"), self.c(op)
                s = self.p(newest, op)
                label = "SharedMemory %s, %s (bare syscalls: %s)" % (what, size, fmt_time(bare))
                mod = self.p(self.module, op) if self.module else None
                rows.append([label, "%s %s" % (fmt_time(cpp), fmt_ratio(cpp / bare) if cpp and bare else ""),
                             "%s %s" % (fmt_time(mod), fmt_ratio(mod / bare) if mod and bare else ""),
                             "%s %s" % (fmt_time(s), fmt_ratio(s / bare) if s and bare else "")])
        header = ["operation", "libshm C++",
                  "libshm py %s" % self.module["python"] if self.module else "libshm py",
                  "stdlib %s" % newest["python"] if newest else "stdlib"]
        return table(header, rows)


def gbps(seconds):
    if not seconds:
        return ""
    return " (%.1f GB/s)" % (BULK_BYTES / seconds / 1e9)


# -- plots -----------------------------------------------------------------------------------

# One clearly different hue per CPython, oldest to newest (libshm is black and red).
PALETTE_STDLIB = ["#e6a100", "#8c6d31", "#2ca02c", "#17becf", "#1f77b4", "#9467bd", "#e377c2",
                  "#7f7f7f"]


def series_styles(report):
    """[(label, colour, marker, getter(op) -> seconds)] in legend order."""
    styles = [("libshm C++", "#000000", "diamond", lambda op: report.c(op))]
    if report.module is not None:
        styles.append(("libshm module (py %s)" % report.module["python"], "#d62728", "square",
                       lambda op, r=report.module: Report.p(r, op)))
    for i, run in enumerate(report.stdlib_runs):
        colour = PALETTE_STDLIB[i % len(PALETTE_STDLIB)]
        styles.append(("stdlib %s" % run["python"], colour, "circle",
                       lambda op, r=run: Report.p(r, op)))
    return styles


def marker(shape, x, y, colour, size=5.0):
    if shape == "diamond":
        pts = "%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" % (x, y - size, x + size, y, x, y + size,
                                                         x - size, y)
        return '<polygon points="%s" fill="%s" stroke="white" stroke-width="0.8"/>' % (pts, colour)
    if shape == "square":
        s = size * 0.85
        return ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="white" '
                'stroke-width="0.8"/>' % (x - s, y - s, 2 * s, 2 * s, colour))
    return ('<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" stroke="white" stroke-width="0.8"/>'
            % (x, y, size * 0.9, colour))


def decade_label(exp):
    return {-9: "1 ns", -8: "10 ns", -7: "100 ns", -6: "1 µs", -5: "10 µs", -4: "100 µs",
            -3: "1 ms", -2: "10 ms", -1: "100 ms", 0: "1 s", 1: "10 s", 2: "100 s"}.get(exp,
                                                                                      "1e%d s" % exp)


def svg_text(x, y, text, size=12, anchor="start", weight="normal", colour="#222"):
    return ('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">'
            '%s</text>' % (x, y, size, anchor, weight, colour, html.escape(text)))


def getset_svg(report, title):
    styles = series_styles(report)
    rows = [("get", t) for t in TYPES] + [("set", t) for t in TYPES]
    values = [s[3]("%s.%s" % r) for r in rows for s in styles]
    values = [v for v in values if v] + [TARGET_GET_NS * 1e-9, TARGET_SET_NS * 1e-9]
    if not values:
        return None
    lo = math.floor(math.log10(min(values)))
    hi = math.ceil(math.log10(max(values)))
    left, right, top, row_h = 150, 30, 90, 22
    width = 900
    plot_w = width - left - right
    height = top + row_h * (len(rows) + 1) + 50
    x_of = lambda v: left + (math.log10(v) - lo) / (hi - lo) * plot_w  # noqa: E731
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif">' % (
               width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           svg_text(width / 2, 24, title, 16, "middle", "bold")]
    # legend
    lx, ly = left, 48
    for label, colour, shape, _ in styles:
        w = 14 + 7.0 * len(label) + 18
        if lx + w > width - right:
            lx, ly = left, ly + 18
        out.append(marker(shape, lx + 5, ly - 4, colour))
        out.append(svg_text(lx + 14, ly, label, 12))
        lx += w
    top = max(top, ly + 22)
    height = top + row_h * (len(rows) + 1) + 50
    out[0] = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
              'font-family="DejaVu Sans, Arial, sans-serif">' % (width, height, width, height))
    bottom = top + row_h * len(rows) + 8
    # grid
    for e in range(lo, hi + 1):
        x = x_of(10.0 ** e)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#bbb" stroke-width="1"/>'
                   % (x, top - 8, x, bottom))
        out.append(svg_text(x, bottom + 18, decade_label(e), 12, "middle"))
        if e < hi:
            for k in range(2, 10):
                xm = x_of(k * 10.0 ** e)
                out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>'
                           % (xm, top - 8, xm, bottom))
    out.append(svg_text(left + plot_w / 2, bottom + 38,
                        "time per item (%s time, log scale; best of repeats)" % report.clock, 12,
                        "middle"))
    for i, (kind, t) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        if i % 2 == 0:
            out.append('<rect x="%d" y="%.1f" width="%d" height="%d" fill="#f3f3f3"/>'
                       % (left, y - row_h / 2, plot_w, row_h))
        if i == len(TYPES):
            out.append('<line x1="10" y1="%.1f" x2="%d" y2="%.1f" stroke="#888"/>'
                       % (y - row_h / 2, width - right, y - row_h / 2))
        out.append(svg_text(left - 10, y + 4, "%s %s" % (kind, TYPE_LABELS[t]), 12, "end"))
    # The C++ targets, a dashed red line over the rows of each half.
    for half, goal_ns in ((0, TARGET_GET_NS), (1, TARGET_SET_NS)):
        xt = x_of(goal_ns * 1e-9)
        y0 = top + row_h * len(TYPES) * half
        y1 = y0 + row_h * len(TYPES)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" '
                   'stroke-dasharray="4,3" stroke-width="1.2"/>' % (xt, y0, xt, y1))
        out.append(svg_text(xt + 4, y1 - 6, "C++ target ≤ %g ns" % goal_ns, 10, colour="#d62728"))
    for i, (kind, t) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        op = "%s.%s" % (kind, t)
        for label, colour, shape, get in reversed(styles):
            v = get(op)
            if v:
                out.append(marker(shape, x_of(v), y, colour))
    out.append("</svg>")
    return "\n".join(out)


def scaling_svg(report, title):
    styles = series_styles(report)
    panels = [("create", "create + close + unlink (per list)", 1),
              ("attach", "attach + close (per list)", 1),
              ("iterate", "iterate (per item)", None)]
    pw, ph, gap, left, top = 330, 280, 60, 70, 90
    width = left + 3 * pw + 2 * gap + 20
    height = top + ph + 70
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="DejaVu Sans, Arial, sans-serif">' % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           svg_text(width / 2, 24, title, 16, "middle", "bold")]
    lx, ly = left, 50
    for label, colour, shape, _ in styles:
        w = 14 + 7.0 * len(label) + 18
        if lx + w > width - 20:
            lx, ly = left, ly + 18
        out.append(marker(shape, lx + 5, ly - 4, colour))
        out.append(svg_text(lx + 14, ly, label, 12))
        lx += w
    top = ly + 30
    height = top + ph + 70
    out[0] = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
              'font-family="DejaVu Sans, Arial, sans-serif">' % (width, height, width, height))
    xs = [math.log10(n) for n in SCALE_SIZES]
    for p, (kind, label, _) in enumerate(panels):
        x0 = left + p * (pw + gap)
        per = (lambda n: n) if kind == "iterate" else (lambda n: 1)
        vals = []
        for _, _, _, get in styles:
            for n in SCALE_SIZES:
                v = get("scale.%s.%d" % (kind, n))
                if v:
                    vals.append(v / per(n))
        if not vals:
            continue
        lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
        if hi == lo:
            hi += 1
        X = lambda e: x0 + (e - xs[0]) / (xs[-1] - xs[0]) * pw  # noqa: E731
        Y = lambda v: top + ph - (math.log10(v) - lo) / (hi - lo) * ph  # noqa: E731
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>'
                   % (x0, top, pw, ph))
        out.append(svg_text(x0 + pw / 2, top - 8, label, 13, "middle", "bold"))
        for e in range(lo, hi + 1):
            y = top + ph - (e - lo) / (hi - lo) * ph
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                       % (x0, y, x0 + pw, y))
            out.append(svg_text(x0 - 5, y + 4, decade_label(e), 11, "end"))
        for e, n in zip(xs, SCALE_SIZES):
            x = X(e)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>'
                       % (x, top, x, top + ph))
            out.append(svg_text(x, top + ph + 16, "10^%d" % round(e) if n >= 1000 else str(n),
                                11, "middle"))
        out.append(svg_text(x0 + pw / 2, top + ph + 34, "N items", 12, "middle"))
        for _, colour, shape, get in reversed(styles):
            pts = []
            for e, n in zip(xs, SCALE_SIZES):
                v = get("scale.%s.%d" % (kind, n))
                if v:
                    pts.append((X(e), Y(v / per(n))))
            if len(pts) > 1:
                out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"/>'
                           % (" ".join("%.1f,%.1f" % q for q in pts), colour))
            for x, y in pts:
                out.append(marker(shape, x, y, colour, 3.5))
    out.append("</svg>")
    return "\n".join(out)


# -- the report ------------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpp", required=True, help="libshm_bench --benchmark_format=json output")
    parser.add_argument("--py", nargs="*", default=[], help="bench_py.py outputs")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--elapsed", type=float, default=None, help="seconds the whole run took")
    parser.add_argument("--command", default="ci/bench", help="the command that reproduces it")
    parser.add_argument("--compiler", default="")
    parser.add_argument("--numpy", default=None, help="bench_numpy.py time's output")
    args = parser.parse_args()

    cpp, context = load_cpp(args.cpp, args.clock)
    runs, notes = load_py(args.py)
    numpy = None
    if args.numpy:
        with open(args.numpy) as f:
            numpy = json.load(f)
    report = Report(cpp, context, runs, args.clock, numpy)
    os.makedirs(args.out_dir, exist_ok=True)

    now = datetime.datetime.now(datetime.timezone.utc)
    cores = os.cpu_count()
    load = context.get("load_avg") or []
    md = []
    add = md.append
    add("# libshm benchmarks")
    add("")
    add("Generated by `%s` on %s UTC." % (args.command, now.strftime("%Y-%m-%d %H:%M")))
    add("")
    add("- Machine: %d cores (%s), %s MHz; Linux %s; load average %s when the C++ run started." % (
        cores, cpu_model(), context.get("mhz_per_cpu", "?"), platform.release(),
        ", ".join("%.2f" % x for x in load[:3]) if load else "unknown"))
    if args.compiler:
        add("- C++: %s, Release (-O2), Google Benchmark." % args.compiler)
    pythons = ", ".join(r["python"] for r in report.stdlib_runs) or "none found"
    add("- CPython's stdlib measured under: %s." % pythons)
    if report.module_runs:
        add("- libshm Python module measured under: %s." % ", ".join(
            r["python"] for r in report.module_runs))
    else:
        add("- libshm Python module: not available in this run.")
    for note in notes:
        add("- Not measured: %s." % note)
    if args.elapsed is not None:
        add("- The whole run took %.0f s." % args.elapsed)
    add("")
    add("Every time is the **best of several repeats** of the benchmarking process's **%s time** "
        "per operation (Google Benchmark repetitions for C++, `timeit` repeats for Python). "
        "The machine is shared, so absolute times move between runs; the ratios (`×`) compare "
        "numbers taken in this same run. In each table `×` is relative to the first timed "
        "column of that table (libshm C++, the bare system calls, or memcpy)." % (
            "CPU" if args.clock == "cpu" else "elapsed"))
    add("")
    add("## Headline")
    add("")
    add(report.headline())
    add("")
    add("## Targets")
    add("")
    add(report.targets())
    add("")
    add("## ShareableList get, per item")
    add("")
    add("Item 50 of a list of 100 equal items (CPython 3.8 finds an item by adding up the sizes "
        "before it, so its time includes that). C++ returns a `shm::Item`; Python `sl[50]`.")
    add("")
    add(report.item_table("get"))
    add("")
    add("![per-item get and set time](getset.svg)")
    add("")
    add("## ShareableList set, per item")
    add("")
    add("Item 50 := the same value again (`sl[50] = v`).")
    add("")
    add(report.item_table("set"))
    add("")
    add("## Whole lists")
    add("")
    add("Mixed items: int, float, bool, None, `'abc'`, `b'abc'` in turn. Created lists are tracked "
        "(CPython's default) and named by the benchmark.")
    add("")
    add(report.list_table())
    add("")
    add("## SharedMemory create and attach against the system calls")
    add("")
    add("Bare: `shm_open` + `ftruncate` (create) or `fstat` (attach) + `mmap` + one write (create) "
        "or read (attach) per page + `munmap` + `close` (+ `shm_unlink`), in C with no checks. "
        "Tracked create also sends one line to the resource tracker on create and one on unlink "
        "(the tracker process was started before timing). Once this process's tracker runs, "
        "libshm's `unlink()` sends its UNREGISTER line for untracked blocks too (any handle "
        "withdraws the process's registration), so the untracked column has one `send()` more "
        "than the bare one. CPython 3.8–3.12 also register every attach with their tracker.")
    add("")
    add(report.block_table())
    add("")
    add("## Bulk copies, 64 MiB")
    add("")
    add("C++ copies through `buf()` with memcpy; Python through `memoryview` slice assignment. "
        "The reference is memcpy between two private buffers. Every page exists before timing.")
    add("")
    add(report.bulk_table())
    add("")
    add("## Typed and zero-copy reads (C++)")
    add("")
    add("Reads that build no `shm::Item` (issue #17), against `get()` and against a plain load of "
        "the same 8 bytes; the list is the same 100 items as above. The scans read every item of a "
        "list of 1000 ints in order and sum them; their reference is the same loop over "
        "volatile loads of the slots.")
    add("")
    add(report.typed_table())
    add("")
    add("## Atomic fetch-add")
    add("")
    add("An int64 in a block incremented by one (`libshm/atomic.hpp`; the module's "
        "`atomic_fetch_add`), sequentially consistent, against the way the stdlib can count "
        "across processes: an increment under a `multiprocessing.Lock` (a POSIX semaphore). "
        "\"Two at once\" is elapsed time per addition in each of two threads (C++) or forked "
        "processes (Python) adding to the same integer at the same time, the cache line "
        "moving between the cores on every addition.")
    add("")
    add(report.atomic_table())
    add("")
    add("## CPython's locks from C++")
    add("")
    add("`libshm/sync.hpp`'s Lock is CPython's multiprocessing Lock (a POSIX named semaphore): "
        "an uncontended acquire + release in C++ and in CPython, and the round trip of a "
        "ping-pong over two Semaphores between two processes (two hand-offs; elapsed time), "
        "C++ with C++, C++ with a stdlib-only CPython (`/usr/bin/python3`, or "
        "LIBSHM_BENCH_PYTHON), and CPython with a spawned CPython child.")
    add("")
    add(report.sync_table())
    add("")
    add("## numpy arrays in a block")
    add("")
    add("The 1-D array is made by numpy in a plain stdlib `SharedMemory` with numpy's own .npy "
        "header (`libshm/bench/bench_numpy.py`); C++ attaches it with `shm::NpyArray::attach` "
        "and sums it, and numpy's `sum()` (pairwise summation) runs on the same block. Only "
        "the C++ rows are one process's CPU time in Google Benchmark; numpy's is the best of 5 "
        "`process_time()` measurements.")
    add("")
    add(report.array_table())
    add("")
    mt = report.module_table()
    if mt:
        add("## The libshm module against the stdlib, same interpreter")
        add("")
        add("From the separate stdlib and module runs of each CPython.")
        add("")
        add(mt)
        add("")
    mtt = report.module_targets_table()
    if mtt:
        add("## The libshm module against the stdlib: targets on every CPython")
        add("")
        add(mtt)
        add("")
    add("## Scaling with N")
    add("")
    add("Lists of N ints `0 … N-1`. Points predicted to take over the per-point budget are "
        "skipped (CPython 3.8's iteration is quadratic: each item is found by summing the sizes "
        "before it).")
    add("")
    if not any(op.startswith("scale.") for op in cpp):
        add("Not run (`ci/bench --quick`).")
        add("")
    else:
        add("![scaling](scaling.svg)")
        add("")
    for kind, label in ([] if not any(op.startswith("scale.") for op in cpp) else (("create", "create(N) + close + unlink, per list"),
                        ("attach", "attach + close, per list"),
                        ("iterate", "iteration, per item"))):
        add("### %s" % label)
        add("")
        add(report.scaling_table(kind))
        add("")
    skipped = []
    for run in runs:
        for op, why in sorted(run.get("skipped", {}).items()):
            if not op.startswith("scale."):
                skipped.append("- %s %s, %s: %s" % (run["impl"], run["python"], op, why))
    if skipped:
        add("## Operations that could not be measured")
        add("")
        md.extend(skipped)
        add("")

    with open(os.path.join(args.out_dir, "report.md"), "w") as f:
        f.write("\n".join(md))
    title = "ShareableList get and set, per item (%s)" % now.strftime("%Y-%m-%d")
    svg = getset_svg(report, title)
    if svg:
        with open(os.path.join(args.out_dir, "getset.svg"), "w") as f:
            f.write(svg)
    svg = scaling_svg(report, "Scaling with N (lists of ints)")
    if svg and any(op.startswith("scale.") for op in cpp):
        with open(os.path.join(args.out_dir, "scaling.svg"), "w") as f:
            f.write(svg)
    merged = {"cpp": cpp, "python": runs, "context": context, "clock": args.clock}
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
    print(os.path.join(args.out_dir, "report.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
