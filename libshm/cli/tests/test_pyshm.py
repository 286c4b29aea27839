"""Drives the real pyshm binary (path in $PYSHM) against real blocks, some made by CPython.

Run by ctest with the system python3: python3 -m unittest test_pyshm.
"""
import ast
import json
import math
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import unittest
from multiprocessing import resource_tracker, shared_memory

try:
    import numpy
except ImportError:  # the array tests that compare with numpy are skipped
    numpy = None

PYSHM = os.environ["PYSHM"]
SHM_DIR = "/dev/shm"

ALL_TYPES = [0, -1, 2**63 - 1, -2**63, 2.5, -0.0, 1e300, {"float": "nan"}, {"float": "inf"},
             {"float": "-inf"}, True, False, None, "", "text", "é€😀", "x" * 40,
             {"bytes": ""}, {"bytes": "00ff10"}, {"bytes": "61" * 17}]


def pyshm(*args, stdin=None):
    return subprocess.run([PYSHM, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def fresh_name():
    return "clitest_" + secrets.token_hex(6)


def write_block(name, data):
    """A block with exactly these bytes, made without any library."""
    with open(os.path.join(SHM_DIR, name), "wb") as f:
        f.write(data)


def list_block_39(items_packed, formats, codes, sizes):
    """Raw 3.9+ layout from parts, for building corrupted lists by hand."""
    n = len(sizes)
    offsets = [0]
    for s in sizes:
        offsets.append(offsets[-1] + s)
    return (struct.pack("q", n) + struct.pack("%dq" % (n + 1), *offsets) + items_packed
            + b"".join(f.ljust(8, b"\0") for f in formats) + bytes(codes))


def npy_header(descr, shape, fortran=False):
    """numpy's .npy 1.0 header, as np.lib.format.write_array writes it, without numpy."""
    text = "{'descr': %s, 'fortran_order': %s, 'shape': %r, }" % (
        descr if descr.startswith("[") else repr(descr), fortran, tuple(shape))
    hlen = len(text) + 1
    pad = 64 - (10 + hlen) % 64
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen + pad) + text.encode("latin-1")
            + b" " * pad + b"\n")


def array_body(dump):
    """The array part of a text dump (after the blank line that ends the header)."""
    head, _, body = dump.partition("\n\n")
    return body


