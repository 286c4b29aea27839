"""A third-party implementation with one planted bug, for the canary of shm-harness --explore.

    python3 harness/tools/planted_bug_agent.py          # the bug on
    PLANTED_BUG=0 python3 harness/tools/planted_bug_agent.py   # the same agent without it

It is harness/agents/py_agent.py (CPython's own classes, run in this process) presenting itself
as an implementation under test ("planted-bug", hosted by the CPython it runs on), except that
a str item read from a list whose UTF-8 is a non-zero multiple of 8 bytes long and holds a NUL
comes back without its NULs. No fixed scenario has such an item (conformance.explore.canary
checks that the fixed suite gives the same verdicts with and without the bug); the generators
of --explore reach it in seconds. Standard library only.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, os.pardir, "agents", "py_agent.py")

# Only as the user who owns the checkout: started as another user (the runner's "other-user"
# probe) it declines, so no cell depends on whether its interpreter (often pyenv's, under /root)
# works for that user, which made the permission scenario's cells flaky.
if os.geteuid() != os.stat(AGENT).st_uid:
    sys.stderr.write("planted_bug_agent: runs only as the owner of %s\n" % AGENT)
    sys.exit(3)

spec = importlib.util.spec_from_file_location("py_agent", AGENT)
py_agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(py_agent)

BUG = os.environ.get("PLANTED_BUG", "1") != "0"
real_item_to_json = py_agent.item_to_json
real_hello = py_agent.Agent.op_hello


def item_to_json(value):
    """py_agent's, with the planted bug."""
    if BUG and isinstance(value, str) and "\0" in value:
        size = len(value.encode("utf-8"))
        if size > 0 and size % 8 == 0:
            return value.replace("\0", "")
    return real_item_to_json(value)


def op_hello(self, req):
    """An implementation under test, not a reference CPython."""
    hello = real_hello(self, req)
    hello["implementation"] = "planted-bug"
    hello["id"] = "planted"
    hello["host"] = py_agent.VERSION
    hello["capabilities"] = [c for c in hello["capabilities"] if c != "python"]
    return hello


py_agent.item_to_json = item_to_json
py_agent.Agent.op_hello = op_hello

if __name__ == "__main__":
    sys.exit(py_agent.main())
