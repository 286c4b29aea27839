"""The lists-with-locks recipe, tested (README.md, "Concurrent access"): a C++ writer
(locked_list_writer) and stdlib-only Python readers share a ShareableList and a CPython
multiprocessing Lock that the C++ side created and handed over as its pickle.

    python3 locked_list.py --writer PATH [--seconds S] [--readers N]

Runs the writer twice, with and without the lock around each record it writes, against N
reader processes that read the whole record (6 items of one generation) in a loop, under the
lock in the first run and without it in the second. A read is *torn* when its items belong to
different generations, *wrong-typed* when the slot that changes type with the generation's
parity holds the other type, and *failed* when reading raised (struct.error, UnicodeDecodeError,
AttributeError inside the stdlib's ShareableList: a slot caught between its format, its type
code and its data). The locked run must show none of
the three in at least 1,000 reads per reader; the unlocked run's counts are printed as the
measurement the recipe is for. Exits 1 on a failed check.
"""
import argparse
import json
import os
import subprocess
import sys

READER = r"""
import json, pickle, struct, sys, time
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList
name, lock_hex, locked, seconds = sys.argv[1], sys.argv[2], sys.argv[3] == "locked", float(sys.argv[4])
lock = pickle.loads(bytes.fromhex(lock_hex))   # multiprocessing.synchronize.Lock, stdlib only
sl = ShareableList(name=name)
# Before 3.13 attaching registers the block with this process's tracker, which would remove
# it when this reader exits (gh-82300): the writer owns it.
resource_tracker.unregister(sl.shm._name, "shared_memory")
print("ready", flush=True)
sys.stdin.readline()
reads = torn = wrong_typed = failed = 0
kinds = {}
end = time.monotonic() + seconds
while time.monotonic() < end:
    if locked:
        lock.acquire()
    try:
        record = [sl[i] for i in range(6)]
    except Exception as exc:  # struct.error, UnicodeDecodeError, AttributeError, ...
        failed += 1
        kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
        continue
    finally:
        if locked:
            lock.release()
    reads += 1
    g = record[0]
    if type(g) is not int or g == 0:
        continue  # before the first generation
    tag = "%07d" % (g % 10000000)
    if record[1:5] != ["g" + tag, -g, ("b" + tag).encode(), g + 0.5]:
        torn += 1
    elif (g % 2 == 0 and type(record[5]) is not int) or (g % 2 == 1 and type(record[5]) is not str):
        wrong_typed += 1
    elif record[5] != (g if g % 2 == 0 else "s" + tag):
        torn += 1
sl.shm.close()
print(json.dumps({"reads": reads, "torn": torn, "wrong_typed": wrong_typed, "failed": failed,
                  "kinds": kinds}))
"""


def run(writer, locked, seconds, readers):
    mode = "locked" if locked else "unlocked"
    w = subprocess.Popen([writer, str(seconds), mode], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    name, semaphore, lock_hex = w.stdout.readline().split()
    rs = []
    try:
        rs = [subprocess.Popen([sys.executable, "-c", READER, name, lock_hex, mode, str(seconds)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
              for _ in range(readers)]
        for r in rs:
            assert r.stdout.readline().strip() == "ready"
        for p in rs + [w]:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(r.communicate(timeout=seconds + 60)[0]) for r in rs]
        generations = int(w.stdout.readline())
        w.communicate("done\n", timeout=60)
    finally:
        for p in rs + [w]:
            if p.poll() is None:
                p.kill()
                p.wait()
    total = {k: sum(r[k] for r in results) for k in ("reads", "torn", "wrong_typed", "failed")}
    total["kinds"] = {}
    for r in results:
        for k, n in r["kinds"].items():
            total["kinds"][k] = total["kinds"].get(k, 0) + n
    total["min_reads"] = min(r["reads"] for r in results)
    # What the run made, the list's block and the Lock's semaphore, is gone once it is over.
    total["left"] = [f for f in (name, "sem." + semaphore.lstrip("/"))
                     if os.path.exists(os.path.join("/dev/shm", f))]
    total["generations"] = generations
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writer", required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    locked = run(args.writer, True, args.seconds, args.readers)
    unlocked = run(args.writer, False, args.seconds, args.readers)
    for mode, t in (("with the lock", locked), ("without it", unlocked)):
        print("%-14s %7d generations written, %7d reads: %d torn, %d wrong-typed, %d failed %s"
              % (mode, t["generations"], t["reads"], t["torn"], t["wrong_typed"], t["failed"],
                 json.dumps(t["kinds"], sort_keys=True)))
    problems = []
    if locked["torn"] or locked["wrong_typed"] or locked["failed"]:
        problems.append("reads under the lock were not whole records")
    if locked["min_reads"] < 1000 or unlocked["min_reads"] < 1000:
        problems.append("a reader made fewer than 1,000 reads: the run measured nothing")
    if locked["generations"] < 1000:
        problems.append("the writer wrote fewer than 1,000 generations under the lock")
    left = locked["left"] + unlocked["left"]
    if left:
        problems.append("left in /dev/shm: %s" % left)
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
