"""Visible or hidden: a test cell's failure is placed by its failing line number, not by its text.

Unit tests of ``grader.preprocessors`` on tracebacks in IPython's two forms (its own, and the
short form ``helpers.checks`` gives a failed check); no kernel.
"""

from __future__ import annotations

import nbformat
from nbformat import v4

from grader.preprocessors import (
    HideHiddenTests,
    failed_in_hidden,
    failing_line,
    hidden_ranges,
)

# A test cell whose hidden block has lines that are only brackets, as test-grad_f's has.
SOURCE = """\
result = grad_f(1.0, 2.0, 0.5)
dfdx, dfdy, dfdz = result
checks.check_scalar("dfdz at (1, 2, 0.5)", dfdz, 24.74625462767236, mistakes={
    "the +1 from the lone term z is missing.": 23.74625462767236,
})

### BEGIN HIDDEN TESTS
expected = []
for p in points:
    expected.append([
        p + 1,
    ])
checks.check_close(
    "grad_f at 8 random points", received, expected,
)
### END HIDDEN TESTS"""

SHORT_VISIBLE = [
    "Cell In[7], line 3\n\x1b[0;32m---> 3\x1b[0m checks.check_scalar(\"dfdz at (1, 2, 0.5)\", dfdz, 24.7,",
    "\x1b[0;31mAssertionError\x1b[0m: dfdz at (1, 2, 0.5) is not what was expected (tolerance rtol=1e-07).\n"
    "  expected: 24.74625462767236\n  got:      23.74625462767236\n"
    "  likely mistake: the +1 from the lone term z is missing.",
]
SHORT_HIDDEN = [
    "Cell In[7], line 13\n---> 13 checks.check_close(",
    "AssertionError: grad_f at 8 random points is not what was expected (tolerance rtol=1e-09).",
]
# IPython's own form, for an error raised inside the student's function (NotImplementedError).
IPYTHON_VISIBLE = [
    "---------------------------------------------------------------------------\n"
    "NotImplementedError                       Traceback (most recent call last)",
    "Cell In[7], line 1\n----> 1 result = grad_f(1.0, 2.0, 0.5)\n      2 dfdx, dfdy, dfdz = result\n"
    "      3 checks.check_scalar(\"dfdz at (1, 2, 0.5)\", dfdz, 24.74625462767236, mistakes={",
    "Cell In[3], line 12, in grad_f(x, y, z)\n     11 \"\"\"\n---> 12 raise NotImplementedError()",
    "NotImplementedError: ",
]
# A failure at the end of the visible part, where IPython's context shows hidden lines below it.
IPYTHON_NEAR_HIDDEN = [
    "Cell In[7], line 5\n      3 checks.check_scalar(\n----> 5 })\n      6 \n"
    "      7 ### BEGIN HIDDEN TESTS\n      8 expected = []",
    "TypeError: oops",
]


def test_hidden_ranges_are_line_numbers_of_the_block():
    assert hidden_ranges(SOURCE) == [(7, 16)]
    assert hidden_ranges("x = 1\n### BEGIN HIDDEN TESTS\ny = 2") == [(2, 3)]
    assert hidden_ranges("x = 1") == []


def test_failing_line_is_the_outermost_notebook_frame():
    assert failing_line("\n".join(SHORT_VISIBLE)) == 3
    assert failing_line("\n".join(IPYTHON_VISIBLE)) == 1  # not line 12 of the student's cell
    assert failing_line("----> 9 x = f()\nValueError: no") == 9  # without a Cell header
    assert failing_line("DeadKernelError: the kernel died while running this cell") is None


def test_a_visible_failure_is_visible_despite_bracket_only_hidden_lines():
    # The old text match found the hidden line ")" in the visible line "...(1, 2, 0.5)"...
    assert not failed_in_hidden(SOURCE, "\n".join(SHORT_VISIBLE))
    assert not failed_in_hidden(SOURCE, "\n".join(IPYTHON_VISIBLE))
    assert failed_in_hidden(SOURCE, "\n".join(SHORT_HIDDEN))
    assert not failed_in_hidden(SOURCE, "DeadKernelError: the kernel died")


def _feedback_cell(traceback: list[str], ename: str, evalue: str):
    cell = v4.new_code_cell(SOURCE, metadata={"nbgrader": {
        "grade": True, "grade_id": "test-grad_f", "locked": True, "points": 2,
        "schema_version": 3, "solution": False, "task": False}})
    cell.outputs = [nbformat.from_dict({"output_type": "error", "ename": ename, "evalue": evalue,
                                        "traceback": traceback})]
    nb = v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    return nb.cells[0]


