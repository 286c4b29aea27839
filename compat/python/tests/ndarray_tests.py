"""libshm.ndarray, attach_ndarray and SharedArray: the .npy header, bad blocks, lifetime,
pickling by reference across processes (ndarray_mp.py, every start method) and the stdlib +
numpy recipe of compat/python/README.md, run as written there.

Needs numpy: run as a script, it exits 77 (ctest's SKIP_RETURN_CODE) where numpy is missing.
Not named test_*.py, so that python.V.module's discovery leaves it to python.V.ndarray.
"""

import copy
import gc
import io
import json
import os
import pickle
import re
import secrets
import subprocess
import sys
import tempfile
import unittest
import warnings

try:
    import numpy as np
except ImportError:
    if __name__ == "__main__":
        print("numpy is not importable by %s: libshm.ndarray's tests skipped" % sys.executable)
        sys.exit(77)
    raise unittest.SkipTest("needs numpy")

import libshm
from support import BlockTest, exists

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(os.path.dirname(HERE), "README.md")
METHODS = ("fork", "spawn", "forkserver")

# (dtype, shape, order): the kinds of docs/format.md, both byte orders, both orders.
CASES = [
    ("<f8", (2, 3), "C"), (">f8", (2, 3), "F"), ("|b1", (5,), "C"), ("<i2", (4, 1, 2), "F"),
    ("u1", (), "C"), ("<c16", (0, 3), "C"), ("|S7", (3,), "C"), (">U5", (2, 2), "F"),
    ("<f2", (123456789,), "F"), ([("a", "<i4"), ("b", ">f8", (2,))], (3,), "C"),
    ({"names": ["x", "y"], "formats": ["u1", "<i8"], "offsets": [0, 8], "itemsize": 24},
     (2,), "C"),
]


def leftovers(prefix):
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


def numpy_header(dtype, shape, order):
    """numpy's own header for such an array (np.lib.format.write_array's)."""
    out = io.BytesIO()
    with warnings.catch_warnings():  # "Stored array in format 2.0"
        warnings.simplefilter("ignore", UserWarning)
        np.lib.format._write_array_header(out, {
            "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": order == "F",
            "shape": shape})
    return out.getvalue()


def header_of(a):
    return bytes(a.shm.buf[:a.shm.size - a.nbytes])


def data_of(a):
    """The block's data bytes, after the header (a memoryview: release it before closing)."""
    return a.shm.buf[a.shm.size - a.nbytes:]


def randomize(a, seed=7):
    data_of(a)[:] = np.random.default_rng(seed).integers(0, 256, a.nbytes, np.uint8).tobytes()


