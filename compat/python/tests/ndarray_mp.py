"""libshm.ndarray across processes, one scenario per run (ndarray_tests.py runs each in its own
interpreter, bounded by a timeout, and checks its stderr and /dev/shm afterwards).

    python3 ndarray_mp.py SCENARIO START_METHOD BLOCK_NAME

prints one line of JSON with what the parent measured. Scenarios:

pool   a 100 MB '<f8' array goes to Pool workers whole and as slices; each worker writes its
       part and returns what it read; a maxtasksperchild=1 worker exits between tasks. The
       block must survive the workers, then the parent unlinks it.
queue  the array goes to a Process through a Queue, the child writes through it and sends a
       view of it back the same way; the parent's received view is the same memory.
"""

import json
import multiprocessing
import os
import pickle
import sys
import time
from multiprocessing.reduction import ForkingPickler

import numpy as np

import libshm

MB = 1 << 20
PARTS = 4


def fill_part(args):
    """Writes part `i` of `arr` (a slice, received by reference) and reports what it saw."""
    part, i = args
    before = float(part.sum())
    part[:] = i + 1
    return before, type(part).__name__, part.shm.name, part.shm.size, os.getpid()


def write_whole(arr):
    arr[-1] = 42.0  # through the whole array, received by reference
    return os.getpid()


def pool(method, name):
    ctx = multiprocessing.get_context(method)
    n = 100 * MB // 8
    a = libshm.ndarray(n, "<f8", name=name)
    try:
        sizes = {"pickle": len(pickle.dumps(a)), "forking_pickler": len(ForkingPickler.dumps(a)),
                 "slice": len(pickle.dumps(a[MB:2 * MB]))}
        assert a.nbytes == 100 * MB and a.shm.size >= a.nbytes
        step = n // PARTS
        parts = [(a[i * step:(i + 1) * step], i) for i in range(PARTS)]
        start = time.monotonic()
        with ctx.Pool(2) as p:
            seen = p.map(fill_part, parts)
            pid = p.apply(write_whole, (a,))
            p.close()
            p.join()
        # A worker per task: each exits right after it returned.
        with ctx.Pool(1, maxtasksperchild=1) as p:
            pids = {p.apply(write_whole, (a,)) for _ in range(2)}
            p.close()
            p.join()
        elapsed = time.monotonic() - start
        assert len(pids) == 2, pids
        for before, kind, block, size, _ in seen:
            assert (before, kind, block, size) == (0.0, "SharedArray", name, a.shm.size), seen
        assert pid != os.getpid()
        expected = np.repeat(np.arange(1, PARTS + 1, dtype="<f8"), step)
        expected[-1] = 42.0
        assert np.array_equal(a, expected), "the workers' writes are not all in the parent's array"
        # The workers are gone; the block is still there, and still the parent's.
        assert os.path.exists("/dev/shm/" + name)
        return dict(sizes, seconds=round(elapsed, 3), nbytes=a.nbytes)
    finally:
        a.shm.unlink()


def child(inbox, outbox):
    arr = inbox.get(timeout=30)
    arr[:, ::2] = 7  # writes through a strided view of the parent's array
    outbox.put(arr[1:])  # a view back, by reference: the parent's row 2
    outbox.put(type(arr).__name__)
    inbox.get(timeout=30)  # holds its mapping until the parent has checked


def queue(method, name):
    ctx = multiprocessing.get_context(method)
    a = libshm.ndarray((3, 4), "<i8", order="F", name=name)
    try:
        inbox, outbox = ctx.Queue(), ctx.Queue()
        proc = ctx.Process(target=child, args=(inbox, outbox))
        proc.start()
        inbox.put(a[::2, :])
        back = outbox.get(timeout=30)
        kind = outbox.get(timeout=30)
        assert kind == "SharedArray", kind
        expected = np.zeros((3, 4), "<i8")
        expected[::2, ::2] = 7
        assert np.array_equal(a, expected), a
        back[...] = 9
        assert back.shape == (1, 4) and (a[2, :] == 9).all(), (back, a)
        assert back.shm is not a.shm and back.shm.name == name
        inbox.put("done")
        proc.join(30)
        assert proc.exitcode == 0, proc.exitcode
        assert os.path.exists("/dev/shm/" + name)
        return {"pickle": len(ForkingPickler.dumps(a[::2, :]))}
    finally:
        a.shm.unlink()


if __name__ == "__main__":
    scenario, method, block = sys.argv[1:4]
    print(json.dumps({"pool": pool, "queue": queue}[scenario](method, block)))
