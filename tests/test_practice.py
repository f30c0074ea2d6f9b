"""helpers.practice: the self-study edition keeps the reader's version and fills in the rest."""

from __future__ import annotations

import pytest

from helpers import practice

SOLUTIONS = '''# header

# %% pair
def double(x):
    return 2 * x


def triple(x):
    return 3 * x

# %% broken
def broken(x):
    return x / 0
'''


def _stubs():
    namespace = {}
    exec(
        "def double(x):\n    \"\"\"Twice x.\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
        "def triple(x):\n    raise NotImplementedError()\n", namespace)
    return namespace


def test_is_stub_tells_the_students_stub_from_an_attempt():
    namespace = _stubs()
    assert practice.is_stub(namespace["double"]) and practice.is_stub(namespace["triple"])
    exec("def attempt(x):\n    if x:\n        raise NotImplementedError()\n    return 1\n", namespace)
    assert not practice.is_stub(namespace["attempt"])
    assert not practice.is_stub(lambda: 1) and not practice.is_stub(3)


def test_fill_in_replaces_only_the_stubs(tmp_path, capsys):
    path = tmp_path / "solutions.py"
    path.write_text(SOLUTIONS)
    namespace = _stubs()
    exec("def double(x):\n    return x + x + 1\n", namespace)  # the reader's (wrong) version
    assert practice.fill_in(namespace, "pair", path) is None
    assert namespace["double"](2) == 5, "the reader's version was replaced"
    assert namespace["triple"](2) == 6, "the stub was not filled in"
    out = capsys.readouterr().out
    assert "your version: double" in out and "reference solution: triple" in out


def test_a_reference_runs_in_the_notebooks_namespace_with_file_line_numbers(tmp_path):
    path = tmp_path / "solutions.py"
    path.write_text(SOLUTIONS)
    namespace = {}
    practice.fill_in(namespace, "broken", path)
    assert namespace["broken"].__globals__ is namespace
    with pytest.raises(ZeroDivisionError) as info:
        namespace["broken"](1)
    frame = info.traceback[-1]
    assert frame.path == path.resolve() and frame.lineno + 1 == 13  # "return x / 0" in the file


def test_unknown_exercise_and_missing_file_are_clear_errors(tmp_path):
    path = tmp_path / "solutions.py"
    path.write_text(SOLUTIONS)
    with pytest.raises(KeyError, match="no exercise 'nope' .*pair, broken"):
        practice.fill_in({}, "nope", path)
    with pytest.raises(FileNotFoundError, match="next to the self-study notebook"):
        practice.fill_in({}, "pair", tmp_path / "missing.py")
