"""CPython PR #145266 (gh-145261, gh-106939) as this project reads its description, as a candidate.

The proposal changes three things in ShareableList:

1. a str's slot is sized by its UTF-8 length, not its character count (gh-145261; today a
   non-ASCII str can overflow its slot: quirk charcount-alloc in compat/cpython.json);
2. the packing format stored for a str or bytes item holds the item's byte length ("3s" for
   'abc'), no longer the slot's size ("8s"), both when the list is created and when an item is
   set; the slot's size stays in the offsets table;
3. reading no longer strips trailing NULs (gh-106939: today 'a\\0' reads back as 'a': quirk
   nul-strip), since the format now says how many bytes the item has.

Written by this project from the PR's description, not from its code: it takes everything else
from the interpreter's own module and overrides only what the PR changes. Run it with

    shm-harness --candidate pr145266=harness/candidates/pr145266.py@3.14

to see which cells it changes against the released CPythons (harness/README.md, "Judging a
proposed change"; the findings are in docs/cpython-quirks.md).
"""

import struct
import sys

# While a candidate's top level runs, sys.modules still holds the interpreter's own module
# under this name (harness/agents/py_agent.py, --candidate).
_released = sys.modules[__name__]

SharedMemory = _released.SharedMemory
__all__ = list(_released.__all__)

_ENCODING = "utf8"
_SLOT_ALIGNMENT = 8


def _slot_size(byte_length):
    """The slot a str or bytes of `byte_length` bytes gets: the next multiple of 8 above it."""
    return _SLOT_ALIGNMENT * (byte_length // _SLOT_ALIGNMENT + 1)


class ShareableList(_released.ShareableList):
    __doc__ = _released.ShareableList.__doc__

    # 3. The stored format gives the exact length: nothing to strip.
    _back_transforms_mapping = dict(_released.ShareableList._back_transforms_mapping)
    _back_transforms_mapping[1] = lambda value: value.decode(_ENCODING)
    _back_transforms_mapping[2] = lambda value: value

    def __init__(self, sequence=None, *, name=None):
        if name is not None and sequence is None:
            _released.ShareableList.__init__(self, name=name)  # attaching: unchanged
            return
        items = list(sequence or ())
        # 1. The released constructor sizes a str's or bytes' slot by len(item): a placeholder
        # of the item's byte length gets the slot the PR sizes, the rest of the layout as is.
        encoded = [item.encode(_ENCODING) if isinstance(item, str) else item for item in items]
        placeholders = [bytes(len(e)) if isinstance(e, bytes) else item
                        for item, e in zip(items, encoded)]
        _released.ShareableList.__init__(self, placeholders, name=name)
        for position, (item, data) in enumerate(zip(items, encoded)):
            if isinstance(item, (str, bytes)):
                self._store_sized(position, item, data)

    def __setitem__(self, position, value):
        if not isinstance(value, (str, bytes)):
            _released.ShareableList.__setitem__(self, position, value)
            return
        position = position if position >= 0 else position + self._list_len
        if not 0 <= position < self._list_len:
            raise IndexError("assignment index out of range")
        data = value.encode(_ENCODING) if isinstance(value, str) else value
        slot = self._allocated_offsets[position + 1] - self._allocated_offsets[position]
        if len(data) > slot:
            raise ValueError("bytes/str item exceeds available storage")
        self._store_sized(position, value, data)

    def _store_sized(self, position, value, data):
        """2. Writes `data` NUL-padded to its whole slot, and the format of its own length."""
        slot = self._allocated_offsets[position + 1] - self._allocated_offsets[position]
        self._set_packing_format_and_transform(position, "%ds" % len(data), value)
        struct.pack_into("%ds" % slot, self.shm.buf,
                         self._offset_data_start + self._allocated_offsets[position], data)
