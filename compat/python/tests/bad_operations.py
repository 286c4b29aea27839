"""A catalogue of bad operations, run against the stdlib's classes and libshm's.

Run as a script (by test_differential.py), `bad_operations.py [NAME_PREFIX]`: runs every operation of the catalogue that applies
to this CPython with both implementations and prints, as JSON, for each: the exception each
raised, as [module.qualname of its type, its message with block names replaced by <name0>,
<name1>, ...], or null if none. Every block an operation makes is removed afterwards, with its
tracker registration, so that nothing is left in /dev/shm and the tracker stays silent.
"""

import gc
import json
import os
import secrets
import sys
from multiprocessing import shared_memory as stdlib

import libshm

IMPLS = {"stdlib": stdlib, "libshm": libshm}
# Block names: PREFIX + 12 hex digits (argv[1], so that a test can find its own leftovers).
PREFIX = sys.argv[1] if len(sys.argv) > 1 else "libshm_bad_"
CATALOGUE = []


def op(min_version=(3, 8)):
    """Adds `f(M, new_name)` to the catalogue; it applies to CPython >= min_version."""

    def add(f):
        if sys.version_info >= min_version:
            CATALOGUE.append(f)
        return f

    return add


class IndexOnly:
    """An object with only __index__ (CPython: not an index for ShareableList)."""

    def __init__(self, i):
        self.i = i

    def __index__(self):
        return self.i


class MyInt(int):
    pass


def make_list(M, new_name):
    return M.ShareableList([1, "abc", b"xy", None, 2.5], name=new_name())


def closed_list(M, new_name):
    sl = make_list(M, new_name)
    sl.shm.close()
    return sl


# --- SharedMemory

