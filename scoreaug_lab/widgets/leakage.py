"""LeakageExplorer: when does augmentation leak into the generated data?

Two models trained with the same transform family, one without omega (clean or noisy) and one with omega
(clean-omega or scoreaug), sampled with omega = 0 and with omega = omega_T for a chosen transform T. With a
family that is not a symmetry of the data (scale, translate or rotate on the two moons), the model without
omega learns the augmented law, a mixture of transformed copies of the data: its samples leak. The
conditioned model at omega = 0 reproduces the data, and at omega_T the transformed data T(data).

The leak is measured by sliced Wasserstein distances (those of scoreaug_lab.metrics.sliced_wasserstein,
computed from per-set quantile tables, see `projected_quantiles`) of each sample set to held-out data, to
T(held-out data) and to augmented held-out data (one draw of the run's transform sampler per point).
Denoisers: trained networks (toy runs trained on the fly and cached), the variants' closed-form optima for
the training set (`variant_optima`), or runs read from `runs_dir=`.

Sampling at omega_T starts from the noise the model was trained with (`start_noise="matched"`): for noisy
space (ScoreAug) that is T(sigma_max n), since the model saw T(x0 + sigma n); with plain noise a scaling T
leaves the model at the wrong noise level (it expects a * sigma), and its samples miss T(data).
In noisy space the model without omega can read a non-orthogonal T off the noise statistics, so it leaks
less than its clean-space twin; for orthogonal T (rotate) the two coincide.
"""
from __future__ import annotations

import ipywidgets as W
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data import load_data
from ..diffusion import get_variant
from ..metrics import projected_quantiles, sliced_w2  # one quantile table per point set, nine cheap distances
from ..notebook import by_size
from ..runs import read_config
from ..training import TrainConfig
from ..transforms import build_sampler
from .overfitting import TOY_MODEL_TEACH, TOY_MODEL_TEST, TOY_TRAINING
from .run_app import RunBackedApp, axis_range
from .runcache import list_runs
from .variant_optima import variant_optimum

# Families that are not symmetries of the two moons, strong enough for the leak to be seen.
LEAK_TRANSFORMS = {"scale": "scale:max_log=0.693", "translate": "translate:max_shift=0.75",
                   "rotate": "rotate:max_angle=1.571"}
PAIRS = {"clean": ("clean", "clean-omega"), "noisy": ("noisy", "scoreaug")}
PAIR_LABELS = {"clean": "clean space: clean vs clean-omega", "noisy": "noisy space: noisy vs scoreaug"}
SETS = ("unconditioned", "conditioned_0", "conditioned_T")
REFERENCES = ("data", "transformed", "augmented")
SET_LABELS = {"unconditioned": "without omega", "conditioned_0": "with omega, omega = 0",
              "conditioned_T": "with omega, omega = omega_T"}
REF_LABELS = {"data": "to the data", "transformed": "to T(data)", "augmented": "to the augmented data"}
# Where sampling at omega_T starts: the noise law the model was trained with (noisy space: T(sigma n), the
# change of variables x = T u), or plain isotropic noise (then a non-orthogonal T such as scale leaves the
# ScoreAug model at the wrong noise level: it expects a * sigma where the sampler holds sigma).
START_NOISE = {"matched": "as in training (T(noise) for noisy space)", "plain": "plain noise"}
RANGE_ATTRS = ("max_log", "max_angle", "max_shift", "max_shear", "max_a", "max_strength")


