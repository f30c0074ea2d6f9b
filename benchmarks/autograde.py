"""Throughput of grading a class: plain sequential `nbgrader autograde` against `course autograde`.

The same class (STUDENTS submissions of every assignment: about half correct, a third partial,
the rest blank) is graded in two fresh copies of the course, in one run, each with one command:
once by nbgrader's own (``nbgrader autograde "*"``), one student after another (the course's
nbgrader_config.py, so its kernels are sandboxed too, each started anew as nbgrader does, every
cell run, but no re-check, no watchdog, no canary), once by `course autograde` of every
assignment with every protection on (sandbox, clean re-check, watchdog, output caps, the canaries
first) and its default --jobs; it leaves out the demo cells nothing reads (plots and explorers as
released: ``grader.recheck.recheck.without_demos``).
The scores must agree. It prints the ratio of the two wall times, and the overhead of `course
autograde` per notebook beyond the time of the cells it runs (the time a lane spends per
notebook, wall time x jobs / notebooks, less the execution time of the cells it runs, measured
once per variant in a plain kernel with the grading kernels' settings). Targets: 2.5x faster than
nbgrader, overhead at most 0.35 s per notebook.

    python benchmarks/autograde.py [STUDENTS]      (default 40)

Not a test: a loaded machine changes the absolute numbers; the ratio is measured in one run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.build import SOLUTION_MARKERS
from grader.containment.kernel_guard import KERNEL_ARGUMENTS
from grader.course import tools_on_path
from grader.grading import default_jobs
from grader.recheck.recheck import idle_demos

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO, TARGET_OVERHEAD = 2.5, 0.35
# nbgrader as it is: a kernel started anew for every notebook (the course's warm kernels,
# grader.containment.warm, are part of what `course autograde` adds).
NBGRADER_ENV = {**os.environ, "COURSE_WARM_KERNELS": "0"}


def answers(source_nb) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        ln for ln in c.source.splitlines() if ln.strip() not in SOLUTION_MARKERS)
        for c in source_nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def variant(release_nb, solved: dict[str, str], kind: str):
    """The release notebook answered: "correct" (all), "partial" (the first half), "blank" (none)."""
    nb = nbformat.from_dict(release_nb)
    keep = list(solved) if kind == "correct" else list(solved)[:len(solved) // 2] if kind == "partial" else []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in keep:
            cell.source = solved[gid]
    return nb


def kind_of(i: int) -> str:
    return ("correct", "partial", "correct", "blank", "partial", "correct")[i % 6]


def make_class(folder: Path, students: int) -> dict:
    """A course copy with the class submitted; {(assignment, notebook, kind): notebook}."""
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    variants = {}
    for src in sorted((ROOT / "source").glob("*/*.ipynb")):
        release = nbformat.read(str(ROOT / "release" / src.parent.name / src.name), as_version=4)
        solved = answers(nbformat.read(str(src), as_version=4))
        for kind in ("correct", "partial", "blank"):
            variants[(src.parent.name, src.name, kind)] = variant(release, solved, kind)
        for i in range(students):
            out = folder / "submitted" / f"student{i:02d}" / src.parent.name / src.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(variants[(src.parent.name, src.name, kind_of(i))], str(out))
    return variants


def graded_form(nb, source_nb):
    """``nb`` as both tools run it: its test and given cells taken from ``source_nb``."""
    fixed = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source_nb.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") and not c.metadata["nbgrader"].get("solution")}
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in fixed:
            cell.source = fixed[gid]
    return nb


def cell_seconds(nb, cwd: Path, skipped: set[int]) -> tuple[float, float]:
    """The notebook's own cell time, (all its cells, those ``course autograde`` runs: all but
    ``skipped``, the demo cells nothing reads): its cells executed once in a plain kernel
    (nbclient) with the grading kernels' settings (figures drawn once, as both tools draw them)."""
    nb = nbformat.from_dict(nb)
    NotebookClient(nb, timeout=120, allow_errors=True, record_timing=True,
                   extra_arguments=[*KERNEL_ARGUMENTS, "--IPKernelApp.log_level=ERROR"],
                   resources={"metadata": {"path": str(cwd)}}).execute()
    every = run_by_us = 0.0
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            took = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                    - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            every += took
            run_by_us += 0.0 if index in skipped else took
    return every, run_by_us


