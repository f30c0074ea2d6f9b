"""A course folder on disk: its nbgrader configuration, assignments and nbgrader API object."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
# The student id under which `course autograde` grades the instructor's solution first (then removes it).
CANARY_STUDENT = "__instructor_solution__"
# The gradebook of a class shared by several graders (a PostgreSQL URL); SQLite in the course
# folder when it is unset and nbgrader_config.py gives none.
DB_URL_VARIABLE = "COURSE_DB_URL"


def tools_on_path() -> None:
    """nbgrader runs `alembic` by name: make this environment's scripts findable without activating."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class CourseError(Exception):
    """A problem the instructor can fix; the CLI prints its message as one line."""


def gradebook_url(url: str) -> str:
    """``url`` as SQLAlchemy 2 can open it: a plain ``postgresql://`` (or ``postgres://``) names the
    driver that is installed (psycopg2, else psycopg 3); other URLs are returned unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util

    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://{rest}"
    raise CourseError(f"the gradebook {scheme}://... needs a PostgreSQL driver: "
                      "pip install psycopg2-binary (or psycopg)")


def env_gradebook_url() -> str | None:
    """The gradebook URL given by the environment (``COURSE_DB_URL``), normalised; None if unset."""
    url = os.environ.get(DB_URL_VARIABLE, "").strip()
    return gradebook_url(url) if url else None


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current one) with nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / "source").is_dir():
            return folder
    raise CourseError(
        f"no course found at or above {here}: expected a folder with {CONFIG_FILE} and source/ "
        "(pass --root)"
    )


@dataclass
class Course:
    """The course rooted at ``root``: source/, release/, notebooks/, submitted/ and so on."""

    root: Path
    log_level: int = logging.WARNING
    _config: Config | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if not (self.root / CONFIG_FILE).is_file():
            raise CourseError(f"{self.root} has no {CONFIG_FILE}: not a course folder")
        if not (self.root / "source").is_dir():
            raise CourseError(f"{self.root} has no source/ folder: not a course folder")

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                cfg = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
            except Exception as err:  # noqa: BLE001 - any error in the user's config file
                raise CourseError(f"cannot read {self.root / CONFIG_FILE}: {err}") from err
            cfg.CourseDirectory.root = str(self.root)
            if "db_url" in cfg.CourseDirectory:
                cfg.CourseDirectory.db_url = gradebook_url(cfg.CourseDirectory.db_url)
            elif env_gradebook_url():
                cfg.CourseDirectory.db_url = env_gradebook_url()
            else:
                # Students are graded side by side, each by its own nbgrader process: an SQLite
                # writer waits for the others' commits (up to two minutes) instead of failing.
                db = self.root / "gradebook.db"
                cfg.CourseDirectory.db_url = f"sqlite:///{db}?timeout=120"
            cfg.NbGraderAPI.log_level = self.log_level
            self._config = cfg
        return self._config

    @cached_property
    def api(self):
        """nbgrader's own Python API, configured for this course."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        tools_on_path()
        coursedir = CourseDirectory(config=self.config)
        return NbGraderAPI(coursedir=coursedir, config=self.config)

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    def assignments(self) -> list[str]:
        """Assignment ids: the folders of source/ that hold at least one notebook, sorted."""
        return sorted(
            p.name
            for p in self.source_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
        )

    def notebooks(self, assignment: str) -> list[Path]:
        """The source notebooks of ``assignment``, sorted."""
        return sorted((self.source_dir / assignment).glob("*.ipynb"))

    def require_assignment(self, assignment: str) -> None:
        if assignment not in self.assignments():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(f"unknown assignment {assignment!r} (known: {known})")

    def submitted_students(self, assignment: str) -> list[str]:
        """Students with a folder submitted/<student>/<assignment>/, sorted."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir()
                      if (p / assignment).is_dir() and p.name != CANARY_STUDENT)
