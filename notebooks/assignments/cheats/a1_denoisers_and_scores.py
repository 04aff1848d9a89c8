"""Cheating submissions of assignment 1: each must earn 0 on the questions it cheats on, change no other student's
grade and leave the course's files as they were (tests/test_course_cheats.py grades them all, each in its own
sandbox, beside honest submissions). `<course>` is the course folder and `<victim>` another student's id.
Kept outside source/, never released.
"""

BLANK_Q1 = '''def edm_preconditioning(sigma, sigma_data):
    raise NotImplementedError()
'''
WRONG_Q1 = '''def edm_preconditioning(sigma, sigma_data):
    total = sigma**2 + sigma_data**2
    return {"c_skip": sigma_data**2 / total, "c_out": sigma * sigma_data / sp.sqrt(total),
            "c_in": 1 / sp.sqrt(total), "c_noise": sp.log(sigma), "lambda": total / (sigma * sigma_data) ** 2}
'''
WRONG_Q2 = '''def preconditioning_identities(c, sigma, sigma_data):
    return {"loss_weight": sp.Integer(0), "unit_input": sp.Integer(0)}
'''
WRONG_Q3 = '''def ideal_denoiser(y, sigma, train):
    y, train = y.double(), train.double()
    return train[torch.cdist(y, train).argmin(1)]
'''
BLANK_Q3 = '''def ideal_denoiser(y, sigma, train):
    raise NotImplementedError()
'''
WRONG_Q4 = '''def score_from_denoiser(denoiser, y, sigma):
    return denoiser(y, sigma) - y
'''

