"""A lane of `course autograde`: nbgrader's gradebook opened once per database, still correct."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_lane_opens_each_gradebook_once_and_it_still_works(tmp_path):
    # In a process of its own: the lane changes nbgrader's module for the rest of its life.
    code = textwrap.dedent(f"""
        from nbgrader import api
        from grader import lane
        from grader.course import tools_on_path
        tools_on_path()
        lane._gradebook_opened_once()
        url = "sqlite:///{tmp_path / 'gradebook.db'}"
        with api.Gradebook(url, "c") as gb:
            gb.add_student("ada")
            first = gb.engine
        with api.Gradebook(url, "c") as gb:
            assert gb.engine is first, "a second engine for the same database"
            assert [s.id for s in gb.students] == ["ada"]
        other = "sqlite:///{tmp_path / 'other.db'}"
        with api.Gradebook(other, "c") as gb:
            assert gb.engine is not first and gb.students == []
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_a_lane_leaves_out_idle_demo_cells_unless_the_course_says_otherwise():
    from traitlets.config import Config

    from grader import lane

    default, told = Config(), Config()
    told.GuardedExecute.skip_demos = False
    lane.configure(default)
    lane.configure(told)
    assert default.GuardedExecute.skip_demos is True and default.Exporter.optimistic_validation is True
    assert told.GuardedExecute.skip_demos is False
