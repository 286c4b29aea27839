#!/usr/bin/env python3
"""Write golden vectors: ShareableList blocks and pickles exactly as this CPython makes them.

Run it with the interpreter whose behaviour you want recorded (any CPython 3.8 - 3.13; the
script uses only the standard library and only syntax that 3.8 accepts):

    python3.12 compat/tools/gen_vectors.py [--out DIR]

It writes DIR/<full version>/shareable_list.json and DIR/<full version>/pickle.json, where DIR
defaults to compat/vectors/ beside this tools/ folder. `compat/tools/regen_vectors` runs it
under every CPython it can find. The output is deterministic (sorted keys, indent 1, ASCII,
a trailing newline), so regenerating with the same interpreter leaves no git diff.

Item JSON (shared with the CLI and the harness agents)
------------------------------------------------------
int -> JSON integer; float -> JSON number that always has a fraction or an exponent (Python's
repr, which round-trips: 1.0, -0.0, 5e-324), or {"float": "nan" | "inf" | "-inf"}; bool ->
true/false; None -> null; str -> JSON string (\\u-escaped, the files are ASCII); bytes ->
{"bytes": "<lowercase hex>"}. A read or an assignment that raised is written as
{"error": {"type": "<exception class name>", "message": "<str(exception)>"}} in "read"
lists, and as the "error" member of a "sets" entry.

shareable_list.json
-------------------
    {"python": "3.12.1", "implementation": "CPython", "layout": "3.9" ("3.8" on 3.8),
     "byteorder": "little", "generator": "compat/tools/gen_vectors.py", "cases": [CASE...]}
    CASE = {"id": stable kebab-case id,
            "items": [Item JSON...]          the list given to ShareableList(),
            "block": hex of bytes(sl.shm.buf) right after creation,
            "size": len(block) (on Linux equal to st_size and to the layout formula),
            "format": sl.format,
            "read": [sl[i] for each i, Item JSON or error],
            and, for assignment cases only:
            "sets": [{"index": i, "value": Item JSON, "error": null or {"type", "message"}}...]
                    applied in order with sl[i] = value (an error means CPython raised),
            "block_after", "format_after", "read_after": the same views after all the sets}

Only assignments that leave a well-formed block are recorded; the corrupting ones (negative
indices, which 3.8 mishandles even in range, and int overflow, which zeroes the slot) are
documented policy differences, not vectors.

pickle.json
-----------
    {"python": "3.12.1", "default_protocol": pickle.DEFAULT_PROTOCOL,
     "generator": "compat/tools/gen_vectors.py", "cases": [CASE...]}
    CASE = {"id", "kind": "shared_memory" | "shareable_list", "name": name without the slash,
            "size": int (shared_memory only), "protocol": 0..5,
            "pickler": one of PICKLERS below,
            "reducer": "pickle" | "forking", "optimized": true | false  (the shape the bytes
                       have: shm::pickle::Style; "forking" only for a ShareableList reduced
                       by multiprocessing.reduction._reduce_partial),
            "hex": the pickle bytes}
    PICKLERS:
      "c"                 pickle.dumps(obj, protocol) (the C pickler, _pickle)
      "python"            pickle._Pickler(file, protocol).dump(obj) (the pure-Python one)
      "forking"           multiprocessing.reduction.ForkingPickler.dumps(obj, protocol): what
                          Queues, Pipes and Pool arguments carry
      "copyreg-c"         pickle.dumps after copyreg.pickle(functools.partial,
                          multiprocessing.reduction._reduce_partial) (undone afterwards)
      "copyreg-python"    the same with pickle._Pickler
      "optimized-c"       pickletools.optimize of the "c" bytes
      "optimized-python"  pickletools.optimize of the "python" bytes
      "optimized-forking" pickletools.optimize of the "forking" bytes

The pickled objects are built without a block (most sizes could never be mapped), and that
route is checked against real blocks and against the hex in the reference before anything is
written. Every real block gets a fresh random name and is unlinked in a finally block.
"""

import argparse
import copyreg
import functools
import io
import json
import math
import os
import multiprocessing.reduction
import pickle
import pickletools
import platform
import random
import secrets
import struct
import sys

from multiprocessing.reduction import ForkingPickler
from multiprocessing.shared_memory import ShareableList, SharedMemory

GENERATOR = "compat/tools/gen_vectors.py"

# Names of every block this run created, checked at the end: none may survive.
_created_names = []


