"""libshm: CPython's multiprocessing.shared_memory, backed by the C++ library libshm.

`SharedMemory` and `ShareableList` are drop-in replacements for the stdlib classes of
Python 3.13, on every CPython from 3.8: the same signatures, attributes, methods, repr,
pickling and exception types, and blocks that are byte for byte the ones the stdlib makes, so
stdlib processes, libshm processes and C++ programs using libshm share them freely. New lists
use CPython 3.8's layout under 3.8 and the 3.9+ layout elsewhere, as the stdlib of the running
version does; attaching reads either.

Exceptions are the stdlib's, with the running version's messages (e.g. sl[0] = 2**63 raises
struct.error('argument out of range') on 3.8 - 3.11 and "'q' format requires ..." on 3.12+;
sl[1.0], sl['1'], sl[1:3] and objects with only __index__ raise the TypeError that version's
stdlib raises). The private attributes code touches are there: _list_len, _allocated_offsets
(3.9+; _allocated_bytes on 3.8), _offset_data_start, _offset_packing_formats,
_offset_back_transform_codes, _format_size_metainfo, _format_packing_metainfo,
_format_back_transform_codes, _types_mapping, _alignment, _back_transforms_mapping,
_extract_recreation_code, _get_packing_format and _get_back_transform (read-only uses; writes
go through item assignment).

Deliberate differences from the stdlib, each with its own exception text (docs/cpython-quirks.md
in the repository; README.md, "Where libshm deliberately differs from CPython"):

* A non-ASCII str whose UTF-8 does not fit the slot CPython sizes by character count gets a
  slot sized by its UTF-8 length, so it reads back whole (stdlib: silently truncated, or cut
  inside a character so that reading it raises UnicodeDecodeError; gh-88336). Only such lists'
  blocks differ from the stdlib's.
* ShareableList indices are exactly [-N, N); anything else raises IndexError, including
  ShareableList()[-1] (stdlib 3.9+: indices in [-2N-1, -N-1] read garbage and writes to them
  land in other items or the header; 3.8: struct.error or ValueError; [][-1]: ValueError).
* A failed assignment changes nothing: sl[0] = 2**63 raises struct.error and the old value
  stays (stdlib: the item is zeroed and may change type).
* Creating a list validates every item before the block exists, and leaves nothing behind when
  it fails (stdlib: an int out of range or an unencodable str leaks a half-written block);
  one-shot iterators work (stdlib: struct.error and a leaked block).
* Creating a list reserves the whole block first (posix_fallocate), so a /dev/shm without room
  for it raises OSError (ENOSPC) and leaves nothing behind (stdlib: the process dies of SIGBUS
  while packing).
* A block that is not a valid list raises libshm.LayoutError when attached or read: a
  ValueError that is also a struct.error (stdlib: struct.error, or garbage values).
* A str or bytes item longer than 9,999,991 bytes raises ValueError naming the limit (stdlib:
  AssertionError; under -O a list whose item cannot be read).
* Names containing NUL, '/', ':', a line break, a control character or a non-ASCII character,
  longer than 255 bytes, '', '.' and '..' raise ValueError before anything is created (stdlib:
  OSError, a silently truncated name before 3.11.9 and 3.12.3, a broken or hijackable resource
  tracker, or a block that leaks). Where the running tracker sends JSON lines (3.13.10, 3.14.1,
  3.15), a tracked name of 255 bytes raises its ValueError('shared memory name too long (max
  255 bytes)') before anything is created too (stdlib 3.15: after creating the block, which
  leaks). One leading '/' is dropped: SharedMemory('/x').name is 'x' (stdlib: '/x', tracked as
  '//x').
* `size` must be an integer: a float raises TypeError before anything is created (stdlib 3.9+:
  TypeError after creating a 0-byte block, which leaks; 3.8: truncated). A size above
  sys.maxsize raises OverflowError, also before anything is created.
* Tracking is the running interpreter's multiprocessing.resource_tracker, exactly where that
  version's stdlib uses it: a block created or attached with track=True is registered after it
  is mapped (3.8 - 3.12 register on every create and attach, as here by default), and unlink()
  withdraws the registration; so Pool, SharedMemoryManager and children started with fork,
  spawn or forkserver (which share the parent's tracker) behave, and warn, as with the stdlib.
  The C++ core underneath never tracks in Python; libshm's own tracker is for C++ programs, and
  a C++ program started by a Python one keeps libshm's own tracker (it does not join the
  parent's: README.md, "Python module"). Differences on top of the stdlib's tracking: `track`
  (keyword-only, default True) is accepted on every version, not only 3.13, and by
  ShareableList too (the stdlib always tracks lists). As in the stdlib, a track=True attach
  destroys the block when the attacher's tracker ends (gh-82300): pass track=False to attach
  blocks that must outlive a process with its own tracker.
* A ShareableList or attach_ndarray attach that fails (the block is not a valid list or .npy
  array) has registered nothing: the block is registered only once it passed its checks, so
  this process's exit leaves the block alone (stdlib: the block is registered before its header
  is read, and unlinked at exit).
* unlink() withdraws this process's tracker registration of the block whichever handle made it,
  also with track=False (stdlib: only a track=True handle's own; a stale registration can later
  unlink another block of the same name). "This process's": a fork()ed child starts with no
  registrations of its own. At exit, registrations whose name now belongs to another block
  (another process unlinked the block and created a new one under the name) are withdrawn, so
  the tracker leaves the new block alone (stdlib: it unlinks it; a SIGKILLed process still
  does, as its exit handlers do not run).
* A raw os.fork() child uses the running version's resource tracker exactly as the stdlib does:
  before 3.13.14, 3.14.5 and 3.15.0b1 it registers with its parent's tracker; since then
  (gh-146313) it closes the inherited tracker pipe and starts a tracker of its own.
* Pickles name libshm's classes (libshm.SharedMemory, functools.partial(libshm.ShareableList,
  name=...)), in the stdlib's shapes: they unpickle to libshm objects, as the stdlib's unpickle
  to stdlib objects; both attach the same block.
* A create whose block cannot be sized or mapped raises OSError and removes the block without
  telling the resource tracker anything (stdlib: its tracker prints a KeyError traceback for a
  name it never registered; gh-153279).

Kept as the stdlib has them, on purpose: trailing NULs of str and bytes items are stripped on
reading (gh-106939); types are looked up by exact type() (KeyError for subclasses of int, float,
..., str and bytes subclasses accepted only by assignment); count() and index() compare with
==; close() raises BufferError while a view of `buf` is alive; after sl.shm.close() the list
raises TypeError.

Atomic operations, beyond the stdlib (implemented in C++, shm::AtomicInt64; lock-free and
sequentially consistent, so processes in any language that use them on the same 8 bytes share
one counter without a lock):

* SharedMemory.atomic_load(offset), atomic_store(offset, value), atomic_exchange(offset,
  value) -> old, atomic_compare_exchange(offset, expected, desired) -> (swapped, current) and
  atomic_fetch_add(offset, delta) -> old act on the native-endian int64 at `offset`, which must
  be a multiple of 8 with the 8 bytes inside the block (ValueError otherwise).
* ShareableList has the same five methods with an item index instead of the offset
  (sl.atomic_fetch_add(i, 1)), for int items only (TypeError "item 1 is a str, not an int"),
  with the list's index rules (IndexError). The slot keeps format 'q', so every reader, the
  stdlib's ShareableList of any version included, reads a valid int from it at any moment.
* compare_exchange returns (True, expected) when it wrote `desired`, else (False, the value
  it found). Values and deltas are ints (anything with __index__); outside int64 they raise
  OverflowError. Python ints do not wrap: a fetch_add whose sum would leave int64 raises
  OverflowError and leaves the value unchanged (C++'s fetch_add wraps as two's complement).
* Atomic only against other atomic operations: a plain sl[i] = v (the stdlib's zeroes the slot
  before it writes) between another process's atomic read and write loses one of the updates.

Handing a multiprocessing lock to another process outside spawning: share(obj) returns the
bytes spawn's pickler writes for a Lock, RLock, Semaphore, BoundedSemaphore, Condition or Event
of a spawn or forkserver context (the stdlib's pickle.dumps refuses outside spawning), for a C++
process (shm::Lock::from_pickle, libshm/sync.hpp) or any Python process, where the stdlib's
pickle.loads(data) gives back the same object on the same semaphores; semaphore_name(lock) the
name of one lock's semaphore (for shm::Lock::attach). Fork-context objects raise CPython 3.12+'s
RuntimeError on every version (their semaphores have no name any more).

Beyond the stdlib, with numpy (imported on first use; `import libshm` does not need it):
ndarray(shape, dtype, order, name) makes a numpy array in a new block that starts with numpy's
.npy header (the one C++'s shm::NpyArray writes), attach_ndarray(name) finds the array in such
a block; both return a SharedArray (a numpy.ndarray subclass, `.shm` its block) that pickles
as a reference to its block, so Pool workers and Queues share it instead of copying it
(compat/python/README.md in the repository, "Arrays").
"""

