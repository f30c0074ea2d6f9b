"""`make lab`'s server: JupyterLab starts on the course and nbgrader's formgrader sees every assignment."""

from __future__ import annotations

import json

import pytest
from conftest import SOURCE_NOTEBOOKS, copy_course
from labserver import http_get as _get
from labserver import running_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("lab") / "course")
    with running_lab(course) as server:
        yield server.base, server.token


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


def test_the_courses_lab_settings_hide_clutter_from_the_file_browser(tmp_path):
    course = copy_course(tmp_path / "course", with_editions=False)
    for name in ("dl_foundations.egg-info", "__pycache__", "test-artifacts"):
        (course / name).mkdir()
    with running_lab(course) as server:
        status, body = _get(server.url("api/contents"))
    assert status == 200, body
    names = {item["name"] for item in json.loads(body)["content"]}
    assert "source" in names and "nbgrader_config.py" in names, names
    assert not names & {"dl_foundations.egg-info", "__pycache__", "test-artifacts"}, names
