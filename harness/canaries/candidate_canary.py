"""The canaries of shm-harness --candidate (ctest conformance.candidate.*).

  released   harness/candidates/released.py (the interpreter's own module, re-exported) on the
             newest CPython here: the run passes and no cell differs from its unpatched twin, so
             the machinery adds no difference of its own
  pr145266   harness/candidates/pr145266.py (CPython PR #145266 as its description reads): the
             run fails, and the report names the cells the change breaks: a released writer's
             str read back with its padding NULs, trailing NULs kept in the candidate's own
             lists, formats that give the byte length (candidates.md lists them too)

    python3 candidate_canary.py CASE --harness BIN [--peer VERSION]

The candidate runs on the newest CPython 3.9+ that compat/tools/find_cpythons.py finds; its
released peer is the oldest other 3.9+ one (--peer picks another). 3.8 writes another layout,
which no 3.9+ ShareableList reads, candidate or not.

Exit 0: the canary behaved; 1: it did not (the reason is printed); 77: cannot run here.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CANDIDATES = os.path.join(ROOT, "harness", "candidates")
SUMMARY = re.compile(r"CONFORMANCE (PASSED|FAILED): .*\(cells (\d+), (\d+) predicted\)")
COMPARED = re.compile(r"candidate (\S+) \(.*\): (\d+) cells, (\d+) compared with the unpatched "
                      r"(\S+), (\d+) differ")


def cpythons():
    sys.path.insert(0, os.path.join(ROOT, "compat", "tools"))
    import find_cpythons

    pythons, _ = find_cpythons.discover()
    return [p for p in pythons
            if tuple(int(x) for x in p["version"].split(".")[:2]) >= (3, 9)]


def fail(why):
    print("candidate canary: " + why)
    return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["released", "pr145266"])
    parser.add_argument("--harness", required=True)
    parser.add_argument("--peer", help="the released CPython the candidate meets")
    args = parser.parse_args()
    found = cpythons()
    if not found:
        print("candidate canary: no CPython 3.9+ here")
        return 77
    base = found[-1]["version"]
    peer = args.peer or (found[0]["version"] if len(found) > 1 else None)
    with tempfile.TemporaryDirectory() as report:
        cmd = [args.harness, "--no-cpp", "--no-libshm-python", "-j", "2", "--report", report,
               "--candidate", "%s=%s@%s" % (args.case, os.path.join(CANDIDATES, args.case + ".py"),
                                            base),
               "--python", base]
        if peer:
            cmd += ["--python", peer]
        print("candidate canary: " + " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        out = proc.stdout
        print("\n".join(line for line in out.splitlines() if not line.startswith("note:")))
        summary = SUMMARY.search(out)
        compared = COMPARED.search(out)
        if not summary or not compared:
            return fail("no summary or no candidates section in the output")
        cells, n_compared, differ = (int(compared.group(i)) for i in (2, 3, 5))
        if cells == 0 or n_compared != cells:
            return fail("%d candidate cells, %d compared with a twin" % (cells, n_compared))
        md_path = os.path.join(report, "candidates.md")
        if not os.path.exists(md_path):
            return fail("no candidates.md in the report directory")
        with open(md_path) as f:
            md = f.read()
        base_id = "py" + base
        if args.case == "released":
            if proc.returncode != 0 or summary.group(1) != "PASSED":
                return fail("the re-exported module did not pass (exit %d)" % proc.returncode)
            if differ != 0 or "DIFFERS" in out:
                return fail("%d cells differ with the interpreter's own module" % differ)
            return 0
        if proc.returncode == 0:
            return fail("the run passed, though the candidate changes what readers see")
        if "candidate pr145266: %d of %d cells differ from %s" % (differ, n_compared,
                                                                   base_id) not in out:
            return fail("no run-level problem naming the candidate")
        needed = [
            # its own lists keep trailing NULs; the format gives the byte length
            "DIFFERS list/str/trailing-nul[writer=pr145266,reader=pr145266]",
            "DIFFERS list/roundtrip/every-type[writer=pr145266,reader=%s]" % base_id,
            # a released writer's str, read back with the slot's padding
            "DIFFERS list/str/trailing-nul[writer=%s,reader=pr145266]" % base_id,
            # a released CPython that sets a longer str truncates it to the stored length
            "DIFFERS list/set/longer-in-same-slot[creator=pr145266,setter=%s]" % base_id,
        ]
        if peer:
            needed.append("DIFFERS list/str/trailing-nul[writer=py%s,reader=pr145266]" % peer)
            needed.append("DIFFERS list/roundtrip/every-type[writer=pr145266,reader=py%s]" % peer)
        for text in needed:
            if text not in out:
                return fail("the report does not name the cell: " + text)
            if text.split(" ", 1)[1] not in md:
                return fail("candidates.md does not name the cell: " + text)
        if "'cd\\x00\\x00" not in out and '"cd\\u0000\\u0000' not in out:
            return fail("the trailing-NUL cell does not show the padding the candidate reads")
        return 0


if __name__ == "__main__":
    sys.exit(main())
