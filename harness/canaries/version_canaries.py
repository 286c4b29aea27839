"""The conformance canaries about versions and pluggable agents (ctest conformance.versions.*).

Each case runs shm-harness against interpreters built by wrapping a real one
(harness/tools/fake_python.py reports another version) or against an agent added with --agent,
and checks the verdict and the report, so that the runner's judging of CPython releases this
machine does not have is tested without special-casing anything in the runner:

  predicted      an unverified patch release of the real interpreter's minor: passes, every cell
                 judged by prediction ("predicted from X.Y.Z")
  newer          3.99.0: passes (open-ended quirks apply, anything else is new CPython behaviour)
  newer-news     3.99.0 with a registry predicting a 3.50+ change that does not happen: passes,
                 and reports the cell as new CPython behaviour with the edit that records it
  newer-strict   the same with --strict-versions: fails, naming that step
  agent          an --agent that answers list.len one too large fails exactly the cells where it
                 reads a length

    python3 version_canaries.py CASE --harness BIN --cpp-agent BIN [--python REAL]

REAL defaults to the interpreter running this for `predicted` and `agent`, and to the newest
CPython compat/tools/find_cpythons.py finds for the `newer` cases: a release newer than anything
known is best stood in for by the newest one there is (an older one does what the registry's
open-ended ranges of newer releases, e.g. 3.15's JSON tracker lines, no longer predict).

Exit 0: the canary behaved; 1: it did not (the reason is printed); 77: cannot run here.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "harness", "tools")
REGISTRY = os.path.join(ROOT, "compat", "cpython.json")
SUMMARY = re.compile(r"CONFORMANCE (PASSED|FAILED): (\d+) passed, (\d+) expected-quirk, "
                     r"(\d+) new-cpython-behaviour, (\d+) unexpected, (\d+) skipped "
                     r"\(cells (\d+), (\d+) predicted\)")


def parse_version(text):
    m = re.match(r"(\d+)\.(\d+)\.(\d+)$", text)
    return tuple(int(x) for x in m.groups()) if m else None


def registry_bounds(registry):
    """Every since/until bound and verified run of the registry, as (major, minor, micro)."""
    bounds = set()
    for v in registry.get("verified_runs", []):
        bounds.add(parse_version(v))
    for q in registry["quirks"].values():
        ranges = list(q.get("ranges", []))
        if "since" in q or "until" in q:
            ranges.append(q)
        for r in ranges:
            for key in ("since", "until"):
                if r.get(key):
                    bounds.add(parse_version(r[key]))
    return bounds - {None}


def unverified_neighbour(real, registry):
    """A patch release next to `real` that no run verified and that no range bound separates
    from it, so that the registry predicts for it exactly what `real` does."""
    bounds = registry_bounds(registry)
    major, minor, micro = real
    for candidate in ((major, minor, micro + 1), (major, minor, micro - 1)):
        if candidate[2] < 0 or candidate in bounds:
            continue
        low, high = min(real, candidate), max(real, candidate)
        if not any(low < b <= high for b in bounds):
            return candidate
    return None


def newest_cpython():
    """The newest CPython the project's one discovery finds (this interpreter if none)."""
    sys.path.insert(0, os.path.join(ROOT, "compat", "tools"))
    import find_cpythons

    pythons, _ = find_cpythons.discover()
    return pythons[-1]["path"] if pythons else sys.executable


def wrapper(directory, real, version):
    """An executable that runs `real` reporting `version`."""
    path = os.path.join(directory, "python-as-" + version)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec "%s" -I "%s" "%s" "$@"\n'
                % (real, os.path.join(TOOLS, "fake_python.py"), version))
    os.chmod(path, 0o755)
    return path


def run(args, extra):
    cmd = [args.harness, "--no-libshm-python", "-j", "2"] + extra
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900)
    print(proc.stdout)
    m = SUMMARY.search(proc.stdout)
    if not m:
        fail("no summary line in the output")
    return proc.returncode, proc.stdout, [m.group(1)] + [int(x) for x in m.groups()[1:]]


def fail(why):
    print("VERSION CANARY FAILED: " + why)
    sys.exit(1)


