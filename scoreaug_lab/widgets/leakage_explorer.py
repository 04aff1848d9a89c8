"""LeakageExplorer: when does augmentation leak into the generated data? (toy runs trained on the fly, or the
closed-form optima)

Two models trained with the same transform family, one without omega (clean or noisy) and one with omega
(clean-omega or scoreaug), sampled with omega = 0 and with omega = omega_T for a chosen amount of the family.
What is measured, and why sampling at omega_T may start from T(noise), is described in `scoreaug_lab.lab.leakage`,
which computes every number shown here.
"""
from __future__ import annotations

import ipywidgets as W

from ..lab.leakage import (
    PAIR_LABELS, PAIRS, leak_configs, leak_families, measure_leak, optimum_setting, run_setting)
from ..presets import by_size, notebook_size
from ..presets import TOY_STEPS
from .leakage_view import LeakageView, amount_control, start_noise_control
from .widget_app import row

LEAK_DENOISERS = {"network": "trained networks", "optimum": "optima (closed form)"}


class LeakageExplorer(LeakageView):
    """Models with and without omega, sampled at omega = 0 and omega_T; distances to data, T(data), augmented.

    controls: pair, transform, amount, start_noise (disabled for the clean-space pair), denoiser.
    figures: samples (three panels), distances (bars). state: pair, denoiser, transform, amount, params (T's
      parameters), omega (its code), variants ([without, with omega]), start_noise_transformed, distances
      ({set: {reference: SW2}}, see `leakage.SETS` and `leakage.REFERENCES`), leak, samples ({set: (n, 2)}),
      n_samples_shown, run_keys, run_dirs, step, pending.
    In a notebook, runs train in a worker thread: call `wait()` before reading `state` in code.
    """

    title = "Leakage explorer: does augmentation leak into the samples?"

    def __init__(self, data: str = "toy:moons", transforms=None, n_train: int = 256, aug_prob: float = 1.0,
                 pair: str = "clean", amount: float = 1.0, steps: int | None = None, n_samples: int | None = None,
                 model_kwargs: dict | None = None, train_kwargs: dict | None = None, seed: int = 0,
                 denoiser: str = "network", store_dir=None, device: str = "cpu", background: bool | None = None,
                 n_draws: int = 16, start_noise: str = "matched"):
        if not str(data).startswith("toy:"):
            raise ValueError(f"on-the-fly runs are for toy data (toy:...), got {data!r}")
        if pair not in PAIRS:
            raise ValueError(f"pair must be one of {', '.join(PAIRS)}, got {pair!r}")
        if denoiser not in LEAK_DENOISERS:
            raise ValueError(f"denoiser must be one of {', '.join(LEAK_DENOISERS)}, got {denoiser!r}")
        self.families = leak_families(transforms)
        super().__init__(store_dir, device, background)
        self.data_spec, self.n_train, self.aug_prob, self.seed = data, int(n_train), float(aug_prob), int(seed)
        self.steps = int(steps if steps is not None else TOY_STEPS[notebook_size()])
        self.n_draws = int(n_draws)
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        self.overrides = {**({"model_kwargs": dict(model_kwargs)} if model_kwargs is not None else {}),
                          **(train_kwargs or {})}
        pair_ctl = self.add_control("pair", W.Dropdown(options=[(PAIR_LABELS[k], k) for k in PAIRS], value=pair,
                                                       description="models", layout=W.Layout(width="360px")))
        family = self.add_control("transform", W.Dropdown(options=list(self.families), description="transform"))
        amount_ctl = self.add_control("amount", amount_control(amount))
        start = self.add_control("start_noise", start_noise_control(start_noise))
        den = self.add_control("denoiser", W.ToggleButtons(options=[(v, k) for k, v in LEAK_DENOISERS.items()],
                                                           value=denoiser, description="denoiser",
                                                           style={"button_width": "auto"}))
        self._finish(row(pair_ctl, family), row(amount_ctl, start), self.start_note, den,
                     row(self.progress, self.note), self.figures["samples"],
                     row(self.figures["distances"], self.view.summary))

    def configs(self, pair: str | None = None, family: str | None = None) -> list:
        """[without omega, with omega] recipes (leakage.leak_configs) of a setting: the current one by default."""
        return leak_configs(pair or self.value("pair"), self.families[family or self.value("transform")],
                            data=self.data_spec, n_train=self.n_train, aug_prob=self.aug_prob, seed=self.seed,
                            steps=self.steps, **self.overrides)

    def update(self) -> None:
        pair, name, amount = self.value("pair"), self.value("transform"), self.value("amount")
        self.sync_start_noise(PAIRS[pair][1])
        self.state.update(pair=pair, denoiser=self.value("denoiser"))
        runs = None if self.value("denoiser") == "optimum" else self.ensure(self.configs())
        if self.value("denoiser") == "network" and runs is None:  # training in the background: the view follows
            self.show_pending(name, amount)
            return
        setting = (optimum_setting(self.store, pair, self.families[name], amount, data=self.data_spec,
                                   n_train=self.n_train, aug_prob=self.aug_prob, n_draws=self.n_draws, seed=self.seed)
                   if runs is None else run_setting(*runs, name, amount))
        result = measure_leak(self.store, setting, self.n_samples, self.value("start_noise"), self.seed)
        self.show(result, amount, run_keys=None if runs is None else [r.key for r in runs],
                  run_dirs=None if runs is None else [str(r.run_dir) for r in runs],
                  step=None if runs is None else [r.step for r in runs])


__all__ = ["LeakageExplorer", "LEAK_DENOISERS"]
