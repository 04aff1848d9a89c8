"""Right answers to assignment 2 written differently from the key: each must get full marks and pass its visible
tests (catalogues.grade_catalogue(..., "right")). Kept outside source/, never released.
"""

RIGHT_ANSWERS = [
    # question 1: the training pair of every cell of the grid
    dict(question="q1_training_pair", name="one branch per variant, sigma reshaped with view",
         source='''def training_pair(x0, sigma, noise, transform, params, variant):
    sig = sigma.view(-1, *([1] * (x0.dim() - 1)))
    if variant == "noaug":
        return x0 + sig * noise, x0, None
    if variant == "clean":
        return transform.apply(x0, params) + sig * noise, transform.apply(x0, params), None
    if variant == "clean-omega":
        return transform.apply(x0, params) + sig * noise, transform.apply(x0, params), transform.encode(params)
    if variant == "noisy":
        return transform.apply(x0 + sig * noise, params), transform.apply(x0, params), None
    if variant == "scoreaug":
        return transform.apply(x0 + sig * noise, params), transform.apply(x0, params), transform.encode(params)
    raise ValueError(f"unknown variant {variant!r}")
'''),
    dict(question="q1_training_pair", name="a table of lambdas, omega always computed, a warning for float32",
         source='''import warnings

def training_pair(x0, sigma, noise, transform, params, variant):
    if x0.dtype == torch.float32:
        warnings.warn("float32 inputs: the pair is only as exact as float32", RuntimeWarning)
    sig = sigma.reshape([x0.shape[0]] + [1] * (x0.ndim - 1))
    clean = lambda: transform.apply(x0, params) + sig * noise
    noisy = lambda: transform.apply(x0 + sig * noise, params)
    inputs = {"noaug": lambda: x0 + sig * noise, "clean": clean, "clean-omega": clean, "noisy": noisy,
              "scoreaug": noisy}
    target = x0 if variant == "noaug" else transform.apply(x0, params)
    omega = transform.encode(params)
    return inputs[variant](), target, (omega if variant.endswith("omega") or variant == "scoreaug" else None)
'''),
    dict(question="q1_training_pair", name="the noise reshaped by broadcasting sigma with einsum, printing a summary",
         source='''def training_pair(x0, sigma, noise, transform, params, variant):
    scaled = torch.einsum("b,b...->b...", sigma.to(noise.dtype), noise)        # sigma_i * n_i
    print(f"{variant}: batch {x0.shape[0]}, shape {tuple(x0.shape[1:])}")
    if variant == "noaug":
        return x0 + scaled, x0, None
    target = transform.apply(x0, params)
    model_input = target + scaled if variant.startswith("clean") else transform.apply(x0 + scaled, params)
    conditioned = variant in ("clean-omega", "scoreaug")
    return model_input, target, transform.encode(params) if conditioned else None
'''),
    # question 2: the noise covariance
    dict(question="q2_noise_covariance", name="einsum for A A^T, the trace for the level",
         source='''def noisy_space_noise_covariance(transform, params, event_shape, sigma):
    A = transform_matrix(transform, params, event_shape)
    return sigma**2 * torch.einsum("ik,jk->ij", A, A)


def spaces_coincide(transform, params, event_shape, sigma, atol=1e-9):
    cov = noisy_space_noise_covariance(transform, params, event_shape, sigma)
    return bool((cov - sigma**2 * torch.eye(len(cov), dtype=cov.dtype)).abs().max() <= atol)


def noise_level(transform, params, event_shape, sigma):
    cov = noisy_space_noise_covariance(transform, params, event_shape, sigma)
    return math.sqrt(float(torch.trace(cov)) / cov.shape[0])
'''),
    dict(question="q2_noise_covariance", name="A from the transform's Jacobian (torch.func) instead of its matrix",
         source='''def noisy_space_noise_covariance(transform, params, event_shape, sigma):
    size = math.prod(event_shape)
    x = torch.zeros(1, *event_shape, dtype=torch.float64)
    A = transform.jacobian(x, torch.as_tensor(params, dtype=torch.float64)).reshape(size, size)
    return sigma**2 * A @ A.T


def spaces_coincide(transform, params, event_shape, sigma, atol=1e-9):
    cov = noisy_space_noise_covariance(transform, params, event_shape, sigma)
    off_diagonal = cov - torch.diag(torch.diagonal(cov))
    return bool(torch.allclose(torch.diagonal(cov), torch.full_like(torch.diagonal(cov), sigma**2), atol=atol)
                and off_diagonal.abs().max() <= atol)


def noise_level(transform, params, event_shape, sigma):
    return float(noisy_space_noise_covariance(transform, params, event_shape, sigma).diagonal().mean().sqrt())
'''),
    dict(question="q2_noise_covariance", name="numpy for the algebra",
         source='''import numpy as np

def noisy_space_noise_covariance(transform, params, event_shape, sigma):
    A = transform_matrix(transform, params, event_shape).numpy()
    return torch.from_numpy(sigma**2 * A @ A.T)


def spaces_coincide(transform, params, event_shape, sigma, atol=1e-9):
    cov = noisy_space_noise_covariance(transform, params, event_shape, sigma).numpy()
    return bool(np.allclose(cov, sigma**2 * np.eye(cov.shape[0]), rtol=0, atol=atol))


def noise_level(transform, params, event_shape, sigma):
    cov = noisy_space_noise_covariance(transform, params, event_shape, sigma).numpy()
    return float(np.sqrt(np.trace(cov) / cov.shape[0]))
'''),
    # question 3: sampling with omega = 0
    dict(question="q3_sample_identity", name="omega=None for every model (the sampler's identity)",
         source='''def sample_untransformed(model, data_shape, n, num_steps=18):
    return sampling.sample(model, tuple(data_shape), range(n), num_steps=num_steps)
'''),
    dict(question="q3_sample_identity", name="seeds as a list, omega zeros in the model's dtype, progress printed",
         source='''def sample_untransformed(model, data_shape, n, num_steps=18):
    seeds = list(range(n))
    print(f"sampling {n} seeds with {num_steps} Heun steps")
    if getattr(model, "omega_dim", 0) > 0:
        return sampling.sample(model, data_shape, seeds, num_steps=num_steps,
                               omega=torch.zeros((n, model.omega_dim), dtype=torch.float32))
    return sampling.sample(model, data_shape, seeds, num_steps=num_steps)
'''),
    dict(question="q3_sample_identity", name="the sampler's options passed as a dict",
         source='''def sample_untransformed(model, data_shape, n, num_steps=18):
    options = {"num_steps": int(num_steps)}
    if model.omega_dim:
        options["omega"] = torch.zeros(n, model.omega_dim)
    return sampling.sample(model, tuple(int(s) for s in data_shape), range(0, n), **options)
'''),
]