def params_at(transform, amount: float) -> torch.Tensor:
    """Parameters (1, n_params) of `transform` at `amount` in [-1, 1] of its range: the first parameter is
    amount x the family's maximum (scale: ln a; rotate: the angle; translate: the shift along x1; tanh:
    |amount|); rot90: k = round(3 |amount|); flip: the bit |amount| >= 1/2."""
    amount = float(amount)
    if not -1.0 <= amount <= 1.0:
        raise ValueError(f"amount must lie in [-1, 1], got {amount}")
    params = torch.zeros(1, transform.n_params)
    if transform.name == "rot90":
        params[0, 0] = round(3 * abs(amount))
    elif transform.name == "flip":
        params[0, 0] = float(abs(amount) >= 0.5)
    else:
        attr = next((a for a in RANGE_ATTRS if hasattr(transform, a)), None)
        if attr is None:
            raise ValueError(f"no amount scale for transform {transform.name!r}")
        value = amount * getattr(transform, attr)
        params[0, 0] = abs(value) if transform.name == "tanh" else value
    return params


class Conjugated:
    """u -> T^-1 D(T u; sigma, omega) for an invertible transform T with fixed parameters (1, n_params):
    sampling u with it from plain noise and returning T(u) equals sampling x with D from T(noise)."""

    def __init__(self, model, transform, params: torch.Tensor):
        if not transform.invertible:
            raise ValueError(f"transform {transform.name!r} is not invertible: cannot start from T(noise)")
        self.model, self.transform, self.params = model, transform, params

    def parameters(self):
        return self.model.parameters() if hasattr(self.model, "parameters") else iter(())

    def __call__(self, u, sigma, omega=None, labels=None):
        rows = self.params.expand(u.shape[0], -1)
        x = self.transform.apply(u, rows)
        return self.transform.inverse(self.model(x, sigma, omega=omega, labels=labels).to(u.dtype), rows)


