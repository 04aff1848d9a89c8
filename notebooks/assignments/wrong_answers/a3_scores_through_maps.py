"""Plausible wrong answers to assignment 3 (scores through maps): the graders' own tests.

Each entry names the question (the grade_id of its solution cell) and edits that cell's source: every
(old, new) pair replaces a text that must occur exactly once. `scoreaug_lab.course.catalogues.grade_catalogue` swaps
each one in, re-runs every autograded test cell, and expects its own question's points lost and no other's.
Kept outside source/, so `nbgrader generate_assignment` never releases it.
"""

WRONG_ANSWERS = [
    # question 1: the push-forward score with sympy
    dict(question="q1_pushforward_terms", name="the log-determinant (volume) term dropped",
         replace=[("volume = [sp.diff(log_det, y) for y in ys]", "volume = [sp.Integer(0) for y in ys]")]),
    dict(question="q1_pushforward_terms", name="the log-determinant term with the wrong sign",
         replace=[("volume = [sp.diff(log_det, y) for y in ys]", "volume = [-sp.diff(log_det, y) for y in ys]")]),
    dict(question="q1_pushforward_terms", name="J_g instead of its transpose",
         replace=[("transported = J.T * score_at_g", "transported = J * score_at_g")]),
    dict(question="q1_pushforward_terms", name="the score of X evaluated at y instead of g(y)",
         replace=[("score_at_g = score_x.subs(dict(zip(xs, inverse)), simultaneous=True)",
                   "score_at_g = score_x.subs(dict(zip(xs, ys)), simultaneous=True)")]),
    dict(question="q1_pushforward_terms", name="the gradient of det J_g instead of log|det J_g|",
         replace=[("log_det = sp.log(sp.Abs(J.det()))", "log_det = J.det()")]),
    dict(question="q1_pushforward_terms", name="the score of X transported without the Jacobian",
         replace=[("transported = J.T * score_at_g", "transported = score_at_g")]),
    dict(question="q1_pushforward_terms", name="log|det J_g| from the diagonal of J_g only",
         replace=[("log_det = sp.log(sp.Abs(J.det()))", "log_det = sum(sp.log(sp.Abs(J[i, i])) for i in range(len(ys)))")]),
    # question 2: the push-forward log-density in torch and its autograd score
    dict(question="q2_autograd", name="the log-determinant term dropped",
         replace=[("return log_prob_x(inverse(y)) + torch.linalg.slogdet(jacobian).logabsdet",
                   "return log_prob_x(inverse(y))")]),
    dict(question="q2_autograd", name="the log-determinant term with the wrong sign (log|det J_f|)",
         replace=[("return log_prob_x(inverse(y)) + torch.linalg.slogdet(jacobian).logabsdet",
                   "return log_prob_x(inverse(y)) - torch.linalg.slogdet(jacobian).logabsdet")]),
    dict(question="q2_autograd", name="log det J without the absolute value",
         replace=[("torch.linalg.slogdet(jacobian).logabsdet", "torch.log(torch.linalg.det(jacobian))")]),
    dict(question="q2_autograd", name="log p_X at y instead of g(y)",
         replace=[("return log_prob_x(inverse(y)) +", "return log_prob_x(y) +")]),
    dict(question="q2_autograd", name="log det from the diagonal of the Jacobian only",
         replace=[("torch.linalg.slogdet(jacobian).logabsdet",
                   "torch.diagonal(jacobian, dim1=1, dim2=2).abs().log().sum(1)")]),
    dict(question="q2_autograd", name="autograd of the density instead of the log-density",
         replace=[("return torch.func.vmap(torch.func.grad(lambda v: log_prob(v[None])[0]))(y)",
                   "return torch.func.vmap(torch.func.grad(lambda v: log_prob(v[None])[0].exp()))(y)")]),
    # question 3: checking a formula against autograd
    dict(question="q3_check", name="the mean instead of the largest error",
         replace=[("return float(np.abs(values - truth.numpy()).max())",
                   "return float(np.abs(values - truth.numpy()).mean())")]),
    dict(question="q3_check", name="the largest signed difference (no absolute value)",
         replace=[("return float(np.abs(values - truth.numpy()).max())",
                   "return float((values - truth.numpy()).max())")]),
    dict(question="q3_check", name="relative instead of absolute error",
         replace=[("return float(np.abs(values - truth.numpy()).max())",
                   "return float((np.abs(values - truth.numpy()) / np.abs(truth.numpy())).max())")]),
    dict(question="q3_check", name="autograd of the density instead of the log-density",
         replace=[("truth = torch.func.vmap(torch.func.grad(lambda v: log_prob_y(v[None])[0]))(points)",
                   "truth = torch.func.vmap(torch.func.grad(lambda v: log_prob_y(v[None])[0].exp()))(points)")]),
    dict(question="q3_check", name="only the first coordinate compared",
         replace=[("return float(np.abs(values - truth.numpy()).max())",
                   "return float(np.abs(values[:, 0] - truth.numpy()[:, 0]).max())")]),
    dict(question="q3_check", name="the Euclidean norm of the error per point",
         replace=[("return float(np.abs(values - truth.numpy()).max())",
                   "return float(np.linalg.norm(values - truth.numpy(), axis=1).max())")]),
]
