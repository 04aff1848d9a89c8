"""Plausible wrong answers to assignment 2 (score augmentation): the graders' own tests.

Each entry names the question (the grade_id of its solution cell) and edits that cell's source: every
(old, new) pair replaces a text that must occur exactly once. `scoreaug_lab.course.catalogues.grade_catalogue` swaps
each one in, re-runs every autograded test cell, and expects its own question's points lost and no other's.
Kept outside source/, so `nbgrader generate_assignment` never releases it.
"""

WRONG_ANSWERS = [
    # question 1: the training pair of every cell of the grid
    dict(question="q1_training_pair", name="noisy space transforms the clean sample: T(x0) + sigma n",
         replace=[("model_input = transform.apply(noisy, params)", "model_input = target + sig * noise")]),
    dict(question="q1_training_pair", name="clean and noisy space swapped",
         replace=[("model_input = target + sig * noise                                  # fresh isotropic noise",
                   "model_input = transform.apply(noisy, params)"),
                  ("model_input = transform.apply(noisy, params)"
                   "                        # the noisy sample is transformed",
                   "model_input = target + sig * noise")]),
    dict(question="q1_training_pair", name="the target left untransformed (x0)",
         replace=[("target = transform.apply(x0, params)\n",
                   "target = x0\n"),
                  ("model_input = target + sig * noise                                  # fresh isotropic noise",
                   "model_input = transform.apply(x0, params) + sig * noise")]),
    dict(question="q1_training_pair", name="omega given to every augmented variant, conditioned or not",
         replace=[('omega = transform.encode(params) if variant in ("clean-omega", "scoreaug") else None',
                   "omega = transform.encode(params)")]),
    dict(question="q1_training_pair", name="omega = the raw parameters instead of transform.encode(params)",
         replace=[('omega = transform.encode(params) if variant', 'omega = params if variant')]),
    dict(question="q1_training_pair", name="noise transformed on its own: T(x0) + T(sigma n)",
         replace=[("model_input = transform.apply(noisy, params)",
                   "model_input = target + transform.apply(sig * noise, params)")]),
    dict(question="q1_training_pair", name="sigma broadcast for points only (sigma[:, None])",
         replace=[("sig = sigma.reshape(-1, *([1] * (x0.ndim - 1)))", "sig = sigma[:, None]")]),
    # question 2: noise covariance, coincidence, noise level
    dict(question="q2_noise_covariance", name="A^T A instead of A A^T",
         replace=[("return sigma**2 * A @ A.T", "return sigma**2 * A.T @ A")]),
    dict(question="q2_noise_covariance", name="sigma instead of sigma^2",
         replace=[("return sigma**2 * A @ A.T", "return sigma * A @ A.T")]),
    dict(question="q2_noise_covariance", name="the noise level sigma left out of the covariance",
         replace=[("return sigma**2 * A @ A.T", "return A @ A.T")]),
    dict(question="q2_noise_covariance", name="coincide when |det A| = 1 (volume-preserving is not noise-preserving)",
         replace=[("return bool(torch.allclose(cov, sigma**2 * torch.eye(cov.shape[0], dtype=cov.dtype), atol=atol))",
                   "A = transform_matrix(transform, params, event_shape)\n"
                   "    return bool(abs(abs(torch.linalg.det(A)) - 1) < atol)")]),
    dict(question="q2_noise_covariance", name="coincide when every pixel keeps its variance (the diagonal only)",
         replace=[("return bool(torch.allclose(cov, sigma**2 * torch.eye(cov.shape[0], dtype=cov.dtype), atol=atol))",
                   "return bool(torch.allclose(torch.diagonal(cov), torch.full((cov.shape[0],), sigma**2, "
                   "dtype=cov.dtype), atol=atol))")]),
    dict(question="q2_noise_covariance", name="coincide read off the transform's orthogonal flag",
         replace=[("return bool(torch.allclose(cov, sigma**2 * torch.eye(cov.shape[0], dtype=cov.dtype), atol=atol))",
                   "return bool(transform.orthogonal)")]),
    dict(question="q2_noise_covariance", name="coincide only for the identity (A = I)",
         replace=[("return bool(torch.allclose(cov, sigma**2 * torch.eye(cov.shape[0], dtype=cov.dtype), atol=atol))",
                   "A = transform_matrix(transform, params, event_shape)\n"
                   "    return bool(torch.allclose(A, torch.eye(A.shape[0], dtype=A.dtype), atol=atol))")]),
    dict(question="q2_noise_covariance", name="noise level = the variance, not its square root",
         replace=[("return float(torch.sqrt(torch.diagonal(cov).mean()))",
                   "return float(torch.diagonal(cov).mean())")]),
    dict(question="q2_noise_covariance", name="noise level from the whole trace, not its mean",
         replace=[("return float(torch.sqrt(torch.diagonal(cov).mean()))",
                   "return float(torch.sqrt(torch.diagonal(cov).sum()))")]),
    # question 3: sampling with omega = 0
    dict(question="q3_sample_identity", name="a random omega (transforms drawn at sampling)",
         replace=[("omega = torch.zeros(n, model.omega_dim) if model.omega_dim else None",
                   "omega = torch.randn(n, model.omega_dim) if model.omega_dim else None")]),
    dict(question="q3_sample_identity", name="omega = ones instead of zeros",
         replace=[("omega = torch.zeros(n, model.omega_dim) if model.omega_dim else None",
                   "omega = torch.ones(n, model.omega_dim) if model.omega_dim else None")]),
    dict(question="q3_sample_identity", name="an omega passed to a model without omega input",
         replace=[("omega = torch.zeros(n, model.omega_dim) if model.omega_dim else None",
                   "omega = torch.zeros(n, model.omega_dim)")]),
    dict(question="q3_sample_identity", name="every sample from seed 0",
         replace=[("range(n), num_steps=num_steps", "[0] * n, num_steps=num_steps")]),
    dict(question="q3_sample_identity", name="seeds 1 ... n instead of 0 ... n - 1",
         replace=[("range(n), num_steps=num_steps", "range(1, n + 1), num_steps=num_steps")]),
    dict(question="q3_sample_identity", name="Euler instead of Heun",
         replace=[("num_steps=num_steps, omega=omega)", "num_steps=num_steps, method=\"euler\", omega=omega)")]),
    dict(question="q3_sample_identity", name="num_steps ignored (always 18)",
         replace=[("num_steps=num_steps, omega=omega)", "omega=omega)")]),
]
