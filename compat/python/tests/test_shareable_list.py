"""libshm.ShareableList: byte-identical to the stdlib's, its API and exceptions, and libshm's
documented differences."""

import functools
import math
import pickle
import struct
import sys
import unittest

import libshm
from support import (PY38, BlockTest, exists, run_python, stdlib, stdlib_attach,
                     stdlib_attach_list)

# Lists whose bytes libshm and the stdlib must agree on (CPython stores every value whole).
SAME_BYTES = [
    [],
    [0],
    ["howdy", b"HoWdY", -273.154, 100, None, True, 42],
    [1, 2.5, True, None, "ab\x00", b"xy\x00\x00", "\u00e9" * 8],
    [2**63 - 1, -2**63, 0.0, -0.0, float("inf"), float("-inf"), False],
    ["", b"", "1234567", "12345678", b"123456789", "x" * 100, "\u00e9\u00e9\u00e9\u00e9"],
    ["\U0001F600" * 2, "a\u00e9" * 4, b"\x00ab", "\x00"],
    list(range(50)),
]


def block(sl):
    return bytes(sl.shm.buf)


class ByteIdentical(BlockTest):
    def test_same_items_same_bytes(self):
        for items in SAME_BYTES:
            with self.subTest(items=items):
                ours = libshm.ShareableList(items, name=self.name())
                theirs = stdlib.ShareableList(items, name=self.name())
                self.assertEqual(block(ours), block(theirs))
                self.assertEqual(ours.format, theirs.format)
                for sl in (ours, theirs):
                    sl.shm.close()
                    sl.shm.unlink()

    def test_same_bytes_after_the_same_assignments(self):
        items = ["abc", 7, None, b"0123456789", 1.5, True]
        ours = libshm.ShareableList(items, name=self.name())
        theirs = stdlib.ShareableList(items, name=self.name())
        for i, value in [(0, b"x"), (1, "zz"), (2, 3.25), (3, "str now"), (4, None), (5, 9),
                         (1, False), (3, b""), (0, "\u00e9\u00e9\u00e9")]:
            ours[i] = value
            theirs[i] = value
            self.assertEqual(block(ours), block(theirs), (i, value))
        for sl in (ours, theirs):
            sl.shm.close()
            sl.shm.unlink()

    def test_layout_is_the_running_versions(self):
        sl = libshm.ShareableList()
        self.keep(sl.shm.name)
        self.assertEqual(sl.shm.size, 8 if PY38 else 16)
        self.assertEqual(sl._core.layout, "3.8" if PY38 else "3.9+")
        sl.shm.close()
        sl.shm.unlink()

    def test_each_reads_the_others_list(self):
        items = SAME_BYTES[3]
        expected = [1, 2.5, True, None, "ab", b"xy", "\u00e9" * 8]  # trailing NULs stripped
        theirs = stdlib.ShareableList(items, name=self.name())
        ours = libshm.ShareableList(name=theirs.shm.name, track=False)
        self.assertEqual(list(ours), expected)
        ours[0] = "seen"
        self.assertEqual(theirs[0], "seen")
        mine = libshm.ShareableList(items, name=self.name())
        other = stdlib_attach_list(mine.shm.name)
        self.assertEqual(list(other), expected)
        other[1] = b"back"
        self.assertEqual(mine[1], b"back")
        for sl in (ours, other):
            sl.shm.close()
        for sl in (theirs, mine):
            sl.shm.close()
            sl.shm.unlink()


