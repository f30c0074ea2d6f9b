"""nbgrader configuration of the course, read by `nbgrader`, the formgrader and `course`.

Paths are relative to the folder holding this file, so the course works from any copy of it.
Override the exchange (where JupyterHub classes release and collect) with NBGRADER_EXCHANGE.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import (
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grader.containment.kernel_guard import KERNEL_ARGUMENTS
from grader.course import env_gradebook_url
from grader.deadlines import SharePerDayLate
from grader.feedback import HideServerPaths
from grader.preprocessors import (
    CheckCellMetadataOnce,
    DropInstructorMetadata,
    GuardedExecute,
    HideHiddenTests,
    LimitOutputBytes,
    NormalizeSubmission,
)

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-foundations"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Student submissions are graded from here; committed notebooks are under source/ and release/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Shared folder for nbgrader's release/fetch/submit/collect (JupyterHub classes).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# A class's shared gradebook (PostgreSQL, hub/): COURSE_DB_URL, for nbgrader, the formgrader and
# `course` alike. Unset: `course` uses gradebook.db (SQLite) in the course folder.
if env_gradebook_url():
    c.CourseDirectory.db_url = env_gradebook_url()

# Grading: a cell gets this many seconds before it is interrupted and marked as an error.
c.Execute.timeout = 60
c.Execute.kernel_name = "python3"
c.Execute.interrupt_on_timeout = True
# Grading kernels run in grader.containment.sandbox (no network, the course hidden, user nobody, limits).
c.SandboxedKernelManager.course_root = c.CourseDirectory.root
# Warnings go to stdout in grading kernels: nbgrader zeroes a test cell for any stderr output,
# and a correct answer must not lose points to a harmless DeprecationWarning.
c.Execute.extra_arguments = KERNEL_ARGUMENTS
# `course autograde` leaves out the demo cells, as released, that no other cell reads (plots,
# explorers: most of a notebook's time; no score depends on them), and says so in their output.
# To run every cell, plots in feedback included (plain `nbgrader autograde` always does):
# c.GuardedExecute.skip_demos = False
# A student who deletes a test cell gets it back from the gradebook instead of escaping it.
c.OverwriteCells.add_missing_cells = True
# Keep huge outputs out of graded notebooks and feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50
# ... and in bytes: nbgrader counts lines only, so 10 MB printed on one line would be kept whole.
c.LimitOutputBytes.max_cell_bytes = 100_000
c.LimitOutputBytes.max_notebook_bytes = 1_000_000
# Edited metadata, split or duplicated cells and pasted cells must not stop grading.
c.Autograde.sanitize_preprocessors = [
    NormalizeSubmission, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
    CheckCellMetadataOnce,
]
c.Autograde.autograde_preprocessors = [
    GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, LimitOutputBytes,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadataOnce,
]
# Feedback never shows hidden tests: their code is removed and their failures become one line.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, HideServerPaths, CSSHTMLHeaderPreprocessor]


# ... nor the grading machine's folders (a traceback shows helpers/checks.py).
c.HideServerPaths.course_root = c.CourseDirectory.root

# The release carries no instructor metadata (the lecture files a topic draws on).
c.GenerateAssignment.preprocessors = [*GenerateAssignment().preprocessors, DropInstructorMetadata]

# Student stub for every solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Late work (grader.deadlines). Due dates: `course assignment A --due 'YYYY-MM-DD HH:MM'` records one
# in the gradebook, or list them here (copied into the gradebook before each `course autograde`):
# c.Deadlines.due = {"01_gradients": "2027-01-15 23:59"}
# A due date without a zone is in this one (UTC unless changed; "Europe/Berlin", "+01:00", ...).
c.Deadlines.timezone = "UTC"
# nbgrader's late-penalty plugin: a share of each late notebook's score per started day late
# (timestamp.txt of the submission against the due date), at most max_share.
c.AssignLatePenalties.plugin_class = SharePerDayLate
c.SharePerDayLate.share_per_day = 0.1
c.SharePerDayLate.max_share = 1.0
c.SharePerDayLate.grace_minutes = 0
