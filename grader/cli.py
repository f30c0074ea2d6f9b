"""The ``course`` command: build the editions, grade a class, give feedback, export grades."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import select
import sys
from pathlib import Path

from grader.course import Course, CourseError, find_root, tools_on_path


def _common_options(parser: argparse.ArgumentParser, default) -> None:
    """--root, --verbose, --debug: before the command and after it (``course autograde A --root D``)."""
    parser.add_argument("--root", type=Path, default=default(None),
                        help="course folder (default: the nearest one at or above the current folder)")
    parser.add_argument("--verbose", action="store_true", default=default(False),
                        help="show nbgrader's log")
    parser.add_argument("--debug", action="store_true", default=default(False),
                        help="show tracebacks of internal errors")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Instructor tooling for the course, on top of nbgrader.",
    )
    _common_options(parser, default=lambda value: value)
    # After the command the same options again; SUPPRESS keeps a value given before the command
    # when it is not repeated after it.
    common = argparse.ArgumentParser(add_help=False)
    common_group = common.add_argument_group("options of every command")
    _common_options(common_group, default=lambda value: argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])  # every command, later ones too

    p = sub.add_parser("build", help="generate release/ and notebooks/ from source/")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 naming the files that a build would change "
                        "(byte for byte, outputs included)")
    p.add_argument("--no-execute", action="store_true",
                   help="do not execute the self-study notebooks (faster; no outputs; with "
                        "--check: their outputs are not compared)")

    p = sub.add_parser("autograde", help="autograde submitted/<student>/ASSIGNMENT for every student "
                                         "(several assignments: in one run)")
    p.add_argument("assignment", nargs="+")
    p.add_argument("--student", action="append", default=None,
                   help="grade only this student (repeatable)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="students graded side by side (default: the number of cores)")

    p = sub.add_parser("feedback", help="write HTML feedback for every autograded submission")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None,
                   help="write it only for this student (repeatable)")

    p = sub.add_parser("export", help="export all grades to CSV, or for Canvas's or Moodle's gradebook")
    p.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv",
                   help="csv: every grade, one row per student and assignment (nbgrader's CSV, "
                        "with status columns); canvas, moodle: one row per student, one column per "
                        "assignment, for the LMS's gradebook import (default: csv)")
    p.add_argument("--output", type=Path, default=None,
                   help="CSV file to write (default: grades.csv, grades-canvas.csv or "
                        "grades-moodle.csv in the current folder)")

    p = sub.add_parser("students", help="the class roster in the gradebook")
    students = p.add_subparsers(dest="students_command", required=True, metavar="ACTION")
    p = students.add_parser("import", parents=[common],
                            help="add or update students from a CSV file (columns id, first_name, "
                                 "last_name, email, lms_user_id)")
    p.add_argument("roster", type=Path, metavar="ROSTER.csv")

    p = sub.add_parser("summary", help="per-exercise results of a class, hardest first")
    p.add_argument("assignment")

    p = sub.add_parser("report", help="one HTML page on a class: distribution, tests, mistakes, "
                                      "late work; without ASSIGNMENT, the whole term")
    p.add_argument("assignment", nargs="?", default=None)
    p.add_argument("--output", type=Path, default=None,
                   help="HTML file to write (default: report-ASSIGNMENT.html, or report-term.html, "
                        "in the current folder)")

    p = sub.add_parser("assignment", help="show an assignment's due date, or set it with --due")
    p.add_argument("assignment")
    p.add_argument("--due", default=None, metavar="'YYYY-MM-DD HH:MM'",
                   help="the due date, in UTC unless followed by a zone ('... Europe/Berlin', "
                        "'... +01:00') or c.Deadlines.timezone says otherwise; 'none' removes it")

    p = sub.add_parser("release", help="put release/ASSIGNMENT into nbgrader's exchange for students")
    p.add_argument("assignment")
    p.add_argument("--force", action="store_true",
                   help="release again over an earlier release (students who fetched it keep theirs)")

    p = sub.add_parser("return", help="write feedback and release it to students through the exchange")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=None,
                   help="return it only to this student (repeatable)")

    p = sub.add_parser("bundle", help="zip of ASSIGNMENT for a class without JupyterHub (notebook, "
                                      "helpers, set-up)")
    p.add_argument("assignment")
    p.add_argument("--output", type=Path, default=None,
                   help="zip file to write (default: bundles/ASSIGNMENT.zip in the course)")

    p = sub.add_parser("validate", help="run a notebook's tests as the grader will; exit 1 if any fails")
    p.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    return parser


def _cmd_build(course: Course, args) -> int:
    from grader.build import build, stale_files

    if args.check:
        stale = stale_files(course, run=not args.no_execute)
        if stale:
            print("out of date with source/ (run `course build`):")
            for rel in stale:
                print(f"  {rel}")
            return 1
        print("release/, notebooks/ and index.ipynb are up to date with source/")
        return 0
    build(course, run=not args.no_execute, log=lambda msg: print(f"building {msg}"))
    return 0


def _cmd_autograde(course: Course, args) -> int:
    from grader import deadlines
    from grader.containment import sandbox
    from grader.grading import autograde_all

    assignments = list(dict.fromkeys(args.assignment))
    for assignment in assignments:
        course.require_assignment(assignment)  # a typo is one line, before anything else
    protections = sandbox.detect()
    for gap in protections.missing:
        print(f"warning: grading without full protection: {gap}", file=sys.stderr)
    if protections.namespaces:
        print("student code runs sandboxed: " + ("its own user id, " if protections.separate_user else "")
              + "no network, the course hidden, resource limits", file=sys.stderr)
    if args.jobs is not None and args.jobs < 1:
        raise CourseError(f"--jobs must be at least 1, not {args.jobs}")
    for assignment in assignments:
        deadlines.sync(course, assignment)  # a due date from nbgrader_config.py, before grading
    results = autograde_all(course, assignments, args.student, progress=sys.stderr.isatty(),
                            jobs=args.jobs, log=lambda line: print(line, file=sys.stderr, flush=True))
    failed = 0
    for assignment, outcomes in results.items():
        late = {item.student: item for item in deadlines.settle(course, assignment)}
        if len(results) > 1:
            print(f"{assignment}:")
        if not outcomes:
            print("no submissions of the students named")
            continue
        width = max(len(o.student) for o in outcomes)
        for o in outcomes:
            status = o.status + (f": {o.problem}" if o.problem else "")
            if o.student in late:
                status += f" ({late[o.student].text})"
            print(f"{o.student:<{width}}  {o.score:6.2f} / {o.max_score:<6.2f}  {status}")
        not_graded = [o.student for o in outcomes if not o.graded]
        review = [o.student for o in outcomes if o.graded and o.problem]
        print(f"{len(outcomes) - len(not_graded)} of {len(outcomes)} submissions graded"
              + (f", {len(review)} to review" if review else ""))
        failed += len(not_graded)
    return 1 if failed else 0


def _cmd_feedback(course: Course, args) -> int:
    from grader.grading import feedback

    files = feedback(course, args.assignment, args.student)
    print(f"{len(files)} feedback files under {course.root / 'feedback'}")
    return 0


def _cmd_export(course: Course, args) -> int:
    if args.format == "csv":
        from grader.deadlines import mark_csv
        from grader.grading import export

        dest = export(course, args.output or Path("grades.csv"))
        mark_csv(course, dest)  # seconds_late and late columns
        print(f"grades written to {dest}")
        return 0
    from grader import lms
    from grader.grading import read_statuses

    dest = (args.output or Path(f"grades-{args.format}.csv")).resolve()
    term = lms.read_term(course, read_statuses(course))
    lms.WRITERS[args.format](term, dest)
    for student, assignment, why in term.withheld:
        print(f"warning: {student}, {assignment}: not graded, left blank ({why})", file=sys.stderr)
    print(f"{_count(len(term.students), 'student')}, {_count(len(term.assignments), 'assignment')} "
          f"({', '.join(term.assignments) or 'none graded yet'}) written to {dest} for {args.format}")
    return 0


def _cmd_students(course: Course, args) -> int:
    from grader.lms import import_roster

    new, updated = import_roster(course, args.roster)
    print(f"{_count(new, 'student')} added, {updated} updated in the gradebook")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _cmd_summary(course: Course, args) -> int:
    from grader.grading import GRADED, read_statuses, summary

    rows = summary(course, args.assignment)
    names = [f"{r.notebook}:{r.grade_id}" for r in rows]
    width = max([len("test cell"), *map(len, names)])  # the longest cell name sets the column
    print(f"{'test cell':<{width}} {'mean':>7} {'max':>5} {'full':>5} {'zero':>5}")
    for name, r in zip(names, rows, strict=True):
        print(f"{name:<{width}} {r.mean:7.2f} {r.max_score:5.1f} "
              f"{r.full:5d} {r.zero:5d}   (of {r.count})")
    unusual = {s: e for s, e in read_statuses(course).get(args.assignment, {}).items()
               if e["status"] != GRADED}
    if unusual:
        print(f"\nsubmissions whose score is not an ordinary grade ({len(unusual)}):")
        for student, entry in sorted(unusual.items()):
            print(f"  {student}: {entry['status']}: {entry.get('detail', '')}")
    from grader.deadlines import describe, late_submissions

    late = late_submissions(course, args.assignment)
    if late:
        print(f"\nlate submissions ({len(late)}, {describe(course, args.assignment)}):")
        for item in late:
            print(f"  {item.student}: {item.text}")
    return 0


def _cmd_report(course: Course, args) -> int:
    from grader.report import write

    if args.assignment is not None:
        course.require_assignment(args.assignment)
    print(f"report written to {write(course, args.assignment, args.output)}")
    return 0


def _cmd_assignment(course: Course, args) -> int:
    from grader import deadlines

    course.require_assignment(args.assignment)
    if args.due is not None:
        deadlines.set_due(course, args.assignment, args.due)
    print(f"{args.assignment}: {deadlines.describe(course, args.assignment)}")
    return 0


def _cmd_validate(course: Course | None, args) -> int:
    from traitlets.config import Config

    from grader.containment.kernel_guard import KERNEL_ARGUMENTS
    from grader.validation import format_report, validate_notebook

    if course is not None:
        config = course.config
    else:  # a student's copy, outside any course folder: the grading kernel's settings only
        config = Config({"Execute": {"extra_arguments": KERNEL_ARGUMENTS, "timeout": 60}})
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        raise CourseError(f"no such notebook: {', '.join(missing)}")
    reports = [validate_notebook(path, config) for path in args.notebooks]
    for report in reports:
        print(format_report(report))
    return 0 if all(r.ok for r in reports) else 1


def _cmd_release(course: Course, args) -> int:
    from grader.term import release

    where = release(course, args.assignment, force=args.force)
    print(f"{args.assignment} released to {where}: students fetch it with the Assignments tab "
          f"or `nbgrader fetch_assignment {args.assignment}`")
    return 0


def _cmd_return(course: Course, args) -> int:
    from grader.term import return_feedback

    released, unreleased = return_feedback(course, args.assignment, args.student)
    for student, why in unreleased:
        print(f"warning: {student}: feedback not released ({why})", file=sys.stderr)
    print(f"feedback of {args.assignment} released to {_count(len(released), 'student')}"
          + (f", {len(unreleased)} not released" if unreleased else ""))
    return 1 if unreleased and not released else 0


def _cmd_bundle(course: Course, args) -> int:
    from grader.term import bundle

    print(f"bundle written to {bundle(course, args.assignment, args.output)}")
    return 0


COMMANDS = {
    "build": _cmd_build,
    "autograde": _cmd_autograde,
    "feedback": _cmd_feedback,
    "export": _cmd_export,
    "summary": _cmd_summary,
    "students": _cmd_students,
    "validate": _cmd_validate,
    "release": _cmd_release,
    "return": _cmd_return,
    "bundle": _cmd_bundle,
    "report": _cmd_report,
    "assignment": _cmd_assignment,
}


def _stdout_closed() -> bool:
    """Whether nobody reads stdout any more (a pipe whose reader ended), not some other pipe."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows) or no real stdout
        return True