class Create(BlockTest):

    def test_header_is_numpys_and_the_data_follows_aligned(self):
        for descr, shape, order in CASES:
            with self.subTest(descr=descr, shape=shape, order=order):
                if shape == (123456789,):  # only the header matters: no 250 MB block
                    dtype = np.dtype(descr)
                    self.assertEqual(libshm._npy_header(np.lib.format.dtype_to_descr(dtype),
                                                        shape, True),
                                     numpy_header(dtype, shape, "F"))
                    continue
                a = libshm.ndarray(shape, descr, order, name=self.name())
                self.assertIsInstance(a, libshm.SharedArray)
                header = header_of(a)
                self.assertEqual(header, numpy_header(a.dtype, shape, order))
                self.assertEqual(len(header) % 64, 0)
                self.assertEqual(a.shm.size, len(header) + a.nbytes)
                self.assertEqual((a.shape, a.dtype), (shape, np.dtype(descr)))
                self.assertEqual(a.flags.f_contiguous if order == "F" else a.flags.c_contiguous,
                                 True)
                self.assertFalse(any(data_of(a)))
                # numpy reads the block as an .npy file: same dtype, shape, order and data.
                a[...] = np.arange(a.size).reshape(a.shape).astype(a.dtype) if a.size else 0
                loaded = np.load(io.BytesIO(bytes(a.shm.buf)))
                self.assertEqual((loaded.dtype, loaded.shape), (a.dtype, a.shape))
                self.assertTrue(np.array_equal(loaded, a))
                self.assertEqual(loaded.flags.f_contiguous, a.flags.f_contiguous)
                a.shm.unlink()

    def test_versions_2_and_3(self):
        # 2.0 past 65,535 bytes of header; 3.0 (UTF-8) when a name is not ASCII, where numpy
        # writes latin-1 names as 1.0 and C++ (shm::make_npy_header) as libshm does.
        many = [("f%d" % i, "<i2") for i in range(4000)]
        a = libshm.ndarray(2, many, name=self.name())
        self.assertEqual(bytes(a.shm.buf[6:8]), b"\x02\x00")
        self.assertEqual(header_of(a), numpy_header(a.dtype, (2,), "C"))
        b = libshm.ndarray(2, [("\u00e9t\u00e9", "<f4"), ("\u65e5", "u1")], name=self.name())
        self.assertEqual(bytes(b.shm.buf[6:8]), b"\x03\x00")
        header = header_of(b)
        self.assertEqual(len(header) % 64, 0)
        self.assertIn("'\u65e5'".encode("utf8"), header)
        loaded = np.load(io.BytesIO(bytes(b.shm.buf)))
        self.assertEqual(loaded.dtype, b.dtype)
        for x in (a, b):
            x.shm.unlink()

    def test_arguments(self):
        a = libshm.ndarray([2, 3], name=self.name())
        self.assertEqual((a.shape, a.dtype), ((2, 3), np.dtype(float)))
        a.shm.unlink()
        b = libshm.ndarray(4, ("<i4", (2, 3)), name=self.name())  # a subarray dtype: as numpy
        self.assertEqual((b.shape, b.dtype), ((4, 2, 3), np.dtype("<i4")))
        b.shm.unlink()
        c = libshm.ndarray(3)
        self.keep(c.shm.name)
        self.assertTrue(c.shm.name.startswith("psm_"))
        self.assertIn("/" + c.shm.name, libshm._registered)  # tracked, as SharedMemory
        c.shm.unlink()
        d = libshm.ndarray(3, name=self.name(), track=False)
        self.assertNotIn("/" + d.shm.name, libshm._registered)
        d.shm.unlink()
        for bad in [dict(shape=-1), dict(shape=(2, -1)), dict(shape=(1,) * 33),
                    dict(shape=3, dtype=object), dict(shape=3, dtype=[("a", "O")]),
                    dict(shape=3, order="A"), dict(shape=(2**40, 2**30, 0))]:
            with self.subTest(bad=bad):
                name = self.name()
                with self.assertRaises(ValueError):
                    libshm.ndarray(name=name, **bad)
                self.assertFalse(exists(name))
        with self.assertRaises(TypeError):
            libshm.ndarray(2.5)

    def test_views_results_and_copies(self):
        a = libshm.ndarray((4, 5), "<i8", name=self.name())
        for view in (a[1:3], a[:, ::2], a.T, a.reshape(20), a[2], a[..., 1], a.view("<u8"), *a):
            self.assertIsInstance(view, libshm.SharedArray)
            self.assertIs(view.shm, a.shm)
        for result in (a + 1, a[[0, 2]], a[a > 0], np.sin(a)):
            self.assertIs(type(result), np.ndarray)
        self.assertIs(type(a.sum()), np.int64)
        np.add(a, 1, out=a)  # an out= in the block stays one
        self.assertTrue((a == 1).all())
        for copied in (a.copy(), copy.copy(a), copy.deepcopy(a)):  # copies, not references
            self.assertIsNone(copied.shm)
            self.assertFalse(np.shares_memory(copied, a))
        self.assertIs(type(np.asarray(a)), np.ndarray)
        a.shm.unlink()