class PrivateAttributes(BlockTest):
    """The stdlib's private attributes that code using ShareableList's internals reads."""

    NAMES = ["_list_len", "_offset_data_start", "_offset_packing_formats",
             "_offset_back_transform_codes", "_format_size_metainfo",
             "_format_packing_metainfo", "_format_back_transform_codes", "_alignment",
             "_allocated_bytes" if PY38 else "_allocated_offsets"]

    def test_private_attributes_are_the_stdlibs(self):
        for items in ([], [1, 2.5, "abc", b"xy", None, True], ["x" * 20, b""]):
            theirs = stdlib.ShareableList(items, name=self.name())
            ours = libshm.ShareableList(items, name=self.name())
            attached = libshm.ShareableList(name=theirs.shm.name, track=False)
            for sl in (ours, attached):
                for attr in self.NAMES:
                    self.assertEqual(getattr(sl, attr), getattr(theirs, attr), attr)
                self.assertEqual(sl._types_mapping, theirs._types_mapping)
                for i in range(len(items)):
                    self.assertEqual(sl._get_packing_format(i), theirs._get_packing_format(i))
                    self.assertEqual(sl._extract_recreation_code(items[i]),
                                     theirs._extract_recreation_code(items[i]))
                    raw = struct.unpack_from(sl._get_packing_format(i), sl.shm.buf,
                                             sl._offset_data_start + sum(
                                                 sl._allocated_bytes[:i]) if PY38 else
                                             sl._offset_data_start + sl._allocated_offsets[i])[0]
                    self.assertEqual(sl._get_back_transform(i)(raw), theirs[i])
            for sl in (attached, ours, theirs):
                sl.shm.close()
            ours.shm.unlink()
            theirs.shm.unlink()

    def test_slot_offsets_are_the_headers_at_attach(self):
        # The module reads the slot table when first asked, from a copy taken at attach: a
        # header rewritten in between does not change it, as it does not change the stdlib's.
        theirs = stdlib.ShareableList([1, "abc", b"xy"], name=self.name())
        attached = libshm.ShareableList(name=theirs.shm.name, track=False)
        attr = "_allocated_bytes" if PY38 else "_allocated_offsets"
        header = bytes(theirs.shm.buf[8:40])
        theirs.shm.buf[8:40] = b"\x7f" * 32
        try:
            self.assertEqual(getattr(attached, attr), getattr(theirs, attr))
        finally:
            theirs.shm.buf[8:40] = header
            attached.shm.close()
            theirs.shm.close()
            theirs.shm.unlink()


class Api(BlockTest):
    def setUp(self):
        super().setUp()
        self.sl = libshm.ShareableList(["howdy", b"HoWdY", -273.154, 100, None, True, 42],
                                       name=self.name())

    def tearDown(self):
        self.sl.shm.close()
        super().tearDown()

    def test_reading(self):
        sl = self.sl
        self.assertEqual(len(sl), 7)
        self.assertEqual((sl[0], sl[-1], sl[-7], sl[True]), ("howdy", 42, "howdy", b"HoWdY"))
        self.assertEqual(list(sl), ["howdy", b"HoWdY", -273.154, 100, None, True, 42])
        self.assertEqual(type(iter(sl)).__name__, "iterator")  # the legacy protocol, as stdlib
        self.assertEqual(list(reversed(sl))[0], 42)
        self.assertIn(100, sl)
        self.assertEqual(sl.format, "8s8sdqxxxxxx?xxxxxxxx?q")
        self.assertEqual(sl._get_packing_format(4), "xxxxxx?x")
        self.assertEqual(sl._get_packing_format(-1), "q")
        self.assertEqual(repr(sl), "ShareableList(%r, name=%r)" % (list(sl), sl.shm.name))
        self.assertIsInstance(sl.shm, libshm.SharedMemory)
        self.assertEqual(sl.shm.size, 183 if PY38 else 191)  # 8 + 8*8 + 7*8 + 7*8 + 7

    def test_assignment_and_formats(self):
        sl = self.sl
        sl[3] = 42
        sl[4] = "some"  # None slot -> "8s"
        sl[0] = "encod\u00e9s"  # exactly 8 bytes of UTF-8
        sl[5] = 2.5
        sl[6] = None
        self.assertEqual(list(sl), ["encod\u00e9s", b"HoWdY", -273.154, 42, "some", 2.5, None])
        self.assertEqual(sl.format, "8s8sdq8sdxxxxxx?x")
        sl[4] = 9
        sl[4] = b"zz"  # scalar slot -> "<allocation>s" again
        self.assertEqual(sl._get_packing_format(4), "8s")
        for value in ("far too many", "encod\u00e9es", b"123456789"):
            with self.assertRaisesRegex(ValueError, "exceeds available storage"):
                sl[0] = value
        self.assertEqual(sl[0], "encod\u00e9s")

    def test_count_and_index_use_equality(self):
        nan = float("nan")
        sl = libshm.ShareableList([1, True, 1.0, 0, False, 0.0, None, "a", b"a", nan],
                                  name=self.name())
        self.assertEqual((sl.count(1), sl.count(True), sl.count(0), sl.count(nan)), (3, 3, 3, 0))
        self.assertEqual((sl.index(1.0), sl.index(False), sl.index("a"), sl.index(b"a")),
                         (0, 3, 7, 8))
        # The stdlib's message of the running version (gh-121288 changed it in 3.14.0a1).
        missing = ("ShareableList.index(x): x not in list" if sys.version_info >= (3, 14)
                   else "'zz' not in this container")
        with self.assertRaises(ValueError) as caught:
            sl.index("zz")
        self.assertEqual(str(caught.exception), missing)
        self.assertNotIn(nan, sl)
        sl.shm.close()
        sl.shm.unlink()

    def test_exceptions(self):
        sl = self.sl
        for bad in (7, 100, 2**100):
            with self.assertRaises(IndexError):
                sl[bad]
            with self.assertRaises(IndexError):
                sl[bad] = 1
        for bad in (1.0, "0", slice(0, 2)):
            with self.assertRaises(TypeError):
                sl[bad]
        with self.assertRaises(IndexError):
            sl._get_packing_format(7)

        class MyInt(int):
            pass

        class MyStr(str):
            pass

        for value in (MyInt(3), [1], (1,), {}, 1j, bytearray(b"x")):
            with self.assertRaises(KeyError):
                sl[2] = value
            with self.assertRaises(KeyError):
                libshm.ShareableList([value], name=self.name())
        with self.assertRaises(KeyError):
            libshm.ShareableList([MyStr("x")], name=self.name())
        sl[0] = MyStr("sub")  # accepted by assignment only, as the stdlib
        self.assertEqual(type(sl[0]), str)
        with self.assertRaises(UnicodeEncodeError):
            sl[0] = "\udc80"
        with self.assertRaises(AttributeError):
            del sl[0]
        with self.assertRaises(FileNotFoundError):
            libshm.ShareableList(name=self.name())
        with self.assertRaises(FileExistsError):
            libshm.ShareableList([1], name=sl.shm.name)

    def test_closed_list_raises_type_error(self):
        sl = libshm.ShareableList([1], name=self.name())
        sl.shm.close()
        for op in (len, lambda s: s[0], repr, lambda s: s.format):
            with self.assertRaises(TypeError):
                op(sl)
        sl.shm.unlink()

    def test_pickle_and_reduce(self):
        sl = self.sl
        func, args = sl.__reduce__()
        self.assertEqual((func.func, func.args, func.keywords, args),
                         (libshm.ShareableList, (), {"name": sl.shm.name}, ()))
        self.assertIsInstance(func, functools.partial)
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            other = pickle.loads(pickle.dumps(sl, protocol=proto))
            self.assertIs(type(other), libshm.ShareableList)
            other[3] = proto
            self.assertEqual(sl[3], proto)
            other.shm.close()

    def test_class_getitem(self):
        if PY38:
            with self.assertRaises(TypeError):
                libshm.ShareableList[int]
        else:
            alias = libshm.ShareableList[int]
            self.assertEqual((alias.__origin__, alias.__args__), (libshm.ShareableList, (int,)))

    def test_constructor_forms(self):
        for seq, expected in (("howdy", list("howdy")), ({"a": 1, "b": 2}, ["a", "b"]),
                              ([], []), ((x for x in [1, 2]), [1, 2])):
            sl = libshm.ShareableList(seq, name=self.name())
            self.assertEqual(list(sl), expected)
            sl.shm.close()
        copy = libshm.ShareableList(self.sl, name=self.name())
        self.assertEqual(list(copy), list(self.sl))
        self.assertEqual(block(copy), block(self.sl))
        copy.shm.close()


