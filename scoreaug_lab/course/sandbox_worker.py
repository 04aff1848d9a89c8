"""Runs inside the sandbox: executes a notebook cell by cell in a fresh kernel and sends back outputs and records.

    python -m scoreaug_lab.course.sandbox_worker < request.json > result.json

The request (JSON on stdin): "notebook" (nbformat 4), "cases" (the text of the assignment's cases.py, or null),
"cell_timeout" (seconds per cell), optional "variants" [{"cell": i, "source": text}] and "test_cells" [i, ...].
Without variants the notebook runs top to bottom once. With variants (the answer catalogues), it runs once, then
for each variant swaps that source into cell i, runs it and every test cell, and runs cell i's own source again.

The result (JSON on stdout): "runs", one per pass (the notebook, then each variant), each a list of executed
cells {"index", "outputs", "records"}: the records are the lines that cell's code appended to the records file
(see records.py), so a record counts only for the cell that wrote it; "stopped" says why a pass ended early (a
dead kernel, a cell past its time). Outputs are cut to a size a feedback page can show. Nothing here is trusted
by the grader beyond its shape: the student's code runs in the same sandbox and may rewrite any of it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

MAX_CELL_OUTPUT = 2 * 2**20        # bytes of JSON per cell's outputs
MAX_RECORDS_READ = 32 * 2**20      # bytes of records per cell


class RecordsFile:
    """The file the kernel appends records to; read in slices, one per executed cell."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0
        path.write_text("")

    def new_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read(MAX_RECORDS_READ)
        except OSError:
            return []
        self.offset += len(chunk)
        return [line for line in chunk.decode("utf-8", "replace").splitlines() if line.strip()]


TIMEOUT_ERROR = {"ename": "CellTimeoutError", "evalue": "the cell ran out of time and was interrupted",
                 "traceback": ["CellTimeoutError: the cell ran out of time and was interrupted"]}


def _keep_reply_error(cell, cell_index, execute_reply):
    """An error the kernel only replied (a timeout: no error output came) becomes an output, as nbgrader does."""
    content = execute_reply.get("content", {})
    if content.get("status") == "error" and not any(o.get("output_type") == "error" for o in cell.outputs):
        import nbformat

        cell.outputs.append(nbformat.v4.new_output("error", ename=content.get("ename", "Error"),
                                                   evalue=content.get("evalue", ""),
                                                   traceback=content.get("traceback", [])))


def _cut(outputs: list) -> list:
    if len(json.dumps(outputs, default=str)) <= MAX_CELL_OUTPUT:
        return outputs
    return [{"output_type": "stream", "name": "stdout",
             "text": "[the outputs of this cell were larger than 2 MB and were left out]\n"}]


class Runner:
    """One kernel in the sandbox, executing cells and attributing records to them."""

    def __init__(self, nb, cell_timeout: float, workdir: Path, env: dict):
        from nbclient import NotebookClient

        import copy

        self.nb, self.records = nb, RecordsFile(Path(env["SCOREAUG_GRADING_RECORDS"]))
        self.pristine = copy.deepcopy(nb.cells)        # nbclient stores each executed cell back into nb
        self.client = NotebookClient(nb, timeout=int(cell_timeout), kernel_name="python3", allow_errors=True,
                                     interrupt_on_timeout=True, error_on_timeout=TIMEOUT_ERROR,
                                     on_cell_executed=_keep_reply_error,
                                     resources={"metadata": {"path": str(workdir)}})
        self.env = env

    def run_cell(self, index: int, source: str | None = None) -> dict:
        """Execute cell `index` (with `source` instead of its own, if given); its outputs and records."""
        import copy

        cell = copy.deepcopy(self.pristine[index])
        if source is not None:
            cell.source = source
        self.records.new_lines()                   # anything written between cells belongs to no cell
        self.client.execute_cell(cell, index)
        return {"index": index, "outputs": _cut(cell.get("outputs", [])), "records": self.records.new_lines()}

    def responsive(self, seconds: float = 15) -> bool:
        """After a cell ran out of time and was interrupted: does the kernel answer again?"""
        import nbformat

        saved, self.client.timeout = self.client.timeout, seconds
        try:
            probe = nbformat.v4.new_code_cell("pass")
            self.client.nb.cells.append(probe)
            self.client.execute_cell(probe, len(self.client.nb.cells) - 1)
            return not any(o.get("ename") == "CellTimeoutError" for o in probe.get("outputs", []))
        except Exception:                           # noqa: BLE001 (a dead or wedged kernel)
            return False
        finally:
            self.client.nb.cells.pop()
            self.client.timeout = saved

    def run_cells(self, indices, sources=None) -> tuple[list, str | None]:
        from nbclient.exceptions import DeadKernelError

        done = []
        for index in indices:
            try:
                done.append(self.run_cell(index, (sources or {}).get(index)))
            except DeadKernelError:
                return done, f"the kernel died in cell {index}"
            except Exception as err:                # nbclient's own failures (a timeout it could not interrupt)
                return done, f"cell {index} could not be run: {type(err).__name__}: {str(err)[:300]}"
            timed_out = any(o.get("ename") == "CellTimeoutError" for o in done[-1]["outputs"])
            if timed_out and not self.responsive():
                return done, f"cell {index} ran out of time and the kernel did not answer an interrupt"
        return done, None


def _work(request: dict) -> dict:
    import nbformat

    home = Path(os.environ.get("HOME", "/tmp/home"))
    workdir = home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if request.get("cases") is not None:
        cases = home / "grading_cases.py"
        cases.write_text(request["cases"])
        env["SCOREAUG_GRADING_CASES"] = str(cases)
    env["SCOREAUG_GRADING_RECORDS"] = str(home / "records.jsonl")
    nb = nbformat.from_dict(request["notebook"])
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    runner = Runner(nb, float(request.get("cell_timeout", 120)), workdir, env)
    runs = []
    with runner.client.setup_kernel(env=env):
        cells, stopped = runner.run_cells(code)
        runs.append({"cells": cells, "stopped": stopped})
        for variant in request.get("variants") or []:
            if stopped:
                runs.append({"cells": [], "stopped": "not run: " + stopped})
                continue
            index = int(variant["cell"])
            cells, stopped = runner.run_cells([index, *request["test_cells"]], {index: variant["source"]})
            if not stopped:
                _, stopped = runner.run_cells([index])          # the cell's own source again
            runs.append({"cells": cells, "stopped": stopped})
    return {"runs": runs}


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(_work(request), default=str))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