@op()
def sm_negative_size(M, n): M.SharedMemory(n(), create=True, size=-1)
@op()
def sm_zero_size(M, n): M.SharedMemory(n(), create=True, size=0)
@op()
def sm_no_name(M, n): M.SharedMemory()
@op()
def sm_no_name_size(M, n): M.SharedMemory(None, False, 16)
@op()
def sm_missing(M, n): M.SharedMemory(n())
@op()
def sm_exists(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    M.SharedMemory(a.name, create=True, size=8)
@op()
def sm_int_name(M, n): M.SharedMemory(123)
@op()
def sm_bytes_name(M, n): M.SharedMemory(b"x", create=True, size=8)
@op()
def sm_str_size(M, n): M.SharedMemory(n(), create=True, size="8")
@op()
def sm_none_size(M, n): M.SharedMemory(n(), create=True, size=None)
@op()
def sm_unlink_twice(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.close()
    a.unlink()
    a.unlink()
@op()
def sm_close_with_view(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    view = a.buf[2:4]
    try:
        a.close()
    finally:
        view.release()
@op()
def sm_buf_after_close(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.close()
    a.buf[0]
@op()
def sm_buf_index(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.buf[a.size]
@op()
def sm_buf_bad_value(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.buf[0] = 256
@op()
def sm_buf_bad_type(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.buf[0] = "x"
@op()
def sm_bad_keyword(M, n): M.SharedMemory(n(), create=True, size=8, trak=False)
@op()
def sm_set_size(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.size = 5
@op()
def sm_set_name(M, n):
    a = M.SharedMemory(n(), create=True, size=8)
    a.name = "x"

# --- ShareableList: indices

@op()
def sl_index_n(M, n): make_list(M, n)[5]
@op()
def sl_index_n_set(M, n): make_list(M, n).__setitem__(5, 1)
@op((3, 9))  # 3.8 reads the table with a negative offset there
def sl_index_far_negative(M, n): make_list(M, n)[-12]
@op((3, 9))
def sl_index_far_negative_set(M, n): make_list(M, n).__setitem__(-12, 1)
@op()
def sl_index_huge(M, n): make_list(M, n)[2 ** 70]
@op()
def sl_index_huge_set(M, n): make_list(M, n).__setitem__(2 ** 70, 1)
@op((3, 9))
def sl_index_huge_negative(M, n): make_list(M, n)[-2 ** 70]
@op()
def sl_index_float(M, n): make_list(M, n)[1.0]
@op()
def sl_index_float_set(M, n): make_list(M, n).__setitem__(1.0, 1)
@op()
def sl_index_str(M, n): make_list(M, n)["1"]
@op()
def sl_index_str_set(M, n): make_list(M, n).__setitem__("1", 1)
@op()
def sl_index_slice(M, n): make_list(M, n)[1:3]
@op()
def sl_index_slice_set(M, n): make_list(M, n).__setitem__(slice(1, 3), [1, 2])
@op()
def sl_index_none(M, n): make_list(M, n)[None]
@op()
def sl_index_index_only(M, n): make_list(M, n)[IndexOnly(1)]
@op()
def sl_index_index_only_set(M, n): make_list(M, n).__setitem__(IndexOnly(1), 1)
@op()
def sl_empty_index(M, n): M.ShareableList([], name=n())[0]
@op()
def sl_packing_format_range(M, n): make_list(M, n)._get_packing_format(5)
@op()
def sl_del(M, n):
    sl = make_list(M, n)
    del sl[0]

# --- ShareableList: values

@op()
def sl_int_overflow(M, n): make_list(M, n).__setitem__(0, 2 ** 63)
@op()
def sl_int_underflow(M, n): make_list(M, n).__setitem__(0, -2 ** 63 - 1)
@op()
def sl_list_value(M, n): make_list(M, n).__setitem__(0, [1])
@op()
def sl_object_value(M, n): make_list(M, n).__setitem__(0, object)
@op()
def sl_int_subclass_value(M, n): make_list(M, n).__setitem__(0, MyInt(3))
@op()
def sl_str_too_long(M, n): make_list(M, n).__setitem__(1, "x" * 9)
@op()
def sl_bytes_too_long(M, n): make_list(M, n).__setitem__(2, b"x" * 9)
@op()
def sl_str_into_int_slot(M, n): make_list(M, n).__setitem__(0, "y" * 9)
@op()
def sl_non_ascii_too_long(M, n): make_list(M, n).__setitem__(1, "\u00e9" * 5)
@op()
def sl_surrogate_value(M, n): make_list(M, n).__setitem__(1, "\ud800")

# --- ShareableList: creation and attach

@op()
def sl_create_int(M, n): M.ShareableList(5)
@op()
def sl_create_float(M, n): M.ShareableList(1.5, name=n())
@op()
def sl_create_object(M, n): M.ShareableList([object()], name=n())
@op()
def sl_create_list_item(M, n): M.ShareableList([1, [1]], name=n())
@op()
def sl_create_int_subclass(M, n): M.ShareableList([MyInt(1)], name=n())
@op()
def sl_create_overflow(M, n): M.ShareableList([1, 2 ** 63], name=n())
@op()
def sl_create_surrogate(M, n): M.ShareableList(["ok", "\udc80"], name=n())
@op()
def sl_missing(M, n): M.ShareableList(name=n())
@op()
def sl_exists(M, n):
    sl = make_list(M, n)
    M.ShareableList([1], name=sl.shm.name)
@op()
def sl_int_name(M, n): M.ShareableList([1], name=5)
@op()
def sl_int_name_attach(M, n): M.ShareableList(name=5)
@op()
def sl_bad_keyword(M, n): M.ShareableList([1], nam="x")
@op()
def sl_positional_name(M, n): M.ShareableList([1], n())

# --- ShareableList: closed, missing values, no such method

@op()
def sl_len_closed(M, n): len(closed_list(M, n))
@op()
def sl_get_closed(M, n): closed_list(M, n)[0]
@op()
def sl_set_closed(M, n): closed_list(M, n).__setitem__(0, 7)
@op()
def sl_get_closed_out_of_range(M, n): closed_list(M, n)[9]
@op()
def sl_format_closed(M, n): closed_list(M, n).format
@op()
def sl_repr_closed(M, n): repr(closed_list(M, n))
@op()
def sl_count_closed(M, n): closed_list(M, n).count(1)
@op()
def sl_index_missing(M, n): make_list(M, n).index(99)
@op()
def sl_count_no_argument(M, n): make_list(M, n).count()
@op()
def sl_index_step_slice(M, n): make_list(M, n)[::2]
@op()
def sl_iterate_closed(M, n): list(closed_list(M, n))
@op()
def sl_reversed_closed(M, n): list(reversed(closed_list(M, n)))
@op()
def sl_in_closed(M, n): 5 in closed_list(M, n)
@op()
def sl_index_closed(M, n): closed_list(M, n).index(1)
@op()
def sl_index_keyword(M, n): make_list(M, n).index(item=1)
@op()
def sl_count_two_arguments(M, n): make_list(M, n).count(1, 2)
@op()
def sl_append(M, n): make_list(M, n).append(1)
@op()
def sl_unlink_twice(M, n):
    sl = make_list(M, n)
    sl.shm.unlink()
    sl.shm.unlink()


def remove(M, name):
    """Unlinks block `name` if it exists, balancing the tracker registration (attach
    registers, unlink withdraws)."""
    if os.path.exists("/dev/shm/" + name):
        block = M.SharedMemory(name)
        block.close()
        block.unlink()


def outcome(M, f):
    names = []

    def new_name():
        names.append(PREFIX + secrets.token_hex(6))
        return names[-1]

    try:
        f(M, new_name)
        result = None
    except Exception as e:
        message = str(e)
        for i, name in enumerate(names):
            message = message.replace(name, "<name%d>" % i)
        result = [type(e).__module__ + "." + type(e).__qualname__, message]
    gc.collect()  # closes what the operation left open
    for name in names:
        remove(M, name)
    return result


def main():
    out = {}
    for f in CATALOGUE:
        out[f.__name__] = {impl: outcome(M, f) for impl, M in IMPLS.items()}
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
