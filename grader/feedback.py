"""Feedback that stays true: current after a regrade, readable offline, no server paths.

nbgrader writes the HTML (``GenerateFeedback``, its ``feedback`` template); this module adds what a
student needs to trust it:

- ``HideServerPaths`` (a feedback preprocessor, see nbgrader_config.py): tracebacks show
  ``helpers/checks.py``, not the grading machine's folders;
- ``finish``: MathJax embedded in the page (the template loads it from a CDN, so offline the maths
  shows as raw ``$...$``; only the HTML file travels through nbgrader's exchange), and each test
  cell named in the contents instead of "Test cell";
- ``refresh``: after a regrade, a student's existing feedback is written again, or, when the
  submission could not be graded this time, marked out of date at its top.
"""

from __future__ import annotations

import functools
import html
import importlib.metadata
import re
import time
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from grader.preprocessors import ANSI

# Start of a folder path: at the start of the text or after a space, quote, bracket or "=".
_DIRS = re.compile(r"""(?:^|(?<=[\s"'(\[=]))/(?:[\w.+@~-]+/)+""", re.MULTILINE)
_PYTHON_LIB = re.compile(r"/lib/python\d+(?:\.\d+)?/")


def strip_server_paths(text: str, course_root: str = "") -> str:
    """``text`` with every absolute folder shortened: to what follows site-packages/ or the
    course root, to its Python packages, to what follows the standard library's folder, else to
    nothing (the file name stays)."""
    root = course_root.rstrip("/") + "/" if course_root else None

    def short(match: re.Match) -> str:
        folder = match.group()
        for marker in ("/site-packages/", "/dist-packages/"):
            if marker in folder:
                return folder.split(marker, 1)[1]
        if root and folder.startswith(root):
            return folder[len(root):]
        package, here = "", Path(folder)
        while (here / "__init__.py").is_file():  # helpers/ of an editable install, say
            package, here = f"{here.name}/{package}", here.parent
        if package:
            return package
        lib = _PYTHON_LIB.search(folder)
        return folder[lib.end():] if lib else ""

    out, last = [], 0
    for code in ANSI.finditer(text):  # colour codes sit right before paths in tracebacks
        out += [_DIRS.sub(short, text[last:code.start()]), code.group()]
        last = code.end()
    out.append(_DIRS.sub(short, text[last:]))
    return "".join(out)


class HideServerPaths(NbGraderPreprocessor):
    """Feedback shows no folder of the grading machine: in tracebacks, errors and printed text."""

    course_root = Unicode("", help="the course folder: paths under it are shown relative to it"
                          ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        for out in cell.get("outputs", []):
            if "traceback" in out:
                out["traceback"] = [strip_server_paths(line, self.course_root) for line in out["traceback"]]
            if "evalue" in out:
                out["evalue"] = strip_server_paths(out["evalue"], self.course_root)
            if isinstance(out.get("text"), str):
                out["text"] = strip_server_paths(out["text"], self.course_root)
            plain = out.get("data", {}).get("text/plain")
            if isinstance(plain, str):
                out["data"]["text/plain"] = strip_server_paths(plain, self.course_root)
        return cell, resources


# What nbgrader's template writes for MathJax (its CDN script and a MathJax 2 configuration).
_CDN_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_FILE = f"{MATHJAX_PACKAGE}/static/mathjax/tex-svg-full.js"
# MathJax 3, SVG output (no font files to fetch), every TeX extension built in (none to fetch).
MATHJAX_CONFIG = """<script>
window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
                        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
                        processEscapes: true, processEnvironments: true, tags: "ams"},
                  svg: {fontCache: "global"}, options: {enableMenu: false}};
</script>"""
EMBEDDED_MARK = "<!-- MathJax embedded by course feedback -->"
_TOC_TEST_CELL = re.compile(r'<a href="#([^"]+)">Test cell</a>')
STALE_ID = "course-stale-feedback"
_STALE = re.compile(rf'<div id="{STALE_ID}".*?</div>\n?', re.DOTALL)


@functools.cache
def mathjax_script() -> str | None:
    """MathJax 3 as an inline <script>, from the sphinx-mathjax-offline package (None without it)."""
    try:
        path = Path(importlib.metadata.distribution(MATHJAX_PACKAGE).locate_file(MATHJAX_FILE))
        code = path.read_text(encoding="utf-8")
    except (importlib.metadata.PackageNotFoundError, OSError):
        return None
    code = code.replace("</script", "<\\/script")  # cannot end the inline script early
    return f"{EMBEDDED_MARK}\n{MATHJAX_CONFIG}\n<script>{code}</script>"


def finish(path: Path, mathjax: str | None = None) -> None:
    """Embed MathJax (when the package is installed) and name test cells in the contents of one
    feedback file; a file already finished is left as it is."""
    text = path.read_text(encoding="utf-8")
    named = _TOC_TEST_CELL.sub(
        lambda m: f'<a href="#{m.group(1)}">Test cell <code>{m.group(1)}</code></a>', text)
    if EMBEDDED_MARK not in named and _CDN_MATHJAX.search(named):
        mathjax = mathjax or mathjax_script()
        if mathjax is not None:
            named = _CDN_MATHJAX.sub(lambda _m: mathjax, named, count=1)
    if named != text:
        path.write_text(named, encoding="utf-8")


def mark_stale(path: Path, why: str) -> None:
    """Put a notice at the top of a feedback file: the submission was graded again, and not graded."""
    text = _STALE.sub("", path.read_text(encoding="utf-8"))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    notice = (f'<div id="{STALE_ID}" class="alert alert-danger" style="margin:1em">'
              f"<b>Out of date.</b> This submission was graded again on {when} and could not be "
              f"graded: {html.escape(why)}. The score below is from the earlier grading; ask your "
              "instructor.</div>\n")
    path.write_text(text.replace("<body>", "<body>\n" + notice, 1), encoding="utf-8")


def refresh(course, assignment: str, outcomes, write_feedback) -> list[Path]:
    """After a regrade: feedback that exists is written again for those graded, marked out of
    date for those not graded. ``write_feedback(course, assignment, students)`` writes it."""
    existing = {o.student: o for o in outcomes
                if any((course.root / "feedback" / o.student / assignment).glob("*.html"))}
    graded = sorted(s for s, o in existing.items() if o.graded)
    files = list(write_feedback(course, assignment, graded)) if graded else []
    for student, outcome in sorted(existing.items()):
        if not outcome.graded:
            for path in sorted((course.root / "feedback" / student / assignment).glob("*.html")):
                mark_stale(path, outcome.problem or "not graded")
                files.append(path)
    return files
