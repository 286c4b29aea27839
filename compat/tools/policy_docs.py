#!/usr/bin/env python3
"""Writes libshm's quirk policy into the documents from compat/cpython.json, its one source.

The registry holds, per quirk, the facts (ranges, verified versions, upstream evidence, the
implementations that reproduce it, its summary) and, in its top-level "policy" list, each
deliberate difference from CPython once: the README row (behaviour, CPython, libshm) and the
Python module's wording. From them this tool generates

  - README.md, the table of "Where libshm deliberately differs from CPython" (between the
    policy_docs marker comments);
  - compat/python/libshm/__init__.py, the bullet list of the docstring's "Deliberate
    differences from the stdlib" (between that paragraph and "Kept as the stdlib has them");
  - docs/cpython-quirks.md, the registry and policy lines at the top of each quirk's section
    (between the policy_docs marker comments naming the quirk ids), and the list of README
    rows that are not version quirks in "Other differences";

and checks the hand-written table "Version ranges and upstream changes" of
docs/cpython-quirks.md against the ranges.

usage: policy_docs.py [--check] [REPO_ROOT]
  --check  change nothing; exit 1 with a diff of every stale place (ctest docs.policy)
"""

import argparse
import difflib
import json
import os
import re
import sys
import textwrap

README = "README.md"
QUIRKS_DOC = os.path.join("docs", "cpython-quirks.md")
MODULE = os.path.join("compat", "python", "libshm", "__init__.py")
REGISTRY = os.path.join("compat", "cpython.json")

MARK_END = "<!-- /policy_docs -->"
README_MARK = ("<!-- policy_docs: readme-table, generated from compat/cpython.json \"policy\" by "
               "compat/tools/policy_docs.py -->")
QUIRK_MARK = re.compile(r"^<!-- policy_docs: quirk ([\w.\- ]+) -->$")
DOCSTRING_START = "Deliberate differences from the stdlib"
DOCSTRING_END = "Kept as the stdlib has them"
DOCSTRING_WIDTH = 95
MD_WIDTH = 96
OTHER_MARK = "<!-- policy_docs: other -->"
OTHER_HEADING = "Other differences (not CPython-version quirks)"


class Stale(Exception):
    pass


def slug(heading):
    """GitHub's anchor for a Markdown heading (as ci/check_doc_refs.py computes it)."""
    s = re.sub(r"[`*_]", "", heading.strip().lower())
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def fail(msg):
    raise SystemExit("policy_docs.py: " + msg)


def load_registry(root):
    with open(os.path.join(root, REGISTRY), encoding="utf-8") as f:
        reg = json.load(f)
    quirks = reg["quirks"]
    policy = reg.get("policy")
    if not isinstance(policy, list) or not policy:
        fail(REGISTRY + ": needs a \"policy\" list")
    seen_ids = set()
    covered = set()
    for e in policy:
        if e.get("id") in seen_ids:
            fail(REGISTRY + ": policy id %r twice" % e.get("id"))
        seen_ids.add(e.get("id"))
        if "readme" not in e and "module" not in e:
            fail(REGISTRY + ": policy %r says nothing (needs readme or module)" % e["id"])
        for q in e["quirks"]:
            if q not in quirks:
                fail(REGISTRY + ": policy %r names unknown quirk %r" % (e["id"], q))
            covered.add(q)
    # A quirk without a policy would be a difference the README does not state.
    missing = [q for q in quirks if q not in covered]
    if missing:
        fail(REGISTRY + ": no policy entry names quirk(s) " + ", ".join(missing))
    return reg


def ranges_text(q):
    if not q.get("ranges"):
        return None
    return ", ".join("%s – %s" % (r["since"], r["until"] or "open") for r in q["ranges"])


def upstream_text(url):
    m = re.match(r"https://github\.com/python/cpython/(issues|pull)/(\d+)$", url or "")
    if not m:
        return None
    return "[%s%s](%s)" % ("gh-" if m.group(1) == "issues" else "#", m.group(2), url)


def quirk_sections(doc_text):
    """Quirk id -> the heading of the section whose marker block names it."""
    where = {}
    heading = None
    for line in doc_text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        m = QUIRK_MARK.match(line)
        if m:
            for q in m.group(1).split():
                if q in where:
                    fail(QUIRKS_DOC + ": quirk %r has two policy_docs blocks" % q)
                where[q] = heading
    return where


# ---- README.md ------------------------------------------------------------------------------

def readme_table(reg, sections):
    rows = ["| behaviour | CPython | libshm | registry |", "| --- | --- | --- | --- |"]
    for e in reg["policy"]:
        r = e.get("readme")
        if not r:
            continue
        links = ", ".join("[`%s`](docs/cpython-quirks.md#%s)" % (q, slug(sections[q]))
                          for q in e["quirks"])
        if not links:
            links = "[not a version quirk](docs/cpython-quirks.md#%s)" % slug(OTHER_HEADING)
        rows.append("| %s | %s | %s | %s |" % (r["behaviour"], r["cpython"], r["libshm"], links))
    return "\n".join(rows)


def replace_between(text, start_line, end_line, new_body, what):
    lines = text.split("\n")
    try:
        a = lines.index(start_line)
        b = lines.index(end_line, a + 1)
    except ValueError:
        fail("%s: no %r ... %r markers" % (what, start_line, end_line))
    return "\n".join(lines[:a + 1] + new_body.split("\n") + lines[b:])


# ---- the module docstring -------------------------------------------------------------------