class LeakageExplorer(RunBackedApp):
    """Models with and without omega, sampled at omega = 0 and omega_T; distances to data, T(data), augmented.

    controls: pair, transform, amount, start_noise, denoiser (toy mode) or unconditioned, conditioned,
    transform, amount, start_noise (runs_dir mode). figures: samples (three panels), distances (bars).
    state: mode, pair, denoiser, transform, amount, params (T's parameters), omega (its code), variants
      ([without, with omega]), start_noise_transformed, distances ({set: {reference: SW2}} for the sets
      unconditioned, conditioned_0, conditioned_T and references data, transformed, augmented), leak
      (SW(unconditioned, data) - SW(conditioned_0, data)), samples ({set: (n, 2) tensor}), n_samples_shown,
      run_keys, run_dirs, step, pending.
    In a notebook, runs train in a worker thread: call `wait()` before reading `state` in code.
    """

    title = "Leakage explorer: does augmentation leak into the samples?"

    def __init__(self, data: str = "toy:moons", transforms=None, n_train: int = 256, aug_prob: float = 1.0,
                 pair: str = "clean", amount: float = 1.0, steps: int | None = None, n_samples: int | None = None,
                 model_kwargs: dict | None = None, train_kwargs: dict | None = None, seed: int = 0,
                 denoiser: str = "network", runs_dir=None, cache_dir=None, device: str = "cpu",
                 background: bool | None = None, n_draws: int = 16, start_noise: str = "matched"):
        super().__init__(cache_dir, device, background)
        self.runs_dir = runs_dir
        self.mode = "runs" if runs_dir is not None else "toy"
        self.data_spec, self.n_train, self.aug_prob, self.seed = data, int(n_train), float(aug_prob), int(seed)
        self.steps = int(steps if steps is not None else by_size(teach=1000, test=60))
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        self.model_kwargs = dict(model_kwargs if model_kwargs is not None
                                 else by_size(teach=TOY_MODEL_TEACH, test=TOY_MODEL_TEST))
        self.train_kwargs = dict(train_kwargs or {})
        self.n_draws = int(n_draws)
        amount_ctl = W.FloatSlider(value=amount, min=-1.0, max=1.0, step=0.1, description="amount",
                                   continuous_update=False, readout_format=".1f")
        if start_noise not in START_NOISE:
            raise ValueError(f"start_noise must be one of {', '.join(START_NOISE)}, got {start_noise!r}")
        start_ctl = W.ToggleButtons(options=[(label, key) for key, label in START_NOISE.items()], value=start_noise,
                                    description="start noise", style={"button_width": "auto"})
        if self.mode == "toy":
            if not str(data).startswith("toy:"):
                raise ValueError(f"on-the-fly runs are for toy data (toy:...), got {data!r}")
            if transforms is None:
                transforms = LEAK_TRANSFORMS
            if not isinstance(transforms, dict):  # a list of specs: named by their transform
                transforms = {build_sampler(spec, "points").names[0]: spec for spec in transforms}
            self.transform_specs = dict(transforms)
            if not self.transform_specs:
                raise ValueError("transforms must name at least one transform family")
            for spec in self.transform_specs.values():
                if len(build_sampler(spec, "points").transforms) != 1:
                    raise ValueError(f"each leakage transform spec must hold one transform, got {spec!r}")
            if pair not in PAIRS:
                raise ValueError(f"pair must be one of {', '.join(PAIRS)}, got {pair!r}")
            if denoiser not in ("network", "optimum"):
                raise ValueError(f"denoiser must be 'network' or 'optimum', got {denoiser!r}")
            rows = [W.HBox([
                self.add_control("pair", W.Dropdown(options=[(PAIR_LABELS[k], k) for k in PAIRS], value=pair,
                                                    description="models", layout=W.Layout(width="360px"))),
                self.add_control("transform", W.Dropdown(options=list(self.transform_specs),
                                                         description="transform")),
            ]), W.HBox([
                self.add_control("amount", amount_ctl),
                self.add_control("start_noise", start_ctl),
            ]), W.HBox([
                self.add_control("denoiser", W.ToggleButtons(options=[("trained networks", "network"),
                                                                      ("optima (closed form)", "optimum")],
                                                             value=denoiser, description="denoiser",
                                                             style={"button_width": "auto"})),
            ])]
        else:
            uncond, cond = self._run_options()
            u = self.add_control("unconditioned", W.Dropdown(options=uncond, description="without omega",
                                                             layout=W.Layout(width="560px")))
            c = self.add_control("conditioned", W.Dropdown(options=cond, description="with omega",
                                                           layout=W.Layout(width="560px")))
            names = self._transform_names(c.value)
            rows = [u, c, W.HBox([self.add_control("transform", W.Dropdown(options=names, description="transform")),
                                  self.add_control("amount", amount_ctl)]), self.add_control("start_noise", start_ctl)]
        fig = go.FigureWidget(make_subplots(rows=1, cols=3, subplot_titles=[SET_LABELS[s] for s in SETS],
                                            horizontal_spacing=0.05))
        colours = {"unconditioned": "#d62728", "conditioned_0": "#2ca02c", "conditioned_T": "#9467bd"}
        for col, name in enumerate(SETS, start=1):
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="training points", legendgroup="data",
                                     showlegend=col == 1, marker=dict(size=4, color="rgba(120,120,120,0.45)")),
                          row=1, col=col)
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="T(training points)", legendgroup="tdata",
                                     showlegend=col == 3, visible=col == 3,
                                     marker=dict(size=4, color="rgba(255,127,14,0.45)")), row=1, col=col)
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name=SET_LABELS[name],
                                     marker=dict(size=3, color=colours[name], opacity=0.6)), row=1, col=col)
        fig.update_layout(width=940, height=400, margin=dict(l=30, r=10, t=60, b=30),
                          legend=dict(orientation="h", y=-0.08))
        for col in (1, 2, 3):
            fig.update_yaxes(scaleanchor=f"x{'' if col == 1 else col}", row=1, col=col)
        self.figures["samples"] = fig
        self.figures["distances"] = go.FigureWidget(
            data=[go.Bar(x=[SET_LABELS[s] for s in SETS], y=[0, 0, 0], name=REF_LABELS[r]) for r in REFERENCES],
            layout=dict(width=520, height=340, barmode="group", title="sliced Wasserstein distance of the samples",
                        margin=dict(l=50, r=10, t=50, b=40), yaxis=dict(title="SW2", rangemode="tozero")))
        self.summary = W.HTML(value="")
        self._finish(*rows, W.HBox([self.progress, self.note]), fig,
                     W.HBox([self.figures["distances"], self.summary]))

    # --- settings -> models -------------------------------------------------------------------------
    def configs(self, pair: str | None = None, transform: str | None = None) -> list[TrainConfig]:
        """[unconditioned, conditioned] TrainConfigs of a toy setting (the current one by default)."""
        spec = self.transform_specs[transform or self.value("transform")]
        base = {**TOY_TRAINING, "data": self.data_spec, "n_train": self.n_train, "transforms": spec,
                "aug_prob": self.aug_prob, "model_kwargs": self.model_kwargs, "steps": self.steps,
                "seed": self.seed, "log_every": max(1, self.steps // 50), "ckpt_every": self.steps,
                **self.train_kwargs}
        return [TrainConfig(**base, variant=v) for v in PAIRS[pair or self.value("pair")]]

    def _run_options(self):
        uncond, cond = [], []
        for folder in list_runs(self.runs_dir):
            try:
                cfg = read_config(folder)
                variant = get_variant(cfg.variant)
            except (OSError, ValueError, TypeError):
                continue
            if not cfg.data.startswith("toy:"):
                continue  # the leakage view is drawn for 2-D points
            label = f"{folder.name}  ({cfg.variant}, {cfg.transforms}, p={cfg.aug_prob}, n={cfg.n_train})"
            (cond if variant.conditioned else uncond).append((label, str(folder)))
        if not uncond or not cond:
            raise ValueError(f"{self.runs_dir} needs toy runs both without omega (noaug, clean, noisy) and with "
                             "omega (clean-omega, scoreaug), trained with `scoreaug-lab train`")
        return uncond, cond

    def _transform_names(self, run_dir) -> list[str]:
        return list(build_sampler(read_config(run_dir).transforms, "points").names)

    # --- the view -----------------------------------------------------------------------------------
    def update(self) -> None:
        amount, name = self.value("amount"), self.value("transform")
        if self.mode == "runs":
            names = self._transform_names(self.value("conditioned"))
            if list(self.controls["transform"].options) != names:  # another conditioned run: its transforms
                with self.hold(refresh=False):  # inside update: no second refresh
                    self.controls["transform"].options = names
                    self.controls["transform"].value = name if name in names else names[0]
                name = self.value("transform")
            runs = [self.cache.load(self.value("unconditioned")), self.cache.load(self.value("conditioned"))]
            self.state.update(mode="runs", denoiser="network")
            self._show_runs(runs, name, amount)
            return
        pair, denoiser = self.value("pair"), self.value("denoiser")
        self.state.update(mode="toy", pair=pair, denoiser=denoiser)
        if denoiser == "network":
            runs = self.ensure(self.configs())
            if runs is None:  # training in the background; the view follows when it is done
                self._show_pending(name, amount)
                return
            self._show_runs(runs, name, amount)
        else:
            self._show_optima(pair, name, amount)

    def _show_pending(self, name, amount) -> None:
        fig = self.figures["samples"]
        with fig.batch_update():
            for col in range(3):
                fig.data[3 * col + 2].update(x=[], y=[])
            fig.layout.title = f"training the models for {name}..."
        self.state.update(transform=name, amount=amount, n_samples_shown=0)

    def _show_runs(self, runs, name, amount) -> None:
        uncond, cond = runs
        if cond.sampler is None or not get_variant(cond.config.variant).conditioned:
            raise ValueError(f"{cond.run_dir or cond.key} is not a run conditioned on omega")
        if get_variant(uncond.config.variant).conditioned:
            raise ValueError(f"{uncond.run_dir or uncond.key} is conditioned on omega; pick a run without omega")
        if uncond.kind != "points" or cond.kind != "points":
            raise ValueError("the leakage view draws 2-D point runs")
        transform = cond.sampler.transforms[cond.sampler.index(name)]
        params = params_at(transform, amount)
        omega = cond.sampler.omega_for(name, params.expand(self.n_samples, -1))
        models = {"unconditioned": (uncond.model, None, (uncond.key,)),
                  "conditioned_0": (cond.model, None, (cond.key,)),
                  "conditioned_T": (cond.model, omega, (cond.key, name, tuple(params.flatten().tolist())))}
        self._show(("run", cond.key), cond.data, cond.sampler, transform, params, models,
                   (uncond.config.variant, cond.config.variant), omega[0], name, amount)
        self.state.update(run_dirs=[None if r.run_dir is None else str(r.run_dir) for r in runs],
                          run_keys=[r.key for r in runs], step=[r.step for r in runs])

    def _show_optima(self, pair, name, amount) -> None:
        data = self.cache.memo(("data", self.data_spec, self.n_train, 1000),
                               lambda: load_data(self.data_spec, self.n_train, 1000))
        spec = self.transform_specs[name]
        sampler = build_sampler(spec, "points", self.aug_prob)
        transform = sampler.transforms[0]
        params = params_at(transform, amount)
        uncond_v, cond_v = PAIRS[pair]
        base = ("optimum", self.data_spec, self.n_train, spec, self.aug_prob, self.n_draws, self.seed)
        p_key = tuple(params.flatten().tolist())

        def optimum(key, variant, **kwargs):  # built once per key, like the samples drawn from it
            return self.cache.memo(("model", *key), lambda: variant_optimum(data.train, variant, sampler,
                                                                             dtype=torch.float32, **kwargs))

        keys = {"unconditioned": (*base, uncond_v), "conditioned_0": (*base, cond_v),
                "conditioned_T": (*base, cond_v, name, p_key)}
        models = {
            "unconditioned": (optimum(keys["unconditioned"], uncond_v, n_draws=self.n_draws, seed=self.seed),
                              None, keys["unconditioned"]),
            "conditioned_0": (optimum(keys["conditioned_0"], cond_v), None, keys["conditioned_0"]),
            "conditioned_T": (optimum(keys["conditioned_T"], cond_v, at=(name, params)), None, keys["conditioned_T"]),
        }
        omega = sampler.omega_for(name, params)[0]
        self._show(("toy", self.data_spec, self.n_train), data, sampler, transform, params, models,
                   (uncond_v, cond_v), omega, name, amount)
        self.state.update(run_dirs=None, run_keys=None, step=None)

    def _samples(self, key, model, data_shape, omega=None, conjugate=None) -> torch.Tensor:
        """n_samples samples (seeds 0, 1, ...) of `model` with `omega`, memoised under `key`. conjugate =
        (T, params): start from the transformed noise T(sigma_max n), i.e. sample u with the denoiser
        u -> T^-1 D(T u; sigma, omega) and return T(u) (the same ODE after the change of variables x = T u)."""
        n = self.n_samples

        def compute():
            if conjugate is None:
                return self.cache.draw(model, data_shape, n, omega)
            transform, params = conjugate
            rows = params.expand(n, -1)
            u = self.cache.draw(Conjugated(model, transform, params), data_shape, n, omega)
            return transform.apply(u, rows)

        return self.cache.memo(("leak_samples", *key, n, conjugate is not None), compute)

    def _references(self, data_id, data, sampler, transform, params):
        """Held-out data, T(held-out data) and augmented held-out data (one sampler draw per point)."""
        clean = data.heldout
        key = ("leak_refs", data_id, repr(sampler), transform.name, tuple(params.flatten().tolist()), self.seed)

        def compute():
            transformed = transform.apply(clean, params.expand(len(clean), -1))
            draw = sampler.draw(len(clean), torch.Generator().manual_seed(self.seed))
            return {"data": clean, "transformed": transformed, "augmented": sampler.apply(clean, draw)}

        return self.cache.memo(key, compute)

    def _show(self, data_id, data, sampler, transform, params, models, variants, omega, name, amount) -> None:
        # noisy space (ScoreAug) at omega_T: the model was trained on T(x0 + sigma n), whose noise is T(sigma n)
        matched = self.value("start_noise") == "matched" and get_variant(variants[1]).space == "noisy"
        samples, keys = {}, {}
        for s, (model, om, key) in models.items():
            conjugate = (transform, params) if s == "conditioned_T" and matched else None
            keys[s] = (*key, conjugate is not None)
            samples[s] = self._samples(key, model, data.data_shape, om, conjugate)
        refs = self._references(data_id, data, sampler, transform, params)
        p_key = tuple(params.flatten().tolist())
        ref_keys = {"data": (data_id,), "transformed": (data_id, transform.name, p_key),
                    "augmented": (data_id, repr(sampler), self.seed)}
        quantiles = {("ref", r): self.cache.memo(("quantiles", "ref", ref_keys[r], self.seed),
                                                 lambda r=r: projected_quantiles(refs[r], seed=self.seed))
                     for r in REFERENCES}
        quantiles.update({("set", s): self.cache.memo(("quantiles", "set", keys[s], len(samples[s]), self.seed),
                                                      lambda s=s: projected_quantiles(samples[s], seed=self.seed))
                          for s in SETS})
        distances = {s: {r: sliced_w2(quantiles["set", s], quantiles["ref", r]) for r in REFERENCES} for s in SETS}
        train = data.train
        t_train = transform.apply(train, params.expand(len(train), -1))
        rng = axis_range(train.numpy(), t_train.numpy(), refs["augmented"].numpy(), samples["unconditioned"].numpy())
        fig = self.figures["samples"]
        p_text = ", ".join(f"{v:.2f}" for v in params.flatten().tolist())
        titles = [f"{variants[0]} (without omega)", f"{variants[1]}, omega = 0",
                  f"{variants[1]}, omega = {name}({p_text})"]
        with fig.batch_update():
            for col, s in enumerate(SETS):
                fig.data[3 * col].update(x=train[:, 0].numpy(), y=train[:, 1].numpy())
                fig.data[3 * col + 1].update(x=t_train[:, 0].numpy(), y=t_train[:, 1].numpy())
                fig.data[3 * col + 2].update(x=samples[s][:, 0].numpy(), y=samples[s][:, 1].numpy())
                fig.layout.annotations[col].text = titles[col]
                axis = "" if col == 0 else str(col + 1)
                fig.layout[f"xaxis{axis}"].range = rng
                fig.layout[f"yaxis{axis}"].range = rng
            fig.layout.title = f"{variants[0]} vs {variants[1]}, transform family {name}"
        bars = self.figures["distances"]
        with bars.batch_update():
            for trace, r in zip(bars.data, REFERENCES):
                trace.y = [distances[s][r] for s in SETS]
        leak = distances["unconditioned"]["data"] - distances["conditioned_0"]["data"]
        self.summary.value = (
            "<table style='font-size:90%'><tr><th></th>" + "".join(f"<th>{REF_LABELS[r]}</th>" for r in REFERENCES)
            + "</tr>" + "".join(f"<tr><td>{SET_LABELS[s]}</td>" + "".join(
                f"<td>{distances[s][r]:.3f}</td>" for r in REFERENCES) + "</tr>" for s in SETS)
            + f"</table><p>leak = SW(without omega, data) - SW(with omega at 0, data) = <b>{leak:.3f}</b></p>")
        self.state.update(transform=name, amount=amount, params=params.flatten().tolist(),
                          start_noise_transformed=matched,
                          omega=omega.flatten().tolist(), variants=list(variants), distances=distances, leak=leak,
                          n_samples_shown=int(samples["unconditioned"].shape[0]),
                          samples={s: samples[s] for s in SETS})


__all__ = ["LeakageExplorer", "LEAK_TRANSFORMS", "PAIRS", "params_at"]
