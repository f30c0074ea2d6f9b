"""nbgrader preprocessors that make grading output safe to keep and safe to show.

``LimitOutputBytes`` caps what an executed notebook keeps (nbgrader's ``LimitOutput`` counts
lines, so 10 MB printed on one line survive it). ``HideHiddenTests`` runs before feedback is
rendered: hidden-test code is removed from test cells, and the traceback of a failing hidden test
is replaced by one line saying what was checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import types
from pathlib import Path
from queue import Empty
from unittest import mock

import jsonschema
import zmq
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_hook
from nbformat import from_dict
from nbformat import v4 as nbformat_v4
from nbgrader.nbgraderformat import common as nbgrader_format
from nbgrader.preprocessors import CheckCellMetadata, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Enum, Integer, Unicode

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOT_RUN = ("(not run when grading: a demo cell as released, and no test reads what it makes, so no "
           "score depends on it; your own notebook shows its output)\n")
TRUNCATED = "\n... output truncated by the grader ({} bytes over the limit of {} per {}) ...\n"


def _size(output) -> int:
    """Bytes an output takes in the notebook file."""
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8"))


class DropInstructorMetadata(NbGraderPreprocessor):
    """Remove notebook metadata meant for instructors from what students receive.

    ``metadata.course`` names the lecture files a topic draws on; students never get those files,
    so their copy does not name them either.
    """

    def preprocess(self, nb, resources):
        nb.metadata.pop("course", None)
        return nb, resources


_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def _validate(instance, schema) -> None:
    """``jsonschema.validate`` with each schema checked once, not at every call."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[key] = cls(schema)
    error = jsonschema.exceptions.best_match(_VALIDATORS[key].iter_errors(instance))
    if error is not None:
        raise error


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata, its JSON schema checked once per process.

    nbgrader validates each cell's metadata with ``jsonschema.validate``, which checks the schema
    itself again for every cell: 0.15 s of each notebook graded. The checks are nbgrader's own."""

    def preprocess(self, nb, resources):
        with mock.patch.object(nbgrader_format, "jsonschema", types.SimpleNamespace(validate=_validate)):
            return super().preprocess(nb, resources)


