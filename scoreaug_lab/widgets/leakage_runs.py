"""LeakageRunsExplorer: the leakage view of toy run folders written by `scoreaug-lab train`: pick a run without
omega (noaug, clean, noisy) and one with omega (clean-omega, scoreaug), a transform of the conditioned run's
family and an amount; the numbers come from `scoreaug_lab.lab.leakage` (`run_setting`, `measure_leak`).
"""
from __future__ import annotations

import ipywidgets as W

from ..diffusion import get_variant
from ..lab.leakage import measure_leak, run_setting
from ..presets import by_size
from ..runs.folder import read_config
from ..transforms import build_sampler
from .leakage_view import LeakageView, amount_control, start_noise_control
from .run_backed_app import run_folder_choices


def leak_run_options(runs_dir) -> tuple[list, list]:
    """(runs without omega, runs with omega) of a folder as Dropdown options; only readable toy runs."""
    unconditioned, conditioned = [], []
    for folder, cfg in run_folder_choices(runs_dir):
        if isinstance(cfg, Exception) or not cfg.data.startswith("toy:"):
            continue  # the leakage view is drawn for 2-D points
        label = f"{folder.name}  ({cfg.variant}, {cfg.transforms}, p={cfg.aug_prob}, n={cfg.n_train})"
        (conditioned if get_variant(cfg.variant).conditioned else unconditioned).append((label, str(folder)))
    if not unconditioned or not conditioned:
        raise ValueError(f"{runs_dir} needs toy runs both without omega (noaug, clean, noisy) and with omega "
                         "(clean-omega, scoreaug), trained with `scoreaug-lab train`")
    return unconditioned, conditioned


class LeakageRunsExplorer(LeakageView):
    """Two run folders (without, with omega) sampled at omega = 0 and omega_T; distances and the leak.

    controls: unconditioned, conditioned (run folders), transform (of the conditioned run's family), amount,
    start_noise (disabled for a clean-space conditioned run). figures and state: as LeakageExplorer's, with
    run_keys, run_dirs and step of the two runs.
    """

    title = "Leakage explorer: run folders"

    def __init__(self, runs_dir, amount: float = 1.0, n_samples: int | None = None, seed: int = 0,
                 start_noise: str = "matched", store_dir=None, device: str = "cpu"):
        unconditioned, conditioned = leak_run_options(runs_dir)
        super().__init__(store_dir, device, background=False)
        self.runs_dir, self.seed = runs_dir, int(seed)
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        u = self.add_control("unconditioned", W.Dropdown(options=unconditioned, description="without omega",
                                                         layout=W.Layout(width="560px")))
        c = self.add_control("conditioned", W.Dropdown(options=conditioned, description="with omega",
                                                       layout=W.Layout(width="560px")))
        family = self.add_control("transform", W.Dropdown(options=self._family_names(c.value),
                                                          description="transform"))
        amount_ctl = self.add_control("amount", amount_control(amount))
        start = self.add_control("start_noise", start_noise_control(start_noise))
        self._finish(u, c, W.HBox([family, amount_ctl]), start, self.start_note, self.figures["samples"],
                     W.HBox([self.figures["distances"], self.view.summary]))

    def _family_names(self, run_dir) -> list[str]:
        return list(build_sampler(read_config(run_dir).transforms, "points").names)

    def _sync_family(self, run_dir) -> str:
        """The conditioned run's transforms as the choices of `transform` (inside update: no second refresh)."""
        names, control = self._family_names(run_dir), self.controls["transform"]
        if list(control.options) != names:
            current = control.value
            with self.hold(refresh=False):
                control.options = names
                control.value = current if current in names else names[0]
        return control.value

    def update(self) -> None:
        conditioned = self.store.load(self.value("conditioned"))
        unconditioned = self.store.load(self.value("unconditioned"))
        name, amount = self._sync_family(conditioned.run_dir), self.value("amount")
        self.sync_start_noise(conditioned.config.variant)
        setting = run_setting(unconditioned, conditioned, name, amount)
        result = measure_leak(self.store, setting, self.n_samples, self.value("start_noise"), self.seed)
        runs = (unconditioned, conditioned)
        self.show(result, amount, run_keys=[r.key for r in runs], run_dirs=[str(r.run_dir) for r in runs],
                  step=[r.step for r in runs])


__all__ = ["LeakageRunsExplorer", "leak_run_options"]