def check(condition, why):
    if not condition:
        fail(why)


def future_registry(directory):
    """The real registry plus a quirk that predicts, for 3.50 and later, a value no CPython
    reads: a change the registry foresees and that does not happen."""
    with open(REGISTRY) as f:
        registry = json.load(f)
    registry["quirks"]["canary-future-change"] = {
        "summary": "CANARY: a change predicted for CPython 3.50+ that does not happen.",
        "upstream": "", "ranges": [{"since": "3.50.0", "until": None}], "verified": [],
        "outcomes": {"list/roundtrip/every-type#len": {"value": 424242}}}
    path = os.path.join(directory, "registry.json")
    with open(path, "w") as f:
        json.dump(registry, f)
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["predicted", "newer", "newer-news", "newer-strict",
                                         "agent"])
    parser.add_argument("--harness", required=True)
    parser.add_argument("--cpp-agent", required=True)
    parser.add_argument("--python", help="the real interpreter to wrap")
    args = parser.parse_args()
    if args.python is None:
        args.python = newest_cpython() if args.case.startswith("newer") else sys.executable
    real_text = subprocess.run([args.python, "-c", "import platform; "
                                "print(platform.python_version())"], stdout=subprocess.PIPE,
                               universal_newlines=True, check=True).stdout.strip()
    real = parse_version(real_text)
    if real is None:
        print("cannot run: %s reports %r" % (args.python, real_text))
        return 77
    with open(REGISTRY) as f:
        registry = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        if args.case == "predicted":
            fake = unverified_neighbour(real, registry)
            if fake is None:
                print("cannot run: every patch release next to %s is verified or a bound" % real_text)
                return 77
            fake_text = "%d.%d.%d" % fake
            code, out, s = run(args, ["--no-cpp", "--python", wrapper(tmp, args.python, fake_text)])
            check(code == 0, "the run failed (exit %d)" % code)
            check("predicted from " in out, "the header does not say 'predicted from'")
            check(s[6] > 0 and s[7] == s[6], "not every cell was judged by prediction: %s" % s)
        elif args.case == "newer":
            code, out, s = run(args, ["--no-cpp", "--python", wrapper(tmp, args.python, "3.99.0")])
            check(code == 0, "the run failed (exit %d)" % code)
            check("newer than anything known" in out, "the header does not say 'newer'")
            check(s[4] == 0, "unexpected cells: %s" % s)
        elif args.case in ("newer-news", "newer-strict"):
            extra = ["--no-cpp", "--registry", future_registry(tmp), "--only", "list/roundtrip/every-type",
                     "--python", wrapper(tmp, args.python, "3.99.0")]
            if args.case == "newer-strict":
                extra.append("--strict-versions")
            code, out, s = run(args, extra)
            if args.case == "newer-news":
                check(code == 0, "new CPython behaviour failed the run (exit %d)" % code)
                check(s[3] >= 1 and s[4] == 0, "expected new behaviour and no failure: %s" % s)
                check("NEW CPYTHON BEHAVIOUR" in out and "canary-future-change" in out,
                      "the report does not show the new behaviour with its edit")
            else:
                check(code == 1, "--strict-versions did not fail the run (exit %d)" % code)
                check(s[4] >= 1 and "canary-future-change" in out,
                      "the failure does not name the unpredicted step: %s" % s)
        else:
            bad = "bad=%s %s list.len %s" % (sys.executable,
                                              os.path.join(TOOLS, "misbehaving_agent.py"),
                                              args.cpp_agent)
            extra = ["--no-cpp", "--agent", bad, "--python", args.python,
                     "--scenarios", os.path.join(HERE, "misbehaving-agent", "scenarios"),
                     "--registry", os.path.join(HERE, "empty-registry.json")]
            code, out, s = run(args, extra)
            failed = sorted(set(re.findall(r"^FAIL (\S+)$", out, re.M)))
            want = ["canary/length[writer=bad,reader=bad]",
                    "canary/length[writer=py%s,reader=bad]" % real_text]
            check(code == 1, "the misbehaving agent did not fail the run")
            check(failed == want, "failed cells %s, expected exactly %s" % (failed, want))
    print("version canary %s: behaved as it must" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
