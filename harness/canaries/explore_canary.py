"""The canary of shm-harness --explore (ctest conformance.explore.canary.*): an implementation
with a bug no fixed scenario sees (harness/tools/planted_bug_agent.py) is found by a short
exploration, shrunk to a scenario file of at most 6 steps that fails on it and passes on every
real implementation; the same agent without the bug gives no finding.

    python3 explore_canary.py bug|no-bug|fixed-suite --harness BIN [--seconds N] [--seed N]

  bug          --explore finds the bug; the file it writes fails only the planted agent's cells
  no-bug       with PLANTED_BUG=0 the same exploration finds nothing
  fixed-suite  the fixed scenarios give the same verdicts with the bug and without it

Exit 0 when the canary behaves. Standard library only.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PLANTED = os.path.join(HERE, os.pardir, "tools", "planted_bug_agent.py")
MAX_STEPS = 6


def agent_spec():
    return "planted=%s %s" % (sys.executable, os.path.abspath(PLANTED))


def run(cmd, bug=True):
    env = dict(os.environ, PLANTED_BUG="1" if bug else "0")
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    print(proc.stdout, flush=True)
    return proc


def explore(args, out, bug):
    return run([args.harness, "--explore", str(args.seconds), "--seed", str(args.seed),
                "--explore-out", out, "--agent", agent_spec(), "-j", "2"], bug)


def cells(junit):
    """{cell id (scenario + binding): failed?} of a JUnit report."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        out[case.get("classname") + case.get("name")] = case.find("failure") is not None
    return out


def case_bug(args):
    with tempfile.TemporaryDirectory() as out:
        proc = explore(args, out, bug=True)
        if proc.returncode != 1 or "EXPLORE FINDING" not in proc.stdout:
            return "the exploration did not report a finding (exit %d)" % proc.returncode
        files = sorted(glob.glob(os.path.join(out, "scenarios", "explore", "*.json")))
        small = [f for f in files if len(json.load(open(f))["steps"]) <= MAX_STEPS]
        if not small:
            return "no finding was shrunk to %d steps or fewer: %r" % (MAX_STEPS, files)
        scenario = json.load(open(small[0]))
        print("shrunk finding (%d steps): %s" % (len(scenario["steps"]), json.dumps(scenario)))
        junit = os.path.join(out, "replay.xml")
        replay = run([args.harness, "--scenarios", os.path.join(out, "scenarios"), "--registry",
                      os.path.join(out, "registry.json"), "--agent", agent_spec(),
                      "--only", scenario["id"], "--junit", junit, "-j", "2"])
        verdicts = cells(junit)
        failed = sorted(c for c, bad in verdicts.items() if bad)
        passed = sorted(c for c, bad in verdicts.items() if not bad)
        if replay.returncode != 1 or not failed:
            return "the written scenario does not fail when replayed"
        wrong = [c for c in failed if "=planted" not in c]
        if wrong:
            return "the written scenario fails on real implementations too: %r" % wrong
        if not any("=planted" not in c for c in passed):
            return "no real implementation ran the written scenario"
        print("replay: %d cells failed, all on the planted agent; %d passed" % (len(failed),
                                                                                len(passed)))
    return None


def case_no_bug(args):
    with tempfile.TemporaryDirectory() as out:
        proc = explore(args, out, bug=False)
        files = glob.glob(os.path.join(out, "scenarios", "explore", "*.json"))
        if proc.returncode != 0 or files:
            return "without the bug the exploration still found something: %r" % files
    return None


def case_fixed_suite(args):
    with tempfile.TemporaryDirectory() as out:
        verdicts = []
        for bug in (True, False):
            junit = os.path.join(out, "bug.xml" if bug else "clean.xml")
            # Every cell the planted agent takes part in: it meets only its host CPython.
            run([args.harness, "--agent", agent_spec(), "--python", sys.executable, "--no-cpp",
                 "--no-libshm-python", "--junit", junit, "-j", "2"], bug)
            verdicts.append(cells(junit))
        differ = sorted(c for c in verdicts[0] if verdicts[0][c] != verdicts[1].get(c))
        if differ or set(verdicts[0]) != set(verdicts[1]):
            return "the fixed suite sees the bug: %r" % differ
        print("fixed suite: the same verdict in all %d cells with and without the bug"
              % len(verdicts[0]))
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["bug", "no-bug", "fixed-suite"])
    parser.add_argument("--harness", required=True)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    problem = {"bug": case_bug, "no-bug": case_no_bug, "fixed-suite": case_fixed_suite}[args.case](args)
    if problem:
        print("EXPLORE CANARY FAILED: " + problem)
        return 1
    print("explore canary %s: as it must be" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
