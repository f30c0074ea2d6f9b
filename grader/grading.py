"""Grade a class with nbgrader's API: autograde every submission, feedback, export, summary."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.utils import determine_grade, is_grade, is_solution
from tqdm import tqdm

from grader.course import CANARY_STUDENT, Course, CourseError
from grader.feedback import finish as finish_feedback
from grader.feedback import refresh as refresh_feedback
from grader.preprocessors import ANSI
from grader.recheck import recheck
from grader.submissions import explain


@dataclass
class Outcome:
    """What autograding one student's submission gave."""

    student: str
    graded: bool
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""

    @property
    def status(self) -> str:
        """One of "graded", "needs review" (cells restored, a kernel died) and "not graded"."""
        if not self.graded:
            return NOT_GRADED
        return NEEDS_REVIEW if self.problem else GRADED


STATUS_FILE = "grading-status.json"
GRADED, NEEDS_REVIEW, NOT_GRADED = "graded", "needs review", "not graded"


def _status_path(course: Course) -> Path:
    return course.root / STATUS_FILE


def read_statuses(course: Course) -> dict:
    """{assignment: {student: {"status": ..., "detail": ...}}} as recorded by autograde."""
    path = _status_path(course)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_statuses(course: Course, assignment: str, outcomes: list[Outcome]) -> None:
    statuses = read_statuses(course)
    record = statuses.setdefault(assignment, {})
    for o in outcomes:
        record[o.student] = {"status": o.status, "detail": o.problem}
    _status_path(course).write_text(json.dumps(statuses, indent=1, sort_keys=True) + "\n")


def read_notebook(path: Path):
    """The notebook at ``path``; one with no cells when it cannot be read."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook simply has no cells
        return nbformat.v4.new_notebook()


def _nbgrader_cells(nb) -> dict[str, dict]:
    """grade_id -> nbgrader metadata of the first cell with that id."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id") is not None:
            found.setdefault(meta["grade_id"], meta)
    return found


FLAGS = ("grade", "solution", "locked", "points")


def _locked_sources(nb) -> dict[str, str]:
    """grade_id -> source of the first locked (given or test) cell with that id, stripped."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and meta.get("locked") and not meta.get("solution"):
            found.setdefault(meta.get("grade_id"), str(cell.get("source", "")).strip())
    return found


def _cell_problems(source_nb, submitted_nb, release_nb=None) -> list[str]:
    """Cells deleted or edited, metadata edited, cells of another notebook: what grading undid."""
    theirs, ours = _nbgrader_cells(submitted_nb), _nbgrader_cells(source_nb)
    problems = []
    if release_nb is not None:
        given, sent = _locked_sources(submitted_nb), _locked_sources(release_nb)
        edited = sorted(g for g, text in given.items() if g in sent and text != sent[g])
        if edited:
            problems.append(f"locked cells edited, the instructor's run instead ({', '.join(edited)})")
    missing = sorted(g for g, m in ours.items() if m.get("grade") and g not in theirs)
    if missing:
        problems.append(f"test cells deleted and restored ({', '.join(missing)})")
    answers = sorted(g for g, m in ours.items()
                     if m.get("solution") and not m.get("grade") and g not in theirs)
    if answers:
        problems.append(f"answer cells deleted, put back unanswered ({', '.join(answers)})")
    edited = sorted(g for g, m in theirs.items()
                    if g in ours and any(m.get(f) != ours[g].get(f) for f in FLAGS if f in ours[g]))
    if edited:
        problems.append(f"cell metadata edited, the instructor's used ({', '.join(edited)})")
    foreign = sorted(g for g in theirs if g not in ours)
    if foreign:
        problems.append(f"cells unknown to this notebook ignored ({', '.join(foreign[:5])})")
    return problems


KERNEL_TROUBLE = (("DeadKernelError", "the kernel died"), ("CellTimeoutError", "a cell timed out"))


def _submission_status(course: Course, assignment: str, student: str) -> tuple[str, str]:
    """Status beyond nbgrader's success flag: restored test cells, kernels that died."""
    problems = []
    for src in sorted((course.root / "source" / assignment).glob("*.ipynb")):
        submitted = course.root / "submitted" / student / assignment / src.name
        if not submitted.is_file():
            problems.append(f"{src.name} missing")
            continue
        release = course.root / "release" / assignment / src.name
        problems += [f"{src.name}: {p}" for p in _cell_problems(
            read_notebook(src), read_notebook(submitted),
            read_notebook(release) if release.is_file() else None)]
        graded = course.root / "autograded" / student / assignment / src.name
        if graded.is_file():
            text = graded.read_text(errors="replace")
            for marker, what in KERNEL_TROUBLE:
                if marker in text:
                    problems.append(f"{src.name}: {what}")
    if not problems:
        return GRADED, ""
    return NEEDS_REVIEW, "; ".join(problems)


