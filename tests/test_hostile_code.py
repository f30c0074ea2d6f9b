"""Hostile and faulty student code, graded as one class: loops, bombs, crashes, patches, rigged
objects, answers read from the tests, reads and writes of the course, processes, the network."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import hostile
from conftest import read_nb, run_course

pytest_generate_tests = hostile.generate_tests


class TestHostileCode(hostile.GradedClass):
    students = hostile.CODE
    regraded = ("checks-patched", "frame-peek", "os-exit")
    unusual = ("checks-patched", "os-exit", "sigint-ignored")

    def test_huge_outputs_are_capped(self, graded):
        for student in ("huge-output-bytes", "huge-output-lines"):
            path = graded.course / "autograded" / student / hostile.ASSIGNMENT / hostile.SOURCE.name
            assert path.stat().st_size < 3_000_000, student

    def test_network_never_reached_the_grading_machine(self, graded):
        assert not graded.accepted, f"{len(graded.accepted)} connections reached 127.0.0.1 from student code"

    def test_no_student_process_outlives_grading(self, graded):
        survivors = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if hostile.MARKER.encode() in cmdline:
                survivors.append(pid)
        assert not survivors, f"processes started by a submission are still running: {survivors}"

    def test_course_files_unchanged_by_students(self, graded):
        assert graded.hashes
        changed = [str(t) for t, digest in graded.hashes.items()
                   if t.name != "gradebook.db" and hashlib.sha256(t.read_bytes()).hexdigest() != digest]
        assert not changed, f"student code changed {changed}"
        assert not (graded.course / "gradebook.db").read_bytes().endswith(b"tampered")

    def test_feedback_hides_what_students_printed_of_hidden_tests(self, graded):
        proc = run_course("--root", str(graded.course), "feedback", hostile.ASSIGNMENT,
                          "--student", "prints-hidden-tests")
        assert proc.returncode == 0, proc.stderr
        [page] = (graded.course / "feedback" / "prints-hidden-tests" / hostile.ASSIGNMENT).glob("*.html")
        text = page.read_text()
        source = read_nb(hostile.SOURCE)
        block = next(c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "test-grad_f")
        secret = block.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        assert "rng = np.random.default_rng(1011)" in secret
        assert "default_rng(1011)" not in text
        assert "line of a hidden test removed" in text
