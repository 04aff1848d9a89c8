"""The graders graded: catalogues of right and wrong answers, run through the sandbox and scored by nbgrader's rule.

`<course>/right_answers/<assignment>.py` (RIGHT_ANSWERS), `<course>/wrong_answers/<assignment>.py`
(WRONG_ANSWERS) and `<course>/cheats/<assignment>.py` (TWIN_CHEATS: answers that call the library's own
answer) list answers to single questions, each as text edits of the key's answer cell (`replace`: (old,
new) pairs that must each occur once) or as a whole new answer cell (`source`). `grade_catalogue` runs the key
notebook once in one sandboxed kernel, swaps every answer into its question's cell, re-runs every test cell, and
judges each question as the autograder does (judge.py: records, hidden checks, the static screen); the score of
each test cell is nbgrader's own `determine_grade` on the cell the autograder would save. A right answer must get
full marks everywhere; a wrong one or a twin must lose its own question's points and no other's.

Cheats that tamper with the kernel need a fresh one each: they are full sandboxed autogrades (cheats.py).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import nbformat
from nbgrader.utils import determine_grade

from . import cells as C
from .execution import Run, execute
from .judge import graded_outputs, judge
from .layout import Grading, load_module, source_notebook
from .sandbox import Limits

KINDS = {"right": ("right_answers", "RIGHT_ANSWERS"), "wrong": ("wrong_answers", "WRONG_ANSWERS"),
         "twin": ("cheats", "TWIN_CHEATS")}


@dataclass
class Answer:
    """One answer to one question: text edits of the key's answer cell, or a whole answer cell."""

    question: str
    name: str
    replace: list = field(default_factory=list)
    source: str | None = None

    def apply(self, key_source: str) -> str:
        if self.source is not None:
            return self.source
        for old, new in self.replace:
            if key_source.count(old) != 1:
                raise ValueError(f"answer {self.name!r}: {old!r} occurs {key_source.count(old)} times in the "
                                 f"answer cell of {self.question!r} (expected once)")
            key_source = key_source.replace(old, new)
        return key_source


def load_answers(root, kind: str, name: str) -> list[Answer]:
    """The catalogue of `kind` ("right" or "wrong") of one assignment."""
    folder, variable = KINDS[kind]
    return [Answer(**entry) for entry in getattr(load_module(f"{root}/{folder}/{name}.py"), variable)]


@dataclass
class Graded:
    answer: Answer | None                       # None: the key itself
    scores: dict                                # {question: (score, max_score)} by nbgrader's rule
    reasons: dict                               # {question: why it is not full marks}
    visible_error: bool = False                 # its own test cell showed an error in the sandbox

    def lost(self) -> list[str]:
        return [q for q, (score, top) in self.scores.items() if score < top]


@dataclass
class CatalogueReport:
    name: str
    kind: str
    key: Graded
    results: list = field(default_factory=list)
    seconds: float = 0.0

    def as_expected(self, graded: Graded) -> bool:
        """right: full marks, and its visible tests pass; wrong or twin: its own question's points lost, and no
        other question's."""
        if self.kind == "right":
            return not graded.lost() and not graded.visible_error
        return graded.lost() == [graded.answer.question] and graded.scores[graded.answer.question][0] == 0

    @property
    def passed(self) -> int:
        return sum(self.as_expected(g) for g in self.results)

    def lines(self) -> list[str]:
        verb = "get full marks" if self.kind == "right" else "lose all their own question's points, no other's"
        out = [f"{self.name}: {self.passed}/{len(self.results)} {self.kind} answers {verb}, {self.seconds:.1f} s"]
        if self.key.lost():
            out.append(f"  THE KEY LOSES POINTS: {self.key.reasons}")
        for g in self.results:
            mark = "ok" if self.as_expected(g) else "WRONG"
            what = ", ".join(f"{q} ({g.reasons[q][:160]})" for q in g.lost()) or "full marks"
            seen = " [visible tests fail]" if g.visible_error else ""
            out.append(f"  {mark:5s} {g.answer.question}: {g.answer.name} -> {what}{seen}")
        return out


def score_run(nb, grading: Grading, run: Run, answer: Answer | None = None) -> Graded:
    """What the autograder would give `nb` for the cells of `run`: nbgrader's determine_grade on each test cell."""
    verdicts = judge(nb, grading, run.cells)
    scores, reasons, visible = {}, {}, False
    for question, index in C.test_cells(nb).items():
        cell = copy.deepcopy(nb.cells[index])
        ran = run.cells.get(index, {}).get("outputs", [])
        cell.outputs = graded_outputs(ran, verdicts[question])
        scores[question] = determine_grade(cell)
        if scores[question][0] < scores[question][1]:
            reasons[question] = verdicts[question].reason or "held: " + "; ".join(verdicts[question].held)
        if answer is not None and question == answer.question:
            visible = any(o.output_type == "error" for o in ran)
    return Graded(answer, scores, reasons, visible)


def grade_catalogue(root, name: str, kind: str, answers=None, sandboxed: bool = True, limits: Limits = Limits(),
                    cell_timeout: float = 120.0) -> CatalogueReport:
    """Run the `kind` catalogue of assignment `name` (or the given `answers`) in one sandboxed kernel."""
    start = time.perf_counter()
    nb = nbformat.read(str(source_notebook(root, name)), as_version=4)
    grading = Grading(root, name)
    answers = load_answers(root, kind, name) if answers is None else answers
    solutions, tests = C.solution_cells(nb), C.test_cells(nb)
    variants = []
    for answer in answers:
        if answer.question not in solutions:
            raise ValueError(f"answer {answer.name!r}: {name} has no question {answer.question!r}")
        index = solutions[answer.question]
        variants.append({"cell": index, "source": answer.apply(nb.cells[index].source)})
    runs = execute(nb, grading.cases_text, cell_timeout, limits, sandboxed, variants, list(tests.values()))
    report = CatalogueReport(name, kind, score_run(nb, grading, runs[0]))
    for answer, variant, run in zip(answers, variants, runs[1:]):
        varied = C.with_sources(nb, {variant["cell"]: variant["source"]})
        report.results.append(score_run(varied, grading, run, answer))
    report.seconds = time.perf_counter() - start
    return report


__all__ = ["Answer", "CatalogueReport", "Graded", "grade_catalogue", "load_answers", "score_run"]
