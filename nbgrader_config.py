"""nbgrader configuration of the course, read by `nbgrader`, the formgrader and `course`.

Paths are relative to the folder holding this file, so the course works from any copy of it.
Override the exchange (where JupyterHub classes release and collect) with NBGRADER_EXCHANGE.
"""

import os

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-foundations"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Student submissions are graded from here; committed notebooks are under source/ and release/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Shared folder for nbgrader's release/fetch/submit/collect (JupyterHub classes).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Grading: a cell gets this many seconds before it is interrupted and marked as an error.
c.Execute.timeout = 60
c.Execute.kernel_name = "python3"
c.Execute.interrupt_on_timeout = True
# A student who deletes a test cell gets it back from the gradebook instead of escaping it.
c.OverwriteCells.add_missing_cells = True
# Keep huge outputs out of graded notebooks and feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# Student stub for every solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