def docstring_bullets(reg):
    out = []
    for e in reg["policy"]:
        text = e.get("module")
        if not text:
            continue
        # The docstring is a plain triple-quoted literal: these would end or escape it.
        if '"""' in text or "\\" in text:
            fail(REGISTRY + ": policy %r's module text cannot go into a docstring" % e["id"])
        out.extend(textwrap.wrap(text, DOCSTRING_WIDTH, initial_indent="* ",
                                 subsequent_indent="  ", break_on_hyphens=False,
                                 break_long_words=False))
    return "\n".join(out)


def module_text(text, reg):
    lines = text.split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith(DOCSTRING_START))
        end = next(i for i, l in enumerate(lines) if l.startswith(DOCSTRING_END))
        first = lines.index("", start) + 1  # the bullets follow the introducing paragraph
    except (StopIteration, ValueError):
        fail(MODULE + ": no %r ... %r paragraphs in the docstring" % (DOCSTRING_START,
                                                                      DOCSTRING_END))
    return "\n".join(lines[:first] + docstring_bullets(reg).split("\n") + [""] + lines[end:])


# ---- docs/cpython-quirks.md -----------------------------------------------------------------

def quirk_block(reg, ids):
    quirks = reg["quirks"]
    out = []
    for qid in ids:
        q = quirks[qid]
        facts = []
        rt = ranges_text(q)
        if rt:
            facts.append("CPython " + rt)
            facts.append("verified on " + ", ".join(q["verified"]) if q.get("verified")
                         else "predicted, no run here verified it")
        else:
            facts.append("no CPython range")
        up = upstream_text(q.get("upstream"))
        if up:
            facts.append("upstream " + up)
        if q.get("implementations"):
            facts.append("shown on purpose by " +
                         ", ".join("`%s`" % i for i in q["implementations"]))
        out.append("- **Registry** `%s`: %s. %s" % (qid, "; ".join(facts), q["summary"]))
    for e in reg["policy"]:
        if not any(q in e["quirks"] for q in ids):
            continue
        r = e.get("readme")
        if r:
            out.append("- **Policy** (README, %s): %s." % (r["behaviour"], r["libshm"]))
    return "\n".join(wrap_md(line) for line in out)


def wrap_md(line):
    return "\n".join(textwrap.wrap(line, MD_WIDTH, subsequent_indent="  ",
                                   break_on_hyphens=False, break_long_words=False))


def other_block(reg):
    """The README rows that are not version quirks, for the section that explains them."""
    out = []
    for e in reg["policy"]:
        r = e.get("readme")
        if r and not e["quirks"]:
            out.append(wrap_md("- **%s**: CPython: %s; libshm: %s." % (
                r["behaviour"], r["cpython"], r["libshm"])))
    return "\n".join(out)


def quirks_doc_text(text, reg):
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = QUIRK_MARK.match(lines[i])
        out.append(lines[i])
        i += 1
        if not m:
            continue
        try:
            end = lines.index(MARK_END, i)
        except ValueError:
            fail(QUIRKS_DOC + ": block for %s is not closed" % m.group(1))
        out.extend(quirk_block(reg, m.group(1).split()).split("\n"))
        i = end
    return replace_between("\n".join(out), OTHER_MARK, MARK_END, other_block(reg), QUIRKS_DOC)


def check_ranges_table(text, reg):
    """The table "Version ranges and upstream changes" against the registry's ranges."""
    problems = []
    listed = {}
    section = text.split("## Version ranges and upstream changes", 1)
    if len(section) != 2:
        return [QUIRKS_DOC + ": no section \"Version ranges and upstream changes\""]
    for line in section[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        for qid in re.findall(r"`([^`]+)`", cells[0]):
            listed[qid] = cells[1]
    for qid, q in reg["quirks"].items():
        want = ranges_text(q)
        if want is None:
            if qid in listed:
                problems.append("%s: ranges table lists %s, which has no ranges" % (QUIRKS_DOC,
                                                                                  qid))
        elif qid not in listed:
            problems.append("%s: ranges table lacks %s (%s)" % (QUIRKS_DOC, qid, want))
        elif listed[qid] != want:
            problems.append("%s: ranges table says %s: %s, the registry %s" %
                            (QUIRKS_DOC, qid, listed[qid], want))
    for qid in listed:
        if qid not in reg["quirks"]:
            problems.append("%s: ranges table lists unknown quirk %s" % (QUIRKS_DOC, qid))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("root", nargs="?",
                        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                             ".."))
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    reg = load_registry(root)

    def read(rel):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()

    quirks_doc = read(QUIRKS_DOC)
    sections = quirk_sections(quirks_doc)
    unplaced = [q for q in reg["quirks"] if q not in sections]
    if unplaced:
        fail(QUIRKS_DOC + ": no policy_docs block names " + ", ".join(unplaced) +
             " (add '<!-- policy_docs: quirk ID -->' + '" + MARK_END + "' under its section)")
    for q in sections:
        if q not in reg["quirks"]:
            fail(QUIRKS_DOC + ": policy_docs block names unknown quirk " + q)

    new = {
        README: replace_between(read(README), README_MARK, MARK_END,
                                readme_table(reg, sections), README),
        MODULE: module_text(read(MODULE), reg),
        QUIRKS_DOC: quirks_doc_text(quirks_doc, reg),
    }
    # The generated docstring must still be a module that compiles.
    compile(new[MODULE], MODULE, "exec")
    problems = check_ranges_table(quirks_doc, reg)
    stale = []
    for rel, text in new.items():
        old = read(rel)
        if old == text:
            continue
        if args.check:
            stale.append(rel)
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), "a/" + rel, "b/" + rel))
        else:
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)
            print("policy_docs.py: wrote " + rel)
    for p in problems:
        print(p)
    if stale:
        print("policy_docs.py: stale (the diff above turns them into what compat/cpython.json "
              "says): %s; run compat/tools/policy_docs.py" % ", ".join(stale))
    if stale or problems:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
