"""libshm.share and libshm.semaphore_name: a multiprocessing lock handed to another process
outside spawning, as the bytes spawn's pickler writes, which the stdlib's pickle.loads turns
back into the same object in any process."""

import multiprocessing as mp
import pickle
import unittest
from multiprocessing import context, reduction

import libshm
from support import run_python

SHAREABLE_METHODS = ("spawn", "forkserver")
FORK_MESSAGE = ("A SemLock created in a fork context is being shared with a process in a spawn "
                "context. This is not supported. Please use the same context to create "
                "multiprocessing objects and Process.")

# A stdlib-only process: unpickles the bytes (hex in argv[1]) and uses the object.
STDLIB_CHILD = """if 1:
    import pickle, sys
    obj = pickle.loads(bytes.fromhex(sys.argv[1]))
    kind = sys.argv[2]
    if kind == "semaphore":
        print(obj.acquire(False), obj.acquire(False), obj.get_value())  # keeps both
    elif kind == "lock":
        print(obj.acquire(timeout=5))  # keeps it: the parent sees it taken
    elif kind == "event":
        obj.set()
        print(obj.is_set())
    print("libshm" in sys.modules)
"""


def objects(ctx):
    """One of each shareable class of `ctx`, by name."""
    return {"Lock": ctx.Lock(), "RLock": ctx.RLock(), "Semaphore": ctx.Semaphore(3),
            "BoundedSemaphore": ctx.BoundedSemaphore(2), "Condition": ctx.Condition(),
            "Event": ctx.Event()}


def semaphore_names(obj):
    """The names of every SemLock inside `obj`, in a fixed order."""
    if hasattr(obj, "_semlock"):
        return [obj._semlock.name]
    if hasattr(obj, "_cond"):  # Event
        return semaphore_names(obj._cond) + semaphore_names(obj._flag)
    return (semaphore_names(obj._lock) + semaphore_names(obj._sleeping_count) +
            semaphore_names(obj._woken_count) + semaphore_names(obj._wait_semaphore))


def use_in_spawn_child(data):
    """Runs in a spawn child: pickle.loads of shared bytes, then take the semaphore once."""
    sem = pickle.loads(data)
    return sem.acquire(timeout=5)


class Share(unittest.TestCase):
    def test_every_class_round_trips_to_the_same_semaphores(self):
        for method in SHAREABLE_METHODS:
            for kind, obj in objects(mp.get_context(method)).items():
                with self.subTest(method=method, kind=kind):
                    data = libshm.share(obj)
                    self.assertIsInstance(data, bytes)
                    self.assertEqual(data[:2], b"\x80%c" % pickle.DEFAULT_PROTOCOL)
                    back = pickle.loads(data)
                    self.assertIs(type(back), type(obj))
                    names = semaphore_names(obj)
                    self.assertTrue(all(n and n.startswith("/mp-") for n in names), names)
                    self.assertEqual(semaphore_names(back), names)

    def test_the_bytes_are_the_stdlib_pickler_s_while_spawning(self):
        # What spawn's pickler writes for the object, with a spawning Popen set as spawn sets it.
        for kind, obj in objects(mp.get_context("spawn")).items():
            with self.subTest(kind=kind):
                context.set_spawning_popen(object())
                try:
                    expected = bytes(reduction.ForkingPickler.dumps(obj))
                finally:
                    context.set_spawning_popen(None)
                self.assertEqual(libshm.share(obj), expected)

    def test_the_spawning_popen_is_restored(self):
        lock = mp.get_context("spawn").Lock()
        libshm.share(lock)
        self.assertIsNone(context.get_spawning_popen())
        with self.assertRaises(RuntimeError):
            pickle.dumps(lock)  # still the stdlib's refusal outside spawning
        marker = object()
        context.set_spawning_popen(marker)
        try:
            libshm.share(lock)
            self.assertIs(context.get_spawning_popen(), marker)
        finally:
            context.set_spawning_popen(None)

    def test_fork_context_objects_raise_the_3_12_error(self):
        for kind, obj in objects(mp.get_context("fork")).items():
            with self.subTest(kind=kind):
                with self.assertRaises(RuntimeError) as cm:
                    libshm.share(obj)
                self.assertEqual(str(cm.exception), FORK_MESSAGE)
        with self.assertRaises(RuntimeError) as cm:
            libshm.semaphore_name(mp.get_context("fork").Lock())
        self.assertEqual(str(cm.exception), FORK_MESSAGE)

    def test_other_objects_are_a_type_error(self):
        for obj in (None, 1, b"x", mp.get_context("spawn").Barrier(2), mp.Queue):
            with self.assertRaises(TypeError):
                libshm.share(obj)
        for obj in (None, mp.get_context("spawn").Event()):
            with self.assertRaises(TypeError):
                libshm.semaphore_name(obj)

    def test_semaphore_name(self):
        for method in SHAREABLE_METHODS:
            ctx = mp.get_context(method)
            for obj in (ctx.Lock(), ctx.RLock(), ctx.Semaphore(), ctx.BoundedSemaphore()):
                self.assertEqual(libshm.semaphore_name(obj), obj._semlock.name)

    def test_a_stdlib_only_process_uses_the_same_semaphores(self):
        for method in SHAREABLE_METHODS:
            ctx = mp.get_context(method)
            with self.subTest(method=method, kind="Semaphore"):
                sem = ctx.Semaphore(3)
                p = run_python(STDLIB_CHILD, libshm.share(sem).hex(), "semaphore")
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                self.assertEqual(p.stdout.split(), ["True", "True", "1", "False"])
                self.assertEqual(sem.get_value(), 1)  # the child kept two
            with self.subTest(method=method, kind="Lock"):
                lock = ctx.Lock()
                p = run_python(STDLIB_CHILD, libshm.share(lock).hex(), "lock")
                self.assertEqual(p.stdout.split(), ["True", "False"], p.stderr)
                self.assertFalse(lock.acquire(False))  # taken by the child, which exited
                lock.release()
            with self.subTest(method=method, kind="Event"):
                event = ctx.Event()
                p = run_python(STDLIB_CHILD, libshm.share(event).hex(), "event")
                self.assertEqual(p.stdout.split(), ["True", "False"], p.stderr)
                self.assertTrue(event.wait(5))

    def test_a_spawn_child_unpickles_a_working_semaphore(self):
        spawn = mp.get_context("spawn")
        for method in SHAREABLE_METHODS:
            with self.subTest(method=method):
                sem = mp.get_context(method).BoundedSemaphore(2)
                with spawn.Pool(1) as pool:
                    self.assertTrue(pool.apply(use_in_spawn_child, (libshm.share(sem),)))
                self.assertEqual(sem.get_value(), 1)


if __name__ == "__main__":
    unittest.main()
