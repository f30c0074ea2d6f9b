"""The test runner of the clean re-check: given and test cells from ``source/``, run here.

Started by ``grader.recheck.recheck.run`` as ``python -m grader.recheck.runner`` with the job on
stdin; it starts the student side (``grader.recheck.student_side``, sandboxed), runs the plan, and
writes one JSON line per test cell (and notes) on stdout. It never runs student code: a test's
call to a student function crosses ``grader.recheck.bridge`` as data, and this process alone
decides whether each check passed.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

from grader.recheck.recheck import (
    INTERRUPT_GRACE,
    MAX_NOTE,
    MISSING,
    STARTUP_TIMEOUT,
    NoShell,
    names_in,
    python_of,
    quiet_stdio,
    reads,
    remember_python,
    transformer,
)

# A runner forked from a warm runner asks it, on this channel, to fork its student sides.
_warm_channel: socket.socket | None = None


def _forked_student_side(spec: dict, end: socket.socket):
    """The student side forked, sandboxed, by the warm runner this runner came from, ``end``
    its end of the bridge (a ``warm.Forked``); None when there is none or it cannot."""
    if _warm_channel is None or not spec.get("spec"):
        return None
    from grader.containment import warm

    request = json.dumps({"spec": spec["spec"], "cwd": spec["cwd"], "env": spec["env"]}).encode()
    try:
        socket.send_fds(_warm_channel, [request], [end.fileno()])
        _warm_channel.settimeout(STARTUP_TIMEOUT)
        answer = _warm_channel.recv(64)
        return warm.Forked(int(answer)) if answer else None
    except (OSError, ValueError):
        return None


class Student:
    """The student-side process as the test runner sees it: started, interrupted, restarted."""

    def __init__(self, spec: dict, grace: float, debug=lambda text: None):
        self.spec, self.grace, self.debug = spec, grace, debug
        self.proc: subprocess.Popen | None = None
        self.peer = None
        self.restarts = 0
        self.notes: list[str] = []

    def start(self) -> None:
        from grader.containment import sandbox
        from grader.recheck import bridge

        ours, theirs = socket.socketpair()
        self.proc = _forked_student_side(self.spec, theirs)
        if self.proc is None:  # no warm runner to fork it from: a new process
            cmd = [str(theirs.fileno()) if part == "{fd}" else part for part in self.spec["cmd"]]
            self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), cwd=self.spec["cwd"],
                                         env=self.spec["env"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=sandbox.die_with_parent)
        theirs.close()
        self.debug(f"student side {'started anew' if isinstance(self.proc, subprocess.Popen) else 'forked'}")
        self.peer = bridge.Peer(ours, {"call": bridge.answer_call}, role="tests")
        self.peer.deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            ready = self.peer.receive()[0].get("ready") is True
        except bridge.BridgeError:
            ready = False
        finally:
            self.peer.deadline = None
        if not ready:
            self.notes.append("student code did not start")
        self.peer.before_request = self.recover

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.peer.sock.close()
        pid = self._pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)  # its pid namespace, and all in it, go with it
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, why: str) -> None:
        self.stop()
        self.restarts += 1
        self.notes.append(f"student code {why}: restarted, what it defined is lost")
        self.start()

    def _pid(self) -> int | None:
        """The student process itself: the child of ``unshare``, or the process we started."""
        if self.proc.poll() is not None:
            return None  # gone (and reaped: its pid may belong to another process by now)
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            children = []
        return int(children[0]) if children else self.proc.pid

    def recover(self) -> None:
        """Interrupt student code that missed a deadline and collect its late answers, or restart it.

        As nbgrader does with a kernel: an interrupt that is obeyed keeps what student code defined;
        one that is ignored for ``grace`` seconds costs a restart, and everything is lost.
        """
        from grader.recheck import bridge

        peer = self.peer
        if peer.broken or self.proc.poll() is not None:
            self.restart("died or garbled the bridge")
            return
        pid = self._pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)
        self.debug(f"interrupted pid {pid}, waiting for {sorted(peer.abandoned)}")
        saved, peer.deadline = peer.deadline, time.monotonic() + self.grace
        peer.before_request = None
        try:
            while peer.abandoned:
                header, _ = peer.receive()
                if "op" in header:  # student code asking for a stand-in while it unwinds
                    peer.send({"reply": header.get("id"),
                               "raise": {"mro": ["TimeoutError"], "message": "timed out"}}, [])
                else:
                    peer.abandoned.discard(header.get("reply"))
            self.notes.append("student code timed out and was interrupted")
        except bridge.BridgeError as err:
            self.debug(f"no answer to the interrupt: {err}")
            self.restart("timed out and ignored the interrupt")
        finally:
            peer.deadline = saved
            peer.before_request = self.recover

    def settle(self) -> None:
        """Bring the student side back to a clean state after a cell in which it misbehaved."""
        if self.peer.broken or self.proc.poll() is not None:
            self.restart("died or garbled the bridge")
        elif self.peer.abandoned:
            self.recover()


class TestRunner:
    """Runs the plan: student cells on the student side, given and test cells here.

    Test cells read from student code only ``student_names``: what the answer cells of the
    source notebook define (the exercises' functions). ``np``, ``checks`` and everything else a
    test uses come from the given cells run here, whatever student code binds to those names.
    """

    def __init__(self, job: dict, report):
        from helpers import checks

        self.job, self.report = job, report
        self.cell_timeout = float(job["cell_timeout"])
        self.student_names = set(job.get("student_names", []))
        self.student = Student(job["student"], float(job.get("grace", INTERRUPT_GRACE)),
                               debug=lambda text: self._debug(-1, text))
        self.namespace = {"__name__": "__main__", "get_ipython": NoShell, "__builtins__": builtins}
        self.owned: set[str] = set()  # names the given and test cells bound: never the student's
        remember_python(job["cells"])  # each cell's plain Python, as the grader transformed it
        self.transform = transformer()
        self._substitute = checks.substitute
        checks.substitute = self._mirrored_substitute

    @contextlib.contextmanager
    def _mirrored_substitute(self, namespace, **replacements):
        """``checks.substitute`` on both sides: student functions call the test's stand-ins."""
        if namespace is not self.namespace:
            with self._substitute(namespace, **replacements):
                yield
            return
        peer = self.student.peer
        token = peer.request("push", value=replacements)
        try:
            with self._substitute(namespace, **replacements):
                yield
        finally:
            if peer is self.student.peer:
                with contextlib.suppress(Exception):
                    peer.request("pop", value=token)

    def run(self) -> None:
        self.student.start()
        try:
            for index, cell in enumerate(self.job["cells"]):
                kind = cell["kind"]
                started = time.monotonic()
                if kind == "given" and self._self_contained(cell):
                    # Both sides run it at once (the imports cell takes a second on each).
                    self._on_student_side(index, cell, meanwhile=functools.partial(
                        self._exec_here, index, cell, sync=False))
                else:
                    if kind in ("student", "given"):
                        self._on_student_side(index, cell)
                    if kind in ("given", "test"):
                        passed = self._here(index, cell)
                        if kind == "test":
                            self.report(grade_id=cell["grade_id"], passed=passed)
                self._debug(index, f"{kind} {cell['grade_id']}: {time.monotonic() - started:.2f} s")
                if self.student.notes:
                    self.report(notes=[f"cell {index}: {n}" for n in self.student.notes])
                    self.student.notes.clear()
            self.report(done=True)
        finally:
            self.student.stop()

    def _self_contained(self, cell: dict) -> bool:
        """Whether a given cell can run here without asking the student side anything."""
        names = reads(cell["code"])
        return names is not None and not (names & self.student_names) and "substitute" not in names

    def _on_student_side(self, index: int, cell: dict, meanwhile=None) -> None:

        peer = self.student.peer
        peer.deadline = time.monotonic() + self.cell_timeout
        try:
            answer = peer.request("exec", code=cell["code"], python=python_of(cell["code"]), index=index,
                                  meanwhile=meanwhile)
        except Exception:  # noqa: BLE001 - whatever the student side answers, the re-check goes on
            answer = None
        finally:
            peer.deadline = None
        self.student.settle()
        if isinstance(answer, dict) and isinstance(answer.get("tampered"), list):
            changed = [str(t)[:MAX_NOTE] for t in answer["tampered"][:20]]
            if changed:
                self.report(tampered=changed)

    def _debug(self, index: int, text: str = "") -> None:
        """With COURSE_RECHECK_DEBUG=FILE: how long each cell took, and why a cell failed."""
        path = os.environ.get("COURSE_RECHECK_DEBUG")
        if path:
            import traceback

            with open(path, "a") as fh:
                fh.write(f"{self.job['student']['cwd']} cell {index}: {text or traceback.format_exc()}\n")

    def _sync(self, code: types.CodeType) -> None:
        """Bind the student names ``code`` uses to the student side's values (absent: unbound)."""
        wanted = sorted(n for n in names_in(code) & self.student_names if n not in self.owned)
        if not wanted:
            return
        values = self.student.peer.request("get", names=wanted)
        values = values if isinstance(values, dict) else {}
        for name in wanted:
            if name in values:
                self.namespace[name] = values[name]
            else:
                self.namespace.pop(name, None)

    def _here(self, index: int, cell: dict) -> bool:
        """Run a given or test cell in this process; whether it raised nothing (and the student
        side neither timed out nor died meanwhile, even if the test caught the exception)."""
        peer = self.student.peer
        troubles = peer.troubles
        peer.deadline = time.monotonic() + self.cell_timeout
        try:
            ok = self._exec_here(index, cell, sync=True)
        finally:
            peer.deadline = None
        if peer.troubles != troubles or peer is not self.student.peer:
            ok = False
        self.student.settle()
        return ok

    def _exec_here(self, index: int, cell: dict, sync: bool) -> bool:
        before = dict(self.namespace)
        ok = True
        try:
            code = compile(self.transform(cell["code"]), f"<test cell {index}>", "exec")
            if sync:
                self._sync(code)
                before = dict(self.namespace)
            exec(code, self.namespace)  # noqa: S102 - the instructor's own cell
        except BaseException:  # noqa: BLE001 - any failure of a test cell fails it
            ok = False
            self._debug(index)
        for name, value in self.namespace.items():
            if before.get(name, MISSING) is not value:
                self.owned.add(name)
        return ok


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    out = quiet_stdio()
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: student code cannot ptrace us

    def report(**item) -> None:
        os.write(out, (json.dumps(item) + "\n").encode())

    try:
        TestRunner(job, report).run()
    except BaseException as err:  # noqa: BLE001 - said, so that the parent knows why it stopped
        report(notes=[f"the test runner failed: {type(err).__name__}: {err}"[:MAX_NOTE]])
        path = os.environ.get("COURSE_RECHECK_DEBUG")
        if path:
            import traceback

            with open(path, "a") as fh:
                fh.write(f"test runner failed:\n{traceback.format_exc()}\n")
    os._exit(0)


def _warm() -> None:
    """Import what every re-check imports: NumPy, matplotlib, the helpers, IPython's transformer."""
    import importlib
    import pkgutil

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401

    import helpers
    from grader.containment import sandbox  # noqa: F401
    from grader.recheck import bridge  # noqa: F401

    for module in pkgutil.iter_modules(helpers.__path__):
        importlib.import_module(f"helpers.{module.name}")
    transformer()


def serve(fd: int) -> None:
    """``--serve FD``: a warm runner that never runs a job itself; for each request on the socket
    FD (the job's stdin and stdout as two passed descriptors) it forks a test runner, in a session
    of its own, and answers its pid. Its imports are done once, before any job.

    Where kernels may be forked warm (``grader.containment.warm``), each runner gets a channel
    back to it, on which it asks for its student sides: forked from here, where no job and no
    test was ever read, into a sandbox of their own (they end with the runner)."""
    from grader.containment import warm

    sock = socket.socket(fileno=fd)
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0, as every runner
    with contextlib.suppress(Exception):  # a module that fails here fails in the job, as before
        _warm()
    forks_students = warm.usable()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the runners
    channels: dict[socket.socket, int] = {}  # channel -> the pid of the runner at its other end
    while True:
        ready, _, _ = select.select([sock, *channels], [], [])
        for chan in ready:
            if chan is not sock:
                _fork_student_side(chan, channels, sock)
        if sock not in ready:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 2)
        except OSError:
            break
        if not msg or len(fds) != 2:
            break
        ours = theirs = None
        if forks_students:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                global _warm_channel
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sock.close()
                for chan in [*channels, *([ours] if ours else [])]:
                    chan.close()
                _warm_channel = theirs
                os.setsid()
                os.dup2(fds[0], 0)
                os.dup2(fds[1], 1)
                for f in fds:
                    os.close(f)
                warm.fresh_randomness()
                main()
            finally:
                os._exit(1)
        for f in fds:
            os.close(f)
        if theirs is not None:
            theirs.close()
            channels[ours] = pid
        try:
            sock.sendall(f"{pid}\n".encode())
        except OSError:
            break
    os._exit(0)


def _fork_student_side(chan: socket.socket, channels: dict, sock: socket.socket) -> None:
    """Answer one request of a runner on its channel: fork the student side it asks for."""
    from grader.containment import warm
    from grader.recheck import student_side

    try:
        msg, fds, _, _ = socket.recv_fds(chan, 1 << 20, 1)
    except OSError:
        msg, fds = b"", []
    if not msg:  # the runner is done
        for f in fds:
            os.close(f)
        del channels[chan]
        chan.close()
        return
    pid = 0
    try:
        request = json.loads(msg)
        if len(fds) == 1:
            end = fds[0]
            pid = warm.fork_sandboxed(
                request["spec"], request["cwd"], request["env"], lambda: student_side.main(end),
                close=[sock.fileno(), *(c.fileno() for c in channels)], watch=channels[chan])
    except (OSError, ValueError, KeyError, TypeError):
        pid = 0
    finally:
        for f in fds:
            os.close(f)
    with contextlib.suppress(OSError):
        chan.send(f"{pid}".encode() if pid else b"")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    main()
