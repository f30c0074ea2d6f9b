"""Warm grading kernels: forked, already imported, into a sandbox of their own.

A grading kernel started anew spends most of a second importing ipykernel, then the notebook's
first cell imports NumPy, matplotlib and the helpers: per student, twice per notebook (nbgrader's
run and the re-check's student side), more than the notebook's own cells cost. A ``Zygote``
(``python -P -m grader.containment.warm FD``, one per nbgrader worker, outside any sandbox)
imports all of that once and never runs student code itself. For each kernel it forks a process
that enters the sandbox exactly as ``grader.containment.sandbox`` makes a new process enter it
(new mount, network and pid namespaces, the same mounts, an unused user id of its own, the same
limits) and only then runs the kernel, in a process that student code could not see before.

``fork_sandboxed`` is that fork; the re-check's warm runner (``grader.recheck.runner --serve``)
uses it too, for the student sides of its test runners.

Used only where the sandbox runs as root (``Protections.separate_user``); elsewhere, and with
``COURSE_WARM_KERNELS=0``, every kernel starts anew.
"""

from __future__ import annotations

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
import threading

from grader.containment import sandbox

_CLONE_NEWNS, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
_MS_PRIVATE, _MS_REC, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1 << 18, 16384, 2, 4, 8
_PR_SET_PDEATHSIG = 1
START_TIMEOUT = 60.0  # seconds for the zygote to answer (it imports first)


def usable() -> bool:
    """Whether kernels may be forked warm here: the sandbox runs as root and nobody said no."""
    if os.environ.get("COURSE_WARM_KERNELS", "1").lower() in ("0", "off", "no"):
        return False
    p = sandbox.detect()
    return p.namespaces and p.separate_user and hasattr(os, "pidfd_open")


class Forked:
    """A forked kernel as jupyter_client sees a ``Popen``: poll, wait, signals (through a pidfd,
    so a pid reused after the kernel ended is never signalled)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._fd = os.pidfd_open(pid)

    def _ended(self, timeout: float | None) -> bool:
        if self.returncode is None and select.select([self._fd], [], [], timeout)[0]:
            self.returncode = -signal.SIGKILL  # reaped by the zygote: the status is not ours to read
            os.close(self._fd)
        return self.returncode is not None

    def poll(self) -> int | None:
        self._ended(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended(timeout):
            raise subprocess.TimeoutExpired("forked kernel", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def read_pid(sock: socket.socket, timeout: float, who: str) -> int:
    """The pid (a line) that a forking process answers on ``sock`` within ``timeout`` seconds;
    OSError or ValueError if it does not."""
    answer = b""
    while not answer.endswith(b"\n"):
        if not select.select([sock], [], [], timeout)[0]:
            raise OSError(f"{who} did not answer")
        part = sock.recv(64)
        if not part:
            raise OSError(f"{who} is gone")
        answer += part
    return int(answer)


class Zygote:
    """The warm process of one interpreter: ``launch`` forks a sandboxed kernel from it."""

    def __init__(self, python: str, env: dict[str, str]):
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [python, "-P", "-m", "grader.containment.warm", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, cwd="/", preexec_fn=sandbox.die_with_parent)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()

    def launch(self, argv: list[str], spec: dict, cwd: str, env: dict[str, str]) -> Forked | None:
        """A kernel (``python -m ipykernel_launcher`` with ``argv``) in the sandbox ``spec``, run
        from ``cwd`` with exactly ``env``; None if the zygote cannot (start it anew then)."""
        request = json.dumps({"argv": argv, "spec": spec, "cwd": cwd, "env": env}).encode() + b"\n"
        try:
            with self.lock:
                self.sock.sendall(request)
                pid = read_pid(self.sock, START_TIMEOUT, "the zygote")
            return Forked(pid)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_zygotes: dict[tuple, Zygote] = {}
_zygotes_lock = threading.Lock()


def zygote(python: str, env: dict[str, str]) -> Zygote:
    """The zygote of ``python`` in this process (started at the first kernel, then reused)."""
    key = (python, tuple(sorted((k, v) for k, v in env.items() if k in ZYGOTE_ENV)))
    with _zygotes_lock:
        found = _zygotes.get(key)
        if found is None or found.proc.poll() is not None:
            found = _zygotes[key] = Zygote(python, env)
        return found


def close_all() -> None:
    """Stop this process's zygotes (the kernels they forked end with them)."""
    with _zygotes_lock:
        for found in _zygotes.values():
            found.close()
        _zygotes.clear()


