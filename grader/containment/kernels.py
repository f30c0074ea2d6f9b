"""The kernel manager of grading kernels: every kernel starts inside ``grader.containment.sandbox``."""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

import grader
from grader.containment import sandbox, warm

_CHECKOUT = Path(grader.__file__).resolve().parents[1]
# The checkout this grader runs from (hidden from kernels); None for an installed, non-editable copy.
PROJECT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None
# The packages a grading kernel imports from the course's own code.
COURSE_PACKAGES = ("helpers", "grader")


def kernel_dir(uid: int | None) -> Path:
    """A fresh folder for one kernel's connection file, sockets, home and caches."""
    path = Path(tempfile.mkdtemp(prefix="course-kernel-"))
    for sub in ("home", "mpl", "ipython"):
        (path / sub).mkdir()
    # matplotlib's font cache, so that the kernel does not rebuild it and say so on stderr.
    import matplotlib  # here: half a second, and most processes importing this never need it

    for cached in glob.glob(os.path.join(matplotlib.get_cachedir(), "fontlist-*.json")):
        shutil.copy(cached, path / "mpl")
    if uid is not None:
        for sub in (path, *path.rglob("*")):
            os.chown(sub, uid, sandbox.NOGROUP)
    return path


# One BLAS thread per process: students are graded side by side, one per core, and spinning
# BLAS threads of several kernels on the same cores slow every one of them.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def kernel_env(folder: Path) -> dict[str, str]:
    return {"HOME": str(folder / "home"), "MPLCONFIGDIR": str(folder / "mpl"),
            "IPYTHONDIR": str(folder / "ipython"), "JUPYTER_RUNTIME_DIR": str(folder),
            "XDG_CACHE_HOME": str(folder / "home"), "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "USER": "student", "LOGNAME": "student", **ONE_THREAD}


def hidden_paths(course_root: str | os.PathLike | None) -> list[str]:
    """The course and this project: hidden whatever folder of the machine they are in."""
    return [str(p) for p in {*([PROJECT] if PROJECT else []),
                             *([Path(course_root).resolve()] if course_root else [])}]


# Where ``python`` finds the course packages, asked of that interpreter (-P: not from its folder).
_WHERE = ("import importlib.util, json, sys\n"
          "found = {}\n"
          "for name in sys.argv[1:]:\n"
          "    spec = importlib.util.find_spec(name)\n"
          "    if spec is not None and spec.submodule_search_locations:\n"
          "        found[name] = list(spec.submodule_search_locations)\n"
          "print(json.dumps({'prefixes': sorted({sys.prefix, sys.base_prefix}), 'packages': found}))\n")


@functools.cache
def packages_seen_by(python: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(prefixes, {package: folders}): what the interpreter ``python`` imports the course from.

    Asked of that interpreter itself, from a neutral folder, once per interpreter: the kernel's
    ``helpers`` is the one its own ``sys.path`` resolves, not the grader's, whatever folder
    ``course`` runs from. A package it cannot find is absent (the canary then says so).
    """
    try:
        proc = subprocess.run([python, "-P", "-c", _WHERE, *COURSE_PACKAGES], capture_output=True,
                              text=True, timeout=60, cwd="/",
                              env={k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"})
        seen = json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return (), {}
    return (tuple(os.path.realpath(p) for p in seen["prefixes"]),
            {name: tuple(os.path.realpath(f) for f in folders)
             for name, folders in seen["packages"].items()})


def shown_paths(python: str | None = None) -> list[str]:
    """What a kernel run by ``python`` (default: this one) needs to see: its Python environment
    and the course packages as that interpreter resolves them."""
    prefixes, packages = packages_seen_by(os.path.abspath(python or sys.executable))
    if not prefixes:  # the interpreter did not answer: at least its own environment
        prefixes = tuple(os.path.realpath(p) for p in {sys.prefix, sys.base_prefix})
    return [*prefixes, *(f for folders in packages.values() for f in folders)]


def sandboxed(cmd: list[str], folder: Path, uid: int | None, course_root: str | os.PathLike | None,
              extra_hidden: list[str] = (), protections: sandbox.Protections | None = None) -> list[str]:
    """``cmd`` wrapped for the sandbox; ``folder`` (from ``kernel_dir``) is its one writable place.

    ``cmd[0]`` is the interpreter that will run inside: the sandbox shows what it imports."""
    return sandbox.command(cmd, **where(cmd, folder, uid, course_root, extra_hidden), protections=protections)


def where(cmd: list[str], folder: Path, uid: int | None, course_root: str | os.PathLike | None,
          extra_hidden: list[str] = ()) -> dict:
    """What the sandbox shows, hides and makes writable for ``cmd`` (``sandbox.spec``'s arguments)."""
    python = shutil.which(cmd[0]) or cmd[0]
    return {"show": shown_paths(python), "writable": [str(folder)], "uid": uid,
            "hide": [*hidden_paths(course_root), *extra_hidden]}


def _zygote_env() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", **ONE_THREAD}


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through ``grader.containment.sandbox``; kills its whole process group at the end."""

    course_root = Unicode("", help="The course folder, hidden from the kernel.").tag(config=True)
    extra_hidden = List(Unicode(), help="More folders to hide from grading kernels.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.protections = sandbox.detect()
        self._uid = sandbox.new_uid()
        self._folder = kernel_dir(self._uid)
        if self.protections.namespaces:
            self.transport = "ipc"  # there is no network in the kernel's namespace
        self.connection_file = str(self._folder / "kernel.json")

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self._uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, self._uid, sandbox.NOGROUP)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        root = self.course_root or os.environ.get("COURSE_ROOT", "")
        self._plain = (cmd, sandbox.spec(**where(cmd, self._folder, self._uid, root, self.extra_hidden),
                                         protections=self.protections))
        return sandboxed(cmd, self._folder, self._uid, root, self.extra_hidden, self.protections)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = {**(kw.get("env") or os.environ), **kernel_env(self._folder)}
        forked = self._fork_warm(kw["env"], str(kw.get("cwd") or os.getcwd()))
        if forked is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        provisioner = self.provisioner  # as LocalProvisioner.launch_kernel leaves it
        provisioner.process, provisioner.pid, provisioner.cwd = forked, forked.pid, kw.get("cwd")
        provisioner.pgid = forked.pid  # it leads a session of its own
        self._reconcile_connection_info(provisioner.connection_info)

    def _fork_warm(self, env: dict[str, str], cwd: str) -> warm.Forked | None:
        """The kernel forked from this interpreter's zygote (grader.containment.warm), or None."""
        cmd, spec = getattr(self, "_plain", (None, None))
        if not cmd or cmd[1:3] != ["-m", "ipykernel_launcher"] or not warm.usable():
            return None
        python = shutil.which(cmd[0]) or cmd[0]
        return warm.zygote(python, _zygote_env()).launch(cmd[3:], spec, cwd, env)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # A killed kernel is gone in milliseconds; jupyter_client's 0.1 s polls idled each lane
        # that long per notebook.
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        pgid = getattr(self.provisioner, "pgid", None) if self.provisioner else None
        if pgid:
            try:  # whatever the kernel started in its group dies with it
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._folder, ignore_errors=True)


def prestart(kernel_name: str = "python3") -> None:
    """Start this process's zygote for ``kernel_name`` now (grader.containment.warm), before the
    first kernel is asked for; nothing where kernels are not forked warm."""
    if not warm.usable():
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        cmd = list(KernelSpecManager().get_kernel_spec(kernel_name).argv)
    except (NoSuchKernel, OSError, ValueError):
        return
    if cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return
    if cmd[0] in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
        cmd[0] = sys.executable  # as jupyter_client's format_kernel_cmd does
    warm.zygote(shutil.which(cmd[0]) or cmd[0], _zygote_env())
