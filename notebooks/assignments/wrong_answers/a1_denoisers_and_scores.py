"""Plausible wrong answers to assignment 1 (denoisers and scores): the graders' own tests.

Each entry names the question (the grade_id of its solution cell) and edits that cell's source: every
(old, new) pair replaces a text that must occur exactly once. `scoreaug_lab.course.catalogues.grade_catalogue` swaps
each one in, re-runs every autograded test cell, and expects its own question's points lost and no other's.
Kept outside source/, so `nbgrader generate_assignment` never releases it.
"""

WRONG_ANSWERS = [
    # question 1: EDM's preconditioning
    dict(question="q1_preconditioning", name="c_skip and c_out swapped",
         replace=[('return {"c_skip": sigma_data**2 / total,',
                   'return {"c_skip": sigma * sigma_data / sp.sqrt(total),'),
                  ('"c_out": sigma * sigma_data / sp.sqrt(total),', '"c_out": sigma_data**2 / total,')]),
    dict(question="q1_preconditioning", name="c_noise = ln(sigma) instead of ln(sigma) / 4",
         replace=[('"c_noise": sp.log(sigma) / 4,', '"c_noise": sp.log(sigma),')]),
    dict(question="q1_preconditioning", name="c_in without the square root",
         replace=[('"c_in": 1 / sp.sqrt(total),', '"c_in": 1 / total,')]),
    dict(question="q1_preconditioning", name="c_out without the square root",
         replace=[('"c_out": sigma * sigma_data / sp.sqrt(total),', '"c_out": sigma * sigma_data / total,')]),
    dict(question="q1_preconditioning", name="lambda = 1 / c_out instead of 1 / c_out^2",
         replace=[('"lambda": total / (sigma * sigma_data) ** 2}',
                   '"lambda": sp.sqrt(total) / (sigma * sigma_data)}')]),
    dict(question="q1_preconditioning", name="c_skip with sigma and sigma_data swapped",
         replace=[('return {"c_skip": sigma_data**2 / total,', 'return {"c_skip": sigma**2 / total,')]),
    dict(question="q1_preconditioning", name="built from the notebook's global symbols, not the arguments",
         replace=[("total = sigma**2 + sigma_data**2",
                   "sigma, sigma_data = sp.symbols('sigma sigma_data', positive=True)\n"
                   "    total = sigma**2 + sigma_data**2")]),
    # question 2: the identities
    dict(question="q2_identities", name="lambda * c_out - 1 (the square forgotten)",
         replace=[('sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1)', 'sp.simplify(c["lambda"] * c["c_out"] - 1)')]),
    dict(question="q2_identities", name="lambda * c_skip^2 - 1 (the wrong coefficient)",
         replace=[('sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1)',
                   'sp.simplify(c["lambda"] * c["c_skip"] ** 2 - 1)')]),
    dict(question="q2_identities", name="hard-coded proof: both differences are the constant 0",
         replace=[('return {"loss_weight": sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1),\n'
                   '            "unit_input": sp.simplify(c["c_in"] ** 2 * variance_of_y - 1)}',
                   'return {"loss_weight": sp.Integer(0), "unit_input": sp.Integer(0)}')]),
    dict(question="q2_identities", name="c_in not squared in the variance",
         replace=[('sp.simplify(c["c_in"] ** 2 * variance_of_y - 1)', 'sp.simplify(c["c_in"] * variance_of_y - 1)')]),
    dict(question="q2_identities", name="standard deviations added instead of variances",
         replace=[("variance_of_y = sigma_data**2 + sigma**2", "variance_of_y = (sigma_data + sigma) ** 2")]),
    dict(question="q2_identities", name="the difference without the - 1",
         replace=[('sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1)', 'sp.simplify(c["lambda"] * c["c_out"] ** 2)')]),
    dict(question="q2_identities", name="the differences returned without simplifying them",
         replace=[('sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1)', 'c["lambda"] * c["c_out"] ** 2 - 1'),
                  ('sp.simplify(c["c_in"] ** 2 * variance_of_y - 1)', 'c["c_in"] ** 2 * variance_of_y - 1')]),
    # question 3: the ideal denoiser
    dict(question="q3_ideal_denoiser", name="softmax over distances instead of squared distances",
         replace=[("squared = torch.cdist(y, train) ** 2", "squared = torch.cdist(y, train)")]),
    dict(question="q3_ideal_denoiser", name="sigma^2 instead of 2 sigma^2 in the softmax",
         replace=[("-squared / (2 * sigma**2)", "-squared / sigma**2")]),
    dict(question="q3_ideal_denoiser", name="2 sigma instead of 2 sigma^2 in the softmax",
         replace=[("-squared / (2 * sigma**2)", "-squared / (2 * sigma)")]),
    dict(question="q3_ideal_denoiser", name="softmax over the batch (dim=0) instead of the training points",
         replace=[("(2 * sigma**2), dim=1)", "(2 * sigma**2), dim=0)")]),
    dict(question="q3_ideal_denoiser", name="the nearest training point (a hard argmin)",
         replace=[("return weights @ train", "return train[squared.argmin(dim=1)]")]),
    dict(question="q3_ideal_denoiser", name="one noise level per sample not broadcast over the training points",
         replace=[("sigma = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1, 1)",
                   "sigma = torch.as_tensor(sigma, dtype=torch.float64)")]),
    dict(question="q3_ideal_denoiser", name="exp and normalise without the softmax's shift (underflows far from "
                                             "the data at small sigma)",
         replace=[("weights = torch.softmax(-squared / (2 * sigma**2), dim=1)",
                   "weights = torch.exp(-squared / (2 * sigma**2))\n"
                   "    weights = weights / weights.sum(1, keepdim=True)")]),
    dict(question="q3_ideal_denoiser", name="the result cast back to float32",
         replace=[("return weights @ train", "return (weights @ train).float()")]),
    # question 4: Tweedie
    dict(question="q4_tweedie", name="sign flipped: (y - D) / sigma^2",
         replace=[("return (denoiser(y, sigma) - y) / sigma_col**2",
                   "return (y - denoiser(y, sigma)) / sigma_col**2")]),
    dict(question="q4_tweedie", name="divided by sigma instead of sigma^2",
         replace=[("return (denoiser(y, sigma) - y) / sigma_col**2", "return (denoiser(y, sigma) - y) / sigma_col")]),
    dict(question="q4_tweedie", name="multiplied by sigma^2 (the inverse formula)",
         replace=[("return (denoiser(y, sigma) - y) / sigma_col**2",
                   "return (denoiser(y, sigma) - y) * sigma_col**2")]),
    dict(question="q4_tweedie", name="divided by 2 sigma^2",
         replace=[("return (denoiser(y, sigma) - y) / sigma_col**2",
                   "return (denoiser(y, sigma) - y) / (2 * sigma_col**2)")]),
    dict(question="q4_tweedie", name="one noise level per sample not broadcast over the coordinates",
         replace=[("sigma_col = torch.as_tensor(sigma, dtype=y.dtype).reshape(-1, 1)",
                   "sigma_col = torch.as_tensor(sigma, dtype=y.dtype)")]),
    dict(question="q4_tweedie", name="the denoiser's correction D - y taken as the score",
         replace=[("return (denoiser(y, sigma) - y) / sigma_col**2", "return denoiser(y, sigma) - y")]),
]
