"""Handing work out and back: release an assignment, return feedback, bundle it for a class off JupyterHub.

Release and return go through nbgrader's exchange (its ``release_assignment`` and
``release_feedback``), the folder JupyterHub students fetch from, so the formgrader shows the
assignment as released. The exchange is ``NBGRADER_EXCHANGE`` when set; else nbgrader_config.py's
(``/srv/nbgrader/exchange``) when that folder exists; else the course's own ``.exchange/``, the
one `make lab` gives its formgrader.

A bundle is a zip a student opens anywhere: the release notebooks, the ``helpers`` package (its
Python files, nothing of grader/, source/ or notebooks/) and a README whose one set-up line is
``python -m pip install .``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from grader.course import Course, CourseError

EXCHANGE_ENV = "NBGRADER_EXCHANGE"
OWN_EXCHANGE = ".exchange"
BUNDLES = "bundles"
# The packages a student's notebook imports (the course's pyproject holds the instructor's too).
STUDENT_REQUIREMENTS = ("numpy>=1.26,<3", "matplotlib>=3.8,<4", "ipywidgets>=8.1,<9", "jupyterlab>=4.4,<5")
BUNDLE_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "course-helpers"
version = "1.0"
description = "The helpers package of the course's notebooks"
requires-python = ">=3.11"
dependencies = [{requirements}]

[tool.setuptools]
packages = ["helpers"]
"""
BUNDLE_README = """\
# {assignment}

Set up once (Python 3.11 or newer; in a virtual environment if you like):

    python -m pip install .

Then open the notebook: `jupyter lab {first}`. Replace every `raise NotImplementedError()` with
your code and run the checks under each exercise. Hand in {notebooks} as your instructor asks.
"""


def exchange_root(course: Course) -> Path:
    """The exchange the course's commands use (module docstring); created if it is the course's own."""
    if os.environ.get(EXCHANGE_ENV):
        return Path(os.environ[EXCHANGE_ENV])
    configured = Path(str(course.config.Exchange.get("root", "/srv/nbgrader/exchange")))
    if configured.is_dir():
        return configured
    own = course.root / OWN_EXCHANGE
    own.mkdir(exist_ok=True)
    if not (own / ".gitignore").exists():
        (own / ".gitignore").write_text("*\n")
    return own


def _use_exchange(course: Course) -> Path:
    root = exchange_root(course)
    if not root.is_dir() or not os.access(root, os.W_OK | os.X_OK):
        raise CourseError(f"the exchange {root} is missing or not writable: create it (writable by "
                          f"every student, as nbgrader asks) or set {EXCHANGE_ENV}")
    course.config.Exchange.root = str(root)
    return root


def _log_error(result: dict, what: str) -> str:
    for line in (result.get("log") or "").splitlines():
        if line.startswith(("[ERROR]", "[CRITICAL]")):
            return line.split("]", 1)[1].strip()
    error = (result.get("error") or "").strip().splitlines()
    return error[-1] if error else f"nbgrader's {what} failed (see the log with --verbose)"


def release(course: Course, assignment: str, force: bool = False) -> Path:
    """Put release/ASSIGNMENT into the exchange; the folder students fetch it from."""
    from grader.grading import ensure_in_gradebook

    course.require_assignment(assignment)
    if not any((course.root / "release" / assignment).glob("*.ipynb")):
        raise CourseError(f"release/{assignment} has no notebook: run `course build` first")
    root = _use_exchange(course)
    ensure_in_gradebook(course, assignment)  # the formgrader lists it
    result = _release_forced(course, assignment) if force else course.api.release_assignment(assignment)
    if not result["success"]:
        raise CourseError(f"release of {assignment} failed: {_log_error(result, 'release_assignment')}")
    if assignment not in course.api.get_released_assignments():
        raise CourseError(f"{assignment} was copied but nbgrader does not list it as released")
    return root / course.config.CourseDirectory.course_id / "outbound" / assignment


def _release_forced(course: Course, assignment: str) -> dict:
    """release_assignment --force: students who fetched it already keep their copy."""
    from nbgrader.utils import capture_log, temp_attrs

    api = course.api
    with temp_attrs(api.coursedir, assignment_id=assignment):
        app = api.exchange.ReleaseAssignment(coursedir=api.coursedir, authenticator=api.authenticator,
                                             parent=api)
        app.force = True
        return capture_log(app)


def return_feedback(course: Course, assignment: str, students: list[str] | None = None):
    """Write every graded student's feedback (``course feedback``) and release it to the exchange.

    Returns (released, unreleased): student ids, and (student, why) for feedback that cannot go
    through the exchange (a submission that did not come through it has no submission secret).
    """
    from grader.grading import feedback

    course.require_assignment(assignment)
    _use_exchange(course)
    files = feedback(course, assignment, students)
    released, unreleased = [], []
    for student in sorted({path.parts[-3] for path in files}):
        folder = course.root / "feedback" / student / assignment
        missing = [n for n in ("submission_secret.txt", "timestamp.txt") if not (folder / n).is_file()]
        if missing:
            unreleased.append((student, f"no {missing[0]}: not submitted through the exchange; "
                                        f"hand over feedback/{student}/{assignment}/ another way"))
            continue
        result = course.api.release_feedback(assignment, student)
        if result["success"]:
            released.append(student)
        else:
            unreleased.append((student, _log_error(result, "release_feedback")))
    return released, unreleased


def _helpers_folder(course: Course) -> Path:
    """The course's own helpers/ (a checkout), else the helpers package that grading kernels
    import (a course folder kept apart from the installed checkout)."""
    import sys

    from grader.containment import kernels

    candidates = [course.root / "helpers",
                  *(Path(f) for f in kernels.packages_seen_by(sys.executable)[1].get("helpers", ()))]
    for folder in candidates:
        if (folder / "__init__.py").is_file():
            return folder
    raise CourseError(f"no helpers package found: neither {course.root / 'helpers'} nor one that "
                      f"{sys.executable} imports")


def bundle(course: Course, assignment: str, dest: Path | None = None) -> Path:
    """Zip release/ASSIGNMENT, helpers/ and a README for a student without JupyterHub; the zip."""
    course.require_assignment(assignment)
    release_dir = course.root / "release" / assignment
    notebooks = sorted(release_dir.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"release/{assignment} has no notebook: run `course build` first")
    helpers = _helpers_folder(course)
    dest = Path(dest) if dest else course.root / BUNDLES / f"{assignment}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    skip = {".ipynb_checkpoints", "__pycache__"}
    members = {}  # name in the zip -> bytes
    for path in sorted(release_dir.rglob("*")):
        if path.is_file() and not skip.intersection(path.parts):
            members[f"{assignment}/{path.relative_to(release_dir)}"] = path.read_bytes()
    for path in sorted(helpers.glob("*.py")):  # the package's modules only: no caches, no tests
        members[f"{assignment}/helpers/{path.name}"] = path.read_bytes()
    requirements = ", ".join(f'"{r}"' for r in STUDENT_REQUIREMENTS)
    members[f"{assignment}/pyproject.toml"] = BUNDLE_PYPROJECT.format(requirements=requirements).encode()
    names = ", ".join(p.name for p in notebooks)
    members[f"{assignment}/README.md"] = BUNDLE_README.format(
        assignment=assignment, first=notebooks[0].name, notebooks=names).encode()
    tmp = dest.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same bytes every time
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(dest)
    return dest
