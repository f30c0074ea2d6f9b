"""What grading a student costs: nbgrader alone, the clean re-check, and `course autograde`.

A class of solved submissions of every assignment is graded in a temporary copy of the course.
For each assignment it prints seconds per student for nbgrader's autograde alone (in the
worker process `course autograde` uses), for the re-check alone, and for the whole command,
which runs the re-check of one student while nbgrader grades the next; the ratio of the whole
to nbgrader alone is what hardening costs on this machine. Target: under 2x.

    python benchmarks/grading_times.py [STUDENTS]     (default 4 per assignment)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader import grading
from grader.build import SOLUTION_MARKERS
from grader.course import Course
from grader.recheck import recheck

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.0


def solved(source_nb, release_nb):
    answers = {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        ln for ln in c.source.splitlines() if ln.strip() not in SOLUTION_MARKERS)
        for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release_nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid]
    return release_nb


def make_course(folder: Path, students: int) -> Course:
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    for src in sorted((ROOT / "source").glob("*/*.ipynb")):
        release = ROOT / "release" / src.parent.name / src.name
        nb = solved(nbformat.read(str(src), as_version=4), nbformat.read(str(release), as_version=4))
        for i in range(students):
            out = folder / "submitted" / f"student{i:02d}" / src.parent.name / src.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(out))
    return Course(folder)


def main() -> int:
    students = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    over = 0
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp) / "course", students)
        names = course.submitted_students(course.assignments()[0])
        for assignment in course.assignments():
            grading.ensure_in_gradebook(course, assignment)
            start = time.perf_counter()
            worker = grading.Worker(course, assignment)
            for name in names:
                worker.grade(name, 600)
            worker.close()
            alone = (time.perf_counter() - start) / len(names)
            [src] = course.notebooks(assignment)
            start = time.perf_counter()
            for name in names:
                recheck.run(src, course.root / "submitted" / name / assignment / src.name,
                            course.root / "autograded" / name / assignment, course.root, 60)
            rechecked = (time.perf_counter() - start) / len(names)
            start = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "course"), "--root", str(course.root),
                            "autograde", assignment], capture_output=True, check=True)
            whole = (time.perf_counter() - start) / len(names)
            ratio = whole / alone
            flag = "" if ratio < TARGET_RATIO else f"  OVER the {TARGET_RATIO:.0f}x target"
            over += bool(flag)
            print(f"{assignment}: nbgrader {alone:.2f} s, re-check {rechecked:.2f} s, "
                  f"course autograde {whole:.2f} s per student: {ratio:.2f}x nbgrader alone{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
