# Two commands on a fresh machine (see README.md):
#   make book   set up .venv from environment.yml (once) and build the HTML book into _build/html
#   make test   run every test (builds the book first if needed)
SHELL := /bin/bash
.DEFAULT_GOAL := book

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
REQS := $(VENV)/requirements.txt
# nbgrader shells out to `alembic`, jupyter-book to `jupyter`: both live in the venv.
export PATH := $(BIN):$(PATH)
# Keras must not try to reach the network or print TF start-up chatter into the book.
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

BOOK_FLAGS ?= -W -n --keep-going
PYTEST_ARGS ?=

.PHONY: book env test system-deps exercises grade clean help

help:
	@echo "make book        set up .venv (first run) and build the book into _build/html"
	@echo "make test        run all tests"
	@echo "make exercises   regenerate exercises/ from solutions/ with nbgrader"
	@echo "make grade       the demo term: due dates, autograde, LMS exports, publish (graders/work/demo/)"
	@echo "make clean       remove build output (keeps .venv)"

env: $(STAMP)

# The pip list is derived from the `pip:` section of environment.yml, the single list.
$(REQS): environment.yml
	@mkdir -p $(VENV)
	awk '/^[[:space:]]*- pip:/{p=1;next} p && /^[[:space:]]*- /{sub(/^[[:space:]]*- /,""); sub(/[[:space:]]+#.*$$/,""); print}' $< > $@
	@test -s $@ || { echo "no pip dependencies found in $<" >&2; exit 1; }

$(STAMP): $(REQS) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQS)
	@touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo
	@echo "Book built. Open $(CURDIR)/_build/html/index.html in a browser,"
	@echo "or serve it: $(BIN)/python -m http.server -d _build/html 8000"

# Debian packages the tests drive for real: Chromium (browser test) and PostgreSQL (gradebook test).
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi

test: book system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; fi; exit $$rc

exercises: $(STAMP)
	$(BIN)/python -m graders.authoring.release

# The demo term: the bundled cohort through the term's commands, into its own gradebook (the
# course gradebook stays untouched): due dates, autograde (late policy with the demo's
# extensions, similarity flags), the Canvas and Moodle exports, the public student repository.
DEMO := graders/work/demo
DEMO_DB := sqlite:///$(CURDIR)/$(DEMO)/gradebook.db
TERM := tests/demo_term
grade: $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/python -m graders duedates $(TERM)/due_dates.csv --db $(DEMO_DB)
	$(BIN)/python -m graders autograde --submissions tests/demo_cohort --out $(DEMO) --db $(DEMO_DB) \
	  --extensions $(TERM)/extensions.csv
	$(BIN)/python -m graders export --format canvas --roster $(TERM)/roster.csv --allow-missing \
	  --db $(DEMO_DB) --out $(DEMO)/canvas.csv
	$(BIN)/python -m graders export --format moodle --roster $(TERM)/roster.csv --allow-missing \
	  --db $(DEMO_DB) --out $(DEMO)/moodle.csv
	$(BIN)/python -m graders publish $(DEMO)/public

clean:
	rm -rf _build
