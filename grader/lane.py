"""One lane of ``course autograde``: nbgrader's autograde, one student after another.

Run by ``grading.Worker`` as ``python -P -m grader.lane ROOT LOG_LEVEL``: it reads
``[assignment, student]`` pairs (JSON lines) on stdin and writes nbgrader's result for each (a
JSON line) on stdout.
Its kernels' zygote (``grader.containment.warm``) is started first, so that it imports while
this process imports nbgrader.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from grader.containment import kernels, warm


def main(root: str, log_level: str) -> None:
    out = os.dup(1)
    os.dup2(2, 1)  # whatever nbgrader or a library prints must not mix with the results
    sys.stdout = sys.stderr
    kernels.prestart()
    from grader.course import Course  # nbgrader: a second to import

    course = Course(Path(root), log_level=int(log_level))
    configure(course.config)
    _gradebook_opened_once()
    course.api  # noqa: B018 - nbgrader imported now, while the canary runs, not at the first student
    for line in sys.stdin:
        assignment, student = json.loads(line)
        result = course.api.autograde(assignment, student, force=True, create=True)
        os.write(out, (json.dumps({"success": bool(result["success"]),
                                   "log": str(result.get("log") or "")}) + "\n").encode())
    warm.close_all()  # the lane's warm kernels end with it


def configure(config) -> None:
    """nbgrader's configuration as a lane runs it."""
    # nbconvert validates the notebook after each of nbgrader's fourteen preprocessors; once, at
    # the end, is enough (an invalid result is still traced to the preprocessor that made it).
    config.Exporter.optimistic_validation = True
    # Demo cells that nothing else reads cannot change a score: not run, unless the course says so.
    if "skip_demos" not in config.GuardedExecute:
        config.GuardedExecute.skip_demos = True


def _gradebook_opened_once() -> None:
    """nbgrader opens the gradebook about ten times per notebook, each time with a new database
    engine that checks every table (4 ms here): in a lane, one engine per database, its tables
    checked the first time."""
    from nbgrader import api

    engines: dict = {}
    checked: set[int] = set()
    new_engine, create_all = api.create_engine, api.Base.metadata.create_all

    def engine(url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = new_engine(url, **kwargs)
        return engines[key]

    def tables(bind=None, **kwargs):
        if id(bind) not in checked:
            create_all(bind=bind, **kwargs)
            checked.add(id(bind))

    api.create_engine = engine
    api.Base.metadata.create_all = tables


if __name__ == "__main__":
    main(*sys.argv[1:3])