def test_feedback_keeps_a_visible_failures_message_and_hint():
    cell = _feedback_cell(SHORT_VISIBLE, "AssertionError", "dfdz at (1, 2, 0.5) is not ...")
    text = "\n".join(cell.outputs[0].traceback)
    assert "likely mistake: the +1 from the lone term z is missing." in text
    assert "expected: 24.74625462767236" in text and "hidden test failed" not in text
    assert "BEGIN HIDDEN" not in cell.source and "random points" not in cell.source


def test_feedback_reduces_a_hidden_failure_to_one_line():
    cell = _feedback_cell(SHORT_HIDDEN, "AssertionError", "grad_f at 8 random points is not what")
    assert cell.outputs[0].traceback == ["hidden test failed: grad_f at 8 random points is not what"]


def test_feedback_of_a_blank_answer_is_not_a_hidden_failure():
    cell = _feedback_cell(IPYTHON_VISIBLE, "NotImplementedError", "")
    text = "\n".join(cell.outputs[0].traceback)
    assert "hidden test failed" not in text and "NotImplementedError" in text


def test_feedback_drops_hidden_lines_shown_as_context_of_a_visible_failure():
    cell = _feedback_cell(IPYTHON_NEAR_HIDDEN, "TypeError", "oops")
    text = "\n".join(cell.outputs[0].traceback)
    assert "----> 5 })" in text and "TypeError: oops" in text
    assert "BEGIN HIDDEN" not in text and "expected = []" not in text


# --- the same, end to end: test-grad_f of topic 01 run in a real kernel, then feedback's view ------

def _grad_f_notebook(answer_edit: tuple[str, str] | None, blank: bool = False):
    from conftest import ROOT, nbgrader_meta, read_nb

    source = read_nb(ROOT / "source" / "01_gradients" / "gradients.ipynb")
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in source.cells}
    imports = next(c for c in source.cells if "from helpers import" in c.source)
    answer = by_id["grad_f"].source
    if blank:
        answer = answer.split("### BEGIN SOLUTION")[0] + "raise NotImplementedError()\n"
    answer = "\n".join(ln for ln in answer.splitlines() if "### " not in ln)
    if answer_edit:
        assert answer_edit[0] in answer
        answer = answer.replace(*answer_edit)
    test = by_id["test-grad_f"]
    cells = [v4.new_code_cell(imports.source.replace("%matplotlib inline", "")),
             v4.new_code_cell(answer), v4.new_code_cell(test.source, metadata=test.metadata)]
    return v4.new_notebook(cells=cells)


def _feedback_of(nb) -> tuple[str, str]:
    """(the test cell's error as feedback shows it, its hidden code) after a real run."""
    from nbclient import NotebookClient

    hidden = nb.cells[2].source.split("### BEGIN HIDDEN TESTS")[1]
    NotebookClient(nb, allow_errors=True, timeout=60).execute()
    nb, _ = HideHiddenTests().preprocess(nb, {})
    errors = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert len(errors) == 1, nb.cells[2].outputs
    return "\n".join(errors[0].traceback), hidden


def test_feedback_end_to_end_a_missing_plus_one_keeps_its_hint():
    text, hidden = _feedback_of(_grad_f_notebook(("dfdz = x * y + 1 + 2", "dfdz = x * y + 2")))
    assert "likely mistake: the +1 from the lone term z is missing." in text, text
    assert "hidden test failed" not in text


def test_feedback_end_to_end_a_blank_answer_is_not_a_hidden_failure():
    text, _ = _feedback_of(_grad_f_notebook(None, blank=True))
    assert "NotImplementedError" in text and "hidden test failed" not in text, text


def test_feedback_end_to_end_a_hard_coded_answer_fails_the_hidden_block_in_one_line():
    constants = "10.43656365691809, 9.654845485377136, 24.74625462767236"
    text, hidden = _feedback_of(_grad_f_notebook(("    e_x = np.exp(x)",
                                                  f"    return {constants}\n    e_x = np.exp(x)")))
    assert text.startswith("hidden test failed: ") and "\n" not in text, text
    assert not [ln for ln in hidden.splitlines() if len(ln.strip()) > 15 and ln.strip() in text]
