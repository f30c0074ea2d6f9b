"""Instructor tooling: the `course` command over nbgrader (build, autograde, feedback, export)."""

import sys

# jsonschema (imported by nbformat and nbgrader) imports rfc3987_syntax whenever it is installed
# (jupyter-events asks for it), and that module compiles 39 grammars as it is imported: a second
# of start-up for every grading process. Neither nbformat nor nbgrader checks string formats;
# without the module jsonschema simply has no "iri" format check.
sys.modules.setdefault("rfc3987_syntax", None)