# --------------------------------------------------------------------------- Item JSON


def item_json(value):
    """Encodes one ShareableList value as Item JSON."""
    # bool before int: bool is a subclass of int.
    if value is None or isinstance(value, bool):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isnan(value):
            return {"float": "nan"}
        if math.isinf(value):
            return {"float": "inf" if value > 0 else "-inf"}
        return value  # json writes float.__repr__, which always has '.' or 'e'
    if type(value) is str:
        return value
    if type(value) is bytes:
        return {"bytes": value.hex()}
    raise TypeError("no Item JSON for %r" % (type(value),))


def error_json(exc):
    return {"type": type(exc).__name__, "message": str(exc)}


def read_json(sl, index):
    """What sl[index] gives: Item JSON, or an error object if reading raises."""
    try:
        value = sl[index]
    except Exception as exc:  # e.g. UnicodeDecodeError after a cut inside a character
        return {"error": error_json(exc)}
    return item_json(value)


# --------------------------------------------------------------------------- real blocks


def random_name(length=16, tail=""):
    """A fresh random ASCII name of the given length: 'vec_' + hex (plain hex when too short
    for the prefix), ending with `tail`."""
    text = "vec_" + secrets.token_hex((length + 1) // 2 + 2)
    if length < 8:
        text = secrets.token_hex(length)
    return text[:length - len(tail)] + tail


def _create(factory, length=16, tail=""):
    """Calls factory(name) with fresh random names until one is free; records the name."""
    for _ in range(100):
        name = random_name(length, tail)
        try:
            obj = factory(name)
        except FileExistsError:
            continue
        _created_names.append(name)
        return obj
    raise RuntimeError("no free random name of length %d" % length)


def new_list(items):
    return _create(lambda name: ShareableList(items, name=name))


def new_block(size, length=16, tail=""):
    return _create(lambda name: SharedMemory(name, create=True, size=size), length, tail)


def assert_nothing_left():
    """Every block we created must be gone (only our names: others may use /dev/shm too)."""
    if not os.path.isdir("/dev/shm"):
        return
    left = [n for n in _created_names if os.path.exists(os.path.join("/dev/shm", n))]
    if left:
        raise AssertionError("blocks left behind: %r" % (left,))


# --------------------------------------------------------------------------- ShareableList cases


def text_of_length(n):
    """Deterministic ASCII text, never NUL."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i % len(alphabet)] for i in range(n))


def bytes_of_length(n):
    """Deterministic bytes 01..ff, never NUL (a trailing NUL would be stripped on read)."""
    return bytes((i * 7) % 255 + 1 for i in range(n))


def random_items(count, seed):
    """A deterministic mixed list. Uses only getrandbits(), whose output for a given int seed
    has not changed across 3.8 - 3.13, so every version stores the very same list."""
    rng = random.Random(seed)

    def below(n):
        return rng.getrandbits(32) % n

    chars = "abcxyz 09~" + "\u00e9\u00df" + "\u20ac\u4e2d" + "\U0001f600" + "\x00"
    items = []
    for _ in range(count):
        kind = below(6)
        if kind == 0:
            items.append(rng.getrandbits(64) - 2 ** 63)
        elif kind == 1:
            while True:  # any finite double: random bits, rejecting NaN and inf
                value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
                if math.isfinite(value):
                    break
            items.append(value)
        elif kind == 2:
            items.append(below(2) == 1)
        elif kind == 3:
            items.append(None)
        elif kind == 4:
            items.append("".join(chars[below(len(chars))] for _ in range(below(20))))
        else:
            items.append(bytes(below(256) for _ in range(below(20))))
    return items


def sl_cases():
    """(id, items, sets or None) for every ShareableList case, in output order."""
    cases = []

    def add(case_id, items, sets=None):
        cases.append((case_id, list(items), sets))

    # Each type alone, and all of them together.
    add("single-int", [42])
    add("single-float", [2.5])
    add("single-bool-true", [True])
    add("single-bool-false", [False])
    add("single-none", [None])
    add("single-str", ["a"])
    add("single-bytes", [b"a"])
    add("single-empty-str", [""])
    add("single-empty-bytes", [b""])
    add("empty-list", [])
    add("mixed-all-types", [1, 2.5, True, None, "ab", b"cd"])
    add("mixed-all-types-reversed", [b"cd", "ab", None, True, 2.5, 1])
    add("mixed-empty-str-and-bytes", ["", b"", "", b""])
    add("repeated-none", [None] * 20)
    add("repeated-bools", [True, False] * 5)

    # Lists quoted in docs/format.md and docs/cpython-quirks.md.
    add("reference-1-4-int-str-none", [1, "ab", None])
    add("reference-1-4-howdy", ["howdy", b"HoWdY", -273.154, 100, None, True, 42])
    add("reference-2-11-count-index",
        [1, True, 1.0, 0, False, 0.0, None, "a", b"a", float("nan")])
    add("design-example-199-bytes",
        [1, 2.5, True, None, "ab\x00", b"xy\x00\x00", "\u00e9" * 9])

    # str and bytes of every length 0-17 and around every multiple of 8 up to 72:
    # the slot is 8 * (len // 8 + 1), so the boundaries are 7 | 8 and 15 | 16, ...
    lengths = set(range(18))
    for k in range(1, 10):
        lengths.update((8 * k - 1, 8 * k, 8 * k + 1))
    for n in sorted(lengths):
        add("str-len-%d" % n, [text_of_length(n)])
    for n in sorted(lengths):
        add("bytes-len-%d" % n, [bytes_of_length(n)])
    add("str-len-1000", [text_of_length(1000)])
    add("str-len-100000", [text_of_length(100000)])
    add("bytes-len-1000", [bytes_of_length(1000)])

    # Non-ASCII str: the slot is sized by characters, the UTF-8 bytes are cut to fit.
    e2, e3, e4 = "\u00e9", "\u20ac", "\U0001f600"  # 2-, 3- and 4-byte UTF-8
    for count in (1, 4, 5, 7, 8, 9, 15, 16):
        add("str-utf8-2byte-x%d" % count, [e2 * count])
    for count in (1, 2, 3, 5, 8, 11):
        add("str-utf8-3byte-x%d" % count, [e3 * count])
    for count in (1, 2, 3, 4, 8):
        add("str-utf8-4byte-x%d" % count, [e4 * count])
    add("str-utf8-a-2byte-x3", [("a" + e2) * 3])
    add("str-utf8-a-2byte-x4", [("a" + e2) * 4])
    add("str-utf8-mixed-widths", ["a" + e2 + e3 + e4])
    add("str-utf8-mixed-in-list", [7, e3 * 5, "ok", e4 * 3, None])

    # NULs: only trailing ones are lost on read (gh-106939).
    add("str-nul-leading", ["\x00ab"])
    add("str-nul-interior", ["a\x00b"])
    add("str-nul-trailing", ["ab\x00"])
    add("str-nul-only", ["\x00"])
    add("str-nul-x8", ["\x00" * 8])
    add("str-nul-trailing-fills-slot", ["abcdefg\x00"])
    add("bytes-nul-leading", [b"\x00ab"])
    add("bytes-nul-interior", [b"a\x00b"])
    add("bytes-nul-trailing", [b"ab\x00"])
    add("bytes-nul-only", [b"\x00" * 3])
    add("bytes-nul-x8", [b"\x00" * 8])
    add("bytes-nul-interior-and-trailing", [b"a\x00b\x00\x00"])
    add("reference-2-1-nuls",
        [b"ab\x00", "cd\x00", b"\x00" * 3, b"\x00ab", "\x00", b"a\x00b\x00\x00", b"12345678"])

    # int64 and double edge values, alone and together.
    ints = [("min", -2 ** 63), ("max", 2 ** 63 - 1), ("zero", 0), ("minus-one", -1),
            ("2pow31", 2 ** 31), ("2pow32", 2 ** 32)]
    for label, value in ints:
        add("int-%s" % label, [value])
    add("int-extremes-list", [v for _, v in ints])
    floats = [("nan", float("nan")), ("inf", float("inf")), ("minus-inf", float("-inf")),
              ("minus-zero", -0.0), ("min-subnormal", 5e-324),
              ("max", 1.7976931348623157e308), ("0-1", 0.1), ("1-0", 1.0)]
    for label, value in floats:
        add("float-%s" % label, [value])
    add("float-specials-list", [v for _, v in floats])
    add("bools-list", [True, False, True])

    add("random-mixed-1000", random_items(1000, 1234))

    # Assignments through __setitem__ (reference 2.5): type changes keep the slot.
    add("set-int-to-str-fills-8-byte-slot", [7], [(0, "abcdefgh")])
    add("set-int-to-str-too-long", [7], [(0, "abcdefghi")])
    add("set-str-to-int-to-str", ["abc"], [(0, 5), (0, "xyz")])
    add("set-int-to-str-to-bytes", [1], [(0, "abc"), (0, b"de")])
    add("set-str16-to-bytes-to-str", ["abcdefghij"], [(0, b"xy"), (0, "pq")])
    add("set-str16-slot-to-int-to-str", [1, "abcdefghijkl", None], [(1, 9), (1, "zz")])
    add("set-str16-slot-fill-then-too-long", ["abcdefghij"], [(0, "x" * 16), (0, "y" * 17)])
    add("set-none-to-float", [None], [(0, 1.5)])
    add("set-bool-to-none", [True], [(0, None)])
    add("set-str-too-long-changes-nothing", ["abc", 7], [(0, "abcdefghi")])
    add("set-utf8-fits-then-too-long", ["abc"], [(0, e2 * 4), (0, e2 * 5)])
    add("set-utf8-into-int-slot", [3], [(0, e4 * 2), (0, e3 * 3)])
    add("set-trailing-nuls", [b"ab", "cd"], [(0, b"xy\x00\x00"), (1, "q\x00")])
    add("set-float-specials", [0.0, 0.0, 0.0, 0.0],
        [(0, float("nan")), (1, float("inf")), (2, float("-inf")), (3, -0.0)])
    add("set-int-extremes", [0, 0], [(0, 2 ** 63 - 1), (1, -2 ** 63)])
    add("set-howdy-several", ["howdy", b"HoWdY", -273.154, 100, None, True, 42],
        [(0, "hi"), (1, "str now"), (2, None), (3, b"b"), (4, 4.5), (5, 0), (6, False)])
    # Every type into every type's slot, one assignment each.
    kinds = [("int", 5, 7), ("float", 2.5, -1.25), ("bool", True, False),
             ("none", None, None), ("str", "abc", "hi"), ("bytes", b"abc", b"hi")]
    for from_label, initial, _ in kinds:
        for to_label, _, value in kinds:
            add("set-matrix-%s-to-%s" % (from_label, to_label), [initial], [(0, value)])
    return cases


def run_sl_case(case_id, items, sets):
    sl = new_list(items)
    try:
        block = bytes(sl.shm.buf)
        if sl.shm.size != len(block):
            raise AssertionError("%s: size %d != len %d" % (case_id, sl.shm.size, len(block)))
        case = {
            "id": case_id,
            "items": [item_json(v) for v in items],
            "block": block.hex(),
            "size": len(block),
            "format": sl.format,
            "read": [read_json(sl, i) for i in range(len(items))],
        }
        if sets is not None:
            records = []
            for index, value in sets:
                error = None
                try:
                    sl[index] = value
                except Exception as exc:  # ValueError: bytes/str item exceeds available storage
                    error = error_json(exc)
                records.append({"index": index, "value": item_json(value), "error": error})
            case["sets"] = records
            case["block_after"] = bytes(sl.shm.buf).hex()
            case["format_after"] = sl.format
            case["read_after"] = [read_json(sl, i) for i in range(len(items))]
        return case
    finally:
        sl.shm.close()
        sl.shm.unlink()


def shareable_list_document():
    cases = [run_sl_case(*spec) for spec in sl_cases()]
    ids = [c["id"] for c in cases]
    if len(set(ids)) != len(ids):
        raise AssertionError("duplicate case ids")
    layout = "3.8" if sys.version_info < (3, 9) else "3.9"
    # Cross-check the layout label against the block itself (docs/format.md: 8 vs 16 bytes).
    empty = [c for c in cases if c["id"] == "empty-list"][0]
    if empty["size"] != {"3.8": 8, "3.9": 16}[layout]:
        raise AssertionError("empty list is %d bytes under layout %s" % (empty["size"], layout))
    design = [c for c in cases if c["id"] == "design-example-199-bytes"][0]
    if layout == "3.9" and design["size"] != 199:
        raise AssertionError("docs/format.md example is %d bytes, not 199" % design["size"])
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "layout": layout,
        "byteorder": sys.byteorder,
        "generator": GENERATOR,
        "cases": cases,
    }


# --------------------------------------------------------------------------- pickles


def fake_shared_memory(name, size):
    """A SharedMemory with no block behind it, enough for __reduce__ (which reads .name and
    .size, i.e. _name and _size) and for close()/__del__ (_buf, _mmap, _fd: all 'closed')."""
    sm = SharedMemory.__new__(SharedMemory)
    sm._name = "/" + name  # POSIX: _prepend_leading_slash; .name strips one '/'
    sm._size = size
    sm._buf = None
    sm._mmap = None
    sm._fd = -1
    if hasattr(SharedMemory, "_track"):  # 3.13+: unlink() reads it; never tell the tracker
        sm._track = False
    return sm


def fake_shareable_list(name):
    """A ShareableList with no block: its __reduce__ only reads self.shm.name."""
    sl = ShareableList.__new__(ShareableList)
    sl.shm = fake_shared_memory(name, 0)
    return sl


def _python_dumps(obj, protocol):
    out = io.BytesIO()
    pickle._Pickler(out, protocol=protocol).dump(obj)
    return out.getvalue()


def _with_partial_in_copyreg(dump):
    """Runs dump() with multiprocessing's partial reducer registered through copyreg, as any
    program may do, and takes it out again."""
    had = copyreg.dispatch_table.get(functools.partial)
    copyreg.pickle(functools.partial, multiprocessing.reduction._reduce_partial)
    try:
        return dump()
    finally:
        if had is None:
            del copyreg.dispatch_table[functools.partial]
        else:
            copyreg.dispatch_table[functools.partial] = had


def dumps(obj, protocol, pickler):
    if pickler == "c":
        return pickle.dumps(obj, protocol=protocol)
    if pickler == "python":
        return _python_dumps(obj, protocol)
    if pickler == "forking":
        return bytes(ForkingPickler.dumps(obj, protocol))
    if pickler == "copyreg-c":
        return _with_partial_in_copyreg(lambda: pickle.dumps(obj, protocol=protocol))
    if pickler == "copyreg-python":
        return _with_partial_in_copyreg(lambda: _python_dumps(obj, protocol))
    if pickler.startswith("optimized-"):
        return pickletools.optimize(dumps(obj, protocol, pickler[len("optimized-"):]))
    raise ValueError(pickler)


PICKLERS = ("c", "python", "forking", "copyreg-c", "copyreg-python", "optimized-c",
            "optimized-python", "optimized-forking")


def pickle_style(kind, pickler):
    """(reducer, optimized): the shape `pickler` gives a `kind` object (see the docstring)."""
    forking = kind == "shareable_list" and ("forking" in pickler or "copyreg" in pickler)
    return ("forking" if forking else "pickle"), pickler.startswith("optimized-")


def check_style_of(kind, pickler, data):
    """The bytes must have the shape pickle_style says: the forking reducer's global exactly
    when the reducer is "forking", and memo stores only when not optimized (an optimized
    SharedMemory has none, an optimized ShareableList one, the class that BUILD fetches)."""
    reducer, optimized = pickle_style(kind, pickler)
    ops = list(pickletools.genops(data))
    strings = [arg for _, arg, _ in ops if isinstance(arg, str)]
    forking = ("multiprocessing.reduction _rebuild_partial" in strings
               or "_rebuild_partial" in strings)
    stores = sum(1 for op, _, _ in ops if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"))
    want_stores = {"shared_memory": 0, "shareable_list": 0 if reducer == "forking" else 1}[kind]
    if forking != (reducer == "forking") or (optimized and stores != want_stores) or (
            not optimized and stores <= want_stores):
        raise AssertionError("%s %s: unexpected shape %s" % (kind, pickler, data.hex()))
PROTOCOLS = range(0, 6)

# Reference section 3.5: SharedMemory('rq_pk', size 16) and ShareableList(name='rq_pkl'),
# protocols 0-5, written by pickle.dumps on every CPython 3.8 - 3.13.
REFERENCE_SM_HEX = [
    "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72790a70300a285672715f706b0a70310a4930300a4931360a7470320a5270330a2e",
    "636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72790a710028580500000072715f706b71014930300a4b107471025271032e",
    "8002636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72790a7100580500000072715f706b7101894b108771025271032e",
    "8003636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a5368617265644d656d6f72790a7100580500000072715f706b7101894b108771025271032e",
    "80049541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0c5368617265644d656d6f72799493948c0572715f706b94894b10879452942e",
    "80059541000000000000008c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0c5368617265644d656d6f72799493948c0572715f706b94894b10879452942e",
]
REFERENCE_SL_HEX = [
    "6366756e63746f6f6c730a7061727469616c0a70300a28636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a536861726561626c654c6973740a70310a7470320a5270330a2867310a2874286470340a566e616d650a70350a5672715f706b6c0a70360a734e7470370a6228745270380a2e",
    "6366756e63746f6f6c730a7061727469616c0a710028636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a536861726561626c654c6973740a7101747102527103286801297d710458040000006e616d657105580600000072715f706b6c7106734e74710762295271082e",
    "80026366756e63746f6f6c730a7061727469616c0a7100636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a536861726561626c654c6973740a7101857102527103286801297d710458040000006e616d657105580600000072715f706b6c7106734e74710762295271082e",
    "80036366756e63746f6f6c730a7061727469616c0a7100636d756c746970726f63657373696e672e7368617265645f6d656d6f72790a536861726561626c654c6973740a7101857102527103286801297d710458040000006e616d657105580600000072715f706b6c7106734e74710762295271082e",
    "8004956d000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0d536861726561626c654c69737494939485945294286805297d948c046e616d65948c0672715f706b6c94734e7494622952942e",
    "8005956d000000000000008c0966756e63746f6f6c73948c077061727469616c9493948c1d6d756c746970726f63657373696e672e7368617265645f6d656d6f7279948c0d536861726561626c654c69737494939485945294286805297d948c046e616d65948c0672715f706b6c94734e7494622952942e",
]


def check_reference_hex():
    """The fake objects must reproduce the reference's hex (pickle.dumps) exactly."""
    for protocol in PROTOCOLS:
        got_sm = dumps(fake_shared_memory("rq_pk", 16), protocol, "c").hex()
        got_sl = dumps(fake_shareable_list("rq_pkl"), protocol, "c").hex()
        if got_sm != REFERENCE_SM_HEX[protocol]:
            raise AssertionError("SharedMemory p%d differs from the reference: %s"
                                 % (protocol, got_sm))
        if got_sl != REFERENCE_SL_HEX[protocol]:
            raise AssertionError("ShareableList p%d differs from the reference: %s"
                                 % (protocol, got_sl))


def check_fake_against_real():
    """Real blocks pickle exactly like the fake objects, and those bytes unpickle (attach).

    Unpickling attaches, which sends REGISTER for a name this process already registered on
    creation; the tracker keeps a set, so the creator's single unlink() (one UNREGISTER)
    leaves it balanced. An explicit unregister() here would make that UNREGISTER unknown
    to the tracker and print a KeyError traceback on stderr.
    """
    # One name contains a backslash, proving it is a valid POSIX shm name character: the
    # pickle vectors include such names because protocol 0 escapes it (as \u005c).
    for name_length, size, tail in ((5, 1, ""), (12, 255, ""), (16, 256, "\\x"),
                                    (100, 65535, ""), (255, 65536, "")):
        real = new_block(size, name_length, tail)
        try:
            fake = fake_shared_memory(real.name, size)
            for protocol in PROTOCOLS:
                for pickler in PICKLERS:
                    data = dumps(real, protocol, pickler)
                    if data != dumps(fake, protocol, pickler):
                        raise AssertionError("fake SharedMemory pickles differently: %s p%d %s"
                                             % (real.name, protocol, pickler))
                    attached = pickle.loads(data)
                    try:
                        if (attached.name, attached.size) != (real.name, size):
                            raise AssertionError("unpickled %r" % (attached,))
                    finally:
                        attached.close()
        finally:
            real.close()
            real.unlink()

    for name_length in (5, 16, 255):
        real = _create(lambda name: ShareableList([1, "a"], name=name), name_length)
        try:
            fake = fake_shareable_list(real.shm.name)
            for protocol in PROTOCOLS:
                for pickler in PICKLERS:
                    data = dumps(real, protocol, pickler)
                    if data != dumps(fake, protocol, pickler):
                        raise AssertionError("fake ShareableList pickles differently: %s p%d %s"
                                             % (real.shm.name, protocol, pickler))
                    attached = pickle.loads(data)
                    try:
                        if (attached.shm.name, list(attached)) != (real.shm.name, [1, "a"]):
                            raise AssertionError("unpickled %r" % (attached,))
                    finally:
                        attached.shm.close()
        finally:
            real.shm.close()
            real.shm.unlink()


def pickle_names():
    """(label, name): lengths across the string-opcode boundaries (SHORT_BINUNICODE < 256 in
    protocols 4-5, BINUNICODE in 1-3, UNICODE with raw-unicode-escape in 0), plus names with
    the characters protocol 0 escapes (backslash, CR, SUB) and every other ASCII punctuation."""
    names = []
    for length in (1, 2, 5, 8, 12, 100, 200, 250, 255):
        if length == 12:
            names.append(("len12", "psm_0123abcd"))  # the shape of a default name
        else:
            names.append(("len%d" % length, text_of_length(length)))
    names.append(("backslash", "back\\slash"))
    names.append(("control-chars", "ctl\t\r\x1a\x7fend"))
    names.append(("punctuation", "p !\"#$%&'()*+,-.;<=>?@[\\]^_`{|}~"))
    return names


SIZES = (1, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 63 - 1)


def pickle_objects():
    """(id prefix, kind, name, size or None) in output order."""
    objects = [("reference-shared-memory-rq_pk", "shared_memory", "rq_pk", 16),
               ("reference-shareable-list-rq_pkl", "shareable_list", "rq_pkl", None)]
    for label, name in pickle_names():
        objects.append(("shared-memory-name-%s-size-16" % label, "shared_memory", name, 16))
    for size in SIZES:
        objects.append(("shared-memory-name-len12-size-%d" % size, "shared_memory",
                        "psm_0123abcd", size))
    objects.append(("shared-memory-name-len255-size-%d" % (2 ** 63 - 1), "shared_memory",
                    text_of_length(255), 2 ** 63 - 1))
    for label, name in pickle_names():
        objects.append(("shareable-list-name-%s" % label, "shareable_list", name, None))
    return objects


def pickle_document():
    if pickle.Pickler is pickle._Pickler:
        raise AssertionError("the C pickler (_pickle) is not available")
    check_reference_hex()
    check_fake_against_real()
    cases = []
    for prefix, kind, name, size in pickle_objects():
        for protocol in PROTOCOLS:
            for pickler in PICKLERS:
                if kind == "shared_memory":
                    obj = fake_shared_memory(name, size)
                else:
                    obj = fake_shareable_list(name)
                data = dumps(obj, protocol, pickler)
                check_style_of(kind, pickler, data)
                reducer, optimized = pickle_style(kind, pickler)
                case = {
                    "id": "%s-p%d-%s" % (prefix, protocol, pickler),
                    "kind": kind,
                    "name": name,
                    "protocol": protocol,
                    "pickler": pickler,
                    "reducer": reducer,
                    "optimized": optimized,
                    "hex": data.hex(),
                }
                if kind == "shared_memory":
                    case["size"] = size
                cases.append(case)
    ids = [c["id"] for c in cases]
    if len(set(ids)) != len(ids):
        raise AssertionError("duplicate case ids")
    return {
        "python": platform.python_version(),
        "default_protocol": pickle.DEFAULT_PROTOCOL,
        "generator": GENERATOR,
        "cases": cases,
    }


# --------------------------------------------------------------------------- output


def write_json(path, document):
    """Deterministic JSON: sorted keys, indent 1, ASCII only, a trailing newline. NaN and inf
    are refused (allow_nan=False): Item JSON writes them as {"float": ...} objects."""
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True, allow_nan=False)
    temp = path + ".tmp"
    with open(temp, "w", encoding="ascii", newline="\n") as f:
        f.write(text + "\n")
    os.replace(temp, path)


def main():
    default_out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "vectors")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=default_out,
                        help="root of the vectors tree (default: %(default)s)")
    args = parser.parse_args()

    if platform.python_implementation() != "CPython":
        parser.error("run this with CPython, not %s" % platform.python_implementation())
    if sys.version_info < (3, 8):
        parser.error("CPython 3.8 or later is required")

    try:
        sl_doc = shareable_list_document()
        pickle_doc = pickle_document()
    finally:
        assert_nothing_left()

    directory = os.path.join(args.out, platform.python_version())
    os.makedirs(directory, exist_ok=True)
    sl_path = os.path.join(directory, "shareable_list.json")
    pickle_path = os.path.join(directory, "pickle.json")
    write_json(sl_path, sl_doc)
    write_json(pickle_path, pickle_doc)
    print("%s: %s (%d cases), %s (%d cases)" % (
        platform.python_version(), sl_path, len(sl_doc["cases"]),
        pickle_path, len(pickle_doc["cases"])))


if __name__ == "__main__":
    main()