def _first_error(result: dict) -> str:
    for line in (result.get("log") or "").splitlines():
        if line.startswith(("[ERROR]", "[CRITICAL]")):
            return line.split("]", 1)[1].strip()
    return "nbgrader reported a failure (see the log with --verbose)"


MAX_NOTEBOOK_BYTES = 20 * 2**20  # a course notebook is well under 1 MB; nbgrader reads files whole


def _oversized(course: Course, assignment: str, student: str) -> str:
    for path in sorted((course.root / "submitted" / student / assignment).glob("*.ipynb")):
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return (f"{path.name} is {size / 2**20:.0f} MB, over the limit of "
                    f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MB: not read")
    return ""


def _cell_timeout(course: Course) -> float:
    """Seconds a cell may run (nbgrader's Execute.timeout)."""
    return float(course.config.Execute.get("timeout", 60) or 60)


def _scored(graded_path: Path) -> set[str] | None:
    """The grade_ids of the test cells nbgrader scored above zero in a graded notebook, by
    nbgrader's own rule (``determine_grade``); None when the notebook cannot be read."""
    try:
        nb = nbformat.from_dict(json.loads(graded_path.read_text()))
        return {c.metadata.nbgrader.grade_id for c in nb.cells
                if c.cell_type == "code" and is_grade(c) and not is_solution(c)
                and (determine_grade(c)[0] or 0) > 0}
    except Exception:  # noqa: BLE001 - unreadable: confirm every cell
        return None


def _recheck(course: Course, assignment: str, student: str,
             warm: recheck.WarmRunner | None = None) -> dict[str, recheck.Result]:
    """Clean re-check of each of the student's notebooks (see grader.recheck), as far as it can
    matter: the re-check only lowers scores, so stubs as released and the tests nbgrader failed
    after them need no second run (``recheck.until_last``)."""
    timeout = _cell_timeout(course)
    grace = float(course.config.GuardedExecute.get("interrupt_grace", recheck.INTERRUPT_GRACE))
    results = {}
    for src in course.notebooks(assignment):
        graded = course.root / "autograded" / student / assignment
        submitted = course.root / "submitted" / student / assignment / src.name
        if submitted.is_file():
            try:
                results[src.stem] = recheck.run(src, submitted, graded, course.root, timeout, grace,
                                                confirm=_scored(graded / src.name), warm=warm,
                                                release_path=course.root / "release" / assignment / src.name)
            except Exception:  # noqa: BLE001 - one submission must not stop the class
                results[src.stem] = recheck.Result()  # incomplete: its passes are not confirmed
    return results


def _apply_rechecks(course: Course, assignment: str, results: dict, outcomes: list[Outcome]) -> None:
    """Keep the lower of nbgrader's score and the re-check's, per test cell; say where they differ."""
    by_student = {o.student: o for o in outcomes}
    with course.api.gradebook as gb:
        for student, notebooks in results.items():
            notes = []
            for name, result in notebooks.items():
                if result.tampered:
                    notes.append(f"{name}: student code changed {', '.join(result.tampered[:5])}")
                if not result.complete:
                    notes.append(f"{name}: the clean re-check did not finish")
                lowered = []
                for cell in gb.find_notebook(name, assignment).grade_cells:
                    grade = gb.find_grade(cell.name, name, assignment, student)
                    if grade.auto_score and not result.passed.get(cell.name, False):
                        grade.auto_score = 0.0
                        lowered.append(cell.name)
                if lowered:
                    notes.append(f"{name}: passed under nbgrader but failed the clean re-check, "
                                 f"scored 0: {', '.join(lowered)}")
            gb.db.commit()
            by_student[student].problem = "; ".join(notes)
        for outcome in outcomes:
            if outcome.student in results:
                sub = gb.find_submission(assignment, outcome.student)
                outcome.score = float(sub.score)


class Worker:
    """nbgrader's autograde, one student at a time, in a child process.

    A submission that makes nbgrader hang (a kernel whose channels it garbled, say) costs a
    restart of this process after ``limit`` seconds, and is reported as not graded; the class goes on.
    """

    def __init__(self, course: Course, assignment: str | None = None):
        self.course, self.assignment = course, assignment  # the assignment ``grade`` defaults to
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        """Start the process now (it imports nbgrader), not at the first student."""
        if self.proc is None:
            self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "grader.lane", str(self.course.root), str(self.course.log_level)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines: queue.Queue) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # kernels die with it (their parent-death signal)
        self.proc.wait()
        self.proc = None

    def grade(self, student: str, limit: float, assignment: str | None = None) -> dict:
        """nbgrader's result for ``student``'s ``assignment`` ({"success", "log"}), within
        ``limit`` seconds."""
        if self.proc is None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps([assignment or self.assignment, student]) + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=limit)
        except queue.Empty:
            return self._lost(f"grading stopped after {limit:.0f} s: the submission blocked nbgrader")
        except OSError:
            line = None
        if line is None:
            return self._lost("the grading process died on this submission")
        return json.loads(line)

    def _lost(self, why: str) -> dict:
        """A new process for the next student; this one's result is the reason."""
        self._kill()
        self.restarts += 1
        return {"success": False, "log": f"[ERROR] {why}"}

    def finish(self) -> None:
        """Tell the process there are no more students (``close`` waits for it to end)."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def close(self) -> None:
        if self.proc is not None:
            self.finish()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._kill()


def _time_limit(course: Course, assignment: str, student: str, source_cells: int) -> float:
    """Seconds nbgrader may take for one submission: every cell its timeout, and some.

    ``source_cells``: the assignment's cells (restored cells run too)."""
    cells = sum(max(1, len(read_notebook(path).cells))
                for path in (course.root / "submitted" / student / assignment).glob("*.ipynb"))
    return min((max(cells, source_cells) + 5) * (_cell_timeout(course) + 20) + 120, 4 * 3600)