import atexit
import functools
import math
import operator
import os
import secrets
import struct
import sys
import types
from multiprocessing import resource_tracker

from ._core import Handle as _Handle
from ._core import LayoutError
from ._core import _BlockBase
from ._core import _ListBase
from ._core import _bind_direct_slots
from ._core import unlink_block as _unlink_block

# Not ndarray and attach_ndarray: a star import after numpy's must not replace numpy.ndarray.
__all__ = ["SharedMemory", "ShareableList", "LayoutError"]
__version__ = "0.1.0"

_O_CREX = os.O_CREAT | os.O_EXCL

# Default names, as the stdlib's: '/psm_' + 8 hex digits (14 characters with the slash).
_SHM_SAFE_NAME_LENGTH = 14
_SHM_NAME_PREFIX = "/psm_"

_PY38 = sys.version_info < (3, 9)

# The layout new lists get: the running CPython's own.
_LAYOUT = "3.8" if _PY38 else "3.9+"

_encoding = "utf8"

# The names this process registered with multiprocessing's resource tracker (with the leading
# slash), so that unlink() from any handle can withdraw them (see the module docstring), each
# with the identity (device, inode) of the block it named then. A fork()ed child starts with
# none: what its parent registered stays the parent's.
_registered = {}
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_registered.clear)


