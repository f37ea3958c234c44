#!/usr/bin/env python3
"""Mutation testing: does the suite catch the one-line bugs in tests/mutants/mutants.txt?

For each mutant, in a scratch copy of the tree (build-mutants/src, refreshed from the working
tree so uncommitted changes count): apply the bug, rebuild (incrementally: one file and the
links), run the whole CTest suite, stopping at the first failure, and restore the file. A mutant
is killed when a test fails, survives when all pass, and is void when it does not compile. The
unmutated tree must build and pass first, or nothing is measured.

    tests/mutants/run.py [--build build-mutants] [--only NAME,NAME] [--check] [--jobs N]

--check only verifies that every mutant's original text occurs exactly once in its file.
Prints one line per mutant and a summary, writes the same as Markdown to
<build>/mutants-report.md, and exits 1 when a mutant survived (or was stale), else 0.
`make mutants` runs it; it takes about a minute per mutant on two cores.
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIST = os.path.join(ROOT, "tests", "mutants", "mutants.txt")


def parse(path):
    mutants, current = [], None
    for number, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        if line.startswith("## "):
            name, _, what = line[3:].partition(": ")
            current = {"name": name.strip(), "what": what.strip(), "line": number}
            mutants.append(current)
        elif current is None or not line.strip() or line.startswith("#"):
            continue
        elif line.startswith("file: "):
            current["file"] = line[len("file: "):].strip()
        elif line.startswith("- "):
            current["old"] = line[2:]
        elif line.startswith("+ "):
            current["new"] = line[2:]
        else:
            sys.exit(f"{path}:{number}: expected 'file: ', '- ' or '+ ', got {line!r}")
    for m in mutants:
        missing = [k for k in ("file", "old", "new") if k not in m]
        if missing:
            sys.exit(f"{path}:{m['line']}: mutant {m['name']} has no {', '.join(missing)}")
    names = [m["name"] for m in mutants]
    if len(set(names)) != len(names):
        sys.exit(f"{path}: mutant names repeat")
    return mutants


def occurrences(text, old):
    return sum(1 for line in text.splitlines() if line == old)


def sync_tree(src):
    """Copies the working tree's files that git knows (tracked, or untracked and not ignored)
    into src, leaving unchanged files untouched so the rebuild stays incremental."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        origin, copy = os.path.join(ROOT, rel), os.path.join(src, rel)
        if not os.path.isfile(origin):
            continue
        if os.path.exists(copy) and filecmp.cmp(origin, copy, shallow=False):
            continue
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copy2(origin, copy)
    # The ONNX Runtime suite reads npm's package from the source tree (make test installs it).
    modules = os.path.join(ROOT, "tests", "onnx", "node_modules")
    link = os.path.join(src, "tests", "onnx", "node_modules")
    if os.path.isdir(modules) and not os.path.exists(link):
        os.symlink(modules, link)


def build(build_dir, jobs):
    r = subprocess.run(["cmake", "--build", build_dir, "-j", str(jobs)], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def run_suite(build_dir, jobs):
    r = subprocess.run(["ctest", "--stop-on-failure", "-j", str(jobs), "--timeout", "900"], cwd=build_dir,
                       capture_output=True, text=True)
    failed = re.findall(r"^\s*\d+ - (\S+) \(", r.stdout, re.MULTILINE)
    return r.returncode == 0, failed, r.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-mutants"))
    parser.add_argument("--only", default="", help="mutant names, comma-separated")
    parser.add_argument("--check", action="store_true", help="only check that every mutant applies")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    mutants = parse(LIST)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m["name"] for m in mutants}
        if unknown:
            sys.exit(f"unknown mutants: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["name"] in wanted]

    stale = []
    for m in mutants:
        count = occurrences(open(os.path.join(ROOT, m["file"]), encoding="utf-8").read(), m["old"])
        if count != 1:
            stale.append(m)
            print(f"stale: {m['name']}: its line occurs {count} times in {m['file']}")
    if args.check or stale:
        print(f"{len(mutants) - len(stale)} of {len(mutants)} mutants apply")
        return 1 if stale else 0

    src, build_dir = os.path.join(args.build, "src"), os.path.join(args.build, "build")
    os.makedirs(src, exist_ok=True)
    sync_tree(src)
    subprocess.run(["cmake", "-S", src, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   capture_output=True)
    ok, log = build(build_dir, args.jobs)
    if not ok:
        sys.exit("the unmutated tree does not build:\n" + log[-3000:])
    ok, failed, _ = run_suite(build_dir, args.jobs)
    if not ok:
        sys.exit(f"the unmutated tree fails {', '.join(failed)}: nothing can be measured")

    results = []
    started = time.time()
    for k, m in enumerate(mutants, 1):
        path = os.path.join(src, m["file"])
        original = open(path, encoding="utf-8").read()
        mutated = "\n".join(m["new"] if line == m["old"] else line for line in original.split("\n"))
        clock = time.time()
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(mutated)
            compiled, _ = build(build_dir, args.jobs)
            if compiled:
                passed, failed, _ = run_suite(build_dir, args.jobs)
                verdict = "SURVIVED" if passed else "killed"
                by = ", ".join(failed) if failed else ("" if passed else "(a test failed)")
            else:
                verdict, by = "void", "did not compile"
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
        results.append((m, verdict, by, time.time() - clock))
        print(f"[{k}/{len(mutants)}] {verdict:8} {m['name']}: {by} ({time.time() - clock:.0f} s)", flush=True)
    build(build_dir, args.jobs)  # leave the scratch build unmutated

    killed = sum(1 for _, v, _, _ in results if v == "killed")
    survived = [m["name"] for m, v, _, _ in results if v == "SURVIVED"]
    void = sum(1 for _, v, _, _ in results if v == "void")
    summary = (f"{killed} of {len(results) - void} mutants killed"
               + (f", {void} did not compile" if void else "")
               + (f"; survived: {', '.join(survived)}" if survived else "")
               + f" ({(time.time() - started) / 60:.0f} min)")
    print(summary)
    with open(os.path.join(args.build, "mutants-report.md"), "w", encoding="utf-8") as f:
        f.write("| mutant | bug | file | result | failing tests |\n|---|---|---|---|---|\n")
        for m, verdict, by, _ in results:
            f.write(f"| {m['name']} | {m['what']} | {m['file']} | {verdict} | {by} |\n")
        f.write(f"\n{summary}\n")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
