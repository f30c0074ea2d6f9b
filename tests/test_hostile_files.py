"""Faulty and hostile submission files, graded as one class: blank, wrong and partial answers,
deleted, edited, moved, split and duplicated cells, edited metadata, corrupt, empty and 100 MB
files, another assignment's notebook."""

from __future__ import annotations

import hostile
import pytest

pytest_generate_tests = hostile.generate_tests
# Split and duplicated cells share an id on purpose; nbformat says so each time they are read.
pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")


def test_the_corpus_is_large_and_each_case_is_graded_once():
    assert len(hostile.CASES) >= 30
    assert sorted(hostile.CODE + hostile.FILES) == sorted(hostile.CASES)
    assert not set(hostile.CODE) & set(hostile.FILES)


class TestHostileFiles(hostile.GradedClass):
    students = hostile.FILES
    regraded = ("correct", "deleted-test", "corrupt-json")
    unusual = ("corrupt-json", "huge-file", "deleted-test", "other-assignment")
