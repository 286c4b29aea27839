"""The module's atomic operations (SharedMemory.atomic_*, ShareableList.atomic_*): values,
errors, and exact totals when several processes add at once (spawn, forkserver, a Pool, and a
C++ process on the same slot), while the stdlib's ShareableList reads the slot."""

import multiprocessing as mp
import os
import subprocess
import sys
import unittest

import libshm
from support import PY38, BlockTest, stdlib_attach_list

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63
ADDS = 20000  # per process
COUNTER_OFFSET = 8  # where the block counter is, in its 16-byte block
TEST_CHILD = os.environ.get("LIBSHM_TEST_CHILD")


def add_many(args):
    """Adds 1 to item 0 of list `list_name` and to the int64 at COUNTER_OFFSET of block
    `block_name`, `count` times each; returns `count`. Module-level, for spawn's pickling."""
    list_name, block_name, count = args
    sl = libshm.ShareableList(name=list_name, track=False)
    block = libshm.SharedMemory(block_name, track=False)
    try:
        for _ in range(count):
            sl.atomic_fetch_add(0, 1)
            block.atomic_fetch_add(COUNTER_OFFSET, 1)
    finally:
        block.close()
        sl.shm.close()
    return count


class BlockAtomics(BlockTest):
    def block(self, size=64):
        block = libshm.SharedMemory(self.name(), create=True, size=size)
        self.addCleanup(block.close)
        return block

    def test_values(self):
        block = self.block()
        self.assertEqual(block.atomic_load(16), 0)
        self.assertIsNone(block.atomic_store(16, 41))
        self.assertEqual(block.atomic_fetch_add(16, 1), 41)
        self.assertEqual(block.atomic_fetch_add(16, -50), 42)
        self.assertEqual(block.atomic_exchange(16, 100), -8)
        self.assertEqual(block.atomic_compare_exchange(16, 7, 1), (False, 100))
        self.assertEqual(block.atomic_compare_exchange(16, 100, 1), (True, 100))
        self.assertEqual(block.atomic_load(16), 1)
        self.assertEqual(bytes(block.buf[16:24]), (1).to_bytes(8, sys.byteorder))
        self.assertEqual(bytes(block.buf[:16]) + bytes(block.buf[24:]), bytes(56))
        block.atomic_store(56, INT64_MIN)  # the last word
        self.assertEqual(block.atomic_load(56), INT64_MIN)
        block.atomic_store(0, True)  # anything with __index__
        self.assertEqual(block.atomic_load(0), 1)

    def test_bad_offsets_and_values_raise_and_write_nothing(self):
        block = self.block(4096)
        with self.assertRaises(ValueError) as cm:
            block.atomic_load(12)
        self.assertEqual(str(cm.exception), "offset 12 is not 8-byte aligned")
        self.assertEqual(cm.exception.libshm_code, "invalid_argument")
        with self.assertRaises(ValueError) as cm:
            block.atomic_store(4090, 1)
        self.assertEqual(str(cm.exception), "offset 4090 + 8 exceeds the block's 4096 bytes")
        for offset in (4096, -8, 2 ** 62):
            with self.assertRaises(ValueError):
                block.atomic_fetch_add(offset, 1)
        with self.assertRaises(OverflowError):
            block.atomic_load(2 ** 64)
        for bad in (1.0, "1", None):
            with self.assertRaises(TypeError):
                block.atomic_store(0, bad)
            with self.assertRaises(TypeError):
                block.atomic_load(bad)
        for value in (INT64_MAX + 1, INT64_MIN - 1):
            with self.assertRaises(OverflowError):
                block.atomic_store(0, value)
            with self.assertRaises(OverflowError):
                block.atomic_compare_exchange(0, 0, value)
        with self.assertRaises(TypeError):
            block.atomic_fetch_add(0)
        self.assertEqual(bytes(block.buf), bytes(4096))

    def test_fetch_add_past_int64_raises_and_keeps_the_value(self):
        block = self.block()
        block.atomic_store(8, INT64_MAX)
        with self.assertRaises(OverflowError) as cm:
            block.atomic_fetch_add(8, 1)
        self.assertIn("the value is unchanged", str(cm.exception))
        self.assertEqual(block.atomic_load(8), INT64_MAX)
        with self.assertRaises(OverflowError):
            block.atomic_fetch_add(8, INT64_MAX + 1)  # a delta outside int64
        block.atomic_store(8, INT64_MIN)
        with self.assertRaises(OverflowError):
            block.atomic_fetch_add(8, -1)
        self.assertEqual(block.atomic_load(8), INT64_MIN)
        self.assertEqual(block.atomic_fetch_add(8, INT64_MAX), INT64_MIN)
        self.assertEqual(block.atomic_load(8), -1)

    def test_closed_block(self):
        block = self.block()
        block.close()
        with self.assertRaises(TypeError) as cm:
            block.atomic_load(0)
        self.assertEqual(cm.exception.libshm_code, "closed")


