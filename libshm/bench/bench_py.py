#!/usr/bin/env python3
"""Times the operations of libshm_bench in Python: CPython's own
multiprocessing.shared_memory (--impl stdlib) or the libshm module (--impl libshm).

Standard library only, and runs on every CPython from 3.8. Each operation is timed with
timeit on this process's CPU time (--clock wall for elapsed time): the loop count is calibrated so that one repeat takes about --repeat-time seconds,
and the best (smallest) of --repeats repeats is kept, divided by the loop count. The keys of
the results are libshm_bench's operation names (get.int, list.create.100, shm.attach.4KiB,
scale.iterate.10000, ...), so the report can put both side by side.

Writes one JSON object to --out (or stdout):
  {"python": "3.12.1", "executable": ..., "impl": "stdlib", "available": true,
   "results": {op: seconds per call}, "skipped": {op: why}}
If the implementation cannot be imported, "available" is false and "reason" says why; the exit
status is 0 all the same, so a missing module only leaves its column empty.

--paired (with --impl libshm) also times the operations the module must match or beat the stdlib
on (PAIRED_OPS: list(sl), block and list create and attach) for both, in this one process, a
repeat of the stdlib's and a repeat of the module's in turn, and writes
  "paired": {op: {"stdlib": seconds, "libshm": seconds}}
(best repeat of each): load from other processes then falls on both alike, where two separate
runs a minute apart compare different machine states.

Every block is created under --prefix (default: LIBSHM_BENCH_PREFIX or "lsbpy") and removed
again, also when an operation fails.
"""

import argparse
import gc
import json
import os
import platform
import sys
import time
import timeit

# The item values benchmarked one by one, as in bench_support.cpp.
TYPE_CASES = [
    ("int", 1234567),
    ("float", 2.5),
    ("bool", True),
    ("none", None),
    ("str_short", "abc"),
    ("str_long", "x" * 1000),
    ("bytes_short", b"abc"),
    ("bytes_long", b"y" * 1000),
]
ITEMS_PER_LIST = 100  # per-item get/set: item ITEM_INDEX of a list of this many equal items
ITEM_INDEX = 50
LIST_OP_ITEMS = 1000  # format, count and iteration run over this many mixed items
LIST_SIZES = [1, 100, 10000]  # list.create.N and list.attach.N
BLOCK_SIZES = [(4096, "4KiB"), (1 << 20, "1MiB")]  # shm.create and shm.attach
BULK_BYTES = 64 << 20
SCALE_SIZES = [10 ** k for k in range(7)]  # 1 ... 1,000,000
PAGE = 4096
# The operations --paired times for the stdlib and the module in alternation (see the docstring).
PAIRED_OPS = ["list.tolist", "shm.create.4KiB", "shm.attach.4KiB", "shm.create.1MiB",
              "shm.attach.1MiB", "list.create.100", "list.attach.100"]


def mixed_item(i):
    """Item i of the mixed lists, as in bench_support.cpp."""
    kind = i % 6
    if kind == 0:
        return i
    if kind == 1:
        return i + 0.5
    if kind == 2:
        return i % 4 == 0
    if kind == 3:
        return None
    if kind == 4:
        return "abc"
    return b"abc"


class Names:
    """Block names unique to this process: prefix + "_" + pid + "_" + a counter."""

    def __init__(self, prefix):
        self.prefix = "%s_p%x" % (prefix, os.getpid())
        self.count = 0

    def __call__(self):
        self.count += 1
        return "%s_%d" % (self.prefix, self.count)


# The timed operations that the per-implementation runs and --paired share: what one execution
# of each does.