def _identity(name):
    try:
        st = os.stat("/dev/shm/" + name.lstrip("/"))
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _refuse_what_the_tracker_refuses(name):
    """Raises, before anything is created or mapped, the ValueError the running version's tracker
    would raise when registering `name` (a str, one leading '/' dropped as the handle does).
    Trackers that send JSON lines (every name on 3.13.10, 3.14.1 and 3.15; names with a newline
    on 3.13.11+ and 3.14.2+, which the core refuses anyway) refuse a '/name' longer than 255
    UTF-8 bytes, after the stdlib created the block, which then leaks."""
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    if not hasattr(resource_tracker, "_decode_message"):  # before 3.13.10: colon lines only
        return
    if getattr(tracker, "_use_simple_format", False) and "\n" not in name:
        return
    full = "/" + (name[1:] if name.startswith("/") else name)
    if len(full.encode("utf-8", "surrogateescape")) > 255:
        raise ValueError("shared memory name too long (max 255 bytes)")


def _register(name, core):
    # Looked up at call time, as the stdlib does, so that patches of the tracker apply.
    resource_tracker.register(name, "shared_memory")
    # The identity of the file the handle opened, from its descriptor: a stat of the name
    # cost a system call per create and attach, and could see a block put there since.
    _registered[name] = core.identity


def _unregister(name):
    _registered.pop(name, None)
    resource_tracker.unregister(name, "shared_memory")


@atexit.register
def _leave_replaced_blocks_alone():
    """CPython's tracker knows only names: at exit it would unlink a block that another process
    created under a name this process registered, after the original was unlinked (the
    stale-registration quirk, docs/cpython-quirks.md). Withdraw such registrations first. A
    process killed before atexit runs (SIGKILL, os._exit) still leaves them, as the stdlib."""
    for name, identity in list(_registered.items()):
        now = _identity(name)
        if identity is not None and now is not None and now != identity:
            _unregister(name)


def _make_filename():
    "Create a random filename for the shared memory object."
    nbytes = (_SHM_SAFE_NAME_LENGTH - len(_SHM_NAME_PREFIX)) // 2
    return _SHM_NAME_PREFIX + secrets.token_hex(nbytes)


