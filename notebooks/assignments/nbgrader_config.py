"""nbgrader configuration of the scoreaug_lab course: run nbgrader's commands from this folder.

    nbgrader generate_assignment a1_denoisers_and_scores --force     # source/ -> release/ (the student version)
    nbgrader autograde a1_denoisers_and_scores --force               # submitted/<student>/ -> autograded/
    nbgrader generate_feedback a1_denoisers_and_scores --force       # -> feedback/<student>/ (HTML)
    nbgrader export                                                  # -> grades.csv

See README.md in this folder for the whole cycle (and JupyterHub's exchange).
"""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "scoreaug_lab"

# Every cell gets at most 2 minutes when nbgrader runs a notebook (autograde, validate): a cell that hangs fails
# on its own instead of stopping the grader. The longest cell, assignment 4's training experiment, needs about
# 30 s on a 2-core laptop CPU.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# What a student sees in place of a solution (nbgrader's defaults, stated here).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# JupyterHub: the exchange folder through which `nbgrader release_assignment`, students' fetch/submit and
# `nbgrader collect` pass notebooks (it must be writable by every user; see README.md).
# c.Exchange.root = "/srv/nbgrader/exchange"