class BulkPaths(BlockTest):
    """Iteration, list(), count, index, `in` and repr run in C (src/core.cpp) and must give
    what the stdlib's Python loops give, values and exceptions alike."""

    ITEMS = [1, True, 1.0, 0, False, 0.0, None, "a", b"a", float("nan"), -2**63, "\u00e9" * 3,
             b"x\x00y", 2**63 - 1, 2.5, ""]

    def both(self, items):
        ours = libshm.ShareableList(items, name=self.name())
        theirs = stdlib.ShareableList(items, name=self.name())
        self.addCleanup(theirs.shm.close)
        self.addCleanup(ours.shm.close)
        return ours, theirs

    def test_iteration_and_list_match_the_stdlib(self):
        ours, theirs = self.both(self.ITEMS)
        for got, expected in zip(list(ours), list(theirs)):
            self.assertIs(type(got), type(expected))
            if not (isinstance(expected, float) and math.isnan(expected)):
                self.assertEqual(got, expected)
        self.assertEqual(len(list(ours)), len(self.ITEMS))
        self.assertEqual(type(iter(ours)).__name__, type(iter(theirs)).__name__)
        self.assertEqual([x for x in reversed(ours)][:3], [x for x in reversed(theirs)][:3])
        it = iter(ours)
        self.assertEqual(it.__length_hint__(), len(self.ITEMS))
        next(it)
        self.assertIs(next(it), True)
        self.assertEqual(repr(ours).split(", name=")[0], repr(theirs).split(", name=")[0])

    def test_iteration_sees_each_item_when_it_is_reached(self):
        for sl in self.both([1, 2, 3]):
            seen = []
            for i, x in enumerate(sl):
                seen.append(x)
                if i + 1 < 3:
                    sl[i + 1] = "changed"
            self.assertEqual(seen, [1, "changed", "changed"])

    def test_count_and_index_match_the_stdlib(self):
        ours, theirs = self.both(self.ITEMS)
        nan = float("nan")
        for value in [1, True, 0, 0.0, None, "a", b"a", nan, "\u00e9" * 3, b"x\x00y", "zz", 7]:
            with self.subTest(value=value):
                self.assertEqual(ours.count(value), theirs.count(value))
                self.assertEqual(value in ours, value in theirs)
                try:
                    expected = theirs.index(value)
                except ValueError as e:
                    with self.assertRaises(ValueError) as mine:
                        ours.index(value)
                    self.assertEqual(str(mine.exception), str(e))
                else:
                    self.assertEqual(ours.index(value), expected)

    def test_comparisons_that_are_not_bools_are_summed_as_the_stdlib_sums_them(self):
        class Weird:
            def __init__(self, result):
                self.result = result

            def __eq__(self, other):
                return self.result if other == 1 else False

            __hash__ = None

        ours, theirs = self.both([1, 2, 1, 3, 1])
        for result in [2, 0.5, 1j, "x", [0], True]:
            with self.subTest(result=result):
                try:
                    expected = theirs.count(Weird(result))
                except TypeError as e:
                    with self.assertRaises(TypeError) as mine:
                        ours.count(Weird(result))
                    self.assertEqual(str(mine.exception), str(e))
                else:
                    got = ours.count(Weird(result))
                    self.assertEqual((type(got), got), (type(expected), expected))
                self.assertEqual(ours.index(Weird(result)), theirs.index(Weird(result)))

    def test_errors_in_comparisons_and_reads_propagate(self):
        class Boom:
            def __eq__(self, other):
                raise ArithmeticError("boom")

        ours, theirs = self.both([1, 2])
        for sl in (ours, theirs):
            with self.assertRaisesRegex(ArithmeticError, "boom"):
                sl.count(Boom())
            with self.assertRaisesRegex(ArithmeticError, "boom"):
                sl.index(Boom())
        cut = stdlib.ShareableList([1, "\u20ac" * 5], name=self.name())
        self.addCleanup(cut.shm.close)
        mine = libshm.ShareableList(name=cut.shm.name, track=False)
        self.addCleanup(mine.shm.close)
        for sl in (mine, cut):
            with self.assertRaises(UnicodeDecodeError):
                list(sl)
            with self.assertRaises(UnicodeDecodeError):
                sl.count(5)

    def test_a_subclass_overriding_getitem_is_iterated_through_it(self):
        class Doubled(libshm.ShareableList):
            def __getitem__(self, position):
                return 2 * super().__getitem__(position)

        class Plain(libshm.ShareableList):
            pass

        doubled = Doubled([1, 2, 3], name=self.name())
        self.addCleanup(doubled.shm.close)
        self.assertEqual(list(doubled), [2, 4, 6])
        self.assertEqual((doubled.count(4), doubled.index(6)), (1, 2))
        plain = Plain([1, 2, 3], name=self.name())
        self.addCleanup(plain.shm.close)
        self.assertEqual((list(plain), len(plain), plain.count(2)), ([1, 2, 3], 3, 1))


