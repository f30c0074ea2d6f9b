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
    course.api  # noqa: B018 - nbgrader imported now, while the canary runs, not at the first student
    for line in sys.stdin:
        assignment, student = json.loads(line)
        result = course.api.autograde(assignment, student, force=True, create=True)
        os.write(out, (json.dumps({"success": bool(result["success"]),
                                   "log": str(result.get("log") or "")}) + "\n").encode())
    warm.close_all()  # the lane's warm kernels end with it


if __name__ == "__main__":
    main(*sys.argv[1:3])