class LimitOutputBytes(NbGraderPreprocessor):
    """Cap outputs in bytes: per cell and per notebook, whatever the number of lines."""

    max_cell_bytes = Integer(100_000, help="bytes of output kept per cell").tag(config=True)
    max_notebook_bytes = Integer(1_000_000, help="bytes of output kept per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._left = self.max_notebook_bytes
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        budget = min(self.max_cell_bytes, self._left)
        kept, used, dropped = [], 0, 0
        for output in cell.outputs:
            size = _size(output)
            if used + size <= budget:
                kept.append(output)
                used += size
                continue
            room = budget - used
            if output.output_type == "stream" and room > 200:
                text = output.text.encode("utf-8")[: room - 200].decode("utf-8", errors="ignore")
                output.text = text
                kept.append(output)
                used += _size(output)
            dropped += size
        if dropped:
            scope = "cell" if budget == self.max_cell_bytes else "notebook"
            limit = self.max_cell_bytes if scope == "cell" else self.max_notebook_bytes
            note = {"output_type": "stream", "name": "stdout",
                    "text": TRUNCATED.format(dropped, limit, scope)}
            kept.append(from_dict(note))
            used += _size(note)
        cell.outputs = kept
        self._left = max(0, self._left - used)
        return cell, resources


def hidden_lines(source: str) -> list[str]:
    """Non-blank lines between the hidden-test markers of a test cell, stripped."""
    lines, inside = [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


ARROW = re.compile(r"^\s*-+>\s*\d+")  # IPython's marker of the line that raised, "---> 40"
NUMBERED = re.compile(r"^\s*(?:-+>)?\s*(\d+)(?:\s|$)")  # a source line of a frame, "---> 40 x" or "   41 y"
CELL_FRAME = re.compile(r"Cell In\[\d*\], line (\d+)")  # IPython's header of a notebook frame


def failing_lines(traceback_text: str) -> list[str]:
    """The lines a traceback marks as the ones that raised (one per frame), ANSI codes removed."""
    return [ln for ln in ANSI.sub("", traceback_text).splitlines() if ARROW.match(ln)]


def hidden_ranges(source: str) -> list[tuple[int, int]]:
    """1-based (first, last) line numbers of each hidden-test block of a test cell, markers included."""
    ranges, start = [], None
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        if HIDDEN_BEGIN in line and start is None:
            start = number
        elif HIDDEN_END in line and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:  # no end marker: hidden to the end of the cell
        ranges.append((start, max(len(lines), start)))
    return ranges


def failing_line(traceback_text: str) -> int | None:
    """The line of the executed cell at which it failed: the outermost notebook frame's line.

    IPython lists frames outermost first, and the outermost is the cell being run; a check that
    fails inside a student's function called from the test still fails at the test's line.
    """
    text = ANSI.sub("", traceback_text or "")
    match = CELL_FRAME.search(text)
    if match:
        return int(match.group(1))
    for line in text.splitlines():
        if ARROW.match(line):
            return int(NUMBERED.match(line).group(1))
    return None


def failed_in_hidden(source: str, traceback_text: str) -> bool:
    """Whether a test cell with this source failed in its hidden block, by the failing line number.

    Decided by where the cell stopped (the line number of its outermost frame against the hidden
    block's line range), never by comparing text: a hidden line such as ``)`` also ends many
    visible lines.
    """
    line = failing_line(traceback_text)
    return line is not None and any(first <= line <= last for first, last in hidden_ranges(source))


def drop_hidden_context(frames: list[str], source: str) -> list[str]:
    """Traceback entries without the hidden lines IPython shows as context of the test cell's frame."""
    ranges = hidden_ranges(source)
    kept, seen_cell = [], False
    for frame in frames:
        if not seen_cell and CELL_FRAME.search(ANSI.sub("", frame)):
            seen_cell = True  # the first notebook frame is the test cell's

            def shown(line):
                number = NUMBERED.match(ANSI.sub("", line))
                return not (number and any(a <= int(number.group(1)) <= b for a, b in ranges))

            frame = "\n".join(ln for ln in frame.split("\n") if shown(ln))
        kept.append(frame)
    return kept


def hidden_failure_line(ename: str, evalue: str) -> str:
    """The one line a student sees for a failing hidden test."""
    what = (evalue or ename).strip().splitlines()[0] if (evalue or ename).strip() else ename
    return f"hidden test failed: {what}"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests from test cells, and reduce their failures to one line."""

    placeholder = Unicode("# (hidden tests: not shown)").tag(config=True)
    redacted = Unicode("[line of a hidden test removed]").tag(config=True)

    def preprocess(self, nb, resources):
        # Student code can print the hidden tests it ran beside (IPython's In, the notebook file):
        # any output line quoting one is removed too, wherever it appears.
        secret = {ln for cell in nb.cells if cell.cell_type == "code" and is_grade(cell)
                  for ln in hidden_lines(cell.source) if len(ln) >= 12}
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                self._redact(output, secret)
        return nb, resources

    def _redact(self, output, secret: set[str]) -> None:
        def clean(text):
            if isinstance(text, list):
                text = "".join(text)
            if not isinstance(text, str) or not any(h in text for h in secret):
                return text
            return "\n".join(self.redacted if any(h in ln for h in secret) else ln
                             for ln in text.split("\n"))

        if "text" in output:
            output.text = clean(output.text)
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                output.data[mime] = clean(value)
        if "traceback" in output:
            output.traceback = [clean(frame) for frame in output.traceback]

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not is_grade(cell) or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        hidden = hidden_lines(cell.source)
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            frames = [ANSI.sub("", entry) for entry in output.get("traceback", [])]
            if failed_in_hidden(cell.source, "\n".join(frames)):
                line = hidden_failure_line(output.get("ename", ""), output.get("evalue", ""))
                output.traceback = [line]
                output.evalue = line
            else:  # a visible check failed: keep its traceback, minus hidden lines shown as context
                long_hidden = [h for h in hidden if len(h) >= 12]
                output.traceback = ["\n".join(ln for ln in frame.splitlines()
                                              if not any(h in ln for h in long_hidden))
                                    for frame in drop_hidden_context(frames, cell.source)]
        cell.source = cell.source.split(HIDDEN_BEGIN)[0].rstrip() + "\n\n" + self.placeholder
        return cell, resources


class NormalizeSubmission(NbGraderPreprocessor):
    """Give every nbgrader cell of a submission the instructor's metadata; strip what is not theirs.

    A student can edit cell metadata (points, grade ids, the solution flag), split a cell (both
    halves keep its metadata), delete cells or paste another assignment's cells. nbgrader then
    stops on duplicate or unknown ids and inconsistent checksums (or, for a deleted answer cell,
    on a KeyError in ``add_missing_cells``), and the submission is not graded at all. Here the
    first cell with a known id gets the gradebook's metadata for it; later copies and unknown ids
    become ordinary student cells; and every nbgrader cell the submission lacks is put back, as
    the student received it, after the cell that preceded it in ``source/``. Run first among
    ``Autograde.sanitize_preprocessors``.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            cells = {c.name: (c.cell_type, c.locked) for c in notebook.source_cells}
            released = {c.name: c.source or "" for c in notebook.source_cells}
            grades = {c.name: float(c.max_score) for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
        seen = set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if gid not in cells or gid in seen or cells[gid][0] != cell.cell_type:
                del cell.metadata["nbgrader"]
                continue
            seen.add(gid)
            fixed = {"grade_id": gid, "grade": gid in grades, "solution": gid in solutions,
                     "locked": bool(cells[gid][1]), "schema_version": 3, "task": False}
            if gid in grades:
                fixed["points"] = grades[gid]
            cell.metadata["nbgrader"] = fixed
        self._restore_missing(nb, info, seen, cells, released, grades, solutions)
        return nb, resources

    def _source_order(self, info) -> list[str]:
        """The grade ids of the instructor's notebook, in its order ([] if it cannot be read)."""
        from nbgrader.coursedir import CourseDirectory

        from grader.recheck.recheck import course_notebook

        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]),
                            info["notebook"] + ".ipynb")
        try:
            source = course_notebook(Path(path))  # read once per version of the file, shared: read only
        except (OSError, ValueError):
            return []
        return [gid for gid in (c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                                for c in source.cells) if gid]

    def _restore_missing(self, nb, info, present, cells, released, grades, solutions) -> None:
        order = self._source_order(info)
        order += sorted(set(cells) - set(order))  # known to the gradebook only: at the end
        for gid in order:
            if gid in present or gid not in cells:
                continue
            cell_type, locked = cells[gid]
            meta = {"grade_id": gid, "grade": gid in grades, "solution": gid in solutions,
                    "locked": bool(locked), "schema_version": 3, "task": False}
            if gid in grades:
                meta["points"] = grades[gid]
            make = nbformat_v4.new_code_cell if cell_type == "code" else nbformat_v4.new_markdown_cell
            cell = make(released[gid], metadata={"nbgrader": meta})
            before = set(order[:order.index(gid)])
            at = max((i + 1 for i, c in enumerate(nb.cells)
                      if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in before), default=0)
            nb.cells.insert(at, cell)
            present.add(gid)
            self.log.warning("Cell %s is missing from the submission: put back as released", gid)


