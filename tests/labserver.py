"""Start `jupyter lab` from this environment on a free loopback port, and always stop it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
# The course's own lab settings, as `make lab` applies them (no news pop-up, clutter hidden).
LAB_CONFIG = Path(__file__).resolve().parents[1] / "jupyter-config"


@dataclass
class Lab:
    base: str
    token: str
    root: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def _write_settings(folder: Path) -> None:
    """User settings for a test run: no virtual scrolling, so every cell renders. (No news pop-up
    comes from the course's own settings, ``LAB_CONFIG``, which the tests check.)"""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, value in settings.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@contextlib.contextmanager
def running_lab(root: Path, timeout: float = 90) -> Iterator[Lab]:
    """JupyterLab serving ``root`` (the course copy, whose nbgrader_config.py it uses)."""
    port, token = free_port(), secrets.token_hex(16)
    state = root.parent / f"lab-state-{port}"
    _write_settings(state / "settings")
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_PATH": os.pathsep.join(filter(None, [str(LAB_CONFIG),
                                                                 os.environ.get("JUPYTER_CONFIG_PATH")])),
           "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces")}
    log_path = root.parent / f"lab-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        lab = Lab(f"http://127.0.0.1:{port}", token, root)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"jupyter lab exited: {log_path.read_text()[-2000:]}")
                with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                    if http_get(lab.url("api/status"))[0] == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s")
                time.sleep(0.5)
            yield lab
        finally:
            # The server and its kernels share one process group: stop them all.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
