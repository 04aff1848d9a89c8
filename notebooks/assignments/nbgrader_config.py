"""nbgrader configuration of the scoreaug_lab course: run nbgrader's commands from this folder (or with
--CourseDirectory.root), or `scoreaug-lab course ...` with --course pointing here.

    nbgrader generate_assignment a1_denoisers_and_scores --force     # source/ -> release/ (the student version)
    nbgrader autograde a1_denoisers_and_scores --force               # submitted/<student>/ -> autograded/ (sandboxed)
    nbgrader generate_feedback a1_denoisers_and_scores --force       # -> feedback/<student>/ (HTML, no hidden tests)
    nbgrader export                                                  # -> grades.csv
    nbgrader release_assignment a1_denoisers_and_scores              # release/ -> the exchange (below)

See README.md in this folder for the whole cycle, the sandbox and JupyterHub's exchange.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
COURSE = Path(__file__).resolve().parent     # this folder (traitlets runs this file with __file__ set)

c.CourseDirectory.course_id = "scoreaug_lab"

# Autograding: each submission runs in a bubblewrap sandbox (scoreaug_lab/course/sandbox.py) instead of nbgrader's
# own kernel in this folder; the hidden checks run here, in the grader, on the data the sandbox sends back; a
# question whose code the static screen flags waits for a person. Where bwrap is missing, autograding stops with
# one line unless the instructor asks for `scoreaug-lab course autograde --unsandboxed` (SandboxedExecute.sandbox).
c.Autograde.autograde_preprocessors = [
    "scoreaug_lab.course.preprocessors.SandboxedExecute",
    "nbgrader.preprocessors.LimitOutput",
    "scoreaug_lab.course.preprocessors.HiddenChecks",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "scoreaug_lab.course.preprocessors.HoldForReview",
]
# A test cell deleted from a submission comes back (and fails): it cannot take its points away with it.
c.OverwriteCells.add_missing_cells = True

# Every cell gets at most 2 minutes (the longest, assignment 4's training experiment, needs about 10 s on a 2-core
# laptop CPU); a submission at most 20 minutes; each of its processes 3 GB of private memory (assignment 4's kernel
# peaks at 1.2 GB), 8 GB of address space, 900 CPU seconds; 512 processes and threads in all.
c.SandboxedExecute.cell_timeout = 120
c.SandboxedExecute.wall_seconds = 1200
c.ExecutePreprocessor.timeout = 120          # nbgrader validate (the students' Validate button)
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Feedback for students: their notebook with scores and the hidden checks' messages, without the hidden parts.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# What a student sees in place of a solution (nbgrader's defaults, stated here).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The exchange: the folder through which `nbgrader release_assignment`, the students' fetch and submit and
# `nbgrader collect` pass notebooks. Named here, so that nbgrader never falls back on its default
# /usr/local/share/nbgrader/exchange (created silently, world-writable, when run as root; refused otherwise).
# Default: exchange/ in this course folder, which you own (one machine: you try the cycle as your own student).
# On a JupyterHub set SCOREAUG_EXCHANGE to the shared folder that the students' servers are configured with
# (README.md, "JupyterHub").
c.Exchange.root = os.environ.get("SCOREAUG_EXCHANGE") or str(COURSE / "exchange")
# nbgrader's collect only warns when a submission claims another student's name; this one sets it aside ungraded.
c.ExchangeFactory.collect = "scoreaug_lab.course.exchange.OwnerCheckedCollect"