def ensure_in_gradebook(course: Course, assignment: str) -> None:
    """Record the assignment's cells in the gradebook (a fresh clone has no gradebook.db)."""
    with course.api.gradebook as gb:
        try:
            gb.find_assignment(assignment)
            known = True
        except MissingEntry:
            known = False
    if not known:
        result = course.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"cannot record {assignment} in the gradebook: {_first_error(result)}")


CANARY = CANARY_STUDENT


def _solution_notebook(source_path: Path):
    """The instructor's notebook as a student who solved it would hand it in (markers removed)."""
    from grader.build import SOLUTION_MARKERS

    nb = nbformat.read(str(source_path), as_version=4)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = "\n".join(ln for ln in cell.source.splitlines()
                                    if ln.strip() not in SOLUTION_MARKERS)
        cell.outputs = [] if cell.cell_type == "code" else cell.get("outputs")
        if cell.cell_type != "code":
            cell.pop("outputs", None)
    return nb


def _first_failure(graded_nb_path: Path) -> str:
    """'<grade_id or cell N>: <Error>: <message>' of the first cell of a graded notebook that failed."""
    nb = read_notebook(graded_nb_path)
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                where = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"
                message = ANSI.sub("", f"{out.get('ename', 'Error')}: {out.get('evalue', '')}").strip()
                return f"{where}: {message.splitlines()[0] if message else 'error'}"[:300]
    return ""


