"""A candidate that changes nothing: the interpreter's own multiprocessing.shared_memory, re-exported.

    shm-harness --candidate same=harness/candidates/released.py@3.14

must report no cell whose outcome differs from the unpatched interpreter: the check that the
--candidate machinery itself (loading a module in place of the stdlib's, pairing each cell with
its twin) adds no difference of its own (harness/README.md, "Judging a proposed change").
"""

import sys

# While a candidate's top level runs, sys.modules still holds the interpreter's own module
# under this name (harness/agents/py_agent.py, --candidate).
_released = sys.modules[__name__]

SharedMemory = _released.SharedMemory
ShareableList = _released.ShareableList
__all__ = list(_released.__all__)