class Differences(BlockTest):
    """The policy of docs/cpython-quirks.md, as the Python module shows it."""

    def test_out_of_range_negative_indices_are_index_errors_and_write_nothing(self):
        sl = libshm.ShareableList([1, "ab", 3.5, None, b"xyz"], name=self.name())
        before = block(sl)
        for i in range(-6, -13, -1):  # CPython 3.9+ reads garbage or corrupts for -6 ... -11
            with self.assertRaises(IndexError):
                sl[i]
            with self.assertRaises(IndexError):
                sl[i] = 99
        self.assertEqual(block(sl), before)
        empty = libshm.ShareableList(name=self.name(), sequence=[])
        with self.assertRaises(IndexError):  # stdlib: ValueError
            empty[-1]
        for s in (sl, empty):
            s.shm.close()

    def test_failed_assignment_keeps_the_old_value(self):
        sl = libshm.ShareableList([5, "abc"], name=self.name())
        before = block(sl)
        for i in (0, 1):
            with self.assertRaises(struct.error):  # stdlib: struct.error, and the item is 0
                sl[i] = 2**63
        self.assertEqual((list(sl), block(sl)), ([5, "abc"], before))
        sl.shm.close()

    def test_failed_creation_leaves_nothing(self):
        for items in ([1, 2**63], [1, -2**63 - 1], ["ok", "\udc80"]):
            name = self.name()
            with self.assertRaises((struct.error, UnicodeEncodeError)):
                libshm.ShareableList(items, name=name)
            self.assertFalse(exists(name))
        name = self.name()
        with self.assertRaisesRegex(ValueError, "9,999,991"):  # stdlib: AssertionError
            libshm.ShareableList([b"x" * 9999992], name=name)
        self.assertFalse(exists(name))
        sl = libshm.ShareableList([b"x" * 9999991], name=name)  # the longest item
        self.assertEqual(sl.format, "9999992s")
        sl.shm.close()

    def test_non_ascii_str_keeps_all_its_characters(self):
        value = "\u00e9" * 9  # 18 bytes of UTF-8; CPython gives 16 and truncates
        ours = libshm.ShareableList([value], name=self.name())
        theirs = stdlib.ShareableList([value], name=self.name())
        self.assertEqual(ours[0], value)
        self.assertEqual(theirs[0], "\u00e9" * 8)
        self.assertNotEqual(block(ours), block(theirs))
        reader = stdlib_attach_list(ours.shm.name)  # every CPython reads libshm's slot whole
        self.assertEqual(reader[0], value)
        reader.shm.close()
        for sl in (ours, theirs):
            sl.shm.close()
        theirs.shm.unlink()

    def test_reading_a_cut_character_is_the_stdlibs_unicode_decode_error(self):
        theirs = stdlib.ShareableList(["\u20ac" * 5], name=self.name())
        ours = libshm.ShareableList(name=theirs.shm.name, track=False)
        with self.assertRaises(UnicodeDecodeError) as mine:
            ours[0]
        with self.assertRaises(UnicodeDecodeError) as cpython:
            theirs[0]
        self.assertEqual(str(mine.exception), str(cpython.exception))
        ours.shm.close()
        theirs.shm.close()
        theirs.shm.unlink()

    def test_a_block_that_is_not_a_list_is_a_layout_error(self):
        # (An 8-byte zero block is CPython 3.8's empty list, which libshm reads.)
        for size in (4, 64):
            block = libshm.SharedMemory(self.name(), create=True, size=size)
            if size == 64:
                block.buf[:8] = struct.pack("q", 1000)  # 1000 items in 64 bytes
            with self.assertRaises(libshm.LayoutError) as cm:
                libshm.ShareableList(name=block.name)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertIsInstance(cm.exception, struct.error)
            # The library's error code rides along (shm::Errc; the conformance agent reports it).
            self.assertEqual(cm.exception.libshm_code, "corrupt_block")
            self.assertRegex(str(cm.exception), r"^offset \d+: ")
            block.close()

    def test_a_refused_tracked_attach_leaves_registrations_as_they_were(self):
        # The header is read before anything is registered (issue 23): the refused attach
        # registers nothing and withdraws nothing, whoever registered the block.
        code = (
            "import sys, libshm\n"
            "if sys.argv[2] == 'own':\n"
            "    own = libshm.SharedMemory(sys.argv[1], create=True, size=4096)\n"
            "    own.buf[:] = b'\\xff' * 4096\n"
            "try:\n"
            "    libshm.ShareableList(name=sys.argv[1], track=True)\n"
            "except libshm.LayoutError:\n"
            "    print('refused')\n")
        theirs = libshm.SharedMemory(self.name(), create=True, size=4096, track=False)
        theirs.buf[:] = b"\xff" * 4096
        proc = run_python(code, theirs.name, "theirs")
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, "refused\n", ""))
        self.assertTrue(exists(theirs.name))  # the attacher's exit left it alone
        theirs.close()
        name = self.name()
        proc = run_python(code, name, "own")
        self.assertEqual((proc.returncode, proc.stdout), (0, "refused\n"))
        self.assertIn("leaked shared_memory objects", proc.stderr)
        self.assertFalse(exists(name))  # still registered by its create: removed at exit

    def test_track_false(self):
        # Tracking is multiprocessing's resource tracker's; libshm's own never starts here.
        sl = libshm.ShareableList([1], name=self.name(), track=False)
        self.assertNotIn(sl.shm._name, libshm._registered)
        self.assertFalse(sl._core.tracked)
        sl.shm.close()
        attached = libshm.ShareableList(name=sl.shm.name)  # default track=True, as the stdlib
        self.assertIn(attached.shm._name, libshm._registered)
        self.assertFalse(attached._core.tracked)
        attached.shm.close()
        attached.shm.unlink()


if __name__ == "__main__":
    unittest.main()