class PyshmTest(unittest.TestCase):
    def setUp(self):
        self.names = []

    def tearDown(self):
        for name in self.names:
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except FileNotFoundError:
                pass

    def name(self):
        n = fresh_name()
        self.names.append(n)
        return n

    def ok(self, *args, stdin=None):
        r = pyshm(*args, stdin=stdin)
        self.assertEqual(r.returncode, 0, "pyshm %s failed: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def fails(self, *args, code=1):
        r = pyshm(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        if code == 1:
            self.assertTrue(r.stderr.startswith("pyshm: "), r.stderr)
        return r.stderr

    def stdlib_attach(self, name):
        sl = shared_memory.ShareableList(name=name)
        # gh-82300: this process only looks; don't let its tracker unlink the block.
        resource_tracker.unregister(sl.shm._name, "shared_memory")
        return sl

    # create-list → dump --json, every type, both layouts

    def test_round_trip_every_item_type(self):
        for layout in ("3.9", "3.8"):
            with self.subTest(layout=layout):
                name = self.name()
                out = self.ok("create-list", "--name", name, "--layout", layout,
                              json.dumps(ALL_TYPES))
                self.assertEqual(out, name + "\n")
                dumped = json.loads(self.ok("dump", name, "--json"))
                self.assertEqual(dumped["items"], ALL_TYPES)
                self.assertEqual(dumped["name"], name)
                self.assertEqual(dumped["layout"], "3.9+" if layout == "3.9" else "3.8")
                self.assertEqual(dumped["size"], os.stat(os.path.join(SHM_DIR, name)).st_size)

    def test_create_list_reads_stdin_and_makes_a_random_name(self):
        out = self.ok("create-list", "-", stdin="[1, \"a\"]")
        name = out.strip()
        self.names.append(name)
        self.assertRegex(name, r"^psm_[0-9a-f]{8}$")
        self.assertEqual(json.loads(self.ok("dump", name, "--json"))["items"], [1, "a"])

    def test_created_list_is_what_cpython_reads(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, 2.5, true, null, "ab", {"bytes": "7879"}]')
        sl = self.stdlib_attach(name)
        try:
            self.assertEqual(list(sl), [1, 2.5, True, None, "ab", b"xy"])
            self.assertEqual(sl.format, "qdxxxxxxx?xxxxxx?x8s8s")
        finally:
            sl.shm.close()

    def test_cpython_made_list_dumps_to_what_cpython_reads(self):
        name = self.name()
        values = [7, -1.5, False, None, "howdy", b"\x00HoWdY\x00", "é" * 8]
        sl = shared_memory.ShareableList(values, name=name)
        try:
            dumped = json.loads(self.ok("dump", name, "--json"))
            expected = [7, -1.5, False, None, "howdy", {"bytes": "00486f576459"}, "é" * 8]
            self.assertEqual(dumped["items"], expected)
            self.assertEqual([sl[i] for i in range(len(sl))][:5], values[:5])
            self.assertEqual(dumped["format"], sl.format)
            table = self.ok("dump", name)
            self.assertIn("'howdy'", table)
            self.assertIn("b'\\x00HoWdY'", table)
            self.assertEqual(json.loads(self.ok("get", name, "-1")), "é" * 8)
        finally:
            sl.shm.close()
            sl.shm.unlink()

    def test_dump_table_escapes_as_the_chosen_cpython(self):
        # U+31EF is printable from Unicode 15.1 (CPython 3.13) on; U+0600 (Cf) never is.
        name = self.name()
        self.ok("create-list", "--name", name, '["a\\u31efb\\u0600"]')
        newest = self.ok("dump", name)
        self.assertIn("'a\u31efb\\u0600'", newest)
        self.assertEqual(newest, self.ok("dump", name, "--python", "3.13"))
        self.assertIn("'a\\u31efb\\u0600'", self.ok("dump", name, "--python", "3.12"))
        self.assertNotEqual(pyshm("dump", name, "--python", "3.7").returncode, 0)

    # get / set / create / rm

    def test_get_set_change_types_and_cpython_sees_them(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, "abcdefgh", null]')
        self.ok("set", name, "0", '"xy"')
        self.ok("set", name, "-1", "2.25")
        self.ok("set", name, "1", '{"bytes": "ff"}')
        self.assertEqual(json.loads(self.ok("get", name, "0")), "xy")
        sl = self.stdlib_attach(name)
        try:
            self.assertEqual(list(sl), ["xy", b"\xff", 2.25])
        finally:
            sl.shm.close()
        err = self.fails("set", name, "0", '"too long for eight"')
        self.assertIn("exceeds available storage", err)
        self.assertEqual(json.loads(self.ok("get", name, "0")), "xy")  # unchanged
        self.assertIn("out of range", self.fails("get", name, "3"))
        self.assertIn("out of range", self.fails("get", name, "-4"))
        self.assertIn("INDEX must be an integer", self.fails("get", name, "zero"))

    def test_strict_refuses_trailing_nul(self):
        name = self.name()
        self.fails("create-list", "--strict", "--name", name, '["a\\u0000"]')
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, name)))

    def test_create_raw_block_and_rm(self):
        name = self.name()
        self.assertEqual(self.ok("create", name, "--size", "100"), name + "\n")
        self.assertEqual(os.stat(os.path.join(SHM_DIR, name)).st_size, 100)
        raw = subprocess.run([PYSHM, "dump", name, "--raw"], capture_output=True).stdout
        self.assertEqual(raw, bytes(100))
        self.fails("create", name, "--size", "100")  # exists
        other = self.name()
        write_block(other, b"")  # 0 bytes: cannot be mapped, can be removed
        self.ok("rm", name, other)
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, name)))
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, other)))
        self.assertIn("No such file", self.fails("rm", name))

    # check, on good and corrupted blocks

    def test_check_accepts_lists_of_both_layouts(self):
        for layout in ("3.9", "3.8"):
            name = self.name()
            self.ok("create-list", "--name", name, "--layout", layout, '[1, "a"]')
            self.assertIn("valid ShareableList", self.ok("check", name))

    def test_check_rejects_corrupted_blocks_with_a_reason(self):
        good = list_block_39(struct.pack("q", 5) + b"ab".ljust(8, b"\0"), [b"q", b"8s"], [0, 1],
                             [8, 8])
        cases = {
            "truncated": good[:-5],
            "tiny": b"\x01\x00",
            "huge-count": struct.pack("q", 2**40) + good[8:],
            "negative-count": struct.pack("q", -1) + good[8:],
            "offsets-decreasing": good[:16] + struct.pack("q", 16) + struct.pack("q", 8) + good[32:],
            "offset-past-end": good[:24] + struct.pack("q", 10**6) + good[32:],
            "bad-format": good.replace(b"8s\0\0\0\0\0\0", b"10000000"),
            "unknown-code": good[:-1] + b"\x09",
            "garbage": secrets.token_bytes(64),
        }
        for label, data in cases.items():
            with self.subTest(label):
                name = self.name()
                write_block(name, data)
                r = pyshm("check", name)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertTrue(r.stderr.startswith("pyshm: "), r.stderr)
                self.assertIn("not a valid ShareableList", r.stderr)
                self.assertNotEqual(r.returncode, -11)
                # --hex still works on anything; dump (table) reports the same failure.
                self.assertEqual(pyshm("dump", name, "--hex").returncode, 0)
                self.assertEqual(pyshm("dump", name).returncode, 1)

    # ls

    def test_ls_identifies_lists_of_both_layouts_and_raw_blocks(self):
        l39, l38, raw = self.name(), self.name(), self.name()
        self.ok("create-list", "--name", l39, "[1]")
        self.ok("create-list", "--name", l38, "--layout", "3.8", "[1]")
        self.ok("create", raw, "--size", "64")
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertEqual(kinds[l39]["kind"], "shareable-list 3.9+")
        self.assertEqual(kinds[l38]["kind"], "shareable-list 3.8")
        self.assertEqual(kinds[raw]["kind"], "raw")
        self.assertEqual(kinds[raw]["size"], 64)
        self.assertEqual(kinds[raw]["mode"] & 0o777, 0o600 & ~current_umask())
        table = self.ok("ls")
        self.assertIn(l39, table)
        self.assertIn("shareable-list 3.8", table)

    def test_hex_dump_labels_the_regions(self):
        name = self.name()
        self.ok("create-list", "--name", name, '[1, "ab", null]')
        dump = self.ok("dump", name, "--hex")
        for label in ("count", "offsets", "data", "formats", "codes"):
            self.assertIn(label, dump)
        self.assertTrue(dump.startswith("00000000: 03 00 00 00 00 00 00 00"), dump)

    # pickle / unpickle

    def test_pickle_matches_cpython_for_every_protocol(self):
        import pickle
        name = self.name()
        shm = shared_memory.SharedMemory(name, create=True, size=300)
        try:
            for protocol in range(6):
                with self.subTest(protocol=protocol):
                    out = self.ok("pickle", name, "--protocol", str(protocol)).strip()
                    self.assertEqual(out, pickle.dumps(shm, protocol=protocol).hex())
            self.assertEqual(self.ok("pickle", name).strip(), pickle.dumps(shm, protocol=4).hex())
            self.assertIn("not a valid ShareableList", self.fails("pickle", name, "--list"))
        finally:
            shm.close()
            shm.unlink()
        lst = self.name()
        sl = shared_memory.ShareableList([1, "a"], name=lst)
        try:
            for protocol in range(6):
                out = self.ok("pickle", lst, "--list", "--protocol", str(protocol)).strip()
                self.assertEqual(out, pickle.dumps(sl, protocol=protocol).hex())
        finally:
            sl.shm.close()
            sl.shm.unlink()
        self.assertEqual(pyshm("pickle", lst, "--protocol", "6").returncode, 2)

    def test_unpickle_reads_cpython_pickles_and_refuses_everything_else(self):
        import pickle
        name = self.name()
        shm = shared_memory.SharedMemory(name, create=True, size=77)
        try:
            data = pickle.dumps(shm, protocol=2).hex()
            self.assertEqual(json.loads(self.ok("unpickle", data)),
                             {"kind": "shared_memory", "name": name, "size": 77})
            sl_pickle = ("8004956d000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c"
                         "1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0d536861"
                         "726561626c654c69737494939485945294286805297d948c046e616d65948c0672715f706b"
                         "6c94734e7494622952942e")  # CPython's, ShareableList 'rq_pkl', p4
            self.assertEqual(json.loads(self.ok("unpickle", "-", stdin=sl_pickle + "\n")),
                             {"kind": "shareable_list", "name": "rq_pkl"})
            # What a Queue or a Pool carries, and what pickletools.optimize leaves of it.
            import pickletools
            from multiprocessing.reduction import ForkingPickler
            sl = shared_memory.ShareableList([1], name=self.name())
            try:
                forked = bytes(ForkingPickler.dumps(sl, 3))
                self.assertEqual(json.loads(self.ok("unpickle", forked.hex())),
                                 {"kind": "shareable_list", "name": sl.shm.name,
                                  "reducer": "forking"})
                self.assertEqual(json.loads(self.ok("unpickle",
                                                    pickletools.optimize(forked).hex())),
                                 {"kind": "shareable_list", "name": sl.shm.name,
                                  "reducer": "forking", "optimized": True})
            finally:
                sl.shm.close()
                sl.shm.unlink()
        finally:
            shm.close()
            shm.unlink()
        evil = pickle.dumps(os.system, protocol=4).hex()
        self.assertIn("not allowed", self.fails("unpickle", evil))
        self.assertIn("pyshm: ", self.fails("unpickle", data[:-2]))  # truncated
        self.assertIn("pyshm: ", self.fails("unpickle", "zz"))  # not hex

    # arrays (issue 15): dump --dtype, .npy blocks in ls, dump and check

    # (dtype, shape, order, data, the values as Python reads them, text, JSON data)
    ARRAYS = [
        ("<f8", "2,3", "C", struct.pack("<6d", 0.5, -0.0, 1e300, math.nan, math.inf, -math.inf),
         None, "[[0.5, -0.0, 1e+300],\n [nan, inf, -inf]]",
         [[0.5, -0.0, 1e300], [{"float": "nan"}, {"float": "inf"}, {"float": "-inf"}]]),
        ("<i4", "4", "C", struct.pack("<4i", -1, 2**31 - 1, -2**31, 0),
         [-1, 2**31 - 1, -2**31, 0], None, [-1, 2**31 - 1, -2**31, 0]),
        (">i2", "2,2", "F", struct.pack(">4h", 1, 3, 2, -4), [[1, 2], [3, -4]], None,
         [[1, 2], [3, -4]]),
        ("|b1", "3", "C", b"\x01\x00\x02", [True, False, True], None, [True, False, True]),
        ("<c16", "3", "C", struct.pack("<6d", 1, 2, 0, -1, -0.0, 0), [1 + 2j, -1j, complex(-0.0, 0)],
         "[(1+2j), -1j, (-0+0j)]", [[1.0, 2.0], [0.0, -1.0], [-0.0, 0.0]]),
        ("|S5", "2", "C", b"ab\0\0\0hello", [b"ab", b"hello"], None,
         [{"bytes": "6162"}, {"bytes": "68656c6c6f"}]),
        ("<U3", "2", "C", "é\0\0abc".encode("utf-32-le"), ["é", "abc"], None, ["é", "abc"]),
        (">u8", "1", "C", struct.pack(">Q", 2**64 - 1), [2**64 - 1], None, [2**64 - 1]),
        ("<f4", "2", "C", struct.pack("<2f", 0.1, 1.5), list(struct.unpack("<2f",
                                                                           struct.pack("<2f", 0.1, 1.5))),
         "[0.10000000149011612, 1.5]", None),
        ("<f2", "1", "C", struct.pack("<e", -2.5), [-2.5], None, [-2.5]),
        ("[('a', '<i4'), ('b', '<f8')]", "2", "C", struct.pack("<id", 1, 2.5) + struct.pack("<id", -3, math.nan),
         None, "[(1, 2.5), (-3, nan)]", [[1, 2.5], [-3, {"float": "nan"}]]),
        ("[('x', '<i2', (2,)), ('n', [('m', '|u1')])]", "1", "C", struct.pack("<hhB", 7, -7, 200),
         [([7, -7], (200,))], "[([7, -7], (200,))]", [[[7, -7], [200]]]),
        ("<f8", "", "C", struct.pack("<d", 3.5), 3.5, "3.5", 3.5),
        ("<i4", "2,0", "C", b"", None, "[]", [[], []]),  # numpy prints every empty array so
    ]

    def test_dump_dtype_every_kind_as_text_and_json(self):
        for dtype, shape, order, data, values, text, data_json in self.ARRAYS:
            with self.subTest(dtype=dtype, shape=shape):
                name = self.name()
                write_block(name, data + b"\xee" * 8)  # bytes past the array are never read
                args = ["dump", name, "--dtype", dtype, "--shape", shape, "--order", order]
                out = self.ok(*args)
                body = array_body(out)
                self.assertTrue(body.endswith("\n"), out)
                if text is not None:
                    self.assertEqual(body, text + "\n")
                if values is not None:  # the text is the repr of what tolist() gives
                    self.assertEqual(ast.literal_eval(body), values)
                self.assertIn("\ndtype: " + dtype + "\n", out)
                doc = json.loads(self.ok(*args, "--json"))
                self.assertEqual((doc["name"], doc["dtype"], doc["order"], doc["offset"]),
                                 (name, dtype, order, 0))
                self.assertEqual(doc["shape"], [int(d) for d in shape.split(",") if d])
                if data_json is not None:
                    self.assertEqual(doc["data"], data_json)
                # (numpy's tolist() leaves a record's subarray field an array)
                if numpy is not None and values is not None and "(2,)" not in dtype:
                    a = numpy.ndarray(tuple(doc["shape"]), numpy.dtype(ast.literal_eval(dtype)
                                                                       if dtype[0] == "[" else dtype),
                                      buffer=data + b"\xee" * 8, order=order)
                    self.assertEqual(ast.literal_eval(body), a.tolist())

    def test_dump_dtype_offset_order_and_errors(self):
        name = self.name()
        write_block(name, b"\xff" * 8 + struct.pack("<6i", 0, 1, 2, 3, 4, 5))
        out = self.ok("dump", name, "--dtype", "<i4", "--shape", "2,3", "--offset", "8")
        self.assertEqual(array_body(out), "[[0, 1, 2],\n [3, 4, 5]]\n")
        self.assertIn("offset: 8\n", out)
        out = self.ok("dump", name, "--dtype", "<i4", "--shape", "(2, 3)", "--offset", "8",
                      "--order", "F")
        self.assertEqual(array_body(out), "[[0, 2, 4],\n [1, 3, 5]]\n")
        # Without --shape: all of the block after the offset, 1-D, as numpy.frombuffer.
        self.assertEqual(array_body(self.ok("dump", name, "--dtype", "<i4", "--offset", "24")),
                         "[4, 5]\n")
        self.assertIn("whole number of <i4", self.fails("dump", name, "--dtype", "<i4",
                                                         "--offset", "2"))
        errors = {
            ("--dtype", "f16"): "cannot parse dtype 'f16'",
            ("--dtype", "<M8"): "M8",
            ("--dtype", "[('a', '<i4'"): "",
            ("--dtype", "<i4", "--shape", "3,x"): "'x' is not a size",
            ("--dtype", "<i4", "--shape", "3,,2"): "an empty size",
            ("--dtype", "<i4", "--shape", "99999999999999999999999"): "too large",
            ("--dtype", "<i4", "--shape", "9"): "reaches past the end of 32 bytes",
            ("--dtype", "<i4", "--shape", "2", "--offset", "28"): "reaches past the end",
            ("--dtype", "<i4", "--shape", "1", "--offset", "40"): "past the end",
            ("--dtype", "<i4", "--shape", "2", "--offset", "2"): "not aligned to 4 bytes",
            ("--dtype", "<i4", "--shape", "4294967296,4294967296,4294967296"): "overflows",
        }
        for args, message in errors.items():
            with self.subTest(args=args):
                self.assertIn(message, self.fails("dump", name, *args))
        for args in (["--shape", "2"], ["--offset", "8"], ["--order", "C"],  # need --dtype
                     ["--dtype", "<i4", "--order", "K"], ["--dtype", "<i4", "--offset", "-1"],
                     ["--dtype", "<i4", "--hex"], ["--dtype", "<i4", "--raw"]):
            with self.subTest(args=args):
                self.assertEqual(pyshm("dump", name, *args).returncode, 2, args)

    def test_large_arrays_are_summarised_as_numpy_does(self):
        cases = [((2000,), "[0, 1, 2, ..., 1997, 1998, 1999]\n"),
                 ((1000, 3), "[[0, 1, 2],\n [3, 4, 5],\n [6, 7, 8],\n ...,\n"
                             " [2991, 2992, 2993],\n [2994, 2995, 2996],\n [2997, 2998, 2999]]\n"),
                 ((10, 10, 20), None), ((1000,), None), ((7, 11, 13), None), ((1, 1001), None)]
        for shape, expected in cases:
            with self.subTest(shape=shape):
                count = math.prod(shape)
                name = self.name()
                write_block(name, struct.pack("<%di" % count, *range(count)))
                body = array_body(self.ok("dump", name, "--dtype", "<i4", "--shape",
                                          ",".join(map(str, shape))))
                if expected is not None:
                    self.assertEqual(body, expected)
                self.assertEqual("..." in body, count > 1000)
                if numpy is not None:
                    a = numpy.arange(count, dtype="<i4").reshape(shape)
                    theirs = numpy.array2string(a, separator=", ", threshold=1000, edgeitems=3,
                                                max_line_width=10**9)
                    # numpy pads to a common width; the layout is otherwise the same.
                    self.assertEqual(re.sub(r"\[ +", "[", re.sub(" +", " ", body)),
                                     re.sub(r"\[ +", "[", re.sub(" +", " ", theirs)) + "\n")

    def make_npy(self, descr, shape, data, fortran=False, extra=b""):
        name = self.name()
        write_block(name, npy_header(descr, shape, fortran) + data + extra)
        return name

    def test_npy_blocks_in_ls_dump_and_check(self):
        c = self.make_npy("<f8", (1000, 3), struct.pack("<3000d", *(i / 4 for i in range(3000))))
        f = self.make_npy(">i2", (2, 3), struct.pack(">6h", 0, 3, 1, 4, 2, 5), fortran=True)
        rec = self.make_npy("[('a', '<i4'), ('b', '|S2')]", (2,), struct.pack("<i2s", 1, b"xy")
                            + struct.pack("<i2s", -1, b"z"))
        scalar = self.make_npy("<c8", (), struct.pack("<2f", 1, -2), extra=b"\0" * 3)
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertEqual(kinds[c]["kind"], "npy <f8 (1000, 3)")
        self.assertEqual(kinds[f]["kind"], "npy >i2 (2, 3) fortran")
        self.assertEqual(kinds[rec]["kind"], "npy [('a', '<i4'), ('b', '|S2')] (2,)")
        self.assertEqual(kinds[scalar]["kind"], "npy <c8 ()")
        self.assertNotIn("problem", kinds[c])
        self.assertIn("npy <f8 (1000, 3)", self.ok("ls"))

        out = self.ok("dump", c)
        self.assertIn("dtype: <f8\nshape: (1000, 3)\norder: C\noffset: 128\nheader: .npy 1.0\n",
                      out)
        self.assertTrue(array_body(out).startswith("[[0.0, 0.25, 0.5],\n [0.75, 1.0, 1.25],\n"),
                        out)
        self.assertIn(" ...,\n [747.75, 748.0, 748.25],\n", out)
        doc = json.loads(self.ok("dump", c, "--json"))
        self.assertEqual(doc["data"], [[(3 * i + k) / 4 for k in range(3)] for i in range(1000)])
        self.assertEqual((doc["shape"], doc["offset"]), ([1000, 3], 128))
        self.assertEqual(array_body(self.ok("dump", f)), "[[0, 1, 2],\n [3, 4, 5]]\n")
        self.assertEqual(json.loads(self.ok("dump", f, "--json"))["order"], "F")
        self.assertEqual(array_body(self.ok("dump", rec)), "[(1, b'xy'), (-1, b'z')]\n")
        self.assertEqual(array_body(self.ok("dump", scalar)), "(1-2j)\n")
        # --dtype reads the bytes, header and all, as asked.
        self.assertEqual(array_body(self.ok("dump", f, "--dtype", "|u1", "--shape", "6")),
                         "[147, 78, 85, 77, 80, 89]\n")

        self.assertEqual(self.ok("check", c),
                         "%s: valid .npy array, <f8 (1000, 3), C order, .npy 1.0 header of 128 "
                         "bytes, 24000 data bytes\n" % c)
        self.assertIn("Fortran order", self.ok("check", f))
        self.assertIn("3 bytes after them", self.ok("check", scalar))
        for name in (c, f, rec, scalar):  # pyshm reads arrays; no command may write them
            self.assertIn("not a valid ShareableList", self.fails("get", name, "0"))

    def test_npy_block_made_by_numpy(self):
        if numpy is None:
            self.skipTest("numpy is not importable")
        import io
        for order in ("C", "F"):
            with self.subTest(order=order):
                a = numpy.asarray((numpy.arange(24).reshape(2, 3, 4) / 3).astype(">f4"), order=order)
                buf = io.BytesIO()
                numpy.lib.format.write_array(buf, a)
                name = self.name()
                shm = shared_memory.SharedMemory(name, create=True, size=len(buf.getvalue()))
                try:
                    shm.buf[:] = buf.getvalue()
                    kinds = {b["name"]: b["kind"] for b in json.loads(self.ok("ls", "--json"))}
                    self.assertEqual(kinds[name], "npy >f4 (2, 3, 4)" +
                                     (" fortran" if order == "F" else ""))
                    self.assertEqual(json.loads(self.ok("dump", name, "--json"))["data"],
                                     a.tolist())
                    self.assertEqual(ast.literal_eval(array_body(self.ok("dump", name))),
                                     a.tolist())
                    self.ok("check", name)
                finally:
                    shm.close()
                    shm.unlink()

    def test_check_rejects_corrupted_npy_blocks(self):
        good = npy_header("<f8", (4,)) + struct.pack("<4d", 1, 2, 3, 4)
        header = npy_header("<f8", (4,))

        def with_text(text):
            return header[:10] + text.ljust(len(header) - 11).encode() + b"\n" + good[128:]
        cases = {
            "truncated data": (good[:-1], "runs past the end of the 159-byte block"),
            "no data": (header, "runs past the end"),
            "bad version": (good[:6] + b"\x04\x00" + good[8:], "unsupported .npy version 4.0"),
            "header past end": (good[:8] + b"\xff\xff" + good[10:], "header length 65535"),
            "missing key": (with_text("{'descr': '<f8', 'shape': (4,), }"), "lacks one of"),
            "bad descr": (with_text("{'descr': '<q9', 'fortran_order': False, 'shape': (4,), }"),
                          "q9"),
            "object dtype": (with_text("{'descr': '|O', 'fortran_order': False, 'shape': (4,), }"),
                             "descr"),
            "not a dict": (with_text("['descr']"), "not a dict"),
            "garbage": (with_text("{'descr': '<f8', 'fortran_order': Fals"), "does not parse"),
            "just the magic": (b"\x93NUMPY", "too small"),
        }
        for label, (data, reason) in cases.items():
            with self.subTest(label):
                name = self.name()
                write_block(name, data)
                err = self.fails("check", name)
                self.assertIn("%s is not a valid .npy array: offset " % name, err)
                self.assertIn(reason, err)
                self.assertEqual(err, self.fails("dump", name))
                self.assertEqual(pyshm("dump", name, "--hex").returncode, 0)
                entry = [b for b in json.loads(self.ok("ls", "--json")) if b["name"] == name][0]
                self.assertEqual(entry["kind"], "raw")
                self.assertIn("not a valid .npy array", entry["problem"])

    def test_hostile_npy_blocks_are_read_not_mapped(self):
        # A 1 TB block (all holes) claiming a 4 GB header, and one whose header is fine but
        # claims a petabyte of data: ls, check and dump read a few KB and refuse both.
        long_header, huge_data = self.name(), self.name()
        with open(os.path.join(SHM_DIR, long_header), "wb") as f:
            f.truncate(1 << 40)
            f.write(b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + b"{")
        with open(os.path.join(SHM_DIR, huge_data), "wb") as f:
            f.truncate(1 << 40)
            f.write(npy_header("<f8", (2**47,)))
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertIn("past the 1048576 bytes read", kinds[long_header]["problem"])
        self.assertIn("runs past the end of the 1099511627776-byte block",
                      kinds[huge_data]["problem"])
        for name in (long_header, huge_data):
            self.assertEqual(kinds[name]["kind"], "raw")
            self.assertIn("not a valid .npy array", self.fails("check", name))
            self.assertIn("not a valid .npy array", self.fails("dump", name))
        # A header a little over a page (a structured dtype of many fields) is read whole.
        fields = ", ".join("('field_%04d', '<i2')" % i for i in range(400))
        wide = self.make_npy("[%s]" % fields, (1,), b"\0" * 800)
        self.assertIn("valid .npy array", self.ok("check", wide))
        self.assertEqual(array_body(self.ok("dump", wide)), "[(%s)]\n" % ", ".join(["0"] * 400))

    # usage

    def test_usage_errors_exit_2_and_help_exits_0(self):
        self.assertEqual(pyshm().returncode, 2)
        self.assertEqual(pyshm("frobnicate").returncode, 2)
        self.assertEqual(pyshm("dump").returncode, 2)
        self.assertEqual(pyshm("create", "x").returncode, 2)  # --size missing
        self.assertEqual(pyshm("create-list", "--layout", "3.7", "[]").returncode, 2)
        for command in ("ls", "dump", "check", "create-list", "create", "get", "set", "rm",
                        "pickle", "unpickle"):
            r = pyshm(command, "--help")
            self.assertEqual(r.returncode, 0, command)
            self.assertIn("Usage", r.stdout)
        self.assertIn("does not track", pyshm("create-list", "--help").stdout.replace("\n", " "))
        for option in ("--dtype", "--shape", "--offset", "--order"):
            self.assertIn(option, pyshm("dump", "--help").stdout)
        self.assertRegex(pyshm("--version").stdout, r"pyshm \(libshm\) \d+\.\d+\.\d+")

    def test_missing_block_and_bad_name_exit_1(self):
        self.assertIn("No such file", self.fails("dump", fresh_name()))
        self.assertIn("invalid shared memory name", self.fails("check", "a:b"))

    # hostile /dev/shm (issue 13): another user's block, a FIFO, a failing stdout

    def test_ls_survives_a_sparse_block_claiming_a_huge_count(self):
        good, hostile = self.name(), self.name()
        self.ok("create-list", "--name", good, "[1]")
        with open(os.path.join(SHM_DIR, hostile), "wb") as f:
            f.truncate(1 << 40)  # 1 TB, all holes but the header's first two words
            f.write(struct.pack("qq", ((1 << 40) - 16) // 17, 0))
        kinds = {b["name"]: b for b in json.loads(self.ok("ls", "--json"))}
        self.assertEqual(kinds[good]["kind"], "shareable-list 3.9+")
        self.assertEqual(kinds[hostile]["kind"], "raw")
        self.assertIn("offset 16: item 1's offset 0 equals", kinds[hostile]["problem"])
        self.assertIn("offset 16", self.fails("check", hostile))
        self.assertIn("offset 16", self.fails("get", hostile, "0"))

    def test_fifo_is_not_a_block_and_never_blocks(self):
        fifo, good = self.name(), self.name()
        self.ok("create", good, "--size", "64")
        os.mkfifo(os.path.join(SHM_DIR, fifo))
        names = [b["name"] for b in json.loads(self.ok("ls", "--json"))]
        self.assertIn(good, names)
        self.assertNotIn(fifo, names)
        for command in (["check", fifo], ["dump", fifo], ["dump", "--hex", fifo],
                        ["pickle", fifo], ["get", fifo, "0"]):
            self.assertIn("a FIFO, not a regular file", self.fails(*command), command)

    def test_ls_never_blocks_on_a_fifo_renamed_over_a_block(self):
        # Another user swaps a regular file and a FIFO under the same name as fast as possible
        # while ls runs: ls must judge what it opened, and never block in open().
        import threading
        target, spare_file, spare_fifo = self.name(), self.name(), self.name()
        write_block(target, b"\0" * 16)
        stop = threading.Event()

        def swap():
            while not stop.is_set():
                try:
                    os.mkfifo(os.path.join(SHM_DIR, spare_fifo))
                    os.rename(os.path.join(SHM_DIR, spare_fifo), os.path.join(SHM_DIR, target))
                    write_block(spare_file, b"\0" * 16)
                    os.rename(os.path.join(SHM_DIR, spare_file), os.path.join(SHM_DIR, target))
                except OSError:
                    pass
        swapper = threading.Thread(target=swap)
        swapper.start()
        try:
            for _ in range(30):
                r = subprocess.run([PYSHM, "ls", "--json"], capture_output=True, text=True,
                                   timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            stop.set()
            swapper.join()

    def test_undeliverable_output_is_an_error_and_leaves_no_block(self):
        def run_to_full(*args):
            with open("/dev/full", "w") as full:
                return subprocess.run([PYSHM, *args], stdout=full, stderr=subprocess.PIPE,
                                      text=True, timeout=60)
        # Named blocks, so that other users of /dev/shm cannot disturb the check.
        for args in (["create-list", "--name", self.name(), "[1]"],
                     ["create", self.name(), "--size", "64"]):
            r = run_to_full(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("cannot write to stdout: No space left on device", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(SHM_DIR, self.names[-1])), args)
        name = self.name()
        self.ok("create-list", "--name", name, "[1]")
        for args in (["get", name, "0"], ["ls"], ["check", name], ["dump", "--json", name],
                     ["dump", "--raw", name]):
            self.assertEqual(run_to_full(*args).returncode, 1, args)
        # A closed pipe too (SIGPIPE ignored, EPIPE reported): the reader is gone before
        # pyshm writes, since pyshm reads the items from stdin first.
        piped = self.name()
        r, w = os.pipe()
        os.close(r)
        p = subprocess.Popen([PYSHM, "create-list", "--name", piped, "-"], stdin=subprocess.PIPE,
                             stdout=w, stderr=subprocess.PIPE, text=True)
        os.close(w)
        _, err = p.communicate("[1]", timeout=60)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("Broken pipe", err)
        self.assertFalse(os.path.exists(os.path.join(SHM_DIR, piped)))

    def test_reading_verbs_never_fault_on_a_full_dev_shm(self):
        # Another user leaves /dev/shm full and a block whose pages are holes: reading a hole
        # through a mapping needs a page the tmpfs cannot give (SIGBUS), so the reading verbs
        # must read with pread. shm_open always uses /dev/shm: a small full tmpfs is mounted
        # over it in a private mount namespace, which dies with the test.
        if shutil.which("unshare") is None:
            self.skipTest("unshare (util-linux) is not installed")
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "mount", "-t",
                                "tmpfs", "-o", "size=1M", "tmpfs", "/dev/shm"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            self.skipTest("cannot mount a tmpfs in a private mount namespace (needs root or "
                          "user namespaces): " + probe.stderr.strip())
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                            "-c", FULL_DEV_SHM_SCRIPT, PYSHM, fresh_name(), fresh_name()],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        runs = json.loads(r.stdout)
        for label, (code, out, err) in runs.items():
            with self.subTest(verb=label):
                # A death by signal is a negative returncode (SIGBUS: -7; 135 from a shell).
                self.assertIn(code, (0, 1), "pyshm %s: exit %d, %s" % (label, code, err))
                if code == 1:
                    self.assertTrue(err.startswith("pyshm: "), err)
        # The holes read as zeros, as through a mapping with room to spare.
        self.assertEqual(runs["get 1500"][:2], [0, "0\n"])
        self.assertEqual(json.loads(runs["dump --json"][1])["items"], [0] * 2048)
        table = runs["dump"][1]
        self.assertIn("items: 2048\n", table)
        self.assertIn("\n  1500  int       q          0\n", table)
        self.assertIn("00006ef0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................  "
                      "data\n", runs["dump --hex"][1])
        self.assertEqual(array_body(runs["dump --dtype <i8 --shape 2048 --offset 16400"][1]),
                         "[0, 0, 0, ..., 0, 0, 0]\n")
        self.assertEqual(array_body(runs["dump ARRAY"][1]), "[0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0]\n")
        self.assertEqual(json.loads(runs["dump --json ARRAY"][1])["data"], [0.0] * 4096)

    def test_ls_table_escapes_names_as_json_does(self):
        name = self.name() + "\x1b[2J\nFORGED"
        self.names.append(name)
        write_block(name, b"\0" * 8)
        table = self.ok("ls")
        self.assertNotIn("\x1b", table)
        self.assertNotIn("\nFORGED", table)
        self.assertIn(json.dumps(name)[1:-1], table)

    def test_minor_messages(self):
        self.assertIn("--size must be a positive number of bytes, not '0'",
                      pyshm("create", fresh_name(), "--size", "0").stderr)
        self.assertNotIn("1.79", pyshm("create", fresh_name(), "--size", "0").stderr)
        r = pyshm("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown subcommand 'frobnicate'", r.stderr)
        name = self.name()
        self.ok("create-list", "--name", name, "[1, 2]")
        for bad in (" 1", "+1", "1 ", "", "-", "0x1"):
            self.assertIn("INDEX must be an integer", self.fails("get", name, bad), bad)
        self.assertEqual(self.ok("get", name, "-1"), "2\n")
        # get attaches read-only: a block one may read but not write works as for dump.
        os.chmod(os.path.join(SHM_DIR, name), 0o444)
        if os.geteuid() == 0 and os.path.exists("/usr/bin/setpriv"):
            r = subprocess.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                "--clear-groups", PYSHM, "get", name, "0"],
                               capture_output=True, text=True, timeout=60)
            if not r.stderr.startswith("setpriv:"):
                self.assertEqual((r.returncode, r.stdout), (0, "1\n"), r.stderr)
                r = subprocess.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                                    "--clear-groups", PYSHM, "set", name, "0", "5"],
                                   capture_output=True, text=True, timeout=60)
                self.assertIn("Permission denied", r.stderr)


