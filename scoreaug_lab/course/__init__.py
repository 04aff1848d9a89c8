"""The course: the walkthrough's shared pieces and the nbgrader course's sandboxed grading.

Walkthrough: lessons.py (the runs every notebook trains), notebook.py (tables and sizes), demo.py (`make demo`).
Grading (`scoreaug-lab course`): sandbox.py and sandbox_worker.py (bubblewrap; a notebook run inside),
execution.py, records.py (results as data), guard.py and scan.py (the library's own answer refused), checks.py
and judge.py (verdicts in the grader), preprocessors.py (nbgrader's pipeline), layout.py, commands.py, cells.py,
student.py (the notebooks' setup cell), catalogues.py and cheats.py (the graders graded).
"""