# What a zygote's imports depend on; other variables are the kernel's own, set after the fork.
ZYGOTE_ENV = ("PYTHONPATH", "MPLBACKEND", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
              "MKL_NUM_THREADS", "VIRTUAL_ENV")


# ---------------------------------------------------------------- the zygote itself

# What a kernel imports as it starts (ipykernel's shell, debugger, completer, comms, widgets).
WARM_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                "IPython.core.completer", "IPython.core.completerlib", "IPython.core.debugger",
                "IPython.core.oinspect", "IPython.extensions.storemagic", "jupyter_client.session",
                "comm", "ipywidgets", "sqlite3")


def _warm() -> None:
    """Import what every grading kernel imports: ipykernel, NumPy, matplotlib, the helpers."""
    import importlib
    import pkgutil

    for name in WARM_MODULES:
        importlib.import_module(name)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401

    import helpers
    from grader.containment import kernel_guard, sandbox  # noqa: F401

    for module in pkgutil.iter_modules(helpers.__path__):
        importlib.import_module(f"helpers.{module.name}")


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def fork_sandboxed(spec: dict, cwd: str, env: dict[str, str], target, close=(),
                   watch: int | None = None) -> int:
    """Fork a process into new namespaces and the sandbox ``spec`` that calls ``target()`` there,
    from ``cwd`` with exactly ``env``; the pid of its keeper once that leads a session of its own.

    The caller must have one thread and hold nothing student code may see (the child is a copy
    of it): ``close`` are its descriptors the child closes first. The keeper (pid returned) stays
    outside, as `unshare --fork --kill-child` does; the sandboxed process is pid 1 of its own
    namespace and dies with the keeper, which dies with the caller and, given ``watch`` (a pid),
    with that process too."""
    ready_r, ready_w = os.pipe()
    watched = os.pidfd_open(watch) if watch else None
    pid = os.fork()
    if pid:
        os.close(ready_w)
        if watched is not None:
            os.close(watched)
        os.read(ready_r, 1)  # end of file: the child is in its own session, or gone
        os.close(ready_r)
        return pid
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in close:
            with contextlib.suppress(OSError):
                os.close(fd)
        os.close(ready_r)
        os.setsid()  # a process group of its own (jupyter_client signals the group) ...
        os.close(ready_w)  # ... before its pid is handed out
        _keep(spec, cwd, env, target, watched)
        code = 0
    finally:
        os._exit(code)


def _keep(spec: dict, cwd: str, env: dict[str, str], target, watched: int | None) -> None:
    """In the keeper: new namespaces, then the sandboxed process in them; wait for its end."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID), "unshare")
    # Mounts made from here on stay in this namespace (what unshare(1) does by default).
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
    pid = os.fork()
    if pid:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the sandboxed process
        child = os.pidfd_open(pid)
        waiting = [child] if watched is None else [child, watched]
        if child not in select.select(waiting, [], [])[0]:
            os.kill(pid, signal.SIGKILL)  # the watched process is gone: so is its sandbox
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    if watched is not None:
        os.close(watched)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None),
           "mount /proc")
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sandbox.enter(spec)
    fresh_randomness()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    target()


def _kernel(argv: list[str]) -> None:
    """The kernel, as `python -m ipykernel_launcher ARGV` run from the submission's folder."""
    site = next((i for i, p in enumerate(sys.path) if os.path.basename(p) in
                 ("site-packages", "dist-packages")), len(sys.path))
    sys.path.insert(site, "")  # the student's own modules importable, as in a kernel started anew
    sys.argv = ["ipykernel_launcher", *argv]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=argv)


def fresh_randomness() -> None:
    """A forked process draws other numbers than its siblings, as a newly started one would."""
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def serve(fd: int) -> None:
    """Read kernel requests (JSON lines) on the socket ``fd``; fork each; answer its pid."""
    sock = socket.socket(fileno=fd)
    with contextlib.suppress(Exception):  # a module that fails here fails in the kernel, as before
        _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the kernels
    reader = sock.makefile("rb")
    for line in reader:
        try:
            request = json.loads(line)
        except ValueError:
            break
        pid = fork_sandboxed(request["spec"], request["cwd"], request["env"],
                             functools.partial(_kernel, request["argv"]), close=(sock.fileno(),))
        try:
            sock.sendall(f"{pid}\n".encode())
        except OSError:
            break
    os._exit(0)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
