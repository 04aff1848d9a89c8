"""The grader's verdict on each autograded question, and the outputs that give it to nbgrader.

Inputs: the notebook as nbgrader restored it (its locked cells are the instructor's), the cells the sandbox ran
(outputs and the records each wrote; sandbox_worker.py), the assignment's grading files (layout.Grading) and the
static screen (scan.py). A question passes when its test cell wrote a record of it, the record decodes to plain
data, every hidden check holds on it in this process, and the screen found neither its library twin nor machinery
in what the student wrote. Its test cell's outputs are then rewritten so that nbgrader's own rule
(`nbgrader.utils.determine_grade`: an error output is 0, anything else full marks) gives exactly that verdict:
the student's printed text stays (stderr as plain text: a warning or a progress bar never costs points), a
returned value or a display cannot stand for a score, and a failed or held question gets one error output saying
why.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from nbformat import NotebookNode

from . import cells as C
from .checks import Failed
from .records import RecordError, parse_line
from .scan import flags_for, scan

OUTPUT_KEYS = {"stream": {"name", "text"}, "display_data": {"data", "metadata"},
               "execute_result": {"data", "metadata", "execution_count"}, "error": {"ename", "evalue", "traceback"}}


@dataclass
class Verdict:
    question: str
    passed: bool
    reason: str = ""                                  # why not (shown to the student)
    held: list = field(default_factory=list)          # the screen's findings for the instructor

    @property
    def full_marks(self) -> bool:
        return self.passed and not self.held


def clean_output(output) -> NotebookNode | None:
    """An output of the sandbox with only the fields its type has, each of the right type; None if unusable."""
    if not isinstance(output, dict) or output.get("output_type") not in OUTPUT_KEYS:
        return None
    kind = output["output_type"]
    out = {"output_type": kind}
    for key in OUTPUT_KEYS[kind]:
        if key in output:
            out[key] = output[key]
    text_fields = {"name": str, "text": (str, list), "ename": str, "evalue": str, "traceback": list,
                   "data": dict, "metadata": dict, "execution_count": (int, type(None))}
    if any(not isinstance(out[k], text_fields[k]) for k in out if k != "output_type"):
        return None
    if kind == "stream" and out.get("name") not in ("stdout", "stderr"):
        return None
    if kind == "stream" and isinstance(out.get("text"), list):
        out["text"] = "".join(str(t) for t in out["text"])
    if "traceback" in out:
        out["traceback"] = [str(t) for t in out["traceback"]]
    if "data" in out and not all(isinstance(k, str) for k in out["data"]):
        return None
    try:
        json.dumps(out)
    except (TypeError, ValueError):
        return None
    return NotebookNode(out)


def _record_of(question: str, lines: list) -> tuple[object, str]:
    """The last record of `question` among a test cell's lines: (data, "") or (None, why not)."""
    found, problem = None, "the hidden tests did not run"
    for line in lines if isinstance(lines, list) else []:
        try:
            name, data = parse_line(line) if isinstance(line, str) else ("", None)
        except RecordError as err:
            problem = f"the hidden tests could not read your result ({err})"
            continue
        if name == question:
            found = (data,)
    return (found[0], "") if found else (None, problem)


def _stopped_reason(outputs: list) -> str:
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        return f"the cell stopped before them: {errors[-1].get('ename')}: {str(errors[-1].get('evalue'))[:300]}"
    return "the cell did not reach them"


def judge_question(check, question: str, cell_run: dict | None) -> Verdict:
    """The verdict of one question from what its test cell ran (None: it never ran)."""
    if cell_run is None:
        return Verdict(question, False, "the test cell did not run (an earlier cell ended the kernel or ran out of "
                                        "time)")
    data, problem = _record_of(question, cell_run.get("records", []))
    if problem:
        if problem == "the hidden tests did not run":
            problem += ": " + _stopped_reason(cell_run.get("outputs", []))
        return Verdict(question, False, problem)
    try:
        check(data)
    except Failed as err:
        return Verdict(question, False, f"hidden test failed: {err}")
    except Exception as err:                       # the data has a shape the check did not expect
        return Verdict(question, False, f"hidden test failed: your result has an unexpected form "
                                        f"({type(err).__name__}: {str(err)[:200]})")
    return Verdict(question, True)


def judge(nb, grading, cell_runs: dict) -> dict:
    """{question: Verdict} for every autograded question of `nb`; `cell_runs` {cell index: executed cell}."""
    tests, answers = C.test_cells(nb), C.solution_cells(nb)
    flags = scan(C.student_code_cells(nb), grading.forbidden, {i: q for q, i in answers.items()}, C.locked_code(nb))
    verdicts = {}
    for question, index in tests.items():
        if question not in grading.questions:
            verdict = Verdict(question, False, f"no hidden checks for {question} in this course's grading files")
        else:
            verdict = judge_question(grading.questions[question], question, cell_runs.get(index))
        found = flags_for(flags, question)
        refused = [f for f in found if f.kind == "twin"]
        if refused:
            verdict.passed, verdict.reason = False, "refused: " + "; ".join(f.describe() for f in refused)
        verdict.held = [f.describe() for f in found if f.kind == "machinery"]
        verdicts[question] = verdict
    return verdicts


def graded_outputs(sandbox_outputs: list, verdict: Verdict) -> list:
    """A test cell's outputs that make nbgrader's rule give `verdict`: printed text kept (stderr as stdout),
    sandbox errors as text, and one error output when it is not full marks."""
    out = []
    for output in sandbox_outputs:
        if output.output_type == "stream":
            out.append(NotebookNode(output_type="stream", name="stdout", text=output.text))
        elif output.output_type == "error":
            out.append(NotebookNode(output_type="stream", name="stdout",
                                    text=f"(while running: {output.ename}: {output.evalue})\n"))
        elif output.output_type == "display_data":
            out.append(output)
    if not verdict.passed:
        out.append(NotebookNode(output_type="error", ename="HiddenTestFailed", evalue=verdict.reason,
                                traceback=[f"HiddenTestFailed: {verdict.reason}"]))
    elif verdict.held:
        reason = "held for the instructor's review: " + "; ".join(verdict.held)
        out.append(NotebookNode(output_type="error", ename="HeldForReview", evalue=reason,
                                traceback=[f"HeldForReview: {reason}"]))
    return out


def verdicts_metadata(verdicts: dict, sandboxed: bool, stopped) -> dict:
    return {"sandboxed": sandboxed, "stopped": stopped,
            "questions": {q: asdict(v) for q, v in verdicts.items()}}


__all__ = ["Verdict", "clean_output", "graded_outputs", "judge", "judge_question", "verdicts_metadata"]