class Attach(BlockTest):

    def test_round_trip(self):
        for descr, shape, order in CASES:
            if shape == (123456789,):
                continue
            with self.subTest(descr=descr, shape=shape, order=order):
                a = libshm.ndarray(shape, descr, order, name=self.name())
                randomize(a)
                b = libshm.attach_ndarray(a.shm.name, track=False)
                self.assertEqual((b.dtype, b.shape, b.strides), (a.dtype, a.shape, a.strides))
                self.assertEqual(b.tobytes("A"), a.tobytes("A"))
                self.assertIsNot(b.shm, a.shm)
                if a.size:  # the same memory, not a copy
                    data_of(b)[0] ^= 0xFF
                    self.assertEqual(b.tobytes("A"), a.tobytes("A"))
                a.shm.unlink()

    def test_numpys_own_file_in_a_block(self):
        # A block holding what np.save writes (1.0 header, aligned to 64 by numpy 1.24).
        data = np.arange(12, dtype=">i4").reshape(3, 4)
        out = io.BytesIO()
        np.save(out, data)
        raw = out.getvalue()
        name = self.name()
        block = libshm.SharedMemory(name, create=True, size=len(raw), track=False)
        block.buf[:] = raw
        a = libshm.attach_ndarray(name)
        self.assertIn("/" + name, libshm._registered)  # track=True: registered, as valid
        self.assertTrue(np.array_equal(a, data))
        self.assertEqual(a.dtype, data.dtype)
        del a
        block.close()
        block.unlink()
        self.assertNotIn("/" + name, libshm._registered)

    def bad_block(self, content, size=None):
        name = self.name()
        block = libshm.SharedMemory(name, create=True, size=size or max(len(content), 1),
                                    track=False)
        block.buf[:len(content)] = content
        block.close()
        return name

    def assert_refused(self, name, message):
        with self.assertRaisesRegex(ValueError, message):
            libshm.attach_ndarray(name)
        self.assertTrue(exists(name))  # left alone, and not registered: it survives our exit
        self.assertNotIn("/" + name, libshm._registered)

    def test_a_refused_tracked_attach_keeps_the_blocks_own_registration(self):
        # Nothing is registered before the header is read, so nothing is withdrawn when it is
        # refused: the registration of the block's tracked create stands (issue 23).
        name = self.name()
        block = libshm.SharedMemory(name, create=True, size=4096)
        with self.assertRaisesRegex(ValueError, "no .npy magic"):
            libshm.attach_ndarray(name, track=True)
        self.assertIn("/" + name, libshm._registered)
        block.close()
        block.unlink()

    def test_bad_blocks(self):
        def header(text, version=b"\x01\x00"):
            text = text.encode("latin1")
            width = 2 if version == b"\x01\x00" else 4
            return b"\x93NUMPY" + version + len(text).to_bytes(width, "little") + text

        good = libshm._npy_header("<f8", (4,), False)
        cases = [
            ("random bytes", os.urandom(4096), None, "no .npy magic"),
            ("empty magic", b"\x00" * 64, None, "no .npy magic"),
            ("too small", b"\x93NUMPY\x01", None, "too few"),
            ("version", b"\x93NUMPY\x04\x00" + good[8:], None, "unsupported .npy version 4.0"),
            ("truncated header", good[:40], None, "header length 118 runs past the end"),
            ("truncated length", good[:9], None, "too few"),
            ("more data than the block", good + b"\x00" * 31, None,
             r"the data of shape \(4,\) <f8 \(32 bytes from byte 128\) runs past the end "
             r"of the 159-byte block"),
            ("huge shape", header("{'descr': '<f8', 'fortran_order': False, "
                                  "'shape': (4611686018427387904, 4), }"), None, "too big"),
            ("huge empty", header("{'descr': '<f8', 'fortran_order': False, "
                                  "'shape': (0, 4611686018427387904), }"), None, "too big"),
            ("huge item", header("{'descr': '<U999999999', 'fortran_order': False, "
                                 "'shape': (3,), }"), None, "impossible layout"),
            ("not a literal", header("{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': __import__('os'), }"), None, "does not parse"),
            ("not a dict", header("['<f8', False, (4,)]"), None, "not a dict"),
            ("missing key", header("{'descr': '<f8', 'shape': (4,), }"), None, "exactly"),
            ("extra key", header("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), "
                                 "'x': 1}"), None, "exactly"),
            ("negative", header("{'descr': '<f8', 'fortran_order': False, 'shape': (-4,), }"),
             None, "not a tuple of at most 32 sizes"),
            ("float shape", header("{'descr': '<f8', 'fortran_order': False, 'shape': (4.0,)}"),
             None, "sizes"),
            ("fortran", header("{'descr': '<f8', 'fortran_order': 0, 'shape': (4,), }"),
             None, "fortran_order is 0"),
            ("descr", header("{'descr': '<q99', 'fortran_order': False, 'shape': (4,), }"),
             None, "is not a dtype"),
            ("objects", header("{'descr': '|O', 'fortran_order': False, 'shape': (4,), }"),
             None, "holds Python objects"),
            ("utf8 in 3.0", header("{'descr': '<f8', \xff", b"\x03\x00"), None, "does not parse"),
            ("deep", header("{'descr': " + "[" * 60000), None, "does not parse"),
        ]
        for why, content, size, message in cases:
            with self.subTest(why):
                self.assert_refused(self.bad_block(content, size), message)

    def test_the_cpp_readers_fuzz_regressions(self):
        # Each input that broke shm::read_npy_header once: refused with ValueError, or an
        # array inside the block that numpy reads the same from the bytes.
        corpus = os.path.join(HERE, "..", "..", "..", "libshm", "fuzz", "regressions",
                              "npy_header")
        files = sorted(os.listdir(corpus))
        self.assertGreater(len(files), 5)
        for file in files:
            with self.subTest(file):
                with open(os.path.join(corpus, file), "rb") as f:
                    raw = f.read()
                name = self.bad_block(raw)
                try:
                    a = libshm.attach_ndarray(name)
                except ValueError:
                    self.assertNotIn("/" + name, libshm._registered)
                    continue
                fp = io.BytesIO(raw)
                version = np.lib.format.read_magic(fp)
                shape, fortran_order, dtype = np.lib.format._read_array_header(fp, version)
                self.assertEqual((a.dtype, a.shape, a.flags.f_contiguous and a.ndim > 1),
                                 (dtype, shape, fortran_order and a.ndim > 1))
                self.assertEqual(a.tobytes("A"), raw[fp.tell():fp.tell() + a.nbytes])

    def test_mutated_headers(self):
        # The reader on its own, over bytes: mutated valid blocks are refused with ValueError
        # or give a layout numpy accepts inside the bytes.
        seed = secrets.randbelow(1 << 30)
        rng = np.random.default_rng(seed)
        seeds = [libshm._npy_header(np.lib.format.dtype_to_descr(np.dtype(d)), s, o == "F") +
                 b"\x00" * 64 for d, s, o in CASES if s != (123456789012,)]
        accepted = 0
        for _ in range(3000):
            raw = bytearray(seeds[rng.integers(len(seeds))])
            for _ in range(rng.integers(1, 4)):
                at = int(rng.integers(len(raw) + 1))
                kind = rng.integers(4)
                if kind == 0 and at < len(raw):
                    raw[at] = int(rng.integers(256))
                elif kind == 1:
                    raw[at:at] = rng.choice([b"9", b"0", b",", b"(", b"'", b"99999999999"])
                elif kind == 2:
                    del raw[at:at + int(rng.integers(1, 8))]
                else:
                    raw = raw[:at]
            try:
                dtype, shape, fortran, offset = libshm._read_npy_header(np, bytes(raw), "x")
            except ValueError:
                continue
            accepted += 1
            a = np.ndarray(shape, dtype, buffer=bytes(raw), offset=offset,
                           order="F" if fortran else "C")
            self.assertLessEqual(offset + a.nbytes, len(raw), (seed, bytes(raw)))
        print("\n  seed %d: %d of 3000 mutated headers accepted" % (seed, accepted), end=" ")

    def test_every_truncation_of_a_valid_block(self):
        a = libshm.ndarray((3, 2), "<i4", name=self.name(), track=False)
        raw = bytes(a.shm.buf)
        a.shm.unlink()
        for n in range(1, len(raw)):
            with self.subTest(n=n):
                name = self.bad_block(raw[:n])
                with self.assertRaises(ValueError):
                    libshm.attach_ndarray(name)
                libshm._unlink_block(name)
        self.assertEqual(libshm.attach_ndarray(self.bad_block(raw), track=False).shape, (3, 2))