# Run by test_reading_verbs_never_fault_on_a_full_dev_shm in a private mount namespace, as
# python3 -c SCRIPT PYSHM LIST_NAME ARRAY_NAME: mounts a 1 MiB tmpfs over /dev/shm, makes there a
# 3.9+ list of 2048 ints and a .npy array of 4096 floats whose data pages are holes, fills the
# tmpfs, runs the reading verbs and prints {verb: [exit code, stdout, stderr]} as JSON.
FULL_DEV_SHM_SCRIPT = r"""
import json, os, struct, subprocess, sys
pyshm, name, array = sys.argv[1:4]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", "/dev/shm"], check=True)
n = 2048
header = struct.pack("q", n) + struct.pack("%dq" % (n + 1), *range(0, 8 * (n + 1), 8))
formats_at = len(header) + 8 * n
fd = os.open("/dev/shm/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
os.ftruncate(fd, formats_at + 9 * n)  # all holes, then only the header, formats and codes
os.pwrite(fd, header, 0)
os.pwrite(fd, b"q".ljust(8, b"\0") * n + bytes(n), formats_at)
os.close(fd)
# And a .npy array of 4096 <f8 whose data pages are holes.
with open("/dev/shm/" + array, "wb") as f:
    f.truncate(128 + 8 * 4096)
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (4096,), }"
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + text.ljust(117) + b"\n")
with open("/dev/shm/filler", "wb", buffering=0) as filler:
    try:
        while True:
            filler.write(bytes(4096))
    except OSError:
        pass
assert os.statvfs("/dev/shm").f_bavail == 0, "the tmpfs is not full"
runs = {}
for args in (["get", name, "1500"], ["dump", "--json", name], ["dump", name],
             ["dump", "--hex", name], ["dump", "--dtype", "<i8", "--shape", "2048", "--offset",
                                       "16400", name],
             ["dump", array], ["dump", "--json", array]):
    r = subprocess.run([pyshm, *args], capture_output=True, text=True, timeout=60)
    label = " ".join("ARRAY" if a == array else a for a in args if a != name)
    runs[label] = [r.returncode, r.stdout, r.stderr]
print(json.dumps(runs))
"""


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":
    unittest.main()
