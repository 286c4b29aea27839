#!/usr/bin/env python3
"""Write libshm/src/printable_tables.cpp: which code points each CPython's repr() leaves as is.

CPython's repr() of a str escapes every character that is not printable (str.isprintable(),
i.e. its Unicode database's categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than the
space), and the database differs by version: 3.8 has Unicode 12.1, 3.9 and 3.10 13.0, 3.11
14.0, 3.12 15.0, 3.13 15.1. This script asks each interpreter's own str.isprintable() about
every code point U+0000 - U+10FFFF and writes the printable ranges of each minor version as
C++ tables (identical tables are written once), which shm::python_repr() uses.

    python3 compat/tools/gen_printable.py [--check] [--out FILE] [PYTHON ...]

Interpreters: the PYTHONs given, else every CPython compat/tools/find_cpythons.py finds (the
rules are in harness/README.md, "How interpreters are chosen"). Every CPython 3.8 - 3.13 must
be among them to write the file; two of the same minor version must agree. The output is
deterministic: rerunning leaves no git diff.

--check writes nothing: it regenerates the tables of every minor version found and compares
them with those in FILE, exiting 1 (with the first differing code point) if one differs and
2 if no interpreter was found. The ctest test `printable.tables` runs it.
"""

import argparse
import os
import re
import subprocess
import sys

MINORS = range(8, 14)  # CPython 3.8 - 3.13
GENERATOR = "compat/tools/gen_printable.py"

# Run by each interpreter: its version, its Unicode version and its printable ranges, one
# "first last" pair of hex numbers per line. Must run on 3.8 (no f-strings needed, but fine).
PROBE = r"""
import platform, sys, unicodedata
out = [platform.python_implementation(), "%d.%d" % sys.version_info[:2],
       platform.python_version(), unicodedata.unidata_version]
start = None
for cp in range(0x110000):
    if chr(cp).isprintable():
        if start is None:
            start = cp
    elif start is not None:
        out.append("%x %x" % (start, cp - 1))
        start = None
if start is not None:
    out.append("%x %x" % (start, 0x10FFFF))
sys.stdout.write("\n".join(out) + "\n")
"""


