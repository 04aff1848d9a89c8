"""evaluate.classifier: the proxy classifier saved, loaded, trained; its features tell CIFAR-10 from noise."""
import pytest
import torch

from scoreaug_lab.evaluate.classifier import SmallCNN, load_classifier, save_classifier, train_classifier
from scoreaug_lab.evaluate.fid import proxy_fid_kid

from support import _cifar, _g


def test_proxy_features_separate_real_images_from_noise(cifar_npz, tmp_path):
    train, _, test, _ = _cifar(cifar_npz, 600, 600)
    torch.manual_seed(0)
    net = SmallCNN(width=8, feature_dim=32).eval()       # untrained: this checks the pipeline
    save_classifier(net, {"test_accuracy": 0.1}, tmp_path / "c.pt")
    net2, info = load_classifier(tmp_path / "c.pt")
    assert torch.equal(net.features(test[:8]), net2.features(test[:8])) and info["path"] == str(tmp_path / "c.pt")
    noise = torch.rand(600, 3, 32, 32, generator=_g(0)) * 2 - 1
    out = proxy_fid_kid(test, {"same": test, "real": train, "noise": noise}, net2, info, kid_subsets=10)
    assert out["feature_dim"] == 32 and out["classifier_test_accuracy"] == 0.1
    assert abs(out["same"]["fid"]) < 1e-8 and abs(out["same"]["kid"]["mean"]) < 1e-3 * out["noise"]["kid"]["mean"]
    assert out["noise"]["fid"] > 20 * out["real"]["fid"] > 0
    with pytest.raises(ValueError, match="not a classifier"):
        torch.save({"a": 1}, tmp_path / "x.pt")
        load_classifier(tmp_path / "x.pt")


@pytest.mark.slow
def test_classifier_trains_well_above_chance_and_its_features_rank_real_over_noise(cifar_npz):
    train_x, train_y, test_x, test_y = _cifar(cifar_npz, 3000, 1000)
    net, info = train_classifier(train_x, train_y, test_x, test_y, epochs=3, width=16, seed=0)
    assert info["test_accuracy"] > 0.25 and info["n_train"] == 3000     # chance: 0.10
    noise = torch.rand(1000, 3, 32, 32, generator=_g(0)) * 2 - 1
    out = proxy_fid_kid(test_x, {"train": train_x[:1000], "noise": noise}, net, info, kid_subsets=10)
    assert out["noise"]["fid"] > 20 * out["train"]["fid"]
