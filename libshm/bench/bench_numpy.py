#!/usr/bin/env python3
"""The numpy side of libshm_bench's array sums (ci/bench): numpy makes the block, C++ sums it.

  bench_numpy.py create --name NAME [--elements N]
      makes block NAME the way a plain stdlib + numpy program shares an array: a SharedMemory
      holding numpy's own .npy header (numpy.lib.format, data 64-byte aligned) and N `<f8`
      values 0, 0.5, 1, ... (default 100,000,000). The block outlives this process (it is
      taken off the resource tracker); `time` unlinks it. libshm_bench attaches it through
      LIBSHM_BENCH_ARRAY_BLOCK=NAME, so its raw loop and view sum these very bytes.
  bench_numpy.py time --name NAME --out FILE [--repeats R]
      times numpy's own a.sum() on the block (CPU time, best of R, default 5), checks the sum,
      writes {"array.sum.f8/numpy": seconds, "elements": N, "numpy": version} to FILE and
      unlinks the block, also when timing fails.

Standard library and numpy only. Exit status 0 on success, 1 on a failure, 77 without numpy.
"""

import argparse
import io
import json
import sys
import time
from multiprocessing import resource_tracker, shared_memory

try:
    import numpy as np
except ImportError:  # ci/bench then leaves the numpy column out
    print("bench_numpy.py: numpy is not importable under %s" % sys.executable, file=sys.stderr)
    sys.exit(77)


def header_bytes(shape):
    """numpy's .npy header (version 1.0) for a C-order `<f8` array of `shape`."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": "<f8", "fortran_order": False, "shape": tuple(shape)})
    return out.getvalue()


def array_on(block):
    """The array an .npy block holds, read with numpy's own header reader (the recipe of
    compat/python/README.md)."""
    stream = io.BytesIO(bytes(block.buf[:4096]))  # this header is 128 bytes
    if np.lib.format.read_magic(stream) != (1, 0):
        raise SystemExit("bench_numpy.py: %s is not an .npy 1.0 block" % block.name)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    order = "F" if fortran else "C"
    return np.ndarray(shape, dtype, buffer=block.buf, offset=stream.tell(), order=order)


def create(name, elements):
    header = header_bytes((elements,))
    block = shared_memory.SharedMemory(name=name, create=True, size=len(header) + 8 * elements)
    try:
        block.buf[:len(header)] = header
        a = array_on(block)
        # 0, 0.5, 1, ... in chunks, so that no second 800 MB array is made.
        chunk = 1 << 22
        for start in range(0, elements, chunk):
            stop = min(start + chunk, elements)
            np.multiply(np.arange(start, stop, dtype="<f8"), 0.5, out=a[start:stop])
        del a
    except BaseException:
        block.close()
        block.unlink()
        raise
    # The block must outlive this process: ci/bench's `time` step unlinks it.
    resource_tracker.unregister(block._name, "shared_memory")
    block.close()


def time_sum(name, out, repeats):
    block = shared_memory.SharedMemory(name=name)
    # Attaching registers the block (before 3.13); unlinking below unregisters it again.
    try:
        a = array_on(block)
        n = a.shape[0]
        expected = 0.25 * n * (n - 1)  # 0.5 * (0 + 1 + ... + n-1)
        best = float("inf")
        total = None
        for _ in range(repeats):
            t0 = time.process_time()
            total = a.sum()
            best = min(best, time.process_time() - t0)
        if abs(total - expected) > 1e-9 * expected:
            raise SystemExit("bench_numpy.py: numpy's sum %r is not %r" % (total, expected))
        del a
        with open(out, "w") as f:
            json.dump({"array.sum.f8/numpy": best, "elements": n, "numpy": np.__version__,
                       "python": sys.version.split()[0]}, f)
            f.write("\n")
    finally:
        block.close()
        block.unlink()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create")
    c.add_argument("--name", required=True)
    c.add_argument("--elements", type=int, default=100_000_000)
    t = sub.add_parser("time")
    t.add_argument("--name", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.command == "create":
        create(args.name, args.elements)
    else:
        time_sum(args.name, args.out, args.repeats)


if __name__ == "__main__":
    main()