class Lifetime(BlockTest):

    def test_close_refuses_while_an_array_lives_and_happens_when_the_last_goes(self):
        a = libshm.ndarray(1000, "<f8", name=self.name())
        shm, row = a.shm, a[10:20]
        del a
        with self.assertRaises(BufferError):
            shm.close()
        row[:] = 3.0  # still mapped
        self.assertEqual(row.sum(), 30.0)
        del row
        gc.collect()
        shm.close()
        shm.unlink()

    def test_no_warnings_whatever_goes_first(self):
        # Arrays, views and blocks dropped in every order, in a process that turns warnings
        # into errors and prints what __del__ ignores.
        code = (
            "import gc, libshm\n"
            "a = libshm.ndarray((50, 50), name=%r)\n"
            "v = a[::2, 1:]; s = a.shm\n"
            "del a; gc.collect(); del s; gc.collect(); v[0, 0] = 1; del v; gc.collect()\n"
            "b = libshm.attach_ndarray(%r)\n"
            "b.shm.unlink(); c = b[3]; del b; del c\n"
            "d = libshm.ndarray(10, name=%r, track=False)\n"
            "d.shm.unlink()\n"
            "print('ok')\n")
        name, other = self.name(), self.name()
        proc = subprocess.run([sys.executable, "-X", "dev", "-W", "error", "-c",
                               code % (name, name, other)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, "ok\n", ""))
        self.assertFalse(exists(name) or exists(other))