class ListAtomics(BlockTest):
    def make(self, items):
        sl = libshm.ShareableList(items, name=self.name())
        self.addCleanup(sl.shm.close)
        return sl

    def test_int_items(self):
        sl = self.make(["abcdefghij", 5, 2.5, -3])
        self.assertEqual(sl.atomic_fetch_add(1, 10), 5)
        self.assertEqual(sl[1], 15)
        self.assertEqual(sl.atomic_exchange(-1, INT64_MIN), -3)  # the list's own indices
        self.assertEqual(sl.atomic_compare_exchange(3, INT64_MIN, 0), (True, INT64_MIN))
        self.assertEqual(sl.atomic_compare_exchange(3, 1, 2), (False, 0))
        sl.atomic_store(1, 7)
        self.assertEqual(sl.atomic_load(1), 7)
        self.assertEqual(list(sl), ["abcdefghij", 7, 2.5, 0])
        self.assertEqual(sl.format, "16sqdq")
        # The same bytes as SharedMemory.atomic_* at the slot's offset.
        before = sl._allocated_bytes[0] if PY38 else sl._allocated_offsets[1]
        offset = sl._offset_data_start + before
        self.assertEqual(sl.shm.atomic_fetch_add(offset, 1), 7)
        self.assertEqual(sl.atomic_load(1), 8)

    def test_other_items_and_bad_indices(self):
        sl = self.make(["s", 2.5, True, None, b"b", 1])
        for i, kind in enumerate(["a str", "a float", "a bool", "None", "a bytes"]):
            with self.assertRaises(TypeError) as cm:
                sl.atomic_fetch_add(i, 1)
            self.assertEqual(str(cm.exception), "item %d is %s, not an int" % (i, kind))
            self.assertEqual(cm.exception.libshm_code, "wrong_type")
        for bad in (6, -7, 2 ** 70):
            with self.assertRaises(IndexError):
                sl.atomic_load(bad)
        with self.assertRaises(TypeError):
            sl.atomic_load(1.0)
        with self.assertRaises(TypeError):
            sl.atomic_store(5, 1.5)
        with self.assertRaises(OverflowError):
            sl.atomic_store(5, INT64_MAX + 1)
        with self.assertRaises(TypeError):
            sl.atomic_compare_exchange(5, 1)
        sl.atomic_store(5, INT64_MAX)
        with self.assertRaises(OverflowError):
            sl.atomic_fetch_add(5, 1)
        self.assertEqual(list(sl), ["s", 2.5, True, None, b"b", INT64_MAX])
        sl.shm.close()
        with self.assertRaises(TypeError):
            sl.atomic_load(5)

    def test_the_stdlib_reads_and_writes_the_same_slot(self):
        sl = self.make([0, "x"])
        sl.atomic_fetch_add(0, 42)
        theirs = stdlib_attach_list(sl.shm.name)
        try:
            self.assertEqual(theirs[0], 42)
            self.assertEqual(theirs.format, "q8s")
            theirs[0] = 7
            self.assertEqual(sl.atomic_fetch_add(0, 1), 7)
            self.assertEqual(theirs[0], 8)
        finally:
            theirs.shm.close()


class ProcessesAdd(BlockTest):
    """N processes add ADDS each; the stdlib reads the list slot meanwhile."""

    def setUp(self):
        super().setUp()
        self.sl = libshm.ShareableList([0, "x"], name=self.name())
        self.block = libshm.SharedMemory(self.name(), create=True, size=16)
        self.addCleanup(self.sl.shm.close)
        self.addCleanup(self.block.close)
        self.reader = stdlib_attach_list(self.sl.shm.name)
        self.addCleanup(self.reader.shm.close)
        self.last_read = 0

    def read_while(self, running):
        """Reads the slot with the stdlib until running() is false: always an int, never
        below the read before."""
        reads = 0
        while True:
            still = running()
            value = self.reader[0]
            self.assertIs(type(value), int)
            self.assertGreaterEqual(value, self.last_read)
            self.last_read = value
            reads += 1
            if not still:
                return reads

    def check_totals(self, total):
        self.assertEqual(self.sl[0], total)
        self.assertEqual(self.reader[0], total)
        self.assertEqual(self.block.atomic_load(COUNTER_OFFSET), total)
        self.assertEqual(self.sl.format, "q8s")

    def start_processes(self, method, n):
        ctx = mp.get_context(method)
        args = (self.sl.shm.name, self.block.name, ADDS)
        procs = [ctx.Process(target=add_many, args=(args,)) for _ in range(n)]
        for p in procs:
            p.start()
        self.read_while(lambda: any(p.is_alive() for p in procs))
        for p in procs:
            p.join(120)
            self.assertEqual(p.exitcode, 0)
        self.check_totals(n * ADDS)

    def test_spawn(self):
        self.start_processes("spawn", 3)

    def test_forkserver(self):
        self.start_processes("forkserver", 3)

    def test_pool(self):
        with mp.get_context("spawn").Pool(2) as pool:
            result = pool.map_async(add_many, [(self.sl.shm.name, self.block.name, ADDS)] * 4)
            self.read_while(lambda: not result.ready())
            self.assertEqual(result.get(120), [ADDS] * 4)
        self.check_totals(4 * ADDS)

    @unittest.skipUnless(TEST_CHILD and os.path.exists(TEST_CHILD),
                         "needs libshm's test child (LIBSHM_TEST_CHILD)")
    def test_cpp_and_the_module_on_one_slot(self):
        cpp_adds = 5 * ADDS
        child = subprocess.Popen([TEST_CHILD, "list-fetch-add", self.sl.shm.name, str(cpp_adds)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True)
        try:
            for _ in range(ADDS):
                self.sl.atomic_fetch_add(0, 1)
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        self.assertEqual((child.returncode, err), (0, ""))
        self.assertLessEqual(int(out), cpp_adds + ADDS)  # its own last sum, others' included
        self.assertGreaterEqual(int(out), cpp_adds)
        self.assertEqual(self.sl[0], cpp_adds + ADDS)
        self.assertEqual(self.reader[0], cpp_adds + ADDS)


if __name__ == "__main__":
    unittest.main()
