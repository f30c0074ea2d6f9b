"""Where student code runs while it is graded: an unprivileged user in its own namespaces.

``course autograde`` starts every grading kernel (and the clean re-check) through ``command()``:

    unshare --net --mount --pid --fork --kill-child --mount-proc \
        python -P -m grader.containment.sandbox SPEC -- CMD

Inside the new namespaces this module, still root there, hides every private tree of the machine
(``/home``, ``/root``, ``/tmp``, ``/srv``, the course and the project, ...) under empty read-only
tmpfs mounts, shows again only what the kernel needs (the Python environment, the ``helpers`` and
``grader`` packages, the submission's own folder, a kernel folder for its connection sockets),
gives it a small private ``/tmp``, drops to an unused user id of its own with resource limits, and runs CMD.
No network: the kernel talks to the grader over Unix sockets (ZeroMQ's ipc transport). When the
kernel exits the pid namespace dies with it, so nothing a student started outlives grading.

What a machine cannot give is reported by ``Protections.missing`` and said at start-up.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

NOGROUP = 65534  # nogroup/nobody
UIDS = range(3_000_000, 4_000_000)  # one unused user id per kernel: its process limit is its own
# Top-level folders a kernel needs as they are; every other one (home, tmp, srv, mnt, work, ...)
# is hidden. /run is hidden too, with the sockets of local servers (PostgreSQL) in it.
SYSTEM_DIRS = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc", "sbin", "sys",
               "usr", "var", "nix", "snap"}
ALWAYS_HIDDEN = ("/run", "/var/tmp", "/dev/shm", "/var/lib/postgresql", "/var/spool")
LIMITS = {  # rlimit -> value; CPU seconds, bytes of address space / of one file, processes
    "CPU": 600,
    "AS": 8 * 2**30,
    "FSIZE": 64 * 2**20,
    "NPROC": 256,
    "CORE": 0,
}
SCRATCH_BYTES = 256 * 2**20  # the private /tmp

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC = 1, 2, 4, 32, 4096, 16384
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG = 38, 1


@dataclass
class Protections:
    """What this machine lets the grader do to contain student code."""

    namespaces: bool = False  # no network, hidden files, one pid namespace per kernel
    separate_user: bool = False  # kernels run as an unused user id (needs root)
    user_namespace: bool = False  # namespaces entered through an unprivileged user namespace
    missing: list[str] = field(default_factory=list)

    def unshare_args(self) -> list[str]:
        if not self.namespaces:
            return []
        # setpriv: unshare itself dies with whoever started it (nbgrader killed by a watchdog).
        setpriv = shutil.which("setpriv")
        args = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
        args += [shutil.which("unshare") or "unshare"]
        if self.user_namespace:
            args += ["--user", "--map-root-user"]
        return args + ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]


def _unshare_works(extra: list[str]) -> bool:
    exe = shutil.which("unshare")
    if exe is None:
        return False
    cmd = [exe, *extra, "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def detect() -> Protections:
    """Probe what this machine allows (cached; ``COURSE_SANDBOX=off`` switches everything off)."""
    p = Protections()
    if os.environ.get("COURSE_SANDBOX", "").lower() in ("off", "0", "no"):
        p.missing.append("the sandbox is switched off (COURSE_SANDBOX=off): student code runs as "
                         "you, can read and write the course and reach the network")
        return p
    if sys.platform != "linux":
        p.missing.append("not Linux: no namespaces; student code can read the course and reach the "
                         "network (only resource limits and process-group kill apply)")
        return p
    if os.geteuid() == 0 and _unshare_works([]):
        p.namespaces = p.separate_user = True
    elif _unshare_works(["--user", "--map-root-user"]):
        p.namespaces = p.user_namespace = True
        p.missing.append("not root: kernels run as you (no separate user) and the process limit is "
                         "not applied; files, network and processes are still contained")
    else:
        p.missing.append("unshare is missing or namespaces are not allowed: student code can read "
                         "the course and reach the network (only resource limits and process-group "
                         "kill apply)")
    return p


def hidden_roots(extra: list[str]) -> list[str]:
    """Folders to hide: private top-level folders, ALWAYS_HIDDEN and ``extra`` (course, project)."""
    roots = [str(p) for p in Path("/").iterdir()
             if p.is_dir() and not p.is_symlink() and p.name not in SYSTEM_DIRS]
    return sorted({*roots, *ALWAYS_HIDDEN, *map(str, extra)}, key=lambda s: (s.count("/"), s))


def new_uid() -> int | None:
    """A user id of its own for one sandbox (None where kernels cannot change user)."""
    return secrets.choice(UIDS) if detect().separate_user else None


def spec(*, show: list[str], writable: list[str], hide: list[str], uid: int | None,
         protections: Protections | None = None) -> dict:
    """What ``enter`` does inside the namespaces: only ``show`` (read-only) and ``writable``
    seen, ``uid`` and the limits taken."""
    p = protections or detect()
    return {"show": show, "writable": writable, "hide": hidden_roots(hide) if p.namespaces else [],
            "uid": uid if p.separate_user else None, "limits": LIMITS, "nproc": p.separate_user}


def command(cmd: list[str], *, show: list[str], writable: list[str], hide: list[str], uid: int | None,
            protections: Protections | None = None) -> list[str]:
    """``cmd`` wrapped to run in the sandbox as ``uid``: only ``show`` (read-only) and ``writable``."""
    p = protections or detect()
    wanted = spec(show=show, writable=writable, hide=hide, uid=uid, protections=p)
    return [*p.unshare_args(), sys.executable, "-P", "-m", "grader.containment.sandbox",
            json.dumps(wanted), "--", *cmd]


# ---------------------------------------------------------------- inside the namespaces

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Ask for SIGKILL when this process's parent dies (usable as a ``preexec_fn``)."""
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    libc = _libc()
    if libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _hide_and_show(spec: dict) -> None:
    keep = [(path, True) for path in spec["writable"]] + [(path, False) for path in spec["show"]]
    # Hold every folder to show open: once hidden, its path no longer leads to it.
    held = [(path, os.open(path, os.O_PATH), rw) for path, rw in keep if os.path.exists(path)]
    cwd = os.getcwd()
    held.append((cwd, os.open(cwd, os.O_PATH), False))
    masks = []
    for root in spec["hide"]:
        if not os.path.isdir(root) or os.path.islink(root):
            continue  # absent, or already hidden under an earlier root
        scratch = root == "/tmp"
        options = f"size={SCRATCH_BYTES},mode=1777" if scratch else "size=1m,mode=755"
        _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, options)
        if not scratch:
            masks.append(root)
    for path, fd, rw in sorted(held, key=lambda h: h[0].count("/")):
        if not os.path.exists(path):
            os.makedirs(path, exist_ok=True) if os.path.isdir(f"/proc/self/fd/{fd}") else \
                Path(path).touch()
        _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
        if not rw:
            _mount("none", path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID)
        os.close(fd)
    for root in masks:  # the empty stand-ins are read-only too
        _mount("none", root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir(cwd)


def _drop_privileges(spec: dict) -> None:
    libc = _libc()
    uid = spec["uid"]
    if uid is not None:
        os.setgroups([])
        os.setgid(NOGROUP)
        os.setuid(uid)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # ``unshare --kill-child`` asked for SIGKILL when unshare dies, but changing user cleared it.
    die_with_parent()
    for name, value in spec["limits"].items():
        if name == "NPROC" and not spec["nproc"]:
            continue  # counted per user: a limit on the instructor's own user would break their desktop
        limit = getattr(resource, f"RLIMIT_{name}")
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # CPU: SIGXCPU at the soft limit, SIGKILL a few seconds later for code that ignores it.
        resource.setrlimit(limit, (value, value + 5 if name == "CPU" and hard == resource.RLIM_INFINITY
                                   else value))


def enter(spec: dict) -> None:
    """In new namespaces, as root there: hide and show folders, then become ``spec``'s user
    with its limits. Used by ``main`` (a new process) and ``grader.containment.warm`` (a fork)."""
    if spec["hide"]:
        _hide_and_show(spec)
    _drop_privileges(spec)


def main(argv: list[str]) -> None:
    wanted, cmd = json.loads(argv[0]), argv[argv.index("--") + 1:]
    enter(wanted)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
