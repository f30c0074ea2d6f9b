# Two commands for everyone: `make lab` opens the course, `make test` checks all of it.
# Both create .venv on first use (Python 3.11+ is all a machine needs) and reuse it afterwards.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB_ARGS ?=
CHROMIUM ?= /usr/bin/chromium
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# NumPy's BLAS on one thread, for every kernel started from here: the course's matrices are small,
# and BLAS threads fighting over 2 busy cores made one training cell of topic 02 take 78 s (3.6 s
# on one thread, measured in one run).
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: help install lab test lint build check book benchmark clean browser postgres

help:
	@echo "make install    create .venv and install the course in it (make lab and make test do it on first use)"
	@echo "make lab        open the course in JupyterLab (landing page: index.ipynb)"
	@echo "make test       lint and the whole test suite, browser tests included (installs chromium via apt if needed)"
	@echo "make build      regenerate release/ and notebooks/ from source/"
	@echo "make check      fail if release/ or notebooks/ drifted from source/"
	@echo "make book       build the static HTML book of notebooks/ (build/book/_build/html/index.html)"
	@echo "make benchmark  time every source notebook, and grading a class (nbgrader alone, the re-check, course autograde; course against plain nbgrader)"
	@echo "make clean      remove .venv and grading state (submitted/, autograded/, ...)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# Build matplotlib's font cache now: its first-run notice on stderr would zero a graded cell.
	MPLBACKEND=Agg $(BIN)/python -c "import matplotlib.pyplot"
	touch $(STAMP)

install: $(STAMP)

# jupyter-config/: the course's lab settings (no news pop-up, wrapped lines, clutter hidden).
LAB_CONFIG := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

# nbgrader checks its exchange whenever the formgrader asks it anything, and logs an error each time
# the folder is missing or read-only. Unless NBGRADER_EXCHANGE names one, the lab gets its own under
# the course (.exchange/, ignored by git through its own .gitignore). The formgrader runs nbgrader's
# `alembic` by name when it creates the gradebook: .venv/bin goes first on the lab's PATH.
LAB_EXCHANGE := $(CURDIR)/.exchange

lab: $(STAMP)
	@if [ -z "$$NBGRADER_EXCHANGE" ]; then mkdir -p "$(LAB_EXCHANGE)" && echo '*' > "$(LAB_EXCHANGE)/.gitignore"; fi
	$(LAB_CONFIG) NBGRADER_EXCHANGE="$${NBGRADER_EXCHANGE:-$(LAB_EXCHANGE)}" PATH="$(abspath $(BIN)):$$PATH" \
		$(BIN)/jupyter lab index.ipynb $(ROOT_FLAG) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check helpers grader tests benchmarks

build: $(STAMP)
	$(BIN)/course build

check: $(STAMP)
	$(BIN)/course build --check

# The book of the self-study edition, from the executed notebooks/ (nothing is re-executed), with
# Jupyter Book 1 (Sphinx): works offline, MathJax included (sphinx-mathjax-offline).
book: $(STAMP)
	$(BIN)/python -m grader.book

# A Debian package a test needs, installed when missing and apt-get can be used (as root or with
# password-less sudo); otherwise say so: the tests that need it then skip, or fail under CI=true.
# $(call apt_package,TEST FOR IT,PACKAGE,WHAT FOR)
define apt_package
	@if $(1); then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's $(2) for the $(3)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		echo "installing Debian's $(2) for the $(3)"; \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	else echo "no $(2) and no apt-get: the $(3) will be skipped"; fi
endef

# tests/test_ui.py drives Debian's Chromium; tests/test_hub.py runs a gradebook on its PostgreSQL.
browser:
	$(call apt_package,[ -x $(CHROMIUM) ],chromium,browser tests)

postgres:
	$(call apt_package,ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1,postgresql,hub tests)

test: $(STAMP) browser postgres
	$(BIN)/ruff check helpers grader tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15

benchmark: $(STAMP)
	$(BIN)/python benchmarks/notebook_times.py
	$(BIN)/python benchmarks/grading_times.py
	$(BIN)/python benchmarks/autograde.py
	$(BIN)/python benchmarks/conv_speed.py

clean:
	rm -rf $(VENV) submitted autograded feedback gradebook.db grades.csv .pytest_cache .ruff_cache test-artifacts
