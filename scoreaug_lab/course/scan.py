"""A static screen of what a student wrote, for what the sandbox cannot stop: the library's own answer, and code
that reaches into the interpreter, the kernel or the file system.

The sandbox and the grader's own checks (records.py, checks.py) make tampering useless: patched comparisons, hooks,
liar objects and detached processes cannot change a grade. What remains is a student computing the answer with the
library's twin of the asked function, or digging that twin back out of the interpreter past the runtime guard
(guard.py). So every student-editable code cell is parsed (IPython syntax first turned into Python) and:

* a reference to a twin of question q (`FORBIDDEN` in the assignment's cases.py; an attribute, an imported name, a
  bare name the student did not define, or the name as a string) refuses q when it is in q's answer cell or in a
  cell of no question;
* machinery (`MACHINERY_NAMES`, `MACHINERY_ATTRIBUTES`, `MACHINERY_MODULES`: frames, the garbage collector, code objects, import machinery, exec and
  eval, IPython's hooks, files and processes, assigning to a module's attribute) holds the question of the cell it
  is in (every autograded question when the cell belongs to none) for the instructor's review.

Honest answers to this course need none of it (the right-answer catalogues check that no right answer is flagged).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

ALL_QUESTIONS = "*"
MACHINERY_NAMES = frozenset({         # builtins and IPython's globals that reach past the language
    "__import__", "__builtins__", "breakpoint", "compile", "delattr", "eval", "exec", "get_ipython", "globals",
    "locals", "open", "setattr", "vars", "record", "refusing",
})
MACHINERY_ATTRIBUTES = frozenset({    # frames, code objects, import state, IPython's hooks, processes
    "_getframe", "currentframe", "f_back", "f_locals", "f_globals", "f_code", "settrace", "setprofile", "gettrace",
    "getprofile", "get_referrers", "get_referents", "get_objects", "__code__", "__globals__", "__closure__",
    "__builtins__", "__subclasses__", "__bases__", "__mro__", "__dict__", "__self__", "__func__", "cell_contents", "__torch_function__", "__torch_dispatch__",
    "modules", "displayhook", "excepthook", "set_custom_exc", "showtraceback", "ast_transformers",
    "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager", "register_magic_function",
    "user_ns", "run_cell", "system", "popen", "fork", "_exit", "kill", "killpg", "environ", "attrgetter",
    "methodcaller", "CodeType", "FunctionType", "record", "refusing",
})
MACHINERY_MODULES = frozenset({
    "ast", "atexit", "builtins", "code", "codeop", "ctypes", "dis", "fcntl", "gc", "glob", "http", "importlib",
    "inspect", "marshal", "mmap", "multiprocessing", "os", "pathlib", "pickle", "pty", "resource", "runpy",
    "shutil", "signal", "socket", "sqlite3", "subprocess", "tempfile", "threading", "urllib",
})


@dataclass(frozen=True)
class Flag:
    question: str          # the question it concerns, or ALL_QUESTIONS
    kind: str              # "twin" (refused) or "machinery" (held for review)
    cell: int              # index of the cell in the notebook
    line: int
    text: str              # what was found

    def describe(self) -> str:
        what = ("uses the library's own answer" if self.kind == "twin"
                else "reaches into the interpreter, the kernel or the files")
        return f"cell {self.cell}, line {self.line}: `{self.text}` {what}"


def python_source(source: str) -> str:
    """A cell's text as Python (IPython's magics and shell escapes turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None                     # it cannot run either: nothing to screen


def _defined_names(trees) -> set:
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def _module_names(trees) -> set:
    """Names bound to imported modules anywhere in the notebook (including its locked cells)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names |= {a.asname or a.name for a in node.names}
    return names


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def _machinery(node, modules: set, own: set) -> str | None:
    """What makes `node` machinery, or None."""
    if isinstance(node, ast.Import):
        hit = [a.name for a in node.names if a.name.split(".")[0] in MACHINERY_MODULES or "course" in a.name]
        return f"import {hit[0]}" if hit else None
    if isinstance(node, ast.ImportFrom):
        root = (node.module or "").split(".")[0]
        if root in MACHINERY_MODULES or "course" in (node.module or ""):
            return f"from {node.module} import ..."
        hit = [a.name for a in node.names if a.name in MACHINERY_NAMES | MACHINERY_ATTRIBUTES]
        return f"from {node.module} import {hit[0]}" if hit else None
    if isinstance(node, ast.Attribute) and node.attr in MACHINERY_ATTRIBUTES:
        return _dotted(node)
    if isinstance(node, ast.Name) and node.id in MACHINERY_NAMES and isinstance(node.ctx, ast.Load) \
            and node.id not in own:
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
        if len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
            return "getattr with a computed name"
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                    and target.value.id in modules:
                return f"{_dotted(target)} = ... (changes a module)"
    return None


def _twin(node, leaves: dict, own: set) -> tuple[list, str] | None:
    """(questions, text) when `node` names a twin; `leaves` maps a twin's last name to its questions."""
    name = None
    if isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.alias):
        name = node.name.split(".")[-1]
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in own:
        name = node.id
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value
    return (leaves[name], name) if name in leaves else None


def scan(cells, forbidden: dict, answer_cells: dict, locked_sources=()) -> list[Flag]:
    """Flags of the student-editable `cells` ([(index, source)]); `forbidden` {question: [qualified twin names]},
    `answer_cells` {cell index: question}; `locked_sources` the notebook's locked code (for its imports)."""
    trees = [(index, tree) for index, source in cells if (tree := _parse(source)) is not None]
    locked = [tree for source in locked_sources if (tree := _parse(source)) is not None]
    own = _defined_names(tree for _, tree in trees)
    modules = _module_names([tree for _, tree in trees] + locked)
    leaves: dict = {}
    for question, names in forbidden.items():
        for name in names:
            leaves.setdefault(name.split(".")[-1], []).append(question)
    flags = []
    for index, tree in trees:
        owner = answer_cells.get(index, ALL_QUESTIONS)
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            if (text := _machinery(node, modules, own)) is not None:
                flags.append(Flag(owner, "machinery", index, line, text))
            if (twin := _twin(node, leaves, own)) is not None:
                for question in twin[0]:
                    if owner in (ALL_QUESTIONS, question):
                        flags.append(Flag(question, "twin", index, line, twin[1]))
    return sorted(set(flags), key=lambda f: (f.cell, f.line, f.text))


def flags_for(flags, question: str) -> list[Flag]:
    return [f for f in flags if f.question in (question, ALL_QUESTIONS)]


__all__ = ["ALL_QUESTIONS", "Flag", "MACHINERY_ATTRIBUTES", "MACHINERY_MODULES", "MACHINERY_NAMES", "flags_for", "python_source", "scan"]
