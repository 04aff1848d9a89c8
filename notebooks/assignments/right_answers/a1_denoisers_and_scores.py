"""Right answers to assignment 1 written differently from the key: each must get full marks (and pass its visible
tests), however it is written, whatever it prints or warns. `catalogues.grade_catalogue(..., "right")` swaps each
into its question's answer cell in one sandboxed kernel and scores every test cell by nbgrader's rule.
Kept outside source/, never released.
"""

RIGHT_ANSWERS = [
    # question 1: EDM's preconditioning
    dict(question="q1_preconditioning", name="c_out under one square root, lambda as 1 / c_out^2",
         source='''def edm_preconditioning(sigma, sigma_data):
    c_out = sp.sqrt(sigma**2 * sigma_data**2 / (sigma**2 + sigma_data**2))
    return {"c_skip": sigma_data**2 / (sigma**2 + sigma_data**2), "c_out": c_out,
            "c_in": (sigma**2 + sigma_data**2) ** sp.Rational(-1, 2), "c_noise": sp.log(sigma) / 4,
            "lambda": 1 / c_out**2}
'''),
    dict(question="q1_preconditioning", name="float exponents and c_noise as the log of a fourth root",
         source='''def edm_preconditioning(sigma, sigma_data):
    total = sigma**2 + sigma_data**2
    return {"c_skip": 1 - sigma**2 / total, "c_out": sigma * sigma_data * total**-0.5,
            "c_in": total**-0.5, "c_noise": sp.log(sigma ** sp.Rational(1, 4)),
            "lambda": (sigma**2 + sigma_data**2) / (sigma**2 * sigma_data**2)}
'''),
    dict(question="q1_preconditioning", name="built in a loop, printing each coefficient and warning",
         source='''import warnings

def edm_preconditioning(sigma, sigma_data):
    warnings.warn("EDM's coefficients assume sigma_data is the data's standard deviation", UserWarning)
    total = sigma**2 + sigma_data**2
    formulas = [("c_skip", sigma_data**2 / total), ("c_out", sigma * sigma_data / sp.sqrt(total)),
                ("c_in", 1 / sp.sqrt(total)), ("c_noise", sp.log(sigma) / 4),
                ("lambda", total / (sigma * sigma_data) ** 2)]
    coefficients = {}
    for name, expr in formulas:
        coefficients[name] = sp.simplify(expr)
        print(f"{name} = {coefficients[name]}")
    return coefficients
'''),
    # question 2: the identities
    dict(question="q2_identities", name="sp.cancel and sp.factor instead of sp.simplify",
         source='''def preconditioning_identities(c, sigma, sigma_data):
    return {"loss_weight": sp.factor(sp.cancel(c["lambda"] * c["c_out"] ** 2 - 1)),
            "unit_input": sp.factor(sp.cancel(c["c_in"] ** 2 * (sigma**2 + sigma_data**2) - 1))}
'''),
    dict(question="q2_identities", name="the variance by sympy.stats",
         source='''from sympy.stats import Normal, variance

def preconditioning_identities(c, sigma, sigma_data):
    x0, n = Normal("x0", 0, sigma_data), Normal("n", 0, 1)
    return {"loss_weight": sp.simplify(c["lambda"] * c["c_out"] ** 2 - 1),
            "unit_input": sp.simplify(variance(c["c_in"] * (x0 + sigma * n)) - 1)}
'''),
    dict(question="q2_identities", name="expanded first, simplified after, written to stderr",
         source='''import sys

def preconditioning_identities(c, sigma, sigma_data):
    differences = {"loss_weight": sp.expand(c["lambda"] * c["c_out"] ** 2) - 1,
                   "unit_input": sp.expand(c["c_in"] ** 2 * sigma_data**2 + c["c_in"] ** 2 * sigma**2) - 1}
    out = {name: sp.simplify(expr) for name, expr in differences.items()}
    print("differences:", out, file=sys.stderr)
    return out
'''),
    # question 3: the ideal denoiser
    dict(question="q3_ideal_denoiser", name="squared distances expanded, log-sum-exp by hand",
         source='''def ideal_denoiser(y, sigma, train):
    y, train = y.to(torch.float64), train.to(torch.float64)
    s2 = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1, 1) ** 2
    sq = (y**2).sum(1, keepdim=True) - 2 * y @ train.T + (train**2).sum(1)[None]
    logits = -sq / (2 * s2)
    logits = logits - logits.max(dim=1, keepdim=True).values
    w = logits.exp()
    return (w / w.sum(1, keepdim=True)) @ train
'''),
    dict(question="q3_ideal_denoiser", name="a loop over the batch with a tqdm progress bar",
         source='''from tqdm import tqdm

def ideal_denoiser(y, sigma, train):
    y, train = y.double(), train.double()
    sig = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).expand(y.shape[0])
    rows = []
    for i in tqdm(range(y.shape[0]), desc="denoising"):
        logw = -((train - y[i]) ** 2).sum(1) / (2 * sig[i] ** 2)
        rows.append(torch.exp(logw - torch.logsumexp(logw, 0)) @ train)
    return torch.stack(rows)
'''),
    dict(question="q3_ideal_denoiser", name="numpy's log-sum-exp, with a 0/0 RuntimeWarning along the way",
         source='''def ideal_denoiser(y, sigma, train):
    y_np, x_np = y.double().numpy(), train.double().numpy()
    s = np.broadcast_to(np.asarray(torch.as_tensor(sigma, dtype=torch.float64)).reshape(-1, 1), (len(y_np), 1))
    logits = -((y_np[:, None, :] - x_np[None]) ** 2).sum(-1) / (2 * s**2)
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    spread = np.float64(0.0) / np.float64(0.0)          # a diagnostic that is nan here (numpy warns)
    return torch.from_numpy(weights @ x_np)
'''),
    # question 4: Tweedie
    dict(question="q4_tweedie", name="torch.tensor of a tensor (UserWarning), sigma broadcast with view",
         source='''def score_from_denoiser(denoiser, y, sigma):
    sig = torch.tensor(torch.as_tensor(sigma, dtype=y.dtype))
    return (denoiser(y, sigma) - y) / sig.view(-1, *([1] * (y.ndim - 1))) ** 2
'''),
    dict(question="q4_tweedie", name="a number and a tensor handled in two branches",
         source='''def score_from_denoiser(denoiser, y, sigma):
    denoised = denoiser(y, sigma)
    if isinstance(sigma, (int, float)):
        return (denoised - y) / sigma**2
    return (denoised - y) / sigma[:, None] ** 2
'''),
    dict(question="q4_tweedie", name="torch.func's Jacobian warmed up first (FutureWarning), then Tweedie",
         source='''import warnings

def score_from_denoiser(denoiser, y, sigma):
    warnings.warn("torch.func.jacfwd is not needed here", FutureWarning)
    sigma2 = torch.as_tensor(sigma, dtype=y.dtype).reshape(-1, 1) ** 2
    return denoiser(y, sigma) / sigma2 - y / sigma2
'''),
]