# The exit status of a command whose reader went away (`course summary A | head -3`), as a shell
# reports a program ended by SIGPIPE.
BROKEN_PIPE_STATUS = 128 + 13


def main(argv: list[str] | None = None) -> int:
    """Run one command; a closed pipe on stdout (``| head``) ends it quietly."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
    except BrokenPipeError:
        # Nothing more can reach the reader; point stdout at /dev/null so that Python's own
        # flush at exit finds nowhere to fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE_STATUS


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    tools_on_path()
    try:
        level = logging.INFO if args.verbose else logging.ERROR
        if args.command == "validate" and args.root is None:
            # Students validate anywhere; use the course's settings when inside a course folder.
            try:
                root = find_root(args.notebooks[0].resolve().parent)
            except CourseError:
                root = None
            course = Course(root, log_level=level) if root else None
        else:
            root = args.root if args.root is not None else find_root()
            course = Course(root, log_level=level)
        return COMMANDS[args.command](course, args)
    except CourseError as err:
        print(f"course: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if _stdout_closed():
            raise  # the reader of stdout went away: main() ends quietly
        if args.debug:
            raise
        print("course: internal error: BrokenPipeError (rerun with --debug)", file=sys.stderr)
        return 3
    except Exception as err:  # noqa: BLE001 - one line for the user; --debug for the traceback
        if args.debug:
            raise
        print(f"course: internal error: {type(err).__name__}: {err} (rerun with --debug)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