async def _wait_for_ready(kc, timeout: float) -> None:
    """``kc.wait_for_ready`` without its last step, 0.2 s of silence on IOPub awaited for every
    kernel (idle time in every notebook graded): what it flushes is what nbclient ignores anyway,
    messages of no cell's request. Like it: a kernel_info reply, then one IOPub message (IOPub is
    connected, so no output of the first cell is lost), else ask again."""
    end = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            msg = await ensure_async(kc.shell_channel.get_msg(timeout=1))
        except Empty:
            msg = None
        if msg is not None and msg["msg_type"] == "kernel_info_reply":
            try:
                await ensure_async(kc.iopub_channel.get_msg(timeout=0.02))
            except Empty:
                pass
            else:
                kc._handle_kernel_info_reply(msg)
                return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > end:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


class GuardedExecute(Execute):
    """nbgrader's Execute with sandboxed kernels and a way out of loops that ignore interrupts.

    On a cell timeout nbgrader interrupts the kernel and records the cell as failed. Code that
    ignores SIGINT keeps the kernel busy, and each later cell would wait a full timeout in turn;
    here a kernel still busy ``interrupt_grace`` seconds after the interrupt is restarted, so the
    cells after it run (and fail honestly on the lost state) instead of hanging the class.
    With ``skip_demos`` (set by ``course autograde``), the demo cells that nothing else reads are
    not run: their output says so (``NOT_RUN``).
    """

    interrupt_grace = Integer(5, help="seconds a kernel gets to obey an interrupt").tag(config=True)
    send_timeout = Integer(10, help="seconds a message to the kernel may wait to be sent").tag(config=True)
    # After a restart the interrupted cell's output never completes: say so, do not abort.
    raise_on_iopub_timeout = Bool(False).tag(config=True)
    # A graceful shutdown asks the kernel over its control channel, which student code can break.
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)

    skip_demos = Bool(False, help=(
        "leave unrun the plain cells of the release, unedited, that nothing else in the notebook "
        "reads (plots, explorers: grader.recheck.recheck.without_demos); no score depends on "
        "them. `course autograde` sets it unless the configuration does")).tag(config=True)

    def __init__(self, *args, **kwargs):
        from grader.containment.kernels import SandboxedKernelManager  # imports matplotlib: only when grading

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self._idle_seen = 0
        self._skipped: set[int] = set()

    def preprocess(self, nb, resources=None, km=None):
        self._skipped = set()
        if self.skip_demos:
            try:
                self._skipped = self._demos_to_skip(nb, resources)
            except Exception as err:  # noqa: BLE001 - not known which demos are idle: run them all
                self.log.warning("Every demo cell runs: %s", err)
        return super().preprocess(nb, resources, km)

    def _demos_to_skip(self, nb, resources) -> set[int]:
        """Indices of the demo cells of ``nb`` whose effects no other cell can see."""
        from nbgrader.coursedir import CourseDirectory

        from grader.recheck import recheck

        info = (resources or {}).get("nbgrader", {})
        coursedir = CourseDirectory(config=self.config)
        release = recheck.read_release(Path(coursedir.format_path(
            coursedir.release_directory, ".", info.get("assignment", ""))) / f"{info.get('notebook')}.ipynb")
        return recheck.idle_demos(nb, release)

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "status" and msg.get("content", {}).get("execution_state") == "idle":
            self._idle_seen += 1
        return super().process_message(msg, cell, cell_index)

    async def async_start_new_kernel_client(self):
        # nbclient's own steps, without the heartbeat channel: its thread waits for ever on a
        # kernel whose heartbeat socket student code garbled, and nbclient never uses it.
        self.kc = self.km.client()
        try:
            await ensure_async(self.kc.start_channels(hb=False))
            self._bound_sends(self.kc)
            await _wait_for_ready(self.kc, self.startup_timeout)
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient binds its own

    def _bound_sends(self, kc) -> None:
        """Sends to the kernel time out: student code that garbles its own end of a channel
        (writing to every file descriptor it has) leaves zmq with no peer, and a send would
        otherwise wait for one for ever, stopping the whole class."""
        for channel in (kc.shell_channel, kc.control_channel, kc.stdin_channel):
            socket = getattr(channel, "socket", None)
            if socket is not None:
                socket.setsockopt(zmq.SNDTIMEO, self.send_timeout * 1000)
                socket.setsockopt(zmq.LINGER, 0)

    def preprocess_cell(self, cell, resources, index):
        if index in self._skipped:
            cell.outputs = [nbformat_v4.new_output("stream", name="stdout", text=NOT_RUN)]
            cell.execution_count = None
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, zmq.ZMQError) as err:
            # os._exit, a segfault, the CPU limit, a garbled channel: grade what ran, and run the
            # rest on a new kernel.
            self.log.error("The kernel died or stopped answering in cell %d (%s): restarting it.",
                           index, type(err).__name__)
            cell.outputs.append(from_dict({
                "output_type": "error", "ename": "DeadKernelError", "evalue": "the kernel died",
                "traceback": ["DeadKernelError: the kernel died while running this cell"]}))
            run_sync(self._async_fresh_kernel)()
            return cell, resources

    async def _async_fresh_kernel(self) -> None:
        """A new kernel and a new client: the old client's sockets may be stuck on a garbled peer."""
        await ensure_async(self.km.restart_kernel(now=True))
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        await self.async_start_new_kernel_client()

    async def _async_handle_timeout(self, timeout, cell=None):
        seen = self._idle_seen
        reply = await super()._async_handle_timeout(timeout, cell)
        for _ in range(self.interrupt_grace * 10):
            if self._idle_seen > seen:
                return reply
            await asyncio.sleep(0.1)
        self.log.error("The kernel ignored the interrupt: restarting it.")
        await ensure_async(self.km.restart_kernel(now=True))
        return reply