CHEATS = [
    # --- the library's own answer ---------------------------------------------------------------------------------
    dict(name="calls the library's twin scores.ideal_denoiser", questions=["q3_ideal_denoiser"],
         answers={"q3_ideal_denoiser": '''def ideal_denoiser(y, sigma, train):
    return scores.ideal_denoiser(y.double(), sigma, train.double())
'''}),
    dict(name="imports the twin under another name in a cell of its own", questions=["q3_ideal_denoiser"],
         cells=["from scoreaug_lab.scores import ideal_denoiser as posterior_mean"],
         answers={"q3_ideal_denoiser": '''def ideal_denoiser(y, sigma, train):
    return posterior_mean(y.double(), sigma, train.double())
'''}),
    dict(name="finds the twin with getattr and a name built at run time", questions=["q3_ideal_denoiser"],
         answers={"q3_ideal_denoiser": '''def ideal_denoiser(y, sigma, train):
    twin = getattr(scores, "ideal_" + "denoiser")
    return twin(y.double(), sigma, train.double())
'''}),
    dict(name="reaches the ideal denoiser through the grid's optimum (another library function)",
         questions=["q3_ideal_denoiser"],
         answers={"q3_ideal_denoiser": '''def ideal_denoiser(y, sigma, train):
    from scoreaug_lab.optima import variant_optimum
    return variant_optimum(train.double(), "noaug")(y.double(), sigma).double()
'''}),
    dict(name="takes EDM's coefficients from scoreaug_lab.symbolic", questions=["q1_preconditioning"],
         answers={"q1_preconditioning": '''def edm_preconditioning(sigma, sigma_data):
    from scoreaug_lab import symbolic
    c = symbolic.edm_expressions(sigma, sigma_data)
    return {k: c[k] for k in ("c_skip", "c_out", "c_in", "c_noise", "lambda")}
'''}),
    dict(name="Tweedie through the library's denoiser_to_score", questions=["q4_tweedie"],
         answers={"q4_tweedie": '''def score_from_denoiser(denoiser, y, sigma):
    return scores.denoiser_to_score(y, sigma, denoiser(y, sigma))
'''}),
    dict(name="reloads the library to get an unguarded twin back", questions=["q3_ideal_denoiser"],
         answers={"q3_ideal_denoiser": '''import importlib

def ideal_denoiser(y, sigma, train):
    fresh = importlib.reload(scores)
    return fresh.ideal_denoiser(y.double(), sigma, train.double())
'''}),
    # --- patched comparisons and oracles ------------------------------------------------------------------------
    dict(name="replaces torch.allclose so that every comparison passes", questions=["q3_ideal_denoiser"],
         cells=["torch.allclose = lambda *args, **kwargs: True"], answers={"q3_ideal_denoiser": WRONG_Q3}),
    dict(name="replaces numpy.allclose and sympy.simplify", questions=["q1_preconditioning"],
         cells=["np.allclose = lambda *args, **kwargs: True\nsp.simplify = lambda expr, *a, **k: 0"],
         answers={"q1_preconditioning": WRONG_Q1}),
    dict(name="replaces the oracle the old hidden tests imported with its own wrong answer",
         questions=["q3_ideal_denoiser"],
         cells=['''import scoreaug_lab.scores, scoreaug_lab.oracles
def _mine(y, sigma, train, *args, **kwargs):
    return train.double()[torch.cdist(y.double(), train.double()).argmin(1)]
scoreaug_lab.scores.ideal_denoiser = _mine
scoreaug_lab.oracles.ideal_denoiser = _mine'''], answers={"q3_ideal_denoiser": WRONG_Q3}),
    # --- liar objects -------------------------------------------------------------------------------------------
    dict(name="returns a tensor subclass whose comparisons are always true", questions=["q4_tweedie"],
         answers={"q4_tweedie": '''class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def score_from_denoiser(denoiser, y, sigma):
    return (denoiser(y, sigma) - y).as_subclass(Liar)
'''}),
    dict(name="returns an object that reads the test's expected values from its frame", questions=["q4_tweedie"],
         answers={"q4_tweedie": '''import sys as _sys

class Mirror(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        frame = _sys._getframe(1)
        while frame is not None:
            for name in ("_want", "want", "expected"):
                if name in frame.f_locals and torch.is_tensor(frame.f_locals[name]):
                    return frame.f_locals[name]
            frame = frame.f_back
        return super().__torch_function__(func, types, args, kwargs or {})

def score_from_denoiser(denoiser, y, sigma):
    return torch.zeros_like(y).as_subclass(Mirror)
'''}),
    # --- IPython's hooks and transformers -----------------------------------------------------------------------
    dict(name="an AST transformer that deletes every assert", questions=["q1_preconditioning"],
         cells=['''import ast
class NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(NoAsserts())'''], answers={"q1_preconditioning": WRONG_Q1}),
    dict(name="an input transformer that blanks every test cell",
         questions=["q1_preconditioning", "q2_identities", "q3_ideal_denoiser", "q4_tweedie"],
         cells=['''def _blank(lines):
    return ["pass\\n"] if lines and lines[0].startswith("# Tests for question") else lines
get_ipython().input_transformers_cleanup.append(_blank)'''],
         answers={"q1_preconditioning": BLANK_Q1, "q3_ideal_denoiser": BLANK_Q3}),
    dict(name="a custom exception handler that hides errors and clears error_in_exec",
         questions=["q2_identities"],
         cells=['''def _quiet(shell, etype, value, tb, tb_offset=None):
    return None
get_ipython().set_custom_exc((Exception,), _quiet)'''], answers={"q2_identities": WRONG_Q2}),
    dict(name="prints a result with sys.displayhook before failing (nbgrader reads it as a score)",
         questions=["q3_ideal_denoiser"],
         answers={"q3_ideal_denoiser": '''import sys

def ideal_denoiser(y, sigma, train):
    sys.displayhook("x")
    raise NotImplementedError()
'''}),
    dict(name="writes a forged records line for the hidden tests", questions=["q3_ideal_denoiser"],
         cells=['''import os, json
path = os.environ.get("SCOREAUG_GRADING_RECORDS")
if path:
    with open(path, "a") as f:
        f.write(json.dumps({"question": "q3_ideal_denoiser", "data": {}}) + "\\n")'''],
         answers={"q3_ideal_denoiser": BLANK_Q3}),
    dict(name="replaces the grader's record() so that it records the library's answer",
         questions=["q3_ideal_denoiser"],
         cells=['''import scoreaug_lab.course.records as _records
_original = _records.record
_records.record = lambda question, answer: _original(question, scores.ideal_denoiser)'''],
         answers={"q3_ideal_denoiser": BLANK_Q3}),
    # --- the course's files -------------------------------------------------------------------------------------
    dict(name="reads the key from the course's source/ folder and runs it",
         questions=["q1_preconditioning", "q2_identities", "q3_ideal_denoiser", "q4_tweedie"],
         cells=['''import glob, json
for _path in glob.glob("<course>/source/*/*.ipynb") + glob.glob("../../../source/*/*.ipynb"):
    for _cell in json.load(open(_path))["cells"]:
        if _cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec("".join(_cell["source"]))'''],
         answers={"q1_preconditioning": BLANK_Q1, "q2_identities": "raise NotImplementedError()",
                  "q3_ideal_denoiser": BLANK_Q3, "q4_tweedie": "raise NotImplementedError()"}),
    dict(name="rewrites another student's submission before it is graded", questions=["q1_preconditioning"],
         cells=['''import glob
for _path in glob.glob("<course>/submitted/<victim>/*/*.ipynb") + glob.glob("../../<victim>/*/*.ipynb"):
    try:
        open(_path, "w").write("{}")
    except OSError:
        pass'''], answers={"q1_preconditioning": BLANK_Q1}),
    dict(name="edits the gradebook: another student to 0, itself to full marks", questions=["q1_preconditioning"],
         cells=['''import sqlite3
for _path in ("<course>/gradebook.db", "../../../gradebook.db"):
    try:
        _db = sqlite3.connect(_path)
        _db.execute("UPDATE grade SET auto_score = 0")
        _db.execute("UPDATE grade SET auto_score = 100 WHERE notebook_id IN (SELECT id FROM submitted_notebook)")
        _db.commit()
    except Exception:
        pass'''], answers={"q1_preconditioning": BLANK_Q1}),
    dict(name="a detached process that edits the gradebook after the grader saved", questions=["q1_preconditioning"],
         cells=['''import subprocess, sys
_code = "import time, sqlite3\\ntime.sleep(8)\\n" \\
        "for p in ('<course>/gradebook.db', '../../../gradebook.db'):\\n" \\
        "    try:\\n        db = sqlite3.connect(p); db.execute('UPDATE grade SET auto_score = 0'); db.commit()\\n" \\
        "    except Exception:\\n        pass\\n"
subprocess.Popen([sys.executable, "-c", _code], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)'''],
         answers={"q1_preconditioning": BLANK_Q1}),
    # --- the machine --------------------------------------------------------------------------------------------
    dict(name="a memory hog (2.7 GB, and 10 GB of shared memory) in its answer", questions=["q2_identities"],
         answers={"q2_identities": '''import mmap

def preconditioning_identities(c, sigma, sigma_data):
    hog = bytearray(int(2.7 * 2**30))
    shared = mmap.mmap(-1, 10 * 2**30)
    return {"loss_weight": sp.Integer(0), "unit_input": sp.Integer(0)}
'''}),
    dict(name="ends the kernel with os._exit before the tests of questions 3 and 4",
         questions=["q3_ideal_denoiser", "q4_tweedie"],
         after={"q2_identities": ["import os\nos._exit(0)"]},
         answers={"q3_ideal_denoiser": BLANK_Q3}),
    dict(name="hangs, ignoring interrupts, before the tests of question 4", questions=["q4_tweedie"],
         after={"q3_ideal_denoiser": ['''import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(1)''']}, answers={"q4_tweedie": WRONG_Q4}),
    dict(name="deletes the test cell of question 4", questions=["q4_tweedie"], remove=["q4_tweedie"],
         answers={"q4_tweedie": WRONG_Q4}),
]

# Answers that only call the library's own answer: graded like the wrong answers, in one kernel.
TWIN_CHEATS = [
    dict(question="q3_ideal_denoiser", name="IdealDenoiser from the oracles",
         source='''def ideal_denoiser(y, sigma, train):
    from scoreaug_lab.oracles import IdealDenoiser
    return IdealDenoiser(train)(y.double(), torch.as_tensor(sigma, dtype=torch.float64)).double()
'''),
    dict(question="q3_ideal_denoiser", name="the ideal score turned back into a denoiser",
         source='''def ideal_denoiser(y, sigma, train):
    s = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1, 1)
    return y.double() + s**2 * scores.ideal_score(y.double(), sigma, train.double())
'''),
]