def scores(course: Path) -> dict[tuple[str, str], float]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "select assignment.name, submitted_assignment.student_id, "
            "sum(coalesce(grade.manual_score, grade.auto_score, 0)) from grade "
            "join submitted_notebook on grade.notebook_id = submitted_notebook.id "
            "join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id "
            "join assignment on submitted_assignment.assignment_id = assignment.id "
            "group by assignment.name, submitted_assignment.student_id").fetchall()
    return {(a, s): round(float(v), 6) for a, s, v in rows}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    students = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    jobs = default_jobs()
    tools_on_path()  # nbgrader runs `alembic` by name
    with tempfile.TemporaryDirectory() as tmp:
        plain, ours = Path(tmp) / "plain", Path(tmp) / "course"
        variants = make_class(plain, students)
        shutil.copytree(plain, ours)
        assignments = sorted({a for a, _, _ in variants})
        for a in assignments:  # the gradebook knows each assignment before grading starts (untimed)
            run([str(BIN / "nbgrader"), "generate_assignment", a, "--force"], plain)
            run([str(BIN / "nbgrader"), "generate_assignment", a, "--force"], ours)
        # Each tool grades the whole class with one command: nbgrader's takes a glob of
        # assignments, ours a list (one start, the canaries side by side).
        nbgrader_s = run([str(BIN / "nbgrader"), "autograde", "*", "--force"], plain, NBGRADER_ENV)
        course_s = run([str(BIN / "course"), "--root", str(ours), "autograde", *assignments], ours)
        notebooks = sum(1 for _ in (ours / "submitted").glob("*/*/*.ipynb"))
        theirs, mine = scores(plain), scores(ours)
        disagree = sorted(k for k in theirs.keys() | mine.keys() if theirs.get(k) != mine.get(k))
        cells = {}
        scratch = Path(tmp) / "cells"
        scratch.mkdir()
        for (a, name, kind), nb in variants.items():
            graded = graded_form(nb, nbformat.read(str(ROOT / "source" / a / name), as_version=4))
            release = nbformat.read(str(ROOT / "release" / a / name), as_version=4)
            cells[(a, name, kind)] = cell_seconds(graded, scratch, idle_demos(graded, release))
        by_notebook = [cells[(path.parent.name, path.name, kind_of(int(path.parents[1].name[7:])))]
                       for path in (ours / "submitted").glob("*/*/*.ipynb")]
        every = sum(e for e, _ in by_notebook) / notebooks
        own = sum(r for _, r in by_notebook) / notebooks
    ratio = nbgrader_s / course_s
    per_notebook = course_s * jobs / notebooks
    overhead = per_notebook - own
    print(f"{students} submissions of {len(assignments)} assignments ({notebooks} notebooks), "
          f"{os.cpu_count()} cores, course autograde --jobs {jobs}")
    print(f"plain sequential nbgrader autograde: {nbgrader_s:.1f} s "
          f"({nbgrader_s / notebooks:.2f} s per notebook)")
    print(f"course autograde (every protection): {course_s:.1f} s "
          f"({course_s / notebooks:.2f} s per notebook)")
    print(f"ratio: course autograde is {ratio:.2f}x nbgrader's speed (target {TARGET_RATIO}x)")
    print(f"cells per notebook: {every:.2f} s all of them, {own:.2f} s those course autograde runs "
          f"(demo cells nothing reads left out)")
    print(f"per notebook in one lane: {per_notebook:.2f} s, of which the cells it runs {own:.2f} s: "
          f"overhead {overhead:.2f} s (target {TARGET_OVERHEAD} s)")
    if disagree:
        first = disagree[:3]
        print(f"SCORES DISAGREE for {len(disagree)} submissions, e.g. {first}: "
              f"nbgrader {[theirs.get(k) for k in first]}, course {[mine.get(k) for k in first]}")
        return 1
    print(f"scores agree for all {len(mine)} submissions")
    return 0 if ratio >= TARGET_RATIO and overhead <= TARGET_OVERHEAD else 1


if __name__ == "__main__":
    raise SystemExit(main())