def canary(course: Course, assignment: str, worker: Worker, limit: float,
           warm: recheck.WarmRunner | None = None) -> None:
    """Grade the instructor's solution as a student (nbgrader, sandbox, re-check); unless it
    earns full marks, raise ``CourseError`` naming the first cell that failed and its error.

    Nothing stays behind: the canary's submission, graded notebooks and gradebook entry are removed.
    """
    folder = course.root / "submitted" / CANARY / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for src in course.notebooks(assignment):
        nbformat.write(_solution_notebook(src), str(folder / src.name))
    try:
        result = worker.grade(CANARY, limit, assignment)
        if not result["success"]:
            raise CourseError(f"the instructor's solution cannot be graded here: {_first_error(result)}")
        rechecks = _recheck(course, assignment, CANARY, warm)
        score = max_score = 0.0
        failures = []
        with course.api.gradebook as gb:
            for src in course.notebooks(assignment):
                result = rechecks.get(src.stem, recheck.Result())
                for cell in gb.find_notebook(src.stem, assignment).grade_cells:
                    grade = gb.find_grade(cell.name, src.stem, assignment, CANARY)
                    got = float(grade.auto_score or 0.0) if result.passed.get(cell.name, False) else 0.0
                    score, max_score = score + got, max_score + float(cell.max_score)
                    if got < float(cell.max_score):
                        failures.append((src, cell.name, grade.auto_score))
        if failures:
            src, cell_name, nbgrader_score = failures[0]
            graded = course.root / "autograded" / CANARY / assignment / src.name
            why = _first_failure(graded) if graded.is_file() else ""
            if not why:
                why = (f"{cell_name}: passed under nbgrader but failed the clean re-check"
                       if nbgrader_score else f"{cell_name}: scored 0")
            raise CourseError(f"the instructor's solution scores {score:g}/{max_score:g} here: {why}")
    finally:
        _forget(course, assignment, CANARY, student_too=False)  # other canaries may be running


def _forget(course: Course, assignment: str | None, student: str, student_too: bool = True) -> None:
    """Remove ``student``'s submission of ``assignment`` (None: none) from the gradebook and its
    folders from the course; ``student_too``: the student and all their folders as well."""
    with course.api.gradebook as gb:
        if assignment is not None:
            with contextlib.suppress(MissingEntry):
                gb.remove_submission(assignment, student)
        if student_too:
            with contextlib.suppress(MissingEntry):
                gb.remove_student(student)
    for stage in ("submitted", "autograded", "feedback"):
        folder = course.root / stage / student
        shutil.rmtree(folder if student_too else folder / assignment, ignore_errors=True)


def canaries(course: Course, assignments: list[str], idle: queue.Queue, limits: dict[str, float],
             warm: recheck.WarmRunner | None = None) -> None:
    """The canary of each assignment, side by side on the idle workers; unless every one earns
    full marks, raise ``CourseError`` for the first that does not (by assignment, when several)."""
    with course.api.gradebook as gb:
        gb.update_or_create_student(CANARY)  # one row for all of them, made before they run

    def one(assignment: str) -> None:
        worker = idle.get()
        try:
            canary(course, assignment, worker, limits[assignment], warm)
        finally:
            idle.put(worker)

    try:
        with ThreadPoolExecutor(max_workers=max(1, idle.qsize())) as pool:
            futures = [pool.submit(one, a) for a in assignments]
        for assignment, future in zip(assignments, futures, strict=True):
            try:
                future.result()
            except CourseError as err:
                raise CourseError(f"{assignment}: {err}" if len(assignments) > 1 else str(err)) from err
    finally:
        _forget(course, None, CANARY)


