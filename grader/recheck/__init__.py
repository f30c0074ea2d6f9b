"""The clean re-check: every graded notebook run again with tests and student code apart.

Guarantees: the given and test cells run in a trusted process (``runner``), taken from
``source/``, never from the submission; student code runs in another, sandboxed process
(``student_side``, through ``grader.containment``); only data crosses between them
(``bridge``: numbers, arrays, lists, dicts, random generators, references; nothing pickled), and
the runner alone decides whether each check passed. Whatever student code changes on its own
side (NumPy, the checks, builtins, the process, the pipe) cannot make a check pass; what it
changed is reported. ``recheck.run`` re-checks one notebook and returns its ``recheck.Result``.
It re-runs what can still matter (``recheck.until_last``): since it only ever lowers nbgrader's
score, stubs left as released and the tests nbgrader failed after them are not run twice. Test
runners are forked from a ``recheck.WarmRunner`` (imports done once; it never runs a job itself),
and, where the sandbox runs as root, so are their student sides, each into a sandbox of its own
(``grader.containment.warm``) and ending with its runner.

- ``recheck``: the plan of cells, ``run`` and what both child processes share;
- ``runner``: the test runner (``python -m grader.recheck.runner``);
- ``student_side``: the student's process (``python -m grader.recheck.student_side FD``);
- ``bridge``: the data-only wire between them.

Imports go one way: ``grader.grading`` -> ``grader.recheck`` -> ``grader.containment`` ->
``helpers``. Nothing here imports ``grader.cli``, ``grader.grading`` or ``grader.course``.
"""