class Pickling(BlockTest):

    def test_a_reference_not_the_data(self):
        a = libshm.ndarray((1000, 1000), "<f8", name=self.name())
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            for view in (a, a[5:7, ::3], a.T[::-1], a[3, 4:5]):
                with self.subTest(protocol=protocol, shape=view.shape):
                    data = pickle.dumps(view, protocol)
                    self.assertLess(len(data), 1024)
                    back = pickle.loads(data)
                    self.assertIs(type(back), libshm.SharedArray)
                    self.assertEqual((back.shape, back.strides, back.dtype),
                                     (view.shape, view.strides, view.dtype))
                    back[...] = protocol
                    self.assertTrue((view == protocol).all())
        a.flags.writeable = False
        self.assertFalse(pickle.loads(pickle.dumps(a[1:])).flags.writeable)
        a.shm.unlink()

    def test_arrays_outside_a_block_go_by_value(self):
        a = libshm.ndarray(5, "<i8", name=self.name())
        a[:] = range(5)
        for copy in (a.copy(), np.asarray(a), a.view(np.ndarray), a[[1, 2]]):
            back = pickle.loads(pickle.dumps(copy))
            self.assertIs(type(back), np.ndarray)
            self.assertTrue(np.array_equal(back, copy))
        outside = np.lib.stride_tricks.as_strided(a, shape=(1000,), subok=True)
        self.assertIs(type(outside), libshm.SharedArray)
        with self.assertRaisesRegex(ValueError, "outside its block"):
            pickle.dumps(outside)
        a.shm.unlink()

    def test_unpickling_checks_the_block(self):
        a = libshm.ndarray(100, "<f8", name=self.name())
        data = pickle.dumps(a[50:])
        a.shm.unlink()
        with self.assertRaises(FileNotFoundError):
            pickle.loads(data)
        for size in (64, a.shm.size):  # the name, reused by a block of another or the same size
            other = libshm.SharedMemory(a.shm.name, create=True, size=size)
            with self.assertRaisesRegex(ValueError, "not the block"):
                pickle.loads(data)
            other.unlink()
            other.close()
        self.assertFalse(exists(a.shm.name))

    def test_unpickling_does_not_register(self):
        # In a process with a tracker of its own: its exit must leave the block alone.
        a = libshm.ndarray(8, "<i4", name=self.name())
        code = ("import pickle, sys, libshm\n"
                "b = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
                "b[:] = 5\n"
                "assert not libshm._registered, libshm._registered\n")
        proc = subprocess.run([sys.executable, "-c", code, pickle.dumps(a).hex()],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        self.assertTrue(exists(a.shm.name))
        self.assertTrue((a == 5).all())
        a.shm.unlink()


class Processes(unittest.TestCase):
    """Pool and Queue under each start method, each run in its own interpreter."""

    def run_scenario(self, scenario, method):
        prefix = "libshm_pyt_nd_%s_" % secrets.token_hex(4)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (
            os.path.dirname(os.path.dirname(libshm.__file__)), env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.run([sys.executable, os.path.join(HERE, "ndarray_mp.py"), scenario,
                                   method, prefix + "a"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
            # No traceback, and no tracker warning: no worker unlinked or leaked the block.
            self.assertEqual((proc.returncode, proc.stderr), (0, ""))
            self.assertEqual(leftovers(prefix), [])
            return json.loads(proc.stdout)
        finally:
            for name in leftovers(prefix):
                libshm._unlink_block(name)

    def test_pool_with_100_mb(self):
        for method in METHODS:
            with self.subTest(method=method):
                result = self.run_scenario("pool", method)
                for key in ("pickle", "forking_pickler", "slice"):
                    self.assertLess(result[key], 1024, result)
                self.assertEqual(result["nbytes"], 100 << 20)
                print("\n  pool %s: 100 MB array pickled in %d bytes, Pool run %.2f s"
                      % (method, result["pickle"], result["seconds"]), end=" ", flush=True)

    def test_queue(self):
        for method in METHODS:
            with self.subTest(method=method):
                self.assertLess(self.run_scenario("queue", method)["pickle"], 1024)


class Readme(BlockTest):
    """The example and the stdlib + numpy recipe of compat/python/README.md, as written."""

    def readme_code(self, what):
        with open(README, encoding="utf8") as f:
            text = f.read()
        match = re.search(r"<!-- ndarray_tests.py: %s -->\n```python\n(.*?)```" % what, text,
                          re.S)
        self.assertIsNotNone(match, "the %s is missing from compat/python/README.md" % what)
        return match.group(1)

    def test_the_example(self):
        with tempfile.TemporaryDirectory() as tmp:  # spawn imports the main module by path
            path = os.path.join(tmp, "example.py")
            with open(path, "w", encoding="utf8") as f:
                f.write(self.readme_code("example"))
            proc = subprocess.run([sys.executable, path], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
        # A block left behind would make the tracker warn on stderr (its name is random).
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout, "[0. 1. 4.]\n")

    def test_a_plain_numpy_user_reads_and_writes_the_block(self):
        code = self.readme_code("recipe")
        placeholder = 'name = "psm_1a2b3c4d"'
        self.assertEqual(code.count(placeholder), 1)
        for descr, shape, order in [("<f8", (3, 4), "C"), (">i2", (5, 2), "F"),
                                    ([("a", "<u2"), ("b", "S3")], (4,), "C"),
                                    ([("\u00e9", "<f4"), ("b", "u1")], (3,), "C"),  # 3.0
                                    ([("f%d" % i, "<i2") for i in range(4000)], (2,), "C")]:
            with self.subTest(descr=descr, order=order):
                a = libshm.ndarray(shape, descr, order, name=self.name())
                randomize(a, 5)
                last = a[-1].copy()
                # The recipe only: no libshm on its path.
                script = code.replace(placeholder, "name = %r" % a.shm.name)
                env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                proc = subprocess.run([sys.executable, "-c", script], env=env, cwd="/",
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      universal_newlines=True, timeout=60)
                if a.shm.size - a.nbytes > 10000:  # the README's note on numpy 1.24+
                    self.assertIn("max_header_size", proc.stderr)
                else:
                    self.assertEqual((proc.returncode, proc.stderr), (0, ""))
                    self.assertIn("%s %s" % (a.dtype, a.shape), proc.stdout)
                    self.assertEqual(a[0].tobytes(), last.tobytes())  # the recipe's write
                self.assertTrue(exists(a.shm.name))  # its exit did not unlink the block
                a.shm.unlink()


if __name__ == "__main__":
    unittest.main(verbosity=2)