def default_jobs() -> int:
    """Students graded side by side by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def autograde(course: Course, assignment: str, students: list[str] | None = None,
              progress: bool = True, jobs: int | None = None, log=None,
              check_solution: bool = True) -> list[Outcome]:
    """Autograde ``students`` (default: everyone under submitted/) and read back their scores.

    ``jobs`` students are graded side by side (default: one per core), each by an nbgrader worker
    process, then the clean re-check, every protection on; while one student's re-check runs, its
    worker grades the next (a core would wait otherwise). First the instructor's solution is
    graded as a student (``canary``): unless it earns full marks nobody is graded. Progress: a
    bar when ``progress``, else one line per finished student to ``log``.
    """
    return autograde_all(course, [assignment], students, progress, jobs, log, check_solution)[assignment]


def autograde_all(course: Course, assignments: list[str], students: list[str] | None = None,
                  progress: bool = True, jobs: int | None = None, log=None,
                  check_solution: bool = True) -> dict[str, list[Outcome]]:
    """``autograde`` of several assignments in one run: {assignment: outcomes}.

    One start for all of them (the lanes, their kernels' zygotes, the re-check's warm runner), the
    canaries side by side, then every submission, as ``autograde`` grades one assignment's: unless
    every canary earns full marks nobody is graded. ``students``: each must have handed in at
    least one of the assignments (all of them, when there is one).
    """
    found: dict[str, list[str]] = {}
    for assignment in assignments:
        course.require_assignment(assignment)
        found[assignment] = course.submitted_students(assignment)
    if students:
        missing = sorted(set(students) - {s for names in found.values() for s in names})
        if missing:
            raise CourseError(f"no submission of {', '.join(assignments)} for: {', '.join(missing)}")
        found = {a: [s for s in names if s in students] for a, names in found.items()}
    for assignment in assignments:
        if not found[assignment] and (len(assignments) == 1 or not students):
            raise CourseError(f"no submissions of {assignment} under {course.root / 'submitted'}")
        ensure_in_gradebook(course, assignment)
    todo = [(a, s) for a in assignments for s in found[a]]
    jobs = max(1, min(jobs or default_jobs(), len(todo)))
    source_cells = {a: sum(len(read_notebook(p).cells) for p in course.notebooks(a)) for a in assignments}
    workers = [Worker(course) for _ in range(jobs)]
    for worker in workers:
        worker.start()  # they import nbgrader while the canary is graded
    warm = recheck.WarmRunner()
    idle: queue.Queue = queue.Queue()
    for worker in workers:
        idle.put(worker)
    by_key: dict[tuple[str, str], Outcome] = {}
    rechecked: dict[str, dict] = {a: {} for a in assignments}
    try:
        if check_solution:
            canaries(course, assignments, idle,
                     {a: _time_limit(course, a, CANARY, source_cells[a]) for a in assignments}, warm)

        def lane(assignment: str, student: str) -> tuple[Outcome, dict | None]:
            too_big = _oversized(course, assignment, student)
            if too_big:
                return Outcome(student, graded=False, problem=too_big), None
            worker = idle.get()
            try:
                limit = _time_limit(course, assignment, student, source_cells[assignment])
                result = worker.grade(student, limit, assignment)
            finally:
                idle.put(worker)
            outcome = Outcome(student, graded=bool(result["success"]))
            if not outcome.graded:
                outcome.problem = _first_error(result)
                return outcome, None
            return outcome, _recheck(course, assignment, student, warm)

        several = len(assignments) > 1
        bar = tqdm(total=len(todo), desc="autograde" if several else f"autograde {assignments[0]}",
                   unit="submission" if several else "student", disable=not progress, file=sys.stderr)
        # One thread more than workers: a re-check leaves its worker free for the next student.
        with bar, ThreadPoolExecutor(max_workers=jobs + 1) as pool:
            futures = {pool.submit(lane, a, s): (a, s) for a, s in todo}
            for done, future in enumerate(as_completed(futures), 1):
                assignment, student = futures[future]
                outcome, checked = future.result()
                by_key[(assignment, student)] = outcome
                if checked is not None:
                    rechecked[assignment][student] = checked
                bar.update()
                if not progress and log is not None:
                    log(f"[{done}/{len(todo)}] {f'{assignment}/' if several else ''}{student}: "
                        + ("graded" if outcome.graded else f"not graded: {outcome.problem}"))
    finally:
        for worker in workers:
            worker.finish()  # all of them at once: each takes a moment to shut its kernels down
        for worker in workers:
            worker.close()
        warm.close()
    return {a: _settle(course, a, [by_key[(a, s)] for s in found[a]], rechecked[a]) for a in assignments}


def _settle(course: Course, assignment: str, outcomes: list[Outcome], rechecked: dict) -> list[Outcome]:
    """Scores read back, the re-checks applied, statuses and feedback brought up to date."""
    # One writer from here on: this process, with every worker gone.
    with course.api.gradebook as gb:
        for outcome in outcomes:
            if not outcome.graded and _oversized(course, assignment, outcome.student):
                gb.update_or_create_student(outcome.student)  # listed in the export like any student
                continue
            try:
                sub = gb.find_submission(assignment, outcome.student)
            except MissingEntry:
                outcome.graded = False
                outcome.problem = outcome.problem or "no graded submission recorded"
                continue
            outcome.score, outcome.max_score = float(sub.score), float(sub.max_score)
    _apply_rechecks(course, assignment, rechecked, outcomes)
    for outcome in outcomes:
        if outcome.graded:
            _, problem = _submission_status(course, assignment, outcome.student)
            outcome.problem = "; ".join(p for p in (problem, outcome.problem) if p)
    explain(course, assignment, outcomes, MAX_NOTEBOOK_BYTES)  # the file's fault (grader.submissions)
    _write_statuses(course, assignment, outcomes)
    refresh_feedback(course, assignment, outcomes, feedback)  # none left stale (grader.feedback)
    return outcomes


def feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Generate HTML feedback for every autograded submission (or ``students``'); the files."""
    course.require_assignment(assignment)
    for student in students or [None]:
        result = course.api.generate_feedback(assignment, student)
        if not result["success"]:
            who = f" of {student}" if student else ""
            raise CourseError(f"feedback{who} for {assignment} failed: {_first_error(result)}")
    files = sorted(path for path in (course.root / "feedback").glob(f"*/{assignment}/*.html")
                   if students is None or path.parts[-3] in students)
    for path in files:
        finish_feedback(path)  # MathJax embedded, test cells named (grader.feedback)
    return files


