"""Cheating answers to assignment 3 (twins of the asked functions): graded like the wrong answers, in one kernel;
each must lose its question's points. Never released.
"""

TWIN_CHEATS = [
    dict(question="q2_autograd", name="the library's pushforward_log_prob and autograd_score",
         source='''def pushforward_log_prob(log_prob_x, inverse, y):
    return scores.pushforward_log_prob(log_prob_x, inverse)(y)


def autograd_score(log_prob, y):
    return scores.autograd_score(log_prob)(y)
'''),
    dict(question="q1_pushforward_terms", name="symbolic.derive_pushforward derives it",
         source='''def pushforward_score_terms(log_p_x, xs, inverse, ys):
    from scoreaug_lab import symbolic
    forward = [sp.solve(sp.Eq(x, g), y)[0] for x, y, g in zip(xs, ys, inverse)]          # f = g^-1, 1-D maps
    result = symbolic.derive_pushforward(forward, xs, log_p_x, ys, inverse=inverse)
    return list(result.transported), list(result.volume)
'''),
]
