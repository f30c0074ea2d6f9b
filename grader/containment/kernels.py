"""The kernel manager of grading kernels: every kernel starts inside ``grader.containment.sandbox``."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import matplotlib
from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

import grader
from grader.containment import sandbox

PROJECT = Path(grader.__file__).resolve().parents[1]


def kernel_dir(uid: int | None) -> Path:
    """A fresh folder for one kernel's connection file, sockets, home and caches."""
    path = Path(tempfile.mkdtemp(prefix="course-kernel-"))
    for sub in ("home", "mpl", "ipython"):
        (path / sub).mkdir()
    # matplotlib's font cache, so that the kernel does not rebuild it and say so on stderr.
    for cached in glob.glob(os.path.join(matplotlib.get_cachedir(), "fontlist-*.json")):
        shutil.copy(cached, path / "mpl")
    if uid is not None:
        for sub in (path, *path.rglob("*")):
            os.chown(sub, uid, sandbox.NOGROUP)
    return path


def kernel_env(folder: Path) -> dict[str, str]:
    return {"HOME": str(folder / "home"), "MPLCONFIGDIR": str(folder / "mpl"),
            "IPYTHONDIR": str(folder / "ipython"), "JUPYTER_RUNTIME_DIR": str(folder),
            "XDG_CACHE_HOME": str(folder / "home"), "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "USER": "student", "LOGNAME": "student"}


def hidden_paths(course_root: str | os.PathLike | None) -> list[str]:
    """The course and this project: hidden whatever folder of the machine they are in."""
    return [str(p) for p in {PROJECT, *([Path(course_root).resolve()] if course_root else [])}]


def shown_paths() -> list[str]:
    """What a kernel needs to see: the Python environment and the course's two packages."""
    import helpers
    return [os.path.realpath(sys_prefix) for sys_prefix in {sys.prefix, sys.base_prefix}] + [
        str(Path(helpers.__file__).resolve().parent), str(Path(grader.__file__).resolve().parent)]


def sandboxed(cmd: list[str], folder: Path, uid: int | None, course_root: str | os.PathLike | None,
              extra_hidden: list[str] = (), protections: sandbox.Protections | None = None) -> list[str]:
    """``cmd`` wrapped for the sandbox; ``folder`` (from ``kernel_dir``) is its one writable place."""
    return sandbox.command(cmd, show=shown_paths(), writable=[str(folder)], uid=uid,
                           hide=[*hidden_paths(course_root), *extra_hidden], protections=protections)


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
        return sandboxed(cmd, self._folder, self._uid, root, self.extra_hidden, self.protections)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = {**(kw.get("env") or os.environ), **kernel_env(self._folder)}
        await super()._async_launch_kernel(kernel_cmd, **kw)

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
