"""widgets.image_transform_explorer, headless: shows lab.noise_report's numbers, in place."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from scoreaug_lab.widgets import ImageTransformExplorer, TransformExplorer
from scoreaug_lab.widgets.pictures import to_rgb

from support import set_values

EXACT = 1e-10


@pytest.mark.parametrize("name, values", [("rot90", {"k": 1}), ("xflip", {"flip": True}),
                                          ("translate_circular", {"dy": 3, "dx": -2})])
def test_orthogonal_transforms_keep_the_noise_variance(explorer, name, values):
    set_values(explorer, transform=name, denoiser="noisy", **values)
    s, r = explorer.state, explorer.report
    assert abs(s["variance_ratio"] - 1) < EXACT and abs(r.statistics.variance_ratio_all - 1) < EXACT
    assert r.statistics.noise_free_fraction == 0 and abs(s["neighbour_correlation"]) < EXACT
    assert s["available"] and s["equivariance_error"] < EXACT
    set_values(explorer, denoiser="clean")
    assert explorer.state["equivariance_error"] < EXACT


@pytest.mark.parametrize("a", [0.5, 1.5, 2.0])
def test_brightness_scales_the_noise_variance_by_a_squared(explorer, a):
    set_values(explorer, transform="brightness", a=a, sigma=0.4, denoiser="noisy")
    r = explorer.report
    assert abs(explorer.state["variance_ratio"] - a * a) < 1e-9
    assert ((r.noisy_space - r.t_x0) - a * (r.noisy - r.x0)).abs().max() < 1e-12
    assert explorer.state["equivariance_error"] < EXACT
    # titles say what the sliders say, not internal parameters (log a)
    assert explorer.state["title"] == f"brightness: a = {a:.3g}, σ = 0.4"
    assert explorer.figures["views"].layout.title.text.startswith(explorer.state["title"])
    assert f"variance ratio <b>{a * a:.4f}</b>" in explorer.info.value
    set_values(explorer, denoiser="clean", sigma=1.0)
    assert explorer.state["equivariance_error"] > 1e-3


def test_an_unavailable_denoiser_is_said_in_place_of_its_panels():
    app = ImageTransformExplorer(data="digits:32", cifar_path=False, n_train=8, transform="rotate")
    eq = app.figures["equivariance"]
    note = next(eq.select_annotations(selector=dict(name="unavailable")))
    for angle in (30.0, 45.0):
        set_values(app, angle=angle)
        r = app.report
        assert abs(r.statistics.variance_ratio_interior - 4 / 9) < 0.02 and 0.38 < app.state["variance_ratio"] < 0.46
        assert not app.state["available"] and "not available" in app.state["note"]
        assert note.visible and "not available" in note.text and "nan" not in app.info.value
        assert not any(eq.select_traces(selector=dict(visible=True)))
    set_values(app, denoiser="clean")                                        # a combination that works
    assert app.state["available"] and not note.visible and all(tr.visible for tr in eq.data)
    set_values(app, transform="rotate_nearest", angle=30.0)
    assert abs(app.report.statistics.variance_ratio_interior - 1) < EXACT
    set_values(app, transform="rotate", angle=0.0)
    assert abs(app.state["variance_ratio"] - 1) < EXACT


def test_cifar10_images(cifar_npz):
    app = TransformExplorer(data="cifar10", cifar_path=cifar_npz, n_train=16, transform="brightness")
    assert isinstance(app, ImageTransformExplorer)
    set_values(app, a=0.5, sigma=0.2)
    assert app.report.x0.shape == (1, 3, 32, 32) and abs(app.state["variance_ratio"] - 0.25) < 1e-9
    assert app.state["equivariance_error"] < EXACT
    set_values(app, transform="translate", dy=4, dx=0)
    assert abs(app.report.statistics.noise_free_fraction - 4 / 32) < EXACT                # four noise-free rows


def test_sigma_changes_the_noisy_image_in_place(explorer):
    set_values(explorer, transform="rot90", k=1, sigma=0.1)
    views, figures = explorer.figures["views"], dict(explorer.figures)
    traces = [id(tr) for tr in views.data]
    names = ["x0", "noisy", "noisy_space", "clean_space"]
    before = [explorer.traces[n].source for n in names]                                # PNG data URIs
    noise = explorer.report.noisy - explorer.report.x0
    set_values(explorer, sigma=0.8)
    r = explorer.report
    assert ((r.noisy - r.x0) - 8 * noise).abs().max() < 1e-12                       # same draw, 8x the level
    after = [explorer.traces[n].source for n in names]
    assert before[0] == after[0] and all(before[i] != after[i] for i in (1, 2, 3))   # x0 unchanged
    # the picture shown is the report's noisy image (decoded from the PNG, upscaled by an integer factor)
    shown = np.array(Image.open(io.BytesIO(base64.b64decode(after[1].split(",", 1)[1]))))
    f = shown.shape[0] // 8
    assert np.array_equal(shown[::f, ::f], to_rgb(r.noisy[0]))
    assert explorer.figures == figures and all(explorer.figures[k] is figures[k] for k in figures)
    assert [id(tr) for tr in views.data] == traces and views.data[1] is explorer.traces["noisy"]


def test_the_status_line_names_the_denoiser_once_keeps_numbers_whole_and_offers_only_its_menu():
    import re

    app = ImageTransformExplorer(data="digits:32", cifar_path=False, n_train=8, transform="rot90")
    set_values(app, denoiser="noisy", k=1)
    info = app.info.value
    assert info.count("noisy-space") == 1, info                              # the note names it, once
    numbers = re.findall(r"<b>([-+0-9.e]+)</b>", info)
    kept = re.findall(r"<span style='white-space:nowrap'>[^<]*<b>([-+0-9.e]+)</b></span>", info)
    assert len(numbers) == 3 and kept == numbers, info                       # e.g. 6.02e-16 never splits
    set_values(app, transform="rotate", angle=30.0)                          # no noisy-space optimum here
    info = app.info.value
    assert "not available" in info and "model" not in info, info             # nothing the menu lacks
    assert "also offers: clean-space optimum" in app.state["note"]
