"""widgets.point_transform_explorer, headless: lab.noise_report on points, and a model."""
import numpy as np
import pytest
import torch

from scoreaug_lab.widgets import ImageTransformExplorer, PointTransformExplorer, TransformExplorer

from support import set_values

EXACT = 1e-10


def test_point_clouds_and_the_non_linear_case(points):
    set_values(points, data="toy:gmm8", transform="shear", shear=0.8, sigma=0.3, denoiser="noisy")
    a = np.array([[1.0, 0.8], [0.0, 1.0]])
    assert points.report.noisy.shape == (64, 2)
    assert abs(points.state["variance_ratio"] - np.trace(a @ a.T) / 2) < EXACT        # exact: A A^T
    assert points.state["equivariance_error"] < EXACT                                 # linear, invertible
    set_values(points, data="toy:moons", transform="tanh", strength=2.0)
    s = points.state
    assert s["equivariance_error"] > 1e-3 and "Jensen" in s["note"]                  # E[T x0|y] != T E[x0|y]
    assert not points.report.statistics.exact and s["variance_ratio"] < 1             # tanh squashes the noise
    # its own titles and axes: short, nothing about pixels, no upside-down axis
    noise = points.figures["noise"]
    texts = [a.text for a in noise.layout.annotations] + [noise.layout.title.text]
    assert all("pixel" not in t for t in texts) and "Monte Carlo" in noise.layout.title.text
    for fig in points.figures.values():
        for text in [a.text for a in fig.layout.annotations if a.name != "unavailable"] + [fig.layout.title.text]:
            assert all(len(line) <= 60 for line in text.replace("<sup>", "").replace("</sup>", "").split("<br>"))
        assert all(fig.layout[k].autorange != "reversed" for k in fig.layout if k.startswith("yaxis"))


def test_the_factory_and_a_model_in_the_point_explorer():
    from scoreaug_lab.models import MLPDenoiser
    from scoreaug_lab.transforms import build_sampler
    assert isinstance(TransformExplorer(data="toy:gmm8", n_points=8, n_train=4), PointTransformExplorer)
    sampler = build_sampler("rotate,scale", "points")
    torch.manual_seed(0)
    net = MLPDenoiser(width=16, depth=1, fourier_features=0, omega_dim=sampler.omega_dim)
    with pytest.raises(ValueError, match="sampler"):
        PointTransformExplorer(model=net)
    app = PointTransformExplorer(model=net, sampler=sampler, n_points=32, transform="rotate", denoiser="model")
    assert app.state["available"] and np.isfinite(app.state["equivariance_error"])
    images = ImageTransformExplorer(model=net, sampler=sampler, denoiser="model", digits_size=8, cifar_path=False,
                                    n_train=4)                          # a points model cannot denoise images
    assert not images.state["available"] and images.last_error is None and "cannot denoise" in images.state["note"]
