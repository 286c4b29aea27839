"""A C++ program started by a Python process: libshm's policy (README.md, "Python module").

The C++ program keeps libshm's own resource tracker and does not join the Python parent's
multiprocessing tracker, as a Python program started with subprocess (not multiprocessing) gets
its own: what the C++ child attaches (untracked by default in C++) stays the parent's to track,
and what it creates tracked is unlinked by its own tracker when it ends, whatever the parent
does. The C++ program here is the harness's agent (LIBSHM_CPP_AGENT, set by CMake).
"""

import os
import subprocess
import sys
import unittest

from support import fresh_name, run_python

AGENT = os.environ.get("LIBSHM_CPP_AGENT")

SCENARIO = """if 1:
    import json, os, subprocess, sys, time
    import libshm
    agent, mine, theirs = sys.argv[1:4]
    sl = libshm.ShareableList([1, "x"], name=mine)  # multiprocessing's tracker has it
    p = subprocess.Popen([agent], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         universal_newlines=True)
    def request(**r):
        p.stdin.write(json.dumps(r) + "\\n")
        p.stdin.flush()
        answer = json.loads(p.stdout.readline())
        assert answer["ok"], answer
        return answer["value"]
    request(id=1, op="list.attach", handle="l", name=mine)  # C++ default: untracked
    request(id=2, op="list.set", handle="l", index=0, value=5)
    request(id=3, op="block.create", handle="b", name=theirs, size=16)  # tracked, in C++
    request(id=4, op="exit")
    p.stdin.close()
    p.wait(30)
    print("child's write seen", sl[0])
    print("parent's block still there", os.path.exists("/dev/shm/" + mine))
    deadline = time.monotonic() + 10
    while os.path.exists("/dev/shm/" + theirs) and time.monotonic() < deadline:
        time.sleep(0.02)
    print("child's block unlinked by its own tracker", not os.path.exists("/dev/shm/" + theirs))
    sl.shm.close()
    sl.shm.unlink()
"""


@unittest.skipUnless(AGENT and os.path.exists(AGENT), "needs the C++ agent (LIBSHM_CPP_AGENT)")
class CppChild(unittest.TestCase):
    def test_cpp_child_keeps_libshm_s_own_tracker(self):
        mine, theirs = fresh_name(), fresh_name()
        try:
            p = run_python(SCENARIO, AGENT, mine, theirs)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.splitlines(), [
                "child's write seen 5",
                "parent's block still there True",
                "child's block unlinked by its own tracker True",
            ])
            # Only the C++ child's own tracker spoke; the parent's multiprocessing tracker had
            # nothing left (the parent unlinked its block).
            self.assertEqual(p.stderr.strip().splitlines(), [
                "libshm resource_tracker: There appear to be 1 leaked shared_memory objects "
                "to clean up at shutdown: ['/%s']" % theirs])
        finally:
            for name in (mine, theirs):
                if os.path.exists("/dev/shm/" + name):
                    os.unlink("/dev/shm/" + name)


if __name__ == "__main__":
    unittest.main()
