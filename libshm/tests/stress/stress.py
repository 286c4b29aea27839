"""Multi-process stress on one ShareableList: C++ (stress_agent) and CPython (this file, stdlib)
writers on disjoint indices, readers on everything, for a few seconds; then a second run that
SIGKILLs writers at random moments. Run by ctest:

    python3 stress.py run --agent PATH [--seconds S]

Roles mirror values.hpp: index i % 3 == 0 holds ints, 1 floats, 2 changes type on every write.
Checks: every index ends holding the last value its writer wrote (no lost write); no reader
crashed; no reader saw, in an int or float slot, a value nobody wrote (a 0 is allowed only in
slots a CPython writer owns: struct.pack_into zeroes a slot before filling it); the killed
writers' own tracked blocks are gone; nothing is left in /dev/shm.
"""
import argparse
import json
import math
import os
import random
import secrets
import signal
import struct
import subprocess
import sys
import time

N_ITEMS = 48


# --- the value scheme (values.hpp) ------------------------------------------------------------

def role_of(i):
    return ("ints", "floats", "mixed")[i % 3]


def value_for(i, k):
    role = role_of(i)
    if role == "ints" or (role == "mixed" and k % 4 == 0):
        return (i << 32) | k
    if role == "floats" or (role == "mixed" and k % 4 == 1):
        return i * 1e6 + k + 0.25
    if k % 4 == 2:
        return "i%dk%d" % (i, k)
    return ("b%dk%d" % (i, k)).encode()


def plausible(i, v):
    role = role_of(i)
    if role == "mixed":
        return True
    if role == "ints":
        return type(v) is int and v >> 32 == i
    if type(v) is not float:
        return False
    k = v - i * 1e6 - 0.25
    return 0 <= k < 2**32 and k == math.floor(k)


def item_json(v):
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    return v


def initial_items():
    items = []
    for i in range(N_ITEMS):
        role = role_of(i)
        if role == "ints":
            items.append(i << 32)
        elif role == "floats":
            items.append(i * 1e6 + 0.25)
        else:
            items.append(("i%dinit" % i).ljust(24, "."))  # a 32-byte slot: room for any type
    return items


# --- CPython participants ---------------------------------------------------------------------

def attach_untracked(name):
    from multiprocessing import resource_tracker, shared_memory
    sl = shared_memory.ShareableList(name=name)
    # gh-82300: without this, our tracker would unlink the shared list when we exit.
    resource_tracker.unregister(sl.shm._name, "shared_memory")
    return sl


def py_writer(name, me, writers, seconds):
    sl = attach_untracked(name)
    end = time.monotonic() + seconds
    k = writes = 0
    while time.monotonic() < end:
        k += 1
        for i in range(me, N_ITEMS, writers):
            sl[i] = value_for(i, k)
            writes += 1
    print(json.dumps({"writes": writes,
                      "last": {str(i): item_json(value_for(i, k))
                               for i in range(me, N_ITEMS, writers)}}))
    sl.shm.close()


def py_reader(name, seconds):
    sl = attach_untracked(name)
    end = time.monotonic() + seconds
    reads = errors = 0
    zeros = set()
    failed = set()
    bad = []
    while time.monotonic() < end:
        for i in range(N_ITEMS):
            try:
                v = sl[i]
            except Exception:  # caught between format and data: the driver judges it
                errors += 1
                if role_of(i) != "mixed":
                    failed.add(i)
                continue
            reads += 1
            if plausible(i, v):
                continue
            if v == 0:
                zeros.add(i)
            else:
                bad.append("[%d] %r" % (i, v))
    print(json.dumps({"reads": reads, "zeros": sorted(zeros), "failed": sorted(failed),
                      "errors": errors,
                      "bad": "; ".join(bad[:20])}))
    sl.shm.close()


def py_doomed(block_name, list_name):
    from multiprocessing import shared_memory
    own = shared_memory.SharedMemory(block_name, create=True, size=4096)  # tracked
    sl = attach_untracked(list_name)
    print("ready", flush=True)
    k = 0
    while True:  # write until killed
        k += 1
        sl[2] = value_for(2, k)


# --- the driver ---------------------------------------------------------------------------------

def fail(message):
    print("STRESS FAILED: " + message)
    sys.exit(1)


