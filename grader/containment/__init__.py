"""Containment of student code: where it runs while it is graded, and what it can reach.

Guarantees, on a Linux machine that allows namespaces (``sandbox.detect`` says what is missing):
every process that runs student code (a grading kernel, the student side of the re-check) starts
through ``sandbox.command`` or is forked warm into the same sandbox (``warm``): no network, the
course folder, the project and every private folder of the machine hidden, only the Python
environment, the course packages the kernel's interpreter imports and the submission's folder shown
(read-only), a private ``/tmp`` and kernel folder as its only writable places, an unused user id of
its own (as root), resource limits, and a pid namespace that takes everything a student started
with it when it ends.

- ``sandbox``: the namespaces, mounts, user id and limits (runs as ``python -m`` inside them);
- ``kernels``: the kernel manager nbgrader uses, every kernel started in the sandbox;
- ``warm``: kernels and student sides forked, imports done, from a process that never runs
  student code, each into new namespaces and the sandbox (``fork_sandboxed``), as root only;
- ``kernel_guard``: loaded into every grading kernel (warnings on stdout, never stderr).

Imports go one way: ``grader.cli`` -> ``grader.grading`` (and ``grader.preprocessors``) ->
``grader.containment`` / ``grader.recheck`` -> ``helpers``. Nothing here imports ``grader.cli``,
``grader.grading``, ``grader.course`` or ``grader.recheck``.
"""