def export(course: Course, dest: Path) -> Path:
    """Write every grade in the gradebook to the CSV file ``dest`` (nbgrader's CSV exporter)."""
    dest = Path(dest).resolve()
    plugin = CsvExportPlugin(config=course.config)
    plugin.to = str(dest)
    with course.api.gradebook as gb:
        plugin.export(gb)
    # Add what a plain 0 hides: whether the submission was graded normally, errored or is absent.
    statuses = read_statuses(course)
    with dest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0].keys()) if rows else []
    for row in rows:
        entry = statuses.get(row["assignment"], {}).get(row["student_id"])
        if entry is None:
            row["status"] = "graded" if row.get("timestamp") not in ("", "None") else "no submission"
            row["status_detail"] = ""
        else:
            row["status"], row["status_detail"] = entry["status"], entry.get("detail", "")
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*fields, "status", "status_detail"] if fields else
                                ["assignment", "student_id", "score", "max_score", "status", "status_detail"])
        writer.writeheader()
        writer.writerows(rows)
    return dest


@dataclass
class CellStats:
    """How a class did on one graded cell."""

    notebook: str
    grade_id: str
    max_score: float
    mean: float
    full: int
    zero: int
    count: int


def summary(course: Course, assignment: str) -> list[CellStats]:
    """Per test cell: mean score, full marks and zeros over the graded submissions, worst first."""
    course.require_assignment(assignment)
    with course.api.gradebook as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment} has not been autograded yet") from None
        students = [s.student.id for s in record.submissions]
        stats = []
        for notebook in record.notebooks:
            for cell in notebook.grade_cells:
                scores = []
                for student in students:
                    try:
                        grade = gb.find_grade(cell.name, notebook.name, assignment, student)
                    except MissingEntry:
                        continue
                    scores.append(float(grade.score))
                if not scores:
                    continue
                stats.append(CellStats(
                    notebook.name, cell.name, float(cell.max_score),
                    sum(scores) / len(scores),
                    sum(s >= cell.max_score for s in scores), sum(s == 0 for s in scores),
                    len(scores),
                ))
    return sorted(stats, key=lambda c: (c.mean / c.max_score if c.max_score else 1.0, c.grade_id))
