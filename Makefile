# Two commands for a fresh machine: `make lab` (set up + JupyterLab) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# extra JupyterLab options, e.g. LAB_ARGS="--no-browser --port 8899"; as root JupyterLab also needs --allow-root
LAB_ARGS ?=
# the nbgrader course that `make assignments`, `make grade` and `make formgrader` work on (run them from the
# project root), and the assignment to grade
COURSE ?= notebooks/assignments
ASSIGNMENT ?=
# `make hub`: how many student accounts the local JupyterHub class gets
STUDENTS ?= 3
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-fast demo class reproduce benchmarks assignments grade formgrader hub clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,instructor]"
	touch $(STAMP)

setup: $(STAMP)

lab: $(STAMP)  ## start JupyterLab on the walkthrough notebooks
	$(VENV)/bin/jupyter lab notebooks/ $(ROOT_ARGS) $(LAB_ARGS)

test: $(STAMP)  ## the whole suite: fast and slow tests, notebooks, browser test (skipped without chromium)
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: $(STAMP)
	SCOREAUG_IN_PROCESS=1 $(PY) -m pytest -n 2 -m "not slow and not browser and not sandbox and not process" $(PYTEST_ARGS)

demo: $(STAMP)  ## train no-aug vs ScoreAug on the 8-mode mixture, 3 seeds each; table + figure in runs/demo
	$(VENV)/bin/scoreaug-lab demo --out runs/demo

class: $(STAMP)  ## train every run the notebooks need into the run store (SCOREAUG_RUNS, default runs/store)
	$(VENV)/bin/scoreaug-lab prepare

reproduce: $(STAMP)  ## the paper's claims at small scale (cpu budget, 8 seeds, 33 min measured on 2 cores): reports/reproduce-cpu/ and README's table
	$(VENV)/bin/scoreaug-lab reproduce --budget cpu --out runs/reproduce-cpu --publish reports/reproduce-cpu --readme README.md

assignments: $(STAMP)  ## the student versions of the nbgrader course (notebooks/assignments/release/)
	$(VENV)/bin/scoreaug-lab course generate --course $(COURSE)

grade: $(STAMP)  ## autograde ASSIGNMENT=<name>: every submission in $(COURSE)/submitted/, each in a bubblewrap sandbox
	@test -n "$(ASSIGNMENT)" || { echo "make grade ASSIGNMENT=<name>, one of: $$(ls $(COURSE)/source | tr '\n' ' ')"; exit 2; }
	$(VENV)/bin/scoreaug-lab course autograde $(ASSIGNMENT) --course $(COURSE)

formgrader: $(STAMP)  ## JupyterLab started in the course folder, where nbgrader finds its config: the Formgrader tab lists the assignments
	cd $(COURSE) && $(abspath $(VENV))/bin/jupyter lab $(ROOT_ARGS) $(LAB_ARGS)

hub: $(STAMP)  ## a class on a local JupyterHub (as root): STUDENTS accounts, the shared run store, the exchange; Ctrl-C removes it
	command -v configurable-http-proxy >/dev/null || npm install -g configurable-http-proxy
	$(VENV)/bin/scoreaug-lab course hub --students $(STUDENTS) --course $(COURSE)

benchmarks: $(STAMP)  ## the quick ones; the "Benchmarks" section of README.md lists all of them
	$(PY) benchmarks/overhead.py

clean:
	rm -rf runs artifacts .pytest_cache
