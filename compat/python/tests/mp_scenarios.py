"""Multiprocessing scenarios run by test_processes.py, with the stdlib's classes or libshm's.

usage: mp_scenarios.py SCENARIO START_METHOD
The implementation comes from the environment (LIBSHM_SCENARIO_IMPL=stdlib|libshm), so that
children started with spawn or forkserver, which re-import this file as __mp_main__, use the
same one. With libshm, multiprocessing.shared_memory's classes are libshm's (as a user swapping
the import would have them, and as SharedMemoryManager then uses them). Each scenario prints its
results on stdout; test_processes.py compares them with the stdlib's and checks stderr.
Every block a scenario makes is named NAME_PREFIX + ... so that the test can find leftovers.
"""

import multiprocessing as mp
import os
import signal
import sys
import time
from multiprocessing import shared_memory

IMPL = os.environ.get("LIBSHM_SCENARIO_IMPL", "libshm")
PREFIX = os.environ.get("LIBSHM_SCENARIO_PREFIX", "libshm_mps_")

if IMPL == "libshm":
    import libshm

    shared_memory.SharedMemory = libshm.SharedMemory
    shared_memory.ShareableList = libshm.ShareableList

SharedMemory = shared_memory.SharedMemory
ShareableList = shared_memory.ShareableList


def untracked_attach(name):
    """Attaches block `name` without a tracker registration (track=False; before 3.13 the
    stdlib has no such argument: attach, then withdraw the registration)."""
    if IMPL == "libshm" or sys.version_info >= (3, 13):
        return SharedMemory(name, track=False)
    from multiprocessing import resource_tracker

    block = SharedMemory(name)
    resource_tracker.unregister(block._name, "shared_memory")
    return block


def read_list(sl):
    return list(sl)


def bump_list(args):
    sl, i = args
    sl[i] = sl[i] + 100
    return sl[i]


def read_block(shm):
    return bytes(shm.buf[:4]).hex()


def bump_block(args):
    shm, i = args
    shm.buf[i] += 1
    return shm.buf[i]


def use_objects(pool, tag):
    sl = ShareableList([1, 2, 3, 4], name=PREFIX + tag + "_l")
    shm = SharedMemory(PREFIX + tag + "_b", create=True, size=16)
    shm.buf[:4] = b"\x01\x02\x03\x04"
    print(tag, "lists", pool.map(read_list, [sl] * 4))
    print(tag, "bump", sorted(pool.map(bump_list, [(sl, i) for i in range(4)])))
    print(tag, "blocks", pool.map(read_block, [shm] * 4))
    print(tag, "bumpb", sorted(pool.map(bump_block, [(shm, i) for i in range(4)])))
    print(tag, "parent", list(sl), bytes(shm.buf[:4]).hex())
    sl.shm.close()
    sl.shm.unlink()
    shm.close()
    shm.unlink()


def attach_untracked(name):
    block = untracked_attach(name)
    block.buf[0] = 42
    block.close()


def pools(method):
    ctx = mp.get_context(method)
    with ctx.Pool(2) as pool:  # created before the objects
        use_objects(pool, "before")
    with ctx.Pool(2) as pool:
        use_objects(pool, "before2")
    # Objects first, pool second.
    sl = ShareableList(["a", b"b", 3.5], name=PREFIX + "after_l")
    shm = SharedMemory(PREFIX + "after_b", create=True, size=8)
    shm.buf[:4] = b"\x05\x06\x07\x08"
    with ctx.Pool(2) as pool:
        print("after", pool.map(read_list, [sl] * 3))
        print("after", pool.map(read_block, [shm] * 3))
        print("after", sorted(pool.map(bump_block, [(shm, i) for i in range(4)])))
    sl.shm.close()
    sl.shm.unlink()
    shm.close()
    shm.unlink()
    # A child that attaches with track=False: the block outlives it.
    shm = SharedMemory(PREFIX + "untracked", create=True, size=8)
    p = ctx.Process(target=attach_untracked, args=(shm.name,))
    p.start()
    p.join(30)
    print("untracked child", p.exitcode, shm.buf[0], os.path.exists("/dev/shm/" + shm.name))
    shm.close()
    shm.unlink()


def maxtasks(method):
    ctx = mp.get_context(method)
    # The tracker runs before the pool forks its workers, so that they share it. Otherwise each
    # first worker, forked before any tracker, starts one of its own when it attaches, and that
    # tracker unlinks the block when its worker exits (the stdlib's attach-registers-tracker
    # quirk): whether that comes before a later worker's attach and this process's unlink is a
    # race, in the stdlib as in libshm, which made this scenario fail now and then under load.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    pool = ctx.Pool(2, maxtasksperchild=1)  # created before the list
    sl = ShareableList([7, "x", None], name=PREFIX + "maxtasks")
    print("maxtasks", pool.map(read_list, [sl] * 4))
    pool.close()
    pool.join()
    sl.shm.close()
    sl.shm.unlink()


def do_work(sl, start, stop):
    for i in range(start, stop):
        sl[i] = sl[i] * 2


def manager(method):
    # The docs' example (multiprocessing.shared_memory, "SharedMemoryManager").
    from multiprocessing.managers import SharedMemoryManager

    ctx = mp.get_context(method)
    with SharedMemoryManager(ctx=ctx) as smm:
        sl = smm.ShareableList(range(2000))
        p1 = ctx.Process(target=do_work, args=(sl, 0, 1000))
        p2 = ctx.Process(target=do_work, args=(sl, 1000, 2000))
        p1.start()
        p2.start()
        p1.join(30)
        p2.join(30)
        total_result = sum(sl)
        shm = smm.SharedMemory(128)
        shm.buf[0] = 9
        print("manager", total_result, shm.size >= 128, shm.buf[0], type(sl) is ShareableList)


def outlive(name, parent):
    # Waits (at most 30 s) for the parent to be SIGKILLed, then uses the list.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    sl = ShareableList(name=name)
    sl[0] = sl[0] + 1
    print("child after parent's death", list(sl), flush=True)
    sl.shm.close()


def sigkill(method):
    ctx = mp.get_context(method)
    sl = ShareableList([41, "alive"], name=PREFIX + "orphan")
    p = ctx.Process(target=outlive, args=(sl.shm.name, os.getpid()))
    p.start()
    print("ready", flush=True)
    time.sleep(60)  # the test SIGKILLs this process
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    scenario, method = sys.argv[1:3]
    {"pools": pools, "maxtasks": maxtasks, "manager": manager, "sigkill": sigkill}[scenario](
        method)
