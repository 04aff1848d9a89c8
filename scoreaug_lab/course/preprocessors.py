"""nbgrader preprocessors that make `nbgrader autograde` grade each submission in the sandbox with the checks
outside it. The course's nbgrader_config.py puts them in nbgrader's own autograde pipeline:

    SandboxedExecute   instead of nbgrader's Execute: runs the notebook in the sandbox (execution.py) and puts
                       back only outputs, cleaned; keeps the records each test cell wrote
    HiddenChecks       after execution, in the grader: judges every autograded question (judge.py) and rewrites
                       its test cell's outputs so that nbgrader's SaveAutoGrades scores exactly that verdict
    HoldForReview      after SaveAutoGrades: a question the screen flagged waits for a person (needs_manual_grade,
                       with the findings as the comment of its answer cell)

`SandboxedExecute.sandbox = False` (what `scoreaug-lab course autograde --unsandboxed` sets) runs the notebook
unsandboxed, still outside nbgrader's process and still judged by HiddenChecks.
"""
from __future__ import annotations

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer

from . import cells as C
from .execution import execute
from .judge import graded_outputs, judge, verdicts_metadata
from .layout import Grading
from .sandbox import Limits

RESOURCE_KEY = "scoreaug_grading"


def _grading(preprocessor, resources) -> Grading:
    root = CourseDirectory(config=preprocessor.config).root
    return Grading(root, resources["nbgrader"]["assignment"])


class SandboxedExecute(NbGraderPreprocessor):
    """Execute the notebook in the bubblewrap sandbox; only its outputs and records come back."""

    sandbox = Bool(True, help="Run in the sandbox (False: unsandboxed, for a machine without bwrap)").tag(config=True)
    cell_timeout = Float(120.0, help="Seconds a cell may run before it is interrupted").tag(config=True)
    memory_mb = Integer(Limits.memory_mb, help="Private memory of each sandboxed process, MB").tag(config=True)
    address_space_mb = Integer(Limits.address_space_mb, help="Address space of each process, MB").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU seconds of each sandboxed process").tag(config=True)
    wall_seconds = Float(Limits.wall_seconds, help="Wall-clock seconds of one submission").tag(config=True)
    processes = Integer(Limits.processes, help="Processes and threads of the sandbox").tag(config=True)

    def limits(self) -> Limits:
        return Limits(memory_mb=self.memory_mb, address_space_mb=self.address_space_mb, cpu_seconds=self.cpu_seconds,
                      wall_seconds=self.wall_seconds, processes=self.processes)

    def preprocess(self, nb, resources):
        grading = _grading(self, resources)
        (run,) = execute(nb, grading.cases_text, self.cell_timeout, self.limits(), sandboxed=self.sandbox)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                cell.outputs = run.cells.get(index, {}).get("outputs", [])
        if run.stopped:
            self.log.warning("%s: %s", resources["nbgrader"]["student"], run.stopped)
        resources[RESOURCE_KEY] = {"run": run, "sandboxed": self.sandbox}
        return nb, resources


class HiddenChecks(NbGraderPreprocessor):
    """Judge every autograded question in the grader's process and write the verdicts into the test cells."""

    def preprocess(self, nb, resources):
        state = resources.get(RESOURCE_KEY)
        if state is None:
            raise RuntimeError("HiddenChecks needs SandboxedExecute before it in Autograde.autograde_preprocessors")
        run = state["run"]
        verdicts = judge(nb, _grading(self, resources), run.cells)
        for question, index in C.test_cells(nb).items():
            nb.cells[index].outputs = graded_outputs(nb.cells[index].outputs, verdicts[question])
        nb.metadata[RESOURCE_KEY] = verdicts_metadata(verdicts, state["sandboxed"], run.stopped)
        state["verdicts"] = verdicts
        for verdict in verdicts.values():
            if not verdict.full_marks:
                self.log.info("%s: %s: %s", resources["nbgrader"]["student"], verdict.question,
                              verdict.reason or "held for review")
        return nb, resources


class HoldForReview(NbGraderPreprocessor):
    """Questions the screen flagged need a person: needs_manual_grade, and the findings as the answer's comment."""

    def preprocess(self, nb, resources):
        verdicts = resources.get(RESOURCE_KEY, {}).get("verdicts", {})
        held = {q: v for q, v in verdicts.items() if v.held}
        if not held:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for question, verdict in held.items():
                grade = gb.find_grade(question + C.TESTS_SUFFIX, info["notebook"], info["assignment"],
                                      info["student"])
                grade.needs_manual_grade = True
                comment = gb.find_comment(question, info["notebook"], info["assignment"], info["student"])
                comment.auto_comment = ("Held for review by the autograder (0 points until a grader decides): "
                                        + "; ".join(verdict.held))
            gb.db.commit()
        return nb, resources


__all__ = ["HiddenChecks", "HoldForReview", "SandboxedExecute"]
