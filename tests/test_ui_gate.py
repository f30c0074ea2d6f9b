"""The browser suite's gate: without Chromium it skips in one line on a laptop and fails in CI."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def _run_ui_suite_without_browser(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["CHROMIUM"] = str(ROOT / "no-such-chromium")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/test_ui.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_missing_browser_is_one_skip_line_on_a_laptop():
    proc = _run_ui_suite_without_browser(ci=False)
    # 5 is pytest's "no tests collected": the module skipped itself before defining any test.
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if "browser tests skipped" in ln]
    assert len(lines) == 1 and "no-such-chromium" in lines[0], proc.stdout


def test_missing_browser_fails_in_ci():
    proc = _run_ui_suite_without_browser(ci=True)
    assert proc.returncode != 0, proc.stdout
    assert "browser tests cannot run in CI" in proc.stdout + proc.stderr