class SharedMemory(_BlockBase):
    """Creates a new shared memory block or attaches to an existing one.

    As multiprocessing.shared_memory.SharedMemory (3.13); see the module docstring for the
    deliberate differences. `buf` is a writable memoryview of the mapping itself (no copy).
    The atomic_* methods (module docstring, "Atomic operations") are _BlockBase's, in C.
    """

    # Defaults, so that close() and __del__ work on a half-constructed object.
    _name = None
    _core = None
    _buf = None
    _size = 0
    _flags = os.O_RDWR
    _mode = 0o600
    _prepend_leading_slash = True
    _track = True

    def __init__(self, name=None, create=False, size=0, *, track=True):
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            self._flags = _O_CREX | os.O_RDWR
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
        if name is None and not self._flags & os.O_EXCL:
            raise ValueError("'name' can only be None if create=True")
        self._track = track = bool(track)
        if self._flags & os.O_CREAT:
            size = operator.index(size)
            if size > sys.maxsize:
                raise OverflowError("'size' is too large: %d" % size)

        # The C++ core creates and attaches untracked: tracking is multiprocessing's, below.
        if name is None:
            while True:
                name = _make_filename()
                try:
                    core = _Handle.create(name, size, False)
                except FileExistsError:
                    continue
                break
        else:
            if not isinstance(name, str):  # the stdlib's "/" + name fails the same way
                raise TypeError(f'can only concatenate str (not "{type(name).__name__}") to str')
            if track:
                _refuse_what_the_tracker_refuses(name)
            if self._flags & os.O_EXCL:
                core = _Handle.create(name, size, False)
            elif self._flags & os.O_CREAT:
                # Create-or-attach (a subclass's _flags without O_EXCL, as in CPython's tests).
                try:
                    core = _Handle.attach(name, False)
                except FileNotFoundError:
                    if not size:
                        raise
                    core = _Handle.create(name, size, False)
            else:
                core = _Handle.attach(name, False)
        self._adopt(core)
        if track:  # where the stdlib registers: after the mapping, on create and attach
            _register(self._name, core)

    def _adopt(self, core):
        self._core = core
        self._name = "/" + core.name
        self._size = core.size
        self._buf = memoryview(core)

    @classmethod
    def _of_list(cls, core, track):
        # The SharedMemory of a ShareableList: shares the list's handle, so closing either
        # closes both.
        self = cls.__new__(cls)
        self._track = track
        self._adopt(core)
        if track:
            _register(self._name, core)
        return self

    def __del__(self):
        try:
            self.close()
        except OSError:
            pass

    def __reduce__(self):
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    @property
    def buf(self):
        "A memoryview of contents of the shared memory block."
        return self._buf

    @property
    def name(self):
        "Unique name that identifies the shared memory block."
        reported_name = self._name
        if self._prepend_leading_slash and self._name.startswith("/"):
            reported_name = self._name[1:]
        return reported_name

    @property
    def size(self):
        "Size in bytes."
        return self._size

    def close(self):
        """Closes access to the shared memory from this instance but does
        not destroy the shared memory block."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._core is not None:
            self._core.close()  # BufferError while a view of the mapping is alive

    def unlink(self):
        """Requests that the underlying shared memory block be destroyed.

        Call it once across all handles of the block, in any process; mappings stay valid until
        closed. Also withdraws this process's registration of the block with multiprocessing's
        resource tracker, whichever handle made it."""
        if self._name:
            _unlink_block(self._name)
            if self._track or self._name in _registered:
                _unregister(self._name)


class ShareableList(_ListBase):
    """A fixed-length list of int, float, bool, None, str and bytes values in a shared memory
    block, packed as multiprocessing.shared_memory.ShareableList packs them.

    As the stdlib's class (3.13), plus keyword-only `track`; see the module docstring for the
    deliberate differences. Values are read from the block on every access."""

    # __getitem__, __setitem__ and __len__ are _ListBase's C slots (src/core.cpp): an exact int
    # index inside [-N, N) of an open list and a value of a type the list stores are handled
    # there (a set that fails there raises what _setitem would after its checks, so it runs
    # once); every other case calls _getitem, _setitem or _len below, which follow the stdlib's
    # code so that its exceptions and messages are the running version's. Iteration
    # (the stdlib's: the sequence protocol over __getitem__), count and index (the stdlib's
    # loops, in _ListBase's C methods _count and _index) and so list(sl) and repr(sl) run in
    # C, one pass over the block without a Python-level call per item.

    # The stdlib's class attributes, which code using ShareableList's internals reads.
    _types_mapping = {
        int: "q",
        float: "d",
        bool: "xxxxxxx?",
        str: "%ds",
        bytes: "%ds",
        None.__class__: "xxxxxx?x",
    }
    _alignment = 8
    _back_transforms_mapping = {
        0: lambda value: value,  # int, float, bool
        1: lambda value: value.rstrip(b"\x00").decode(_encoding),  # str
        2: lambda value: value.rstrip(b"\x00"),  # bytes
        3: lambda _value: None,  # None
    }

    @staticmethod
    def _extract_recreation_code(value):
        """Used in concert with _back_transforms_mapping to convert values
        into the appropriate Python objects when retrieving them from
        the list as well as when storing them."""
        if not isinstance(value, (str, bytes, None.__class__)):
            return 0
        elif isinstance(value, str):
            return 1
        elif isinstance(value, bytes):
            return 2
        else:
            return 3  # NoneType

    def __init__(self, sequence=None, *, name=None, track=True):
        track = bool(track)
        if name is not None and not isinstance(name, str):
            # The stdlib's SharedMemory(name) fails on "/" + name.
            raise TypeError(f'can only concatenate str (not "{type(name).__name__}") to str')
        if name is not None and track:
            _refuse_what_the_tracker_refuses(name)
        if name is None or sequence is not None:
            sequence = sequence or ()
            core = _Handle.create_list(iter(sequence), name, False, _LAYOUT)
        else:
            core = _Handle.attach_list(name, False)
        self._core = core
        self.shm = SharedMemory._of_list(core, track)
        # Read once, as the stdlib reads them once: a list's length and slots never change.
        # The header's slot table is copied now and made Python ints only when first used
        # (_item_offsets): 10,001 of them made attaching a 10,000-item list 5.6x the C++ attach.
        self._list_len = n = core.length
        entries = n if core.layout == "3.8" else n + 1  # 3.8: item sizes; 3.9+: offsets
        self._slot_table = bytes(self.shm.buf[8:8 + 8 * entries])
        self._offsets_read = None

    @property
    def _item_offsets(self):
        # The N+1 slot offsets (from the data start), from the header as it was at attach.
        offsets = self._offsets_read
        if offsets is None:
            n = self._list_len
            if self._core.layout == "3.8":
                offsets = [0]
                for size in struct.unpack_from("%dq" % n, self._slot_table):
                    offsets.append(offsets[-1] + size)
            else:
                offsets = list(struct.unpack_from("%dq" % (n + 1), self._slot_table))
            self._offsets_read = offsets
        return offsets

    if _PY38:
        @property
        def _allocated_bytes(self):
            offsets = self._item_offsets
            return tuple(b - a for a, b in zip(offsets, offsets[1:]))
    else:
        @property
        def _allocated_offsets(self):
            return self._item_offsets

    # --- the stdlib's code for what the C slots leave to Python

    def _position(self, position, message):
        # The stdlib's index handling: its comparisons and list indexing raise its TypeErrors;
        # anything outside [-N, N) is an IndexError with `message`.
        if not _PY38:
            position = position if position >= 0 else position + self._list_len
        try:
            if _PY38:  # 3.8 slices first, then counts from the end
                self._offset_data_start + sum(self._allocated_bytes[:position])
                position = position if position >= 0 else position + self._list_len
            else:
                self._offset_data_start + self._allocated_offsets[position]
            if position >= self._list_len or position < 0:
                raise IndexError("Requested position out of range.")
        except IndexError:
            raise IndexError(message)
        if self._core.closed:
            # The stdlib reads the format next, from shm.buf, None once closed.
            struct.unpack_from("8s", self.shm.buf, self._offset_packing_formats)
        return operator.index(position)

    def _getitem(self, position):
        return self._core.get(self._position(position, "index out of range"))

    def _setitem(self, position, value):
        position = self._position(position, "assignment index out of range")
        if not isinstance(value, (str, bytes)):
            new_format = self._types_mapping[type(value)]
            struct.pack(new_format, value)  # the version's struct.error, before any write
        else:
            allocated_length = self._item_offsets[position + 1] - self._item_offsets[position]
            encoded_value = value.encode(_encoding) if isinstance(value, str) else value
            if len(encoded_value) > allocated_length:
                raise ValueError("bytes/str item exceeds available storage")
        self._core.set(position, value)

    def _len(self):
        return struct.unpack_from("q", self.shm.buf, 0)[0]

    def _get_packing_format(self, position):
        "Gets the packing format for a single value stored in the list."
        position = position if position >= 0 else position + self._list_len
        if (position >= self._list_len) or (self._list_len < 0) or position < 0:
            raise IndexError("Requested position out of range.")
        if self._core.closed:
            struct.unpack_from("8s", self.shm.buf, self._offset_packing_formats)
        return self._core.packing_format(operator.index(position))

    def _get_back_transform(self, position):
        "Gets the back transformation function for a single value."
        if (position >= self._list_len) or (self._list_len < 0):
            raise IndexError("Requested position out of range.")
        (transform_code,) = struct.unpack_from(
            "b", self.shm.buf, self._offset_back_transform_codes + position)
        return self._back_transforms_mapping[transform_code]

    def __reduce__(self):
        return functools.partial(self.__class__, name=self.shm.name), ()

    def __repr__(self):
        return f"{self.__class__.__name__}({list(self)}, name={self.shm.name!r})"

    @property
    def format(self):
        "The struct packing format used by all currently stored items."
        return "".join(self._get_packing_format(i) for i in range(self._list_len))

    @property
    def _format_size_metainfo(self):
        "The struct packing format used for the items' storage offsets."
        if _PY38:
            return f"{self._list_len}q"
        return "q" * (self._list_len + 1)

    @property
    def _format_packing_metainfo(self):
        "The struct packing format used for the items' packing formats."
        return "8s" * self._list_len

    @property
    def _format_back_transform_codes(self):
        "The struct packing format used for the items' back transforms."
        return "b" * self._list_len

    @property
    def _offset_data_start(self):
        # The count, then N+1 offsets (3.9+ layout) or N sizes (3.8 layout), 8 bytes each.
        extra = 1 if self._core.layout == "3.8" else 2
        return (self._list_len + extra) * 8

    @property
    def _offset_packing_formats(self):
        return self._offset_data_start + self._item_offsets[-1]

    @property
    def _offset_back_transform_codes(self):
        return self._offset_packing_formats + self._list_len * 8

    def count(self, value):
        "L.count(value) -> integer -- return number of occurrences of value."
        return self._count(value)  # the stdlib's loop, in C (src/core.cpp)

    def index(self, value):
        """L.index(value) -> integer -- return first index of value.
        Raises ValueError if the value is not present."""
        return self._index(value)  # the stdlib's loop, in C (src/core.cpp)

    if hasattr(types, "GenericAlias"):  # 3.9+, as the stdlib's
        __class_getitem__ = classmethod(types.GenericAlias)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _bind_direct_slots(cls)  # a subclass's iteration and len() in C too


# Iteration (sl[0], sl[1], ... by the legacy protocol) and len() straight into _ListBase's C
# slots, not through a method lookup per item (src/core.cpp, bind_direct_slots).
_bind_direct_slots(ShareableList)


# --- multiprocessing's locks for C++ -------------------------------------------------------------
# A Lock, RLock, Semaphore, BoundedSemaphore, Condition or Event of a spawn or forkserver context
# is a set of POSIX named semaphores; spawn's ForkingPickler writes each SemLock as (handle,
# kind, maxvalue, name), which any process can unpickle to the same semaphores
# (_multiprocessing.SemLock._rebuild opens them by name). share() writes those bytes outside
# spawning, for a C++ process (shm::Lock::from_pickle and its siblings, libshm/sync.hpp) or any
# Python process (pickle.loads, stdlib only).

# The exact RuntimeError of CPython 3.12+'s SemLock.__getstate__; share() raises it on every
# version (before 3.12 the stdlib would write a pickle naming a semaphore unlinked long ago).
_FORK_CONTEXT_MESSAGE = ("A SemLock created in a fork context is being shared with a process "
                         "in a spawn context. This is not supported. Please use the same context "
                         "to create multiprocessing objects and Process.")


def _shareable_types():
    from multiprocessing import synchronize
    return (synchronize.Lock, synchronize.RLock, synchronize.Semaphore,
            synchronize.BoundedSemaphore, synchronize.Condition, synchronize.Event)


class _NotStartingAProcess:
    """What share() sets as the spawning Popen: SemLock.__getstate__ on POSIX only asks whether
    there is one. Anything that would hand a file descriptor to a starting child (a Barrier's
    or Array's heap, a Connection) asks it for more, and is refused."""

    def _refuse(self, *args):
        raise TypeError("libshm.share: this object holds a file descriptor, which only a "
                        "process being started can receive")

    duplicate_for_child = DupFd = _refuse


def _forking_pickler():
    from multiprocessing import reduction, synchronize

    class Pickler(reduction.ForkingPickler):
        # Called for every object before it is pickled; None leaves the pickle unchanged.
        def persistent_id(self, obj):
            if isinstance(obj, synchronize.SemLock) and (
                    obj._semlock.name is None or getattr(obj, "_is_fork_ctx", False)):
                raise RuntimeError(_FORK_CONTEXT_MESSAGE)
            return None
    return Pickler


def share(obj):
    """The bytes spawn's pickler writes for `obj`, a multiprocessing Lock, RLock, Semaphore,
    BoundedSemaphore, Condition or Event of a spawn or forkserver context, made outside
    spawning (the stdlib's pickle.dumps refuses: "... should only be shared between processes
    through inheritance").

    Hand them to a C++ process (shm::Lock::from_pickle and its siblings, libshm/sync.hpp), or
    to any Python process, which gets the object back with the stdlib's pickle.loads(data): the
    same semaphores, so acquire/release, set/wait, notify act on the same object everywhere.
    They name the semaphores, which live as long as the object's creator keeps them (its
    finalizer or resource tracker unlinks them): take the object before the creator drops it.
    Pickle protocol: the running CPython's default, as spawn's (4 on 3.8 - 3.13).

    An object of a fork context raises the RuntimeError of CPython 3.12+ on every version (its
    semaphores were unlinked when it was made: nothing can open them by name); any other
    object a TypeError."""
    if not isinstance(obj, _shareable_types()):
        raise TypeError("libshm.share takes a multiprocessing Lock, RLock, Semaphore, "
                        "BoundedSemaphore, Condition or Event, not %s" % type(obj).__name__)
    from multiprocessing import context
    previous = context.get_spawning_popen()
    context.set_spawning_popen(_NotStartingAProcess())
    try:
        return bytes(_forking_pickler().dumps(obj))
    finally:
        context.set_spawning_popen(previous)


def semaphore_name(lock):
    """The name of the POSIX semaphore of a multiprocessing Lock, RLock, Semaphore or
    BoundedSemaphore of a spawn or forkserver context ("/mp-..."), which C++ opens with
    shm::Lock::attach(name) or shm::Semaphore::attach(name): the stdlib keeps it in a private
    attribute. A fork-context object raises share()'s RuntimeError (its semaphore has no name
    any more); any other object a TypeError."""
    from multiprocessing import synchronize
    if not isinstance(lock, synchronize.SemLock):
        raise TypeError("libshm.semaphore_name takes a multiprocessing Lock, RLock, Semaphore "
                        "or BoundedSemaphore, not %s" % type(lock).__name__)
    name = lock._semlock.name
    if name is None or getattr(lock, "_is_fork_ctx", False):
        raise RuntimeError(_FORK_CONTEXT_MESSAGE)
    return name


# --- numpy arrays in blocks ----------------------------------------------------------------------
# A block made by ndarray() is numpy's .npy file in shared memory, byte for byte the one C++'s
# shm::NpyArray::create writes (docs/format.md, "numpy arrays: the .npy header"). numpy is
# imported on first use, so that `import libshm` works without it.

_NPY_MAGIC = b"\x93NUMPY"
_NPY_ALIGN = 64  # np.lib.format.ARRAY_ALIGN: the data starts at a multiple of it
_NPY_GROWTH_AXIS_MAX_DIGITS = 21  # np.lib.format.GROWTH_AXIS_MAX_DIGITS
_NPY_MAX_DIMS = 32  # numpy 1.x's NPY_MAXDIMS, shm::kMaxDims
_NPY_KEYS = {"descr", "fortran_order", "shape"}

_arrays = None  # the numpy half, made by _array_support() on first use


def __getattr__(name):
    if name == "SharedArray":  # the class needs numpy: made when first asked for
        return _array_support().SharedArray
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _array_support():
    global _arrays
    if _arrays is None:
        try:
            import numpy
        except ImportError as e:
            raise ImportError("libshm's arrays need numpy, which this interpreter cannot "
                              "import") from e
        _arrays = _make_array_support(numpy)
    return _arrays


def _make_array_support(np):
    numpy1 = int(np.__version__.split(".")[0]) < 2

    class _Mapping:
        """The numpy base of the arrays over one block: holds the block and a view of its
        mapping. While the view is alive, shm.close() raises BufferError rather than unmapping
        memory an array points to (numpy keeps no buffer export of its own: an array made
        with np.ndarray(buffer=shm.buf) is left dangling by close()). The last array to go
        releases the view first, so the block then closes quietly (a SharedMemory collected
        while a view is exported prints BufferError from __del__)."""

        __slots__ = ("shm", "address", "identity", "__array_interface__", "_pin")

        def __init__(self, shm):
            self._pin = memoryview(shm.buf)
            self.shm = shm
            self.identity = _identity(shm.name)  # (device, inode), to tell a reused name
            # numpy's frombuffer keeps no export either: the address outlives the temporary.
            self.address = np.frombuffer(self._pin, np.uint8).__array_interface__["data"][0]
            self.__array_interface__ = {"version": 3, "shape": (len(self._pin),),
                                        "typestr": "|u1", "data": (self.address, False)}

        def __del__(self):
            self._pin.release()

    def mapping_of(arr):
        """The _Mapping at the end of an array's chain of bases, None if there is none. The
        chain may pass through objects numpy made views of by __array_interface__, with a
        `base` of their own (np.lib.stride_tricks.as_strided's)."""
        base = arr
        for _ in range(64):  # numpy collapses chains of views; a loop is no block's
            if base is None or isinstance(base, _Mapping):
                return base
            base = getattr(base, "base", None)
        return None

    class SharedArray(np.ndarray):
        """A numpy array whose memory is a libshm block (libshm.ndarray, attach_ndarray).

        Slices and views keep this type while they point into the block; results with
        memory of their own (ufuncs, fancy indexing) are plain ndarrays; a copy() or other
        method that copies keeps the type with `shm` None. An array in a block pickles as a
        reference to it (name, dtype, shape, strides, offset): unpickling attaches the same
        memory, untracked (compat/python/README.md, "Arrays"); the rest pickle by value, as
        plain ndarrays. `shm` is the libshm.SharedMemory the array lives in: shm.unlink()
        destroys the block once every process has closed it; the mapping is closed when the
        last array over it (and shm itself) is gone, and shm.close() raises BufferError
        while one is alive."""

        @property
        def shm(self):
            "The libshm.SharedMemory the array's memory belongs to; None if not in a block."
            mapping = mapping_of(self)
            return None if mapping is None else mapping.shm

        def __array_wrap__(self, arr, context=None, return_scalar=False):
            # As np.memmap: a ufunc's own output is a plain ndarray (or scalar); an out= in
            # the block stays a SharedArray.
            arr = super().__array_wrap__(arr, context)
            if arr is self or mapping_of(arr) is not None:
                return arr
            if return_scalar or (numpy1 and arr.shape == ()):
                return arr[()]
            return arr.view(np.ndarray)

        def __getitem__(self, index):
            res = super().__getitem__(index)
            if type(res) is SharedArray and mapping_of(res) is None:
                return res.view(np.ndarray)
            return res

        def __reduce__(self):
            mapping = mapping_of(self)
            if mapping is None:
                return self.view(np.ndarray).__reduce__()
            shm = mapping.shm
            offset = self.__array_interface__["data"][0] - mapping.address
            if not _fits(self.shape, self.strides, self.itemsize, offset, shm.size):
                # Only stride tricks make such views: better no pickle than a wrong one.
                raise ValueError(f"this view reaches outside its block {shm.name!r} "
                                 f"({shm.size} bytes) and cannot be pickled")
            return (_ndarray_from_reference,
                    (shm.name, shm.size, self.dtype, self.shape, self.strides, offset,
                     bool(self.flags.writeable), mapping.identity))

        def __reduce_ex__(self, protocol):
            # ndarray's own would send a contiguous array's data out of band (protocol 5).
            return self.__reduce__()

    def array_over(shm, dtype, shape, offset, strides=None, order="C"):
        # numpy checks that the shape, strides and offset stay inside the buffer.
        whole = np.asarray(_Mapping(shm))
        return np.ndarray.__new__(SharedArray, shape, dtype, buffer=whole, offset=offset,
                                  strides=strides, order=order)

    # Named as libshm's own, where the module's __getattr__ finds it (repr, pickling the class).
    SharedArray.__module__, SharedArray.__qualname__ = __name__, "SharedArray"
    return types.SimpleNamespace(np=np, SharedArray=SharedArray, array_over=array_over)


def _fits(shape, strides, itemsize, offset, size):
    """Whether the elements of an array at byte `offset` of a `size`-byte block lie in it."""
    if 0 in shape:
        return 0 <= offset <= size
    low = offset + sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    high = offset + sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + itemsize
    return 0 <= low and high <= size


def _shape_tuple(shape):
    try:
        dims = (operator.index(shape),)
    except TypeError:
        dims = tuple(operator.index(n) for n in shape)
    if any(n < 0 for n in dims):
        raise ValueError(f"negative dimensions are not allowed: {dims}")
    if len(dims) > _NPY_MAX_DIMS:
        raise ValueError(f"an array has at most {_NPY_MAX_DIMS} dimensions, not {len(dims)}")
    return dims


def _npy_header(descr, shape, fortran_order):
    """The .npy header of np.lib.format._write_array_header, version chosen as
    shm::make_npy_header chooses it: 1.0, 2.0 past 65,535 bytes, 3.0 (UTF-8) when the text is
    not ASCII (numpy writes latin-1 names as 1.0)."""
    text = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran_order, shape)
    if shape:  # room to grow the first axis (the last in Fortran order) in place
        text += " " * (_NPY_GROWTH_AXIS_MAX_DIGITS - len(repr(shape[-1 if fortran_order else 0])))
    try:
        raw, major, prefix = text.encode("ascii"), 1, 10
    except UnicodeEncodeError:
        raw, major, prefix = text.encode("utf8"), 3, 12
    hlen = len(raw) + 1  # the final newline
    if major == 1 and hlen + _NPY_ALIGN - (prefix + hlen) % _NPY_ALIGN > 0xFFFF:
        major, prefix = 2, 12
    total = hlen + _NPY_ALIGN - (prefix + hlen) % _NPY_ALIGN
    if total > 0xFFFFFFFF:
        raise ValueError(".npy header too long")
    return (_NPY_MAGIC + bytes((major, 0)) + total.to_bytes(prefix - 8, "little") + raw +
            b" " * (total - hlen) + b"\n")


