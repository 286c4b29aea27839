"""The lines of each CPython's multiprocessing/shared_memory.py and resource_tracker.py that a
run executed, from the files shm_line_tracer wrote (shm-harness --py-coverage DIR runs this at
the end; by hand: python3 harness/tools/py_coverage.py DIR [--report REPORT_DIR]).

Prints one line per CPython version and file, "py3.12.1 shared_memory.py: 300/346 lines (86.7 %)",
and, with --report, writes REPORT_DIR/py-coverage.md listing every line not run with its text.
Counts the agents and the resource trackers they started together. Standard library only."""

import argparse
import glob
import json
import os
import sys


def ranges(lines):
    out, start, prev = [], None, None
    for n in sorted(lines):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append((start, prev))
            start = prev = n
    if start is not None:
        out.append((start, prev))
    return ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)


def version_key(v):
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--report")
    args = parser.parse_args()
    seen = {}  # (version, file) -> {"path", "run": set, "executable": set}
    for name in glob.glob(os.path.join(args.dir, "*.json")):
        with open(name) as f:
            data = json.load(f)
        for base, info in data["files"].items():
            entry = seen.setdefault((data["version"], base), {"path": info["path"], "run": set(),
                                                              "executable": set(info["executable"])})
            entry["run"].update(info["run"])
    if not seen:
        print("py-coverage: no trace files in %s (no Python agent ran?)" % args.dir)
        return 1
    md = ["# Lines of CPython's shared_memory.py and resource_tracker.py the run executed", ""]
    for version, base in sorted(seen, key=lambda k: (version_key(k[0]), k[1])):
        e = seen[(version, base)]
        run = e["run"] & e["executable"]
        missed = e["executable"] - run
        total = len(e["executable"])
        print("py-coverage py%s %s: %d/%d lines (%.1f %%)" % (version, base, len(run), total,
                                                             100.0 * len(run) / max(total, 1)))
        md.append("## py%s %s: %d/%d lines" % (version, base, len(run), total))
        md.append("")
        md.append("`%s`; missed: %s" % (e["path"], ranges(missed) or "none"))
        md.append("")
        try:
            with open(e["path"], encoding="utf-8") as f:
                source = f.read().splitlines()
        except OSError:
            source = []
        if missed and source:
            md.append("```")
            md.extend("%5d  %s" % (n, source[n - 1]) for n in sorted(missed) if n <= len(source))
            md.append("```")
            md.append("")
    if args.report:
        os.makedirs(args.report, exist_ok=True)
        with open(os.path.join(args.report, "py-coverage.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        print("py-coverage: missed lines in %s" % os.path.join(args.report, "py-coverage.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