def block_create_stmt(SM, nm, size):
    """shm.create.<size>: create a block, touch every page, close and unlink it."""
    return ("b = SM(name=nm(), create=True, size=size)\n"
            "b.buf[::%d] = ones\n"
            "b.close()\n"
            "b.unlink()" % PAGE,
            {"SM": SM, "nm": nm, "size": size, "ones": b"\x01" * ((size + PAGE - 1) // PAGE)})


def block_attach_stmt(SM, name):
    """shm.attach.<size>: attach the block `name`, read a byte of every page, close it."""
    return "b = SM(name=name)\nbytes(b.buf[::%d])\nb.close()" % PAGE, {"SM": SM, "name": name}


def list_create_fn(SL, nm, items):
    """list.create.<n>: create a list of `items`, close and unlink it."""
    def create():
        sl = SL(items, name=nm())
        sl.shm.close()
        sl.shm.unlink()
    return create


def list_attach_fn(SL, name):
    """list.attach.<n>: attach the list `name` and close it."""
    def attach():
        other = SL(name=name)
        other.shm.close()
    return attach


class Bench:
    def __init__(self, SharedMemory, ShareableList, names, repeats, repeat_time, point_budget,
                 clock):
        self.clock = clock
        self.SM = SharedMemory
        self.SL = ShareableList
        self.names = names
        self.repeats = repeats
        self.repeat_time = repeat_time
        self.point_budget = point_budget
        self.results = {}
        self.skipped = {}
        self.created = []  # (kind, name) of long-lived blocks, removed by cleanup()

    # -- timing ---------------------------------------------------------------------------
    def calibrate(self, stmt, env, setup="pass"):
        """(timer, loop count for about --repeat-time seconds, seconds per execution of the
        last calibration run) for `stmt` (a string, for the least loop overhead)."""
        timer = timeit.Timer(stmt, setup=setup, timer=self.clock, globals=env)
        number = 1
        while True:
            t = timer.timeit(number)
            if t >= self.repeat_time or number >= 1 << 30:
                return timer, number, t / number
            # Aim a little past the target so the next try usually ends the calibration.
            number = max(number * 2, int(number * self.repeat_time * 1.2 / max(t, 1e-9)))

    def time_stmt(self, op, stmt, env, setup="pass"):
        """Best seconds per execution of `stmt` (a string, for the least loop overhead)."""
        timer, number, best = self.calibrate(stmt, env, setup)
        for _ in range(self.repeats - 1):
            best = min(best, timer.timeit(number) / number)
        self.results[op] = best
        return best

    def time_pair(self, stmts):
        """{name: best seconds per execution} of each (name, stmt, env) in `stmts`, their
        repeats taken in turn (one of each, --repeats times but at least 11), so that a burst of load from
        other processes hits all of them alike."""
        timers = {name: self.calibrate(stmt, env) for name, stmt, env in stmts}
        best = {name: t for name, (_, _, t) in timers.items()}
        # At least 11 rounds: a ratio needs both sides' best, and a burst of load spoils one
        # repeat of one side at a time.
        # In alternating order, so that neither side always runs right after the other (the
        # tracker process still reading the other side's messages, say).
        order = list(timers)
        for round_ in range(max(self.repeats, 11)):
            for name in order if round_ % 2 == 0 else reversed(order):
                timer, number, _ = timers[name]
                best[name] = min(best[name], timer.timeit(number) / number)
        return best

    def time_slow(self, op, fn, predicted=None):
        """For one call that may take seconds (scaling points): skipped when predicted past
        the budget; a few repeats while they fit in it."""
        if predicted is not None and predicted > self.point_budget:
            self.skipped[op] = "estimated %.1f s per call, over the %.0f s budget" % (
                predicted, self.point_budget)
            return None
        first = timeit.Timer(fn, timer=self.clock).timeit(1)
        if first < self.repeat_time:
            return self.time_stmt(op, "fn()", {"fn": fn})
        best = first
        spent = first
        runs = 1
        while runs < self.repeats and spent + best <= self.point_budget:
            t = timeit.Timer(fn, timer=self.clock).timeit(1)
            best = min(best, t)
            spent += t
            runs += 1
        self.results[op] = best
        return best

    def attempt(self, op, fn):
        """Runs one benchmark; an error (a method the implementation lacks) skips it."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure is reported, not fatal
            self.skipped[op] = "%s: %s" % (type(e).__name__, e)

    # -- blocks ---------------------------------------------------------------------------
    def new_list(self, items):
        sl = self.SL(items, name=self.names())
        self.created.append(sl.shm)
        return sl

    def drop(self, shm):
        try:
            shm.close()
        finally:
            try:
                shm.unlink()
            except FileNotFoundError:
                pass
            if shm in self.created:
                self.created.remove(shm)

    def cleanup(self):
        for shm in list(self.created):
            self.drop(shm)

    # -- the operations -------------------------------------------------------------------
    def item_ops(self):
        for key, value in TYPE_CASES:
            def get(key=key, value=value):
                sl = self.new_list([value] * ITEMS_PER_LIST)
                try:
                    self.time_stmt("get." + key, "sl[%d]" % ITEM_INDEX, {"sl": sl})
                finally:
                    del sl
                    self.cleanup()
            self.attempt("get." + key, get)
        for key, value in TYPE_CASES:
            def set_(key=key, value=value):
                sl = self.new_list([value] * ITEMS_PER_LIST)
                try:
                    self.time_stmt("set." + key, "sl[%d] = v" % ITEM_INDEX, {"sl": sl, "v": value})
                finally:
                    del sl
                    self.cleanup()
            self.attempt("set." + key, set_)

    def list_ops(self):
        def whole_list():
            sl = self.new_list([mixed_item(i) for i in range(LIST_OP_ITEMS)])
            try:
                env = {"sl": sl}
                self.attempt("list.format", lambda: self.time_stmt("list.format", "sl.format", env))
                self.attempt("list.count", lambda: self.time_stmt("list.count", "sl.count(0)", env))
                self.attempt("list.iterate",
                             lambda: self.time_stmt("list.iterate", "for _x in sl: pass", env))
                self.attempt("list.tolist", lambda: self.time_stmt("list.tolist", "list(sl)", env))
                # Item 996 is the int 996, found only there: index() compares 997 items.
                self.attempt("list.index.last", lambda: self.time_stmt(
                    "list.index.last", "sl.index(last)", dict(env, last=sl[LIST_OP_ITEMS - 4])))
                self.attempt("list.repr", lambda: self.time_stmt("list.repr", "repr(sl)", env))
                # The reference for list(sl): a plain list of the same items, copied.
                plain = {"plain": list(sl)}
                self.attempt("plain.tolist",
                             lambda: self.time_stmt("plain.tolist", "list(plain)", plain))
            finally:
                del sl
                self.cleanup()
        self.attempt("list.format", whole_list)
        for n in LIST_SIZES:
            items = [mixed_item(i) for i in range(n)]
            self.attempt("list.create.%d" % n, lambda: self.time_create(
                "list.create.%d" % n, items))
            self.attempt("list.attach.%d" % n, lambda: self.time_attach(
                "list.attach.%d" % n, items))

    def time_create(self, op, items, predicted=None):
        return self.time_slow(op, list_create_fn(self.SL, self.names, items), predicted)

    def time_attach(self, op, items, predicted=None):
        sl = self.new_list(items)
        try:
            return self.time_slow(op, list_attach_fn(self.SL, sl.shm.name), predicted)
        finally:
            del sl
            self.cleanup()

    def time_iterate(self, op, items, predicted=None):
        sl = self.new_list(items)
        try:
            def iterate():
                for _x in sl:
                    pass
            return self.time_slow(op, iterate, predicted)
        finally:
            del sl
            self.cleanup()

    def block_ops(self):
        SM, nm = self.SM, self.names
        for size, key in BLOCK_SIZES:
            def create(size=size, key=key):
                self.time_stmt("shm.create." + key, *block_create_stmt(SM, nm, size))
            self.attempt("shm.create." + key, create)

            def attach(size=size, key=key):
                block = SM(name=nm(), create=True, size=size)
                self.created.append(block)
                try:
                    self.time_stmt("shm.attach." + key, *block_attach_stmt(SM, block.name))
                finally:
                    self.drop(block)
            self.attempt("shm.attach." + key, attach)

    def sync_ops(self):
        """multiprocessing's own Lock and Semaphores (the stdlib's, whatever --impl): an
        uncontended acquire + release, and the round trip of a ping-pong over two Semaphores
        with a spawned child (wall time: the round trip is mostly waiting)."""
        import multiprocessing
        ctx = multiprocessing.get_context("spawn")

        def lock():
            lk = ctx.Lock()
            self.time_stmt("sync.lock", "acquire()\nrelease()",
                           {"acquire": lk.acquire, "release": lk.release})
        self.attempt("sync.lock", lock)

        def pingpong():
            ping, pong = ctx.Semaphore(0), ctx.Semaphore(0)
            child = ctx.Process(target=ponger, args=(ping, pong), daemon=True)
            child.start()
            saved, self.clock = self.clock, time.perf_counter
            try:
                self.time_stmt("sync.pingpong.py-py", "ping.release()\npong.acquire()",
                               {"ping": ping, "pong": pong})
            finally:
                self.clock = saved
                child.terminate()
                child.join()
        self.attempt("sync.pingpong.py-py", pingpong)

    def bulk_ops(self):
        SM, nm = self.SM, self.names

        def bulk():
            block = SM(name=nm(), create=True, size=BULK_BYTES)
            self.created.append(block)
            try:
                private = memoryview(bytearray(b"\x03" * BULK_BYTES))
                block.buf[:] = private  # every page exists before timing, as in C++
                env = {"buf": block.buf, "private": private}
                self.attempt("bulk.read", lambda: self.time_stmt("bulk.read", "private[:] = buf", env))
                self.attempt("bulk.write",
                             lambda: self.time_stmt("bulk.write", "buf[:] = private", env))
                del env
            finally:
                self.drop(block)
        self.attempt("bulk.read", bulk)

    def atomic_ops(self):
        """The module's atomic fetch-add (a list's int item, a block's word) against an
        increment under a multiprocessing.Lock (sl[i] += 1, the stdlib's way to count across
        processes), uncontended and with two processes at once (*.contended2: elapsed time per
        addition in each process, like libshm_bench's two threads)."""
        import multiprocessing as mp
        lock = mp.Lock()
        atomic = hasattr(self.SL, "atomic_fetch_add")  # the stdlib has no atomic operations

        def run():
            sl = self.new_list([0] * ITEMS_PER_LIST)
            block = self.SM(name=self.names(), create=True, size=PAGE)
            self.created.append(block)
            try:
                env = {"sl": sl, "lock": lock, "block": block}
                ops = [("atomic.locked_increment", "with lock:\n    sl[%d] += 1" % ITEM_INDEX)]
                if atomic:
                    ops += [("atomic.fetch_add.list", "sl.atomic_fetch_add(%d, 1)" % ITEM_INDEX),
                            ("atomic.fetch_add.block", "block.atomic_fetch_add(64, 1)")]
                for op, stmt in ops:
                    self.attempt(op, lambda: self.time_stmt(op, stmt, env))
                    if op in self.results:
                        self.attempt(op + ".contended2", lambda: self.time_contended(
                            op + ".contended2", stmt, env, self.results[op]))
            finally:
                del sl
                self.cleanup()
        self.attempt("atomic.locked_increment", run)

    def time_contended(self, op, stmt, env, alone, processes=2):
        """Elapsed seconds per execution of `stmt` in each of `processes` forked processes
        running it at once (best of the repeats; each process's count is sized from `alone`,
        the uncontended time, for about 0.1 s)."""
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        count = max(1000, int(0.1 / max(alone, 1e-9)))
        code = compile("for _ in range(%d):\n" % count +
                       "".join("    " + line + "\n" for line in stmt.splitlines()), op, "exec")
        best = None
        for _ in range(max(1, min(self.repeats, 3))):
            start = ctx.Event()
            results = ctx.SimpleQueue()

            def work():
                start.wait()
                t = time.perf_counter()
                exec(code, dict(env))
                results.put(time.perf_counter() - t)
            procs = [ctx.Process(target=work) for _ in range(processes)]
            for p in procs:
                p.start()
            start.set()
            times = [results.get() for _ in procs]
            for p in procs:
                p.join()
                if p.exitcode != 0:
                    raise RuntimeError("a contending process failed (exit %s)" % p.exitcode)
            per = sum(times) / len(times) / count
            best = per if best is None else min(best, per)
        self.results[op] = best
        return best

    def scaling(self):
        for kind, timed in (("create", self.time_create), ("attach", self.time_attach),
                            ("iterate", self.time_iterate)):
            previous = None  # (n, seconds) of the last point measured
            growth = 10.0
            for n in SCALE_SIZES:
                op = "scale.%s.%d" % (kind, n)
                predicted = None
                if previous is not None:
                    predicted = previous[1] * (n / previous[0]) * max(1.0, growth / 10.0)
                items = list(range(n))
                result = [None]

                def run(op=op, items=items, predicted=predicted):
                    result[0] = timed(op, items, predicted)
                self.attempt(op, run)
                t = result[0]
                if t is None:
                    if op in self.skipped:
                        # Every larger point would be over the budget too.
                        for m in SCALE_SIZES[SCALE_SIZES.index(n) + 1:]:
                            self.skipped["scale.%s.%d" % (kind, m)] = self.skipped[op]
                    break
                if previous is not None and previous[1] > 0:
                    growth = max(10.0, t / previous[1])
                previous = (n, t)
                gc.collect()


def paired(bench, impls):
    """--paired: PAIRED_OPS timed for each implementation of `impls` ({name: (SharedMemory,
    ShareableList)}) in turn (Bench.time_pair), each on blocks it made itself. Returns
    {op: {name: seconds}}; an operation that fails is left out, with the reason in
    bench.skipped under "paired." + op."""
    nm = bench.names
    items_1000 = [mixed_item(i) for i in range(LIST_OP_ITEMS)]
    items_100 = [mixed_item(i) for i in range(100)]

    def keep(shm):
        bench.created.append(shm)
        return shm

    def tolist(SM, SL):
        sl = SL(items_1000, name=nm())
        keep(sl.shm)
        return "list(sl)", {"sl": sl}

    def block_create(size):
        return lambda SM, SL: block_create_stmt(SM, nm, size)

    def block_attach(size):
        return lambda SM, SL: block_attach_stmt(SM, keep(SM(name=nm(), create=True,
                                                               size=size)).name)

    def list_create(SM, SL):
        return "fn()", {"fn": list_create_fn(SL, nm, items_100)}

    def list_attach(SM, SL):
        return "fn()", {"fn": list_attach_fn(SL, keep(SL(items_100, name=nm()).shm).name)}

    makers = {"list.tolist": tolist, "shm.create.4KiB": block_create(4096),
              "shm.attach.4KiB": block_attach(4096), "shm.create.1MiB": block_create(1 << 20),
              "shm.attach.1MiB": block_attach(1 << 20), "list.create.100": list_create,
              "list.attach.100": list_attach}
    out = {}
    for op in PAIRED_OPS:
        try:
            stmts = [(name, *makers[op](SM, SL)) for name, (SM, SL) in impls.items()]
            out[op] = bench.time_pair(stmts)
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            bench.skipped["paired." + op] = "%s: %s" % (type(e).__name__, e)
        finally:
            stmts = None
            gc.collect()
            bench.cleanup()
    return out


def ponger(ping, pong):
    """The child of the sync.pingpong benchmark: a pong for every ping, until terminated."""
    while True:
        ping.acquire()
        pong.release()


def load(impl, module_path):
    """(SharedMemory, ShareableList, None) or (None, None, why not)."""
    if impl == "stdlib":
        try:
            from multiprocessing.shared_memory import ShareableList, SharedMemory
        except ImportError as e:
            return None, None, "no multiprocessing.shared_memory (%s)" % e
        return SharedMemory, ShareableList, None
    if module_path:
        sys.path.insert(0, module_path)
    try:
        import libshm
    except ImportError as e:
        return None, None, "the libshm module is not available (%s)" % e
    missing = [n for n in ("SharedMemory", "ShareableList") if not hasattr(libshm, n)]
    if missing:
        return None, None, "the libshm module has no %s" % ", ".join(missing)
    return libshm.SharedMemory, libshm.ShareableList, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=("stdlib", "libshm"), default="stdlib")
    parser.add_argument("--module-path", default="", help="directory holding the libshm module")
    parser.add_argument("--prefix", default=os.environ.get("LIBSHM_BENCH_PREFIX") or "lsbpy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--repeat-time", type=float, default=0.02,
                        help="seconds one repeat of an operation should take")
    parser.add_argument("--point-budget", type=float, default=2.5,
                        help="seconds one scaling point may take at most")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: this process's CPU time (steadier on a shared machine, and "
                        "what libshm_bench reports as CPU); wall: elapsed time")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--paired", action="store_true",
                        help="with --impl libshm: also time PAIRED_OPS for the stdlib and the "
                        "module in turn, in this process (the \"paired\" results)")
    parser.add_argument("--only", default="", help="run only operations starting with this")
    parser.add_argument("--out", default="-")
    args = parser.parse_args()

    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "impl": args.impl,
        "clock": args.clock,
        "available": False,
        "results": {},
        "skipped": {},
    }
    SharedMemory, ShareableList, why = load(args.impl, args.module_path)
    if why is not None:
        report["reason"] = why
    else:
        report["available"] = True
        if args.impl == "libshm":
            import libshm
            report["module_file"] = getattr(libshm, "__file__", "")
        bench = Bench(SharedMemory, ShareableList, Names(args.prefix), args.repeats,
                      args.repeat_time, args.point_budget,
                      time.process_time if args.clock == "cpu" else time.perf_counter)
        started = time.perf_counter()
        groups = [("get.", bench.item_ops), ("list.", bench.list_ops), ("shm.", bench.block_ops),
                  ("bulk.", bench.bulk_ops), ("atomic.", bench.atomic_ops)]
        if args.impl == "stdlib":  # the module uses multiprocessing's own locks
            groups.append(("sync.", bench.sync_ops))
        if not args.no_scaling:
            groups.append(("scale.", bench.scaling))
        if args.paired and args.impl == "libshm":
            def run_paired():
                from multiprocessing.shared_memory import ShareableList, SharedMemory
                report["paired"] = paired(bench, {
                    "stdlib": (SharedMemory, ShareableList),
                    "libshm": (bench.SM, bench.SL)})
            groups.append(("paired.", run_paired))
        try:
            for prefix, run in groups:
                if args.only and not (prefix.startswith(args.only) or args.only.startswith(prefix)
                                      or (prefix == "get." and args.only.startswith("set."))):
                    continue
                run()
        finally:
            bench.cleanup()
        report["results"] = bench.results
        report["skipped"] = bench.skipped
        report["seconds"] = round(time.perf_counter() - started, 2)

    text = json.dumps(report, indent=1, sort_keys=True)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