def _dtype_fits(dtype):
    """Whether a dtype's item size, fields and subarrays are non-negative and nest inside it."""
    if dtype.itemsize < 0:
        return False
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return _dtype_fits(base) and base.itemsize * math.prod(shape) <= dtype.itemsize
    for field in (dtype.fields or {}).values():
        sub, offset = field[0], field[1]
        if not (_dtype_fits(sub) and 0 <= offset and offset + sub.itemsize <= dtype.itemsize):
            return False
    return True


def _read_npy_header(np, buf, name):
    """(dtype, shape, fortran_order, data offset) of the .npy header at the start of `buf`;
    ValueError naming what is wrong (the rules of shm::read_npy_header, docs/format.md)."""
    def bad(why):
        return ValueError(f"block {name!r} does not hold an .npy array: {why}")

    size = len(buf)
    if size < 10:
        raise bad(f"{size} bytes are too few for an .npy header")
    if bytes(buf[:6]) != _NPY_MAGIC:
        raise bad("no .npy magic (\\x93NUMPY) at its start")
    major, minor = buf[6], buf[7]
    if minor != 0 or major not in (1, 2, 3):
        raise bad(f"unsupported .npy version {major}.{minor}")
    start = 10 if major == 1 else 12
    hlen = int.from_bytes(buf[8:start], "little")
    if hlen > size - start:
        raise bad(f"its header length {hlen} runs past the end of the {size}-byte block")
    import ast
    try:
        header = ast.literal_eval(bytes(buf[start:start + hlen]).decode(
            "utf8" if major == 3 else "latin1"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError,
            UnicodeDecodeError) as e:
        raise bad(f"its header does not parse ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict) or set(header) != _NPY_KEYS:
        raise bad("its header is not a dict with exactly the keys descr, fortran_order, shape")
    shape, fortran_order = header["shape"], header["fortran_order"]
    if type(fortran_order) is not bool:
        raise bad(f"fortran_order is {fortran_order!r}, not True or False")
    if (type(shape) is not tuple or len(shape) > _NPY_MAX_DIMS or
            not all(type(n) is int and n >= 0 for n in shape)):
        raise bad(f"shape {shape!r} is not a tuple of at most {_NPY_MAX_DIMS} sizes")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except Exception as e:  # numpy raises ValueError or TypeError, with or without a message
        raise bad(f"descr {header['descr']!r} is not a dtype ({type(e).__name__}: {e})") from None
    if dtype.hasobject:
        raise bad(f"descr {header['descr']!r} holds Python objects")
    if not _dtype_fits(dtype):  # numpy 1.24 wraps '<U999999999' to a negative itemsize
        raise bad(f"descr {header['descr']!r} has an impossible layout")
    offset = start + hlen
    if dtype.itemsize * math.prod(n or 1 for n in shape) > sys.maxsize:  # numpy's own limit
        raise bad(f"shape {shape} of {dtype.str} is too big for numpy")
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes > size - offset:
        raise bad(f"the data of shape {shape} {dtype.str} ({nbytes} bytes from byte {offset}) "
                  f"runs past the end of the {size}-byte block")
    return dtype, shape, fortran_order, offset


def ndarray(shape, dtype=float, order="C", name=None, *, track=True):
    """A new numpy array, zero-filled, in a new block that starts with numpy's .npy header
    (the one shm::NpyArray::create writes), so that C++ (NpyArray::attach), attach_ndarray
    and a plain numpy user (compat/python/README.md, "Arrays") find its dtype, shape and
    order. Returns a libshm.SharedArray: `a.shm` is its block (name=None picks a random
    name, as SharedMemory; track as in SharedMemory), unlinked with a.shm.unlink(); it pickles
    as a reference to the block. Needs numpy."""
    arrays = _array_support()
    np = arrays.np
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', not {order!r}")
    shape = _shape_tuple(shape)
    dtype = np.dtype(dtype)
    if dtype.subdtype is not None:  # as np.ndarray: a subarray dtype adds dimensions
        dtype, shape = dtype.base, shape + dtype.shape
        shape = _shape_tuple(shape)
    if dtype.hasobject:
        raise ValueError(f"dtype {dtype} holds Python objects, which cannot be shared")
    if dtype.itemsize * math.prod(n or 1 for n in shape) > sys.maxsize:  # numpy's own limit
        raise ValueError(f"shape {shape} of {dtype.str} is too big for numpy")
    nbytes = dtype.itemsize * math.prod(shape)
    header = _npy_header(np.lib.format.dtype_to_descr(dtype), shape, order == "F")
    shm = SharedMemory(name, create=True, size=len(header) + nbytes, track=track)
    try:
        shm.buf[:len(header)] = header
        return arrays.array_over(shm, dtype, shape, len(header), order=order)
    except BaseException:
        shm.unlink()
        raise


def attach_ndarray(name, *, track=True):
    """The numpy array in the existing block `name`, which must start with an .npy header
    (made by ndarray(), C++'s NpyArray::create or numpy's np.lib.format): a
    libshm.SharedArray over the block, as ndarray() returns. ValueError when the block holds
    no valid header or is too small for the shape it names; the block is registered with
    the tracker (track=True, as SharedMemory) only once it is found valid. Needs numpy."""
    arrays = _array_support()
    shm = SharedMemory(name, track=False)
    try:
        dtype, shape, fortran_order, offset = _read_npy_header(arrays.np, shm.buf, name)
    except BaseException:
        shm.close()
        raise
    arr = arrays.array_over(shm, dtype, shape, offset, order="F" if fortran_order else "C")
    if track:
        shm._track = True
        _register(shm._name, shm._core)
    return arr


def _ndarray_from_reference(name, size, dtype, shape, strides, offset, writeable,
                            identity=None):
    """Unpickles a SharedArray: attaches the block untracked (the sender's registration, if
    any, governs its lifetime) and makes the same view of it."""
    arrays = _array_support()
    shm = SharedMemory(name, track=False)
    try:
        dtype = arrays.np.dtype(dtype)
        now = _identity(name)
        if shm.size != size or (identity is not None and now is not None and now != identity):
            # The name was unlinked and given to another block since.
            raise ValueError(f"block {name!r} is not the block this array was pickled from")
        if dtype.hasobject:
            raise ValueError(f"dtype {dtype} holds Python objects, which cannot be shared")
        if not _fits(shape, strides, dtype.itemsize, offset, size):
            raise ValueError(f"the pickled view lies outside block {name!r}")
    except BaseException:
        shm.close()
        raise
    arr = arrays.array_over(shm, dtype, shape, offset, strides=strides)
    if not writeable:
        arr.flags.writeable = False
    return arr