def spawn(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, label, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("%s did not finish" % label)
    if proc.returncode != 0:
        fail("%s exited with %s: %s" % (label, proc.returncode, err.strip()[-2000:]))
    return json.loads(out.strip().splitlines()[-1])


def writers_and_readers(agent, seconds):
    from multiprocessing import shared_memory
    name = "stress_" + secrets.token_hex(6)
    sl = shared_memory.ShareableList(initial_items(), name=name)
    try:
        me = [sys.executable, os.path.abspath(__file__)]
        writers = [[agent, "writer", name, "0", "4", str(seconds)],
                   [agent, "writer", name, "1", "4", str(seconds)],
                   me + ["py-writer", name, "2", "4", str(seconds)],
                   me + ["py-writer", name, "3", "4", str(seconds)]]
        readers = [[agent, "reader", name, str(seconds)],
                   me + ["py-reader", name, str(seconds)]]
        procs = [(spawn(a), a) for a in writers + readers]
        results = [finish(p, " ".join(a[:3]), seconds + 60) for p, a in procs]
        python_owned = {i for i in range(N_ITEMS) if i % 4 in (2, 3)}
        total_writes = sum(r["writes"] for r in results[:4])
        final = {}
        for r in results[:4]:
            final.update(r["last"])
        lost = [(i, item_json(sl[i]), final[str(i)]) for i in range(N_ITEMS)
                if item_json(sl[i]) != final[str(i)]]
        if lost:
            fail("lost writes (index, list holds, writer wrote last): %r" % lost[:5])
        for r, kind in zip(results[4:], ("C++", "CPython")):
            if r["bad"]:
                fail("%s reader saw values nobody wrote: %s" % (kind, r["bad"]))
            # CPython's pack_into zeroes a slot, and its format, before filling them, so a
            # reader may catch a 0 or an empty format there; C++ writes are single stores.
            stray = (set(r["zeros"]) | set(r["failed"])) - python_owned
            if stray:
                fail("%s reader saw 0 or failed in C++-written int/float slots %s"
                     % (kind, sorted(stray)))
        print("stress: 6 processes (2 C++ writers, 2 CPython writers, 1 C++ and 1 CPython "
              "reader), %.1f s, %d writes, %d reads, 0 lost writes, 0 impossible values; "
              "transient zeros/empty formats seen in %d CPython-written slots, %d reads "
              "caught mid-write"
              % (seconds, total_writes, results[4]["reads"] + results[5]["reads"],
                 len(set().union(*(r["zeros"] + r["failed"] for r in results[4:]))),
                 results[4]["errors"] + results[5]["errors"]))
    finally:
        sl.shm.close()
        sl.shm.unlink()


def killed_writers(agent, rng):
    from multiprocessing import shared_memory
    list_name = "stress_" + secrets.token_hex(6)
    sl = shared_memory.ShareableList(initial_items(), name=list_name)
    try:
        me = [sys.executable, os.path.abspath(__file__)]
        doomed = []
        for n in range(6):
            block = "stress_" + secrets.token_hex(6)
            args = ([agent, "doomed", block] if n % 2 == 0
                    else me + ["py-doomed", block, list_name])
            doomed.append((subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            text=True), block))
        for proc, block in doomed:
            if proc.stdout.readline().strip() != "ready":
                fail("a doomed writer did not start: " + proc.stderr.read())
        for proc, block in doomed:
            time.sleep(rng.uniform(0, 0.3))
            proc.send_signal(signal.SIGKILL)
        for proc, block in doomed:
            proc.wait()
            proc.stdout.close()
            proc.stderr.read()  # EOF: every tracker holding this stderr has exited
            proc.stderr.close()
        deadline = time.monotonic() + 10
        left = [b for _, b in doomed if os.path.exists("/dev/shm/" + b)]
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [b for b in left if os.path.exists("/dev/shm/" + b)]
        if left:
            fail("trackers left the killed writers' blocks behind: %s" % left)
        if not os.path.exists("/dev/shm/" + list_name):
            fail("the shared list vanished with the killed writers (an attach was tracked)")
        # Still readable. Slot 2 is the doomed CPython writers' and changes type on every
        # write: a writer killed between the format and the data (CPython writes them one
        # after the other: README, "Concurrent access") leaves it torn for good, so it may
        # fail to read, as it would in any reader; every other slot must read.
        for i in range(len(sl)):
            try:
                sl[i]
            except (struct.error, ValueError, UnicodeDecodeError, KeyError, AttributeError):
                if i != 2:
                    raise
        print("stress: 6 writers SIGKILLed at random moments (3 C++, 3 CPython): their trackers "
              "removed all 6 blocks; the shared list survived")
    finally:
        sl.shm.close()
        sl.shm.unlink()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "py-writer":
        py_writer(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "py-reader":
        py_reader(sys.argv[2], float(sys.argv[3]))
    elif mode == "py-doomed":
        py_doomed(sys.argv[2], sys.argv[3])
    elif mode == "run":
        parser = argparse.ArgumentParser()
        parser.add_argument("--agent", required=True)
        parser.add_argument("--seconds", type=float, default=3.0)
        parser.add_argument("--seed", type=int, default=None)
        args = parser.parse_args(sys.argv[2:])
        seed = args.seed if args.seed is not None else random.randrange(2**32)
        print("stress: seed %d" % seed)
        writers_and_readers(args.agent, args.seconds)
        killed_writers(args.agent, random.Random(seed))
        print("stress: PASSED")
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
