"""Right answers to assignment 3 written differently from the key: each must get full marks and pass its visible
tests (catalogues.grade_catalogue(..., "right")). Kept outside source/, never released.
"""

RIGHT_ANSWERS = [
    # question 1: the push-forward score with sympy
    dict(question="q1_pushforward_terms", name="loops instead of matrices, the log-determinant through log and Abs",
         source='''def pushforward_score_terms(log_p_x, xs, inverse, ys):
    d = len(xs)
    J = [[sp.diff(inverse[i], ys[j]) for j in range(d)] for i in range(d)]
    at_g = dict(zip(xs, inverse))
    grad_x = [sp.diff(log_p_x, x).subs(at_g, simultaneous=True) for x in xs]
    transported = [sum(J[i][j] * grad_x[i] for i in range(d)) for j in range(d)]
    log_det = sp.log(sp.Abs(sp.Matrix(J).det()))
    return transported, [sp.diff(log_det, y) for y in ys]
'''),
    dict(question="q1_pushforward_terms", name="the volume term as tr(J^-1 dJ/dy), simplified",
         source='''def pushforward_score_terms(log_p_x, xs, inverse, ys):
    g = sp.Matrix(inverse)
    J = g.jacobian(ys)
    score_x = sp.Matrix([sp.diff(log_p_x, x) for x in xs]).subs(dict(zip(xs, inverse)), simultaneous=True)
    transported = [sp.simplify(t) for t in J.T * score_x]
    J_inv = J.inv()
    volume = [sp.simplify((J_inv * J.diff(y)).trace()) for y in ys]     # d/dy log|det J| = tr(J^-1 dJ/dy)
    return transported, volume
'''),
    dict(question="q1_pushforward_terms", name="the log-density of Y first, then its gradient split in two",
         source='''def pushforward_score_terms(log_p_x, xs, inverse, ys):
    J = sp.Matrix(inverse).jacobian(ys)
    log_det = sp.log(sp.Abs(J.det()))
    at_g = log_p_x.subs(dict(zip(xs, inverse)), simultaneous=True)          # log p_X(g(y))
    transported = [sp.diff(at_g, y) for y in ys]                            # chain rule: J^T grad log p_X
    volume = [sp.diff(log_det, y) for y in ys]
    print("log p_Y =", at_g + log_det)
    return transported, volume
'''),
    # question 2: torch.func
    dict(question="q2_autograd", name="jacfwd (with a FutureWarning) and det instead of jacrev and slogdet",
         source='''import warnings

def pushforward_log_prob(log_prob_x, inverse, y):
    warnings.warn("torch.func.jacfwd: forward mode", FutureWarning)
    jacobian = torch.func.vmap(torch.func.jacfwd(lambda v: inverse(v[None])[0]))(y)
    return log_prob_x(inverse(y)) + torch.log(torch.abs(torch.linalg.det(jacobian)))


def autograd_score(log_prob, y):
    return torch.func.vmap(torch.func.jacrev(lambda v: log_prob(v[None])[0]))(y)
'''),
    dict(question="q2_autograd", name="a loop over points with torch.autograd.grad",
         source='''def pushforward_log_prob(log_prob_x, inverse, y):
    out = []
    for v in y:
        J = torch.autograd.functional.jacobian(lambda u: inverse(u[None])[0], v)
        out.append(log_prob_x(inverse(v[None]))[0] + torch.linalg.slogdet(J).logabsdet)
    return torch.stack(out)


def autograd_score(log_prob, y):
    rows = []
    for v in y:
        v = v.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(log_prob(v[None])[0], v)
        rows.append(grad)
    return torch.stack(rows)
'''),
    dict(question="q2_autograd", name="the batch summed before grad (each point's gradient is its own)",
         source='''def pushforward_log_prob(log_prob_x, inverse, y):
    J = torch.func.vmap(torch.func.jacrev(lambda v: inverse(v.unsqueeze(0)).squeeze(0)))(y)
    sign, logabsdet = torch.linalg.slogdet(J)
    return log_prob_x(inverse(y)) + logabsdet


def autograd_score(log_prob, y):
    return torch.func.grad(lambda v: log_prob(v).sum())(y)
'''),
    # question 3: the check
    dict(question="q3_check", name="a loop over coordinates, autograd by torch.autograd",
         source='''def max_abs_error(score_exprs, ys, log_prob_y, points):
    y = points.detach().clone().requires_grad_(True)
    (truth,) = torch.autograd.grad(log_prob_y(y).sum(), y)
    worst = 0.0
    for k, expr in enumerate(score_exprs):
        f = sp.lambdify(ys, expr, "numpy")
        value = np.broadcast_to(np.asarray(f(*points.T.numpy()), dtype=float), (points.shape[0],))
        worst = max(worst, float(np.max(np.abs(value - truth[:, k].numpy()))))
    return worst
'''),
    dict(question="q3_check", name="sympy evaluated point by point with subs, returned as a numpy float",
         source='''def max_abs_error(score_exprs, ys, log_prob_y, points):
    truth = torch.func.vmap(torch.func.grad(lambda v: log_prob_y(v[None])[0]))(points).numpy()
    values = np.array([[float(sp.sympify(e).subs(dict(zip(ys, row)))) for e in score_exprs]
                       for row in points.tolist()])
    return np.max(np.abs(values - truth))
'''),
    dict(question="q3_check", name="torch all the way, with a tqdm progress bar over the formulas",
         source='''from tqdm.auto import tqdm

def max_abs_error(score_exprs, ys, log_prob_y, points):
    truth = torch.func.vmap(torch.func.grad(lambda v: log_prob_y(v[None])[0]))(points)
    columns = []
    for expr in tqdm(score_exprs, desc="formulas"):
        value = sp.lambdify(ys, expr, "numpy")(*points.T.numpy())
        columns.append(torch.as_tensor(np.broadcast_to(np.asarray(value, dtype=float), (points.shape[0],)).copy()))
    return (torch.stack(columns, 1) - truth).abs().max().item()
'''),
    dict(question="q3_check", name="the autograd score from the library (question 2's twin, allowed here)",
         source='''def max_abs_error(score_exprs, ys, log_prob_y, points):
    truth = scores.autograd_score(log_prob_y)(points).numpy()
    f = sp.lambdify(ys, list(score_exprs), "numpy")
    values = np.stack([np.broadcast_to(np.asarray(v, dtype=float), (len(points),)) for v in f(*points.T.numpy())], 1)
    return float(np.abs(values - truth).max())
'''),
]
