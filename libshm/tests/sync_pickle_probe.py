"""What a CPython does with the pickles of multiprocessing.synchronize objects, for
sync_pickle_test.cpp. Standard library only; runs under CPython 3.8+.

    sync_pickle_probe.py dumps
        One JSON line about the interpreter ({"version", "default_protocol"}), then one per
        object: {"case", "state", "pickles": [{"protocol", "optimized", "default", "hex"}]},
        the bytes spawn's ForkingPickler writes for it in protocols 0 - 5 (and with
        pickletools.optimize), and its state as sync_pickle.hpp's State (names, handles, ...).

    sync_pickle_probe.py loads
        Makes one object of each case and prints {"case", "state"} for each, then "ready". Then
        reads lines "CASE HEX" (a pickle C++ wrote from that state), pickle.loads each and checks
        that the result is an object of the same class on the same semaphores (a value change
        through one is seen through the other), printing "ok CASE" or "FAIL CASE: why". Ends at
        "end" or end of input. Its objects' semaphores are unlinked when it exits, as always.
"""

import json
import multiprocessing
import pickle
import pickletools
import sys
from multiprocessing import context, reduction, synchronize

CTX = multiprocessing.get_context("spawn")


def objects():
    shared = CTX.Condition()
    # The same Semaphore twice in one pickle: the second is a memo fetch of the first.
    shared._woken_count = shared._sleeping_count
    return [
        ("Lock", CTX.Lock()),
        ("RLock", CTX.RLock()),
        ("Semaphore", CTX.Semaphore(3)),
        ("BoundedSemaphore", CTX.BoundedSemaphore(2)),
        ("BoundedSemaphore0", CTX.BoundedSemaphore(0)),
        ("Condition", CTX.Condition()),
        ("ConditionOverLock", CTX.Condition(CTX.Lock())),
        ("ConditionSharedSemaphore", shared),
        ("Event", CTX.Event()),
    ]


def state(obj):
    """The object as sync_pickle.hpp's State, in JSON."""
    if isinstance(obj, synchronize.Event):
        return {"class": "Event", "cond": state(obj._cond), "flag": state(obj._flag)}
    if isinstance(obj, synchronize.Condition):
        return {"class": "Condition", "lock": state(obj._lock),
                "sleeping_count": state(obj._sleeping_count),
                "woken_count": state(obj._woken_count),
                "wait_semaphore": state(obj._wait_semaphore)}
    sl = obj._semlock
    return {"class": type(obj).__name__, "handle": sl.handle, "kind": sl.kind,
            "maxvalue": sl.maxvalue, "name": sl.name}


def spawn_dumps(obj, protocol):
    """Exactly what spawn writes: Popen sets the spawning popen around its dump."""
    context.set_spawning_popen(object())
    try:
        if protocol is None:
            return bytes(reduction.ForkingPickler.dumps(obj))
        return bytes(reduction.ForkingPickler.dumps(obj, protocol))
    finally:
        context.set_spawning_popen(None)


def emit(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def dumps_mode():
    emit({"version": sys.version.split()[0], "default_protocol": pickle.DEFAULT_PROTOCOL})
    for case, obj in objects():
        pickles = []
        for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
            data = spawn_dumps(obj, protocol)
            pickles.append({"protocol": protocol, "optimized": False, "default": False,
                            "hex": data.hex()})
            pickles.append({"protocol": protocol, "optimized": True, "default": False,
                            "hex": pickletools.optimize(data).hex()})
        pickles.append({"protocol": pickle.DEFAULT_PROTOCOL, "optimized": False, "default": True,
                        "hex": spawn_dumps(obj, None).hex()})
        emit({"case": case, "state": state(obj), "pickles": pickles})


def pairs(original, loaded):
    """(original SemLock-based object, loaded one) for every semaphore of the two."""
    if isinstance(original, synchronize.Event):
        return pairs(original._cond, loaded._cond) + [(original._flag, loaded._flag)]
    if isinstance(original, synchronize.Condition):
        return [(original._lock, loaded._lock),
                (original._sleeping_count, loaded._sleeping_count),
                (original._woken_count, loaded._woken_count),
                (original._wait_semaphore, loaded._wait_semaphore)]
    return [(original, loaded)]


def same_semaphore(original, loaded):
    """Why `loaded` is not `original`'s semaphore, or None."""
    if type(loaded) is not type(original):
        return "a %s, not a %s" % (type(loaded).__name__, type(original).__name__)
    if loaded._semlock.name != original._semlock.name:
        return "named %r, not %r" % (loaded._semlock.name, original._semlock.name)
    if isinstance(original, (synchronize.Lock, synchronize.RLock)):
        # Taken through the original, the loaded one cannot take it; released, it can.
        if not original.acquire(False):
            return "the original is taken"
        if loaded.acquire(False):
            return "taken through the original, yet the loaded one could take it"
        original.release()
        if not loaded.acquire(False):
            return "released through the original, yet the loaded one could not take it"
        loaded.release()
        return None
    before = original.get_value()
    maxvalue = original._semlock.maxvalue
    if before < maxvalue:
        loaded.release()
        moved = original.get_value() == before + 1
        original.acquire()
    elif before > 0:
        loaded.acquire()
        moved = original.get_value() == before - 1
        original.release()
    else:  # BoundedSemaphore(0): nothing can move, but the bound must be the same
        try:
            loaded.release()
            return "released past its maxvalue 0 without an error"
        except ValueError:
            moved = True
    if not moved:
        return "a release or acquire through the loaded one did not change the original's value"
    if loaded._semlock.maxvalue != maxvalue:
        return "maxvalue %d, not %d" % (loaded._semlock.maxvalue, maxvalue)
    return None


def check(original, loaded):
    if type(loaded) is not type(original):
        return "a %s, not a %s" % (type(loaded).__name__, type(original).__name__)
    for one, other in pairs(original, loaded):
        problem = same_semaphore(one, other)
        if problem:
            return problem
    if isinstance(original, synchronize.Condition):
        if (original._woken_count is original._sleeping_count) != \
                (loaded._woken_count is loaded._sleeping_count):
            return "the memo fetch of a shared Semaphore did not give the same object"
    if isinstance(original, synchronize.Event):
        loaded.set()
        if not original.is_set():
            return "set through the loaded Event, the original is not set"
        original.clear()
        if loaded.is_set():
            return "cleared through the original Event, the loaded one is still set"
    return None


def loads_mode():
    made = dict(objects())
    for case, obj in made.items():
        emit({"case": case, "state": state(obj)})
    print("ready", flush=True)
    while True:
        line = sys.stdin.readline().strip()
        if line in ("", "end"):
            break
        case, _, hex_bytes = line.partition(" ")
        try:
            problem = check(made[case], pickle.loads(bytes.fromhex(hex_bytes)))
        except Exception as e:  # reported, the C++ side fails the case
            problem = "%s: %s" % (type(e).__name__, e)
        print(("FAIL %s: %s" % (case, problem)) if problem else ("ok " + case), flush=True)


if __name__ == "__main__":
    {"dumps": dumps_mode, "loads": loads_mode}[sys.argv[1]]()
