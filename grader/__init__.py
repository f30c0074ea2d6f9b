"""Instructor tooling: the `course` command over nbgrader (build, autograde, feedback, export)."""
