"""`make lab`'s server: JupyterLab starts on the course and nbgrader's formgrader sees every assignment."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import SOURCE_NOTEBOOKS, copy_course


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("lab") / "course")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "index.ipynb", "--no-browser",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    log = (course / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=course, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(course / 'lab.log').read_text()[-2000:]}")
            try:
                if _get(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not answer within 90 s")
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_lab_serves_the_landing_page(lab):
    base, token = lab
    assert _get(f"{base}/lab?token={token}")[0] == 200
    status, body = _get(f"{base}/api/contents/index.ipynb?token={token}")
    assert status == 200 and json.loads(body)["type"] == "notebook"


def test_formgrader_lists_every_assignment(lab):
    base, token = lab
    status, body = _get(f"{base}/formgrader/api/assignments?token={token}")
    assert status == 200, body
    names = {a["name"] for a in json.loads(body)}
    assert names == {p.parent.name for p in SOURCE_NOTEBOOKS}
