#!/usr/bin/env python3
"""ctest docs.references: every document the repository refers to is in the repository.

Fails (exit 1, one line per problem: file:line: what) on
  - a mention of the project's founding notes, which live outside the repository (the patterns
    in OUTSIDE below), unless such a file exists in the tree: their content is in docs/
    (architecture.md, format.md, cpython-quirks.md), where references must point instead;
  - a section sign with a number in code that names no document on its line (a bare "(§2.6)"
    pointed into the founding notes; "PROTOCOL.md §3" is fine);
  - a mention of docs/<name>.md that does not exist;
  - a relative Markdown link [text](path#anchor) whose file does not exist, or whose #anchor is
    not a heading of the Markdown file it points to.

usage: check_doc_refs.py [REPO_ROOT]     (default: the directory above this script)
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SELF = os.path.abspath(__file__)
SKIP_DIRS = {".git", "report", "__pycache__", ".cache", "vectors", "regressions"}
TEXT_EXT = {".md", ".cpp", ".hpp", ".h", ".c", ".py", ".json", ".txt", ".cmake", ".in", ".toml",
            ".sh", ".supp"}

# Built from pieces so that this file does not match itself.
OUTSIDE = [
    (re.compile(r"\bDESIGN" + r"\.md\b|\bDESIGN(?= policy| example)"), "DESIGN" + ".md"),
    (re.compile(r"\breference " + "\u00a7"), None),
    (re.compile(r"(?<![\w/.])reference/[\w.-]+"), None),
    (re.compile(r"/work/" + r"shared\b"), None),
]
# A section sign names a section of some document: in code it must say which one, on the same
# line ("PROTOCOL.md §3"); a bare "(§2.6)" meant the founding notes. Markdown files may refer to
# their own sections.
SECTION = re.compile("\u00a7" + r"\s*\d")
NAMED_DOC = re.compile(r"\b[\w.-]+\.md\b")
DOCS_MENTION = re.compile(r"(?<![\w/.-])docs/[\w.-]+\.md")
MD_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def text_files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS
                       and not (rel == "." and (d.startswith("build") or d == "bench"))]
        for f in filenames:
            path = os.path.join(dirpath, f)
            if path == SELF:
                continue
            ext = os.path.splitext(f)[1]
            if ext in TEXT_EXT or f == "CMakeLists.txt" or (
                    os.path.basename(dirpath) == "ci" and ext == ""):
                yield path


def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    s = re.sub(r"[`*_]", "", heading.strip().lower())
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


_anchors = {}


def anchors(md_path):
    if md_path not in _anchors:
        found = set()
        in_code = False
        with open(md_path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    in_code = not in_code
                elif not in_code and line.startswith("#"):
                    found.add(slug(line.lstrip("#")))
        _anchors[md_path] = found
    return _anchors[md_path]


def main():
    problems = []
    checked = 0
    for path in sorted(text_files()):
        rel = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        checked += 1
        for n, line in enumerate(lines, 1):
            where = "%s:%d" % (rel, n)
            for pattern, filename in OUTSIDE:
                m = pattern.search(line)
                if m and not (filename and os.path.exists(os.path.join(ROOT, filename))):
                    problems.append("%s: refers to %r, which is not in the repository (point "
                                    "into docs/ instead)" % (where, m.group(0)))
            m = SECTION.search(line)
            if m and not path.endswith(".md") and not NAMED_DOC.search(line[:m.start()]):
                problems.append("%s: a section %r of no named document (name the file in the "
                                "repository it points into)" % (where, m.group(0)))
            for m in DOCS_MENTION.finditer(line):
                if not os.path.isfile(os.path.join(ROOT, m.group(0))):
                    problems.append("%s: %s does not exist" % (where, m.group(0)))
            if not path.endswith(".md"):
                continue
            for m in MD_LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) \
                    if file_part else path
                if not os.path.exists(dest):
                    problems.append("%s: link to %s: no such file" % (where, target))
                elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                    problems.append("%s: link to %s: no heading #%s in %s"
                                    % (where, target, anchor, os.path.relpath(dest, ROOT)))
    for p in problems:
        print(p)
    print("check_doc_refs: %d files checked, %d problem(s)" % (checked, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
