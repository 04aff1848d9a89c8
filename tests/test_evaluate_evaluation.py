"""evaluate.evaluation: evaluate_images end to end on CIFAR-10 (every metric, JSON-able, a grid, notes)."""
import json

import pytest
import torch

from scoreaug_lab.data import DataSplit
from scoreaug_lab.evaluate.classifier import SmallCNN, save_classifier
from scoreaug_lab.evaluate.evaluation import evaluate_images
from scoreaug_lab.transforms import TransformSampler, parse_transforms

from support import _cifar, _g


class TinyDenoiser(torch.nn.Module):
    """A two-layer conv denoiser with omega added to its noise embedding (EDM preconditioning)."""

    def __init__(self, channels=3, omega_dim=0, sigma_data=0.5):
        super().__init__()
        self.omega_dim, self.label_dim, self.sigma_data = omega_dim, 0, sigma_data
        self.conv1 = torch.nn.Conv2d(channels, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, channels, 3, padding=1)
        self.omega = torch.nn.Linear(omega_dim, 16, bias=False) if omega_dim else None

    def forward(self, x, sigma, omega=None, labels=None):
        sig = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1, 1, 1).expand(x.shape[0], 1, 1, 1)
        total = sig**2 + self.sigma_data**2
        h = self.conv1(x / total.sqrt()) + sig.log()
        if omega is not None and self.omega is not None:
            h = h + self.omega(omega)[:, :, None, None]
        out = self.conv2(torch.relu(h))
        return self.sigma_data**2 / total * x + sig * self.sigma_data / total.sqrt() * out

    @property
    def device(self):  # the Denoiser protocol
        return self.conv1.weight.device


def test_evaluate_images_reports_every_metric_and_writes_a_grid(cifar_npz, tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREAUG_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))
    train, train_y, test, test_y = _cifar(cifar_npz, 100, 60)
    data = DataSplit("cifar10:test", "images", train, test, train_y, test_y, num_classes=10)
    sampler = TransformSampler(parse_transforms("rot90,brightness", "images"))
    torch.manual_seed(0)
    model = TinyDenoiser(omega_dim=sampler.omega_dim).eval()
    samples = torch.rand(40, 3, 32, 32, generator=_g(0)) * 2 - 1
    torch.manual_seed(1)
    save_classifier(SmallCNN(width=8, feature_dim=16).eval(), {"test_accuracy": 0.5, "data": "x"}, tmp_path / "c.pt")
    messages = []
    with torch.no_grad():
        out = evaluate_images(model, data, samples, sampler, n_per_band=16, n_equivariance=8, fid="inception",
                              default_classifier=tmp_path / "c.pt", grid_path=tmp_path / "grid.png",
                              log=messages.append)
    json.dumps(out)  # JSON-able
    assert [r["sigma_low"] for r in out["loss_by_band"]] == [0.002, 0.05, 0.2, 1.0, 5.0]
    assert set(out["memorisation"]) == {"memorised_fraction", "mean_nn_distance"}
    assert set(out["equivariance_error"]) == {"rot90", "brightness"}
    assert out["equivariance_omega"].startswith("omega_for")
    assert out["fid_inception"] is None and len(messages) == 1 and "Inception FID unavailable" in messages[0]
    assert "proxy" in messages[0] and out["fid_notes"] == messages
    proxy = out["fid_proxy_classifier"]
    assert proxy["feature_dim"] == 16 and proxy["classifier_test_accuracy"] == 0.5
    assert set(proxy) >= {"vs_train", "vs_heldout"} and proxy["vs_heldout"]["n_reference"] == 60
    from PIL import Image
    assert Image.open(tmp_path / "grid.png").size[0] > 8 * 32
    # no classifier at the default path: a note, not a failure; a named missing file is an error
    out = evaluate_images(model, data, samples, sampler, n_per_band=8, n_equivariance=4, fid="proxy",
                          default_classifier=tmp_path / "none.pt", log=None)
    assert out["fid_proxy_classifier"] is None and "scoreaug-lab classifier" in out["fid_notes"][0]
    with pytest.raises(FileNotFoundError):
        evaluate_images(model, data, samples, sampler, n_per_band=8, n_equivariance=4, fid="proxy",
                        classifier_path=tmp_path / "none.pt", log=None)
