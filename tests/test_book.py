"""The book (`make book`): built once from a copy of the course, read in a real (headless) Chromium.

The built pages hold no reference solution outside a closed <details>; in the browser, the landing
page leads to every topic, the topics link to each other, a formula is typeset by the offline
MathJax, a plot is shown, and a folded solution opens with one click. Uses the Chromium and
Playwright set-up of tests/test_ui.py (skipped, or failed under CI=true, the same way).
"""

from __future__ import annotations

import functools
import http.server
import re
import threading

import pytest
from conftest import ROOT, SOURCE_NOTEBOOKS, copy_course, read_nb
from test_build import _solution_lines, folded_and_open_text
from test_ui import browser, shot  # noqa: F401 - browser is a fixture; importing skips without Chromium

from grader.book import build_book
from grader.course import Course

TOPICS = [(p.parent.name, p.stem) for p in SOURCE_NOTEBOOKS]

from playwright.sync_api import expect  # noqa: E402 - after test_ui's skip


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("book") / "course")
    return build_book(Course(course), course / "build" / "book", log=lambda _msg: None)


@pytest.fixture(scope="module")
def site(book):
    """The built book served over HTTP on a free loopback port (as a web host would serve it)."""
    handler = functools.partial(QuietHandler, directory=str(book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def page(browser):  # noqa: F811 - the fixture imported from test_ui
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The machine may have no internet: any request that leaves the site is recorded and refused.
    outside = []
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"),
                  lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.outside_requests = outside
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(("assignment", "stem"), TOPICS, ids=[a for a, _ in TOPICS])
def test_no_solution_is_readable_unfolded_in_the_book(book, assignment, stem):
    rel = f"{assignment}/{stem}.ipynb"
    lines = _solution_lines(read_nb(ROOT / "source" / rel), read_nb(ROOT / "release" / rel))
    inside, outside, opened = folded_and_open_text((book / assignment / f"{stem}.html").read_text())
    assert opened == 0, "a <details> is open"
    assert not [ln for ln in lines if "".join(ln.split()) in outside], "a solution line is unfolded"
    assert not [ln for ln in lines if "".join(ln.split()) not in inside], "a solution is missing"


def test_the_book_navigates_renders_maths_and_plots_and_unfolds_a_solution(page, site):
    page.goto(f"{site}/index.html")
    content = page.locator("section#topics")
    titles = [read_nb(ROOT / "notebooks" / a / f"{s}.ipynb").cells[0].source.splitlines()[0].lstrip("# ")
              for a, s in TOPICS]
    for title in titles:
        expect(content.get_by_role("link", name=title, exact=True)).to_be_visible()
    shot(page, "book-landing")

    # The landing page leads to the first topic; "next" leads on through every topic.
    content.get_by_role("link", name=titles[0], exact=True).click()
    for i, (assignment, stem) in enumerate(TOPICS):
        expect(page).to_have_url(re.compile(rf"/{assignment}/{stem}\.html"))
        expect(page.locator("h1").first).to_contain_text(titles[i].split(":")[0])
        if i + 1 < len(TOPICS):
            page.locator("a.right-next").first.click()
    page.locator("a.left-prev").first.click()
    expect(page).to_have_url(re.compile(rf"/{TOPICS[-2][0]}/"))

    page.goto(f"{site}/{TOPICS[0][0]}/{TOPICS[0][1]}.html")
    # Maths typeset by the bundled MathJax (no network).
    expect(page.locator("mjx-container").first).to_be_visible(timeout=30_000)
    # Plots: the saved PNG outputs load.
    images = page.locator(".cell_output img")
    expect(images.first).to_be_visible()
    assert images.count() >= 2
    assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
    # A folded solution: closed, its code hidden, open after one click on its summary.
    fold = page.locator("details", has=page.locator("summary", has_text="Reference solution")).first
    code = fold.locator("pre").first
    assert fold.evaluate("d => !d.open")
    expect(code).to_be_hidden()
    fold.locator("summary").click()
    expect(code).to_be_visible()
    assert "def " in code.inner_text()
    shot(page, "book-solution-open", fold)
    assert not page.outside_requests, f"the book reached outside the site: {page.outside_requests[:3]}"