def candidates():
    """Every CPython find_cpythons.py finds, oldest first."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import find_cpythons

    pythons, skipped = find_cpythons.discover()
    find_cpythons.print_skipped(skipped, "gen_printable")
    return [p["path"] for p in pythons]


def probe(python):
    """(minor, full version, unicode version, ranges) or None if `python` is no CPython 3.8+."""
    try:
        result = subprocess.run([python, "-c", PROBE], capture_output=True, text=True,
                                timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 5 or lines[0] != "CPython":
        return None
    major, minor = (int(x) for x in lines[1].split("."))
    if major != 3 or minor not in MINORS:
        return None
    ranges = [tuple(int(x, 16) for x in line.split()) for line in lines[4:] if line]
    return minor, lines[2], lines[3], ranges


def collect(pythons):
    """minor -> (full versions, unicode version, ranges); exits if two of a minor differ."""
    tables = {}
    for python in pythons:
        got = probe(python)
        if got is None:
            sys.stderr.write("gen_printable: skipping %s (not a working CPython 3.8 - 3.13)\n"
                             % python)
            continue
        minor, version, unicode_version, ranges = got
        if minor in tables:
            versions, have_unicode, have = tables[minor]
            if have != ranges:
                sys.exit("gen_printable: %s and %s disagree on isprintable()"
                         % (versions[0], version))
            if version not in versions:
                versions.append(version)
            continue
        tables[minor] = ([version], unicode_version, ranges)
    return tables


def render(tables):
    """The C++ source for a complete {minor: (versions, unicode, ranges)}."""
    distinct = []  # (ranges, [minor...])
    for minor in MINORS:
        ranges = tables[minor][2]
        for have, minors in distinct:
            if have == ranges:
                minors.append(minor)
                break
        else:
            distinct.append((ranges, [minor]))
    out = []
    out.append("// GENERATED from each CPython's own str.isprintable(): do not edit. Regenerate with")
    out.append("// `python3 %s` (every CPython 3.8 - 3.13 installed)." % GENERATOR)
    for minor in MINORS:
        versions, unicode_version, ranges = tables[minor]
        out.append("//   3.%d: Unicode %s, %d printable ranges (from %s)" %
                   (minor, unicode_version, len(ranges), ", ".join(sorted(versions))))
    out.append('#include "printable.hpp"')
    out.append("")
    out.append("namespace shm::detail {")
    out.append("namespace {")
    out.append("")
    out.append("// clang-format off")
    for index, (ranges, minors) in enumerate(distinct):
        out.append("// CPython %s." % ", ".join("3.%d" % m for m in minors))
        out.append("constexpr CodeRange kPrintable%d[] = {" % index)
        line = " "
        for first, last in ranges:
            item = " {0x%X, 0x%X}," % (first, last)
            if len(line) + len(item) > 100:
                out.append(line)
                line = " "
            line += item
        out.append(line)
        out.append("};")
        out.append("")
    out.append("// clang-format on")
    out.append("")
    out.append("}  // namespace")
    out.append("")
    out.append("std::span<const CodeRange> printable_ranges(int cpython_minor) noexcept {")
    out.append("  switch (cpython_minor) {")
    for index, (ranges, minors) in enumerate(distinct):
        for minor in minors:
            out.append("    case %d:" % minor)
        out.append("      return kPrintable%d;" % index)
    out.append("    default:")
    out.append("      return {};")
    out.append("  }")
    out.append("}")
    out.append("")
    out.append("}  // namespace shm::detail")
    return "\n".join(out) + "\n"


def parse(text):
    """minor -> ranges, read back from a generated file."""
    arrays = {}
    for match in re.finditer(r"constexpr CodeRange kPrintable(\d+)\[\] = \{(.*?)\};", text,
                             re.S):
        arrays[match.group(1)] = [
            (int(a, 16), int(b, 16))
            for a, b in re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", match.group(2))]
    tables = {}
    body = text[text.index("printable_ranges(int cpython_minor)"):]
    pending = []
    for line in body.split("\n"):
        case = re.match(r"\s*case (\d+):", line)
        ret = re.match(r"\s*return kPrintable(\d+);", line)
        if case:
            pending.append(int(case.group(1)))
        elif ret:
            for minor in pending:
                tables[minor] = arrays[ret.group(1)]
            pending = []
    return tables


def first_difference(a, b):
    """The first code point on which two range lists disagree."""
    def printable(ranges):
        bits = bytearray(0x110000)
        for first, last in ranges:
            bits[first:last + 1] = b"\x01" * (last - first + 1)
        return bits
    x, y = printable(a), printable(b)
    for cp in range(0x110000):
        if x[cp] != y[cp]:
            return cp
    return None


def main():
    default_out = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "libshm", "src", "printable_tables.cpp")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the tables in --out with the interpreters' own")
    parser.add_argument("--out", default=default_out, help="default: %(default)s")
    parser.add_argument("pythons", nargs="*", help="interpreters (default: discovered)")
    args = parser.parse_args()

    tables = collect(args.pythons or candidates())
    if args.check:
        if not tables:
            sys.stderr.write("gen_printable: no CPython 3.8 - 3.13 found\n")
            return 2
        with open(args.out, encoding="ascii") as f:
            written = parse(f.read())
        failed = False
        for minor in sorted(tables):
            versions, unicode_version, ranges = tables[minor]
            if written.get(minor) != ranges:
                cp = first_difference(written.get(minor, []), ranges)
                print("3.%d (%s, Unicode %s): the table differs, first at U+%04X"
                      % (minor, ", ".join(versions), unicode_version, cp))
                failed = True
            else:
                print("3.%d (%s, Unicode %s): %d ranges, all 1114112 code points agree"
                      % (minor, ", ".join(versions), unicode_version, len(ranges)))
        return 1 if failed else 0
    missing = [m for m in MINORS if m not in tables]
    if missing:
        sys.exit("gen_printable: no interpreter for %s: every CPython 3.8 - 3.13 is needed"
                 % ", ".join("3.%d" % m for m in missing))
    text = render(tables)
    temp = args.out + ".tmp"
    with open(temp, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    os.replace(temp, args.out)
    print("gen_printable: wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
