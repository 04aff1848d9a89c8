"""OverfittingRunsExplorer: the overfitting view of run folders written by `scoreaug-lab train` (points or
images): pick a run, see its samples (a scatter, or a grid for images), the fraction that copies a training
point beside fresh data, and its logged train/held-out loss in one sigma band. Memorisation is collected
into one curve per (data, variant, transforms) over the runs visited.
"""
from __future__ import annotations

import ipywidgets as W

from ..diffusion import get_variant
from ..lab.memorisation_curve import run_loss_lines
from ..presets import by_size
from .overfitting_view import OverfittingView, band_control
from .run_backed_app import run_folder_choices


def run_label(folder, config) -> str:
    if isinstance(config, Exception):
        return f"{folder.name}  (unreadable config: {config})"
    return f"{folder.name}  ({config.variant}, n={config.n_train}, {config.data})"


class OverfittingRunsExplorer(OverfittingView):
    """Run folders -> samples, memorisation and the logged train/held-out loss.

    controls: run (a folder of `runs_dir`), band; `rescan()` (or the button) lists the folder again.
    figures: samples (points) or grid (images), memorisation, loss. state: run, run_dir, run_key, step, n_train,
      variant, transforms, band, kind, grid_shape (images), n_train_shown, n_samples_shown, memorised_fraction,
      mean_nn_distance, fresh_memorised_fraction, fresh_mean_nn_distance, memorisation_curve, loss_steps,
      loss_train, loss_heldout, gap.
    """

    title = "Overfitting explorer: run folders"

    def __init__(self, runs_dir, n_samples: int | None = None, image_samples: int = 16, store_dir=None,
                 device: str = "cpu"):
        self.runs_dir = runs_dir
        options = self._run_options()
        super().__init__(store_dir, device, background=False)
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        self.image_samples = int(image_samples)
        self.rescan_button = W.Button(description="rescan folder", layout=W.Layout(width="130px"))
        self.rescan_button.on_click(lambda _: self.rescan())
        run = self.add_control("run", W.Dropdown(options=options, description="run", layout=W.Layout(width="640px")))
        self._finish(W.HBox([run, self.rescan_button]), self.add_control("band", band_control()), self.view.box)

    def _run_options(self) -> list:
        options = [(run_label(folder, config), str(folder)) for folder, config in run_folder_choices(self.runs_dir)]
        if not options:
            raise ValueError(f"no run folders (config.json + checkpoint.pt) in {self.runs_dir}; "
                             "write some with `scoreaug-lab train --out ...`")
        return options

    def rescan(self) -> None:
        """List the runs folder again (new runs written since the widget was made); the selection is kept."""
        control, options = self.controls["run"], self._run_options()
        current = control.value
        with self.hold():  # one refresh after both changes
            control.options = options
            values = [v for _, v in options]
            control.value = current if current in values else values[0]

    def update(self) -> None:
        run = self.store.load(self.value("run"))
        cfg = run.config
        augmented = get_variant(cfg.variant).augmented
        n = self.image_samples if run.kind == "images" else self.n_samples
        samples = self.store.samples(run, n)                                        # (n, *data_shape)
        lines = run_loss_lines(run.metrics, self.value("band"))
        group = ("run", cfg.data, cfg.variant, cfg.transforms if augmented else "")
        self.show(run.data, samples, ((run.key,), ("run", run.key)), group, lines,
                  f"{cfg.variant}, n={cfg.n_train} (network, step {run.step})", n_train=cfg.n_train,
                  variant=cfg.variant, transforms=cfg.transforms, run=str(run.run_dir), run_dir=str(run.run_dir),
                  run_key=run.key, step=run.step)


__all__ = ["OverfittingRunsExplorer"]
