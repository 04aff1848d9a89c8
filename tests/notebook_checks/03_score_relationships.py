# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 03, run in its kernel after its last cell (tests/test_notebooks.py): every push-forward
# score sympy derives agrees with torch.func, orthogonal maps commute with the noisy marginal (non-orthogonal
# ones do not), and the EDM identities are proved.
assert S.max_relative_error(sym, autograd) < 1e-10           # the tanh example, on its 401 points
for name, res in results.items():
    assert res.check_error < 1e-6 and S.autograd_agreement(res, n=N_CHECK) < 1e-10, name
assert S.max_relative_error(formula, truth) < 1e-10
assert max(max(r["score error"], r["denoiser error"]) for r in rows) < 1e-10
assert (noisy_space - clean_space).abs().max() > 0.1
assert all(row["proved"] for row in S.edm_identities())
assert max(S.edm_numeric_check().values()) < 1e-12
assert mine is not None and S.autograd_agreement(mine, n=N_CHECK) < 1e-8
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
