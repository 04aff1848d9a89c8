"""Leak measurements: when does augmentation show up in the generated data?

Two models trained with one transform family, one without omega (clean or noisy) and one with omega
(clean-omega or scoreaug), are sampled with omega = 0 and with omega = omega_T for one transform T of the
family (SETS: unconditioned, conditioned_0, conditioned_T). With a family that is not a symmetry of the data
(scale, translate or rotate on the two moons), the model without omega learns the augmented law, a mixture
of transformed copies of the data: its samples leak. The conditioned model at omega = 0 reproduces the data,
and at omega_T the transformed data T(data).

Each sample set is compared (exact sliced W2, `metrics.projected_quantiles` + `metrics.sliced_w2`) with three
references (REFERENCES): held-out data, T(held-out data) and augmented held-out data (one draw of the run's
transform sampler per point). The leak is SW(unconditioned, data) - SW(conditioned_0, data).

Sampling at omega_T starts from the noise the model was trained with (start_noise="matched"): for noisy space
(ScoreAug) that is T(sigma_max n), since the model saw T(x0 + sigma n); with plain noise a scaling T leaves the
model at the wrong noise level (it expects a * sigma), and its samples miss T(data). Clean-space models saw
T(x0) + sigma n (fresh isotropic noise), so they always start from plain noise. The solver simply starts from
T(noise): `sampling.heun(model, T(start), sigmas, omega=omega_T)`.

    store = get_store()
    result = optimum_leak(store, pair="clean", family="scale", amount=1.0)   # closed-form optima, no training
    result = network_leak(store, pair="noisy", family="scale", amount=1.0)   # trains two toy runs once
    result.distances["unconditioned"]["data"], result.leak
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import validation as V
from ..diffusion import get_variant
from ..evaluate.metrics import projected_quantiles, sliced_w2
from ..optima import variant_optimum
from ..presets import toy_config
from ..sampling import edm_sigma_steps, heun, sample, start_noise
from ..transforms import build_sampler
from .memorisation_curve import data_key, stored_data

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
N_PROJECTIONS = 256    # directions of the sliced distances (metrics.projected_quantiles' default)
START_NOISE = {"matched": "as in training (T(noise) for noisy space)", "plain": "plain noise"}


def pair_variants(pair: str) -> tuple[str, str]:
    """(without omega, with omega) of a pair: "clean" or "noisy"."""
    if pair not in PAIRS:
        raise ValueError(f"pair must be one of {', '.join(PAIRS)}, got {pair!r}")
    return PAIRS[pair]


def leak_families(transforms=None) -> dict:
    """{family name: spec} from a dict, a list of specs (named by their transform) or None (LEAK_TRANSFORMS);
    each spec must hold one transform of points."""
    transforms = LEAK_TRANSFORMS if transforms is None else transforms
    if not isinstance(transforms, dict):
        transforms = {build_sampler(spec, "points").names[0]: spec for spec in transforms}
    if not transforms:
        raise ValueError("transforms must name at least one transform family")
    for spec in transforms.values():
        if len(build_sampler(spec, "points").transforms) != 1:
            raise ValueError(f"each leakage transform spec must hold one transform, got {spec!r}")
    return dict(transforms)


def family_spec(transforms, family: str) -> str:
    """The spec of transform family `family` among `leak_families(transforms)`, else ValueError naming the choices."""
    families = leak_families(transforms)
    return families[V.choice("family", family, tuple(families))]


def check_n_samples(n_samples) -> int:
    """n_samples within MAX_BYTES: each sample costs its points and one row of projections in each of the sets."""
    return V.count("n_samples", n_samples, len(SETS) * 8 * (N_PROJECTIONS + 2))


def leak_configs(pair: str, spec: str, data: str = "toy:moons", n_train: int = 256, aug_prob: float = 1.0,
                 seed: int = 0, steps: int | None = None, **overrides) -> list:
    """[without omega, with omega] TrainConfigs of a pair trained with the family `spec` (presets.toy_config,
    no eval lines)."""
    return [toy_config(v, transforms=spec, n_train=n_train, seed=seed, data=data, aug_prob=aug_prob, steps=steps,
                       evals=0, **overrides) for v in pair_variants(pair)]


@dataclass
class LeakSetting:
    """The three models of a leak measurement and what their samples are compared with."""

    data: object            # DataSplit: train (N, 2), heldout (M, 2)
    data_id: tuple          # memo key of the data
    sampler: object         # the training transform sampler
    spec: str               # its transforms spec
    transform: object       # T, one of the sampler's transforms
    params: torch.Tensor    # (1, n_params) float64, T's parameters
    variants: tuple         # (without omega, with omega)
    models: dict            # set -> (denoiser, omega (1, omega_dim) or None, memo key)
    omega: torch.Tensor     # (omega_dim,) T's code in the sampler's omega

    @property
    def name(self) -> str:
        return self.transform.name


def _params_key(params: torch.Tensor) -> tuple:
    return tuple(params.flatten().tolist())


def optimum_setting(store, pair: str, spec: str, amount: float, data: str = "toy:moons", n_train: int = 256,
                    aug_prob: float = 1.0, n_draws: int = 16, seed: int = 0) -> LeakSetting:
    """The closed-form optima of a pair (`optima.variant_optimum`, float32, built once per key) for the family
    `spec` at `amount` in [-1, 1] of its range (transform.params_at)."""
    uncond, cond = pair_variants(pair)
    split = stored_data(store, data, n_train)
    sampler = build_sampler(spec, "points", aug_prob)
    transform = sampler.transforms[0]
    params = transform.params_at(amount)
    base = ("optimum", data, n_train, spec, aug_prob, n_draws, seed)
    keys = {"unconditioned": (*base, uncond), "conditioned_0": (*base, cond),
            "conditioned_T": (*base, cond, transform.name, _params_key(params))}
    options = {"unconditioned": dict(n_draws=n_draws, seed=seed), "conditioned_0": {},
               "conditioned_T": dict(at=(transform.name, params))}

    def optimum(s, variant):
        return store.memo(("model", *keys[s]), lambda: variant_optimum(split.train, variant, sampler,
                                                                        dtype=torch.float32, **options[s]))

    models = {s: (optimum(s, v), None, keys[s]) for s, v in zip(SETS, (uncond, cond, cond))}
    omega = sampler.omega_for(transform.name, params)[0]
    return LeakSetting(split, data_key(data, n_train), sampler, spec, transform, params, (uncond, cond), models,
                       omega)


def run_setting(unconditioned, conditioned, name: str, amount: float) -> LeakSetting:
    """The trained models of two stored runs (without omega, with omega; 2-D points) for transform `name` of
    the conditioned run's sampler at `amount` in [-1, 1] of its range."""
    if conditioned.sampler is None or not get_variant(conditioned.config.variant).conditioned:
        raise ValueError(f"{conditioned.run_dir or conditioned.key} is not a run conditioned on omega")
    if get_variant(unconditioned.config.variant).conditioned:
        raise ValueError(f"{unconditioned.run_dir or unconditioned.key} is conditioned on omega; "
                         "pick a run without omega")
    if unconditioned.kind != "points" or conditioned.kind != "points":
        raise ValueError("leak measurements are drawn for 2-D point runs")
    sampler = conditioned.sampler
    transform = sampler.transforms[sampler.index(name)]
    params = transform.params_at(amount)
    omega = sampler.omega_for(name, params)                                     # (1, omega_dim)
    models = {"unconditioned": (unconditioned.model, None, (unconditioned.key,)),
              "conditioned_0": (conditioned.model, None, (conditioned.key,)),
              "conditioned_T": (conditioned.model, omega, (conditioned.key, name, _params_key(params)))}
    return LeakSetting(conditioned.data, ("run", conditioned.key), sampler, conditioned.config.transforms,
                       transform, params, (unconditioned.config.variant, conditioned.config.variant), models,
                       omega[0])


def starts_from_transformed_noise(setting: LeakSetting, start_noise: str) -> bool:
    """Whether omega_T sampling starts from T(noise): "matched" and a noisy-space model with omega."""
    if start_noise not in START_NOISE:
        raise ValueError(f"start_noise must be one of {', '.join(START_NOISE)}, got {start_noise!r}")
    return start_noise == "matched" and get_variant(setting.variants[1]).space == "noisy"


def sample_sets(store, setting: LeakSetting, n_samples: int, start_noise: str = "matched") -> dict:
    """{set: samples (n_samples, 2)}, sampling seeds 0 ... n_samples - 1, memoised per model and start."""
    matched = starts_from_transformed_noise(setting, start_noise)
    samples = {}
    for s, (model, omega, key) in setting.models.items():
        conjugate = s == "conditioned_T" and matched
        samples[s] = store.memo(("leak_samples", *key, n_samples, conjugate),
                                lambda: _draw_set(store, setting, model, omega, n_samples, conjugate))
    return samples


def _draw_set(store, setting: LeakSetting, model, omega, n: int, conjugate: bool) -> torch.Tensor:
    """n samples, seeds 0 ... n - 1, from plain noise or (conjugate) from T(noise), as in training."""
    omega = None if omega is None else omega.expand(n, -1).to(model.device)         # (n, omega_dim)
    if not conjugate:
        return sample(model, setting.data.data_shape, range(n), omega=omega, device=model.device).float().cpu()
    sigmas = edm_sigma_steps()
    x, noise = start_noise(setting.data.data_shape, range(n), sigmas[0].item(), device=model.device)
    x = setting.transform.apply(x, setting.params.expand(n, -1).to(x))            # T(sigma_max n)
    return heun(model, x, sigmas, omega=omega, noise=noise).float().cpu()


def reference_sets(setting: LeakSetting, seed: int = 0) -> dict:
    """{"data": held-out (M, 2), "transformed": T(held-out), "augmented": one sampler draw per held-out point}."""
    clean = setting.data.heldout
    transformed = setting.transform.apply(clean, setting.params.expand(len(clean), -1))
    draw = setting.sampler.draw(len(clean), torch.Generator().manual_seed(seed))
    return {"data": clean, "transformed": transformed, "augmented": setting.sampler.apply(clean, draw)}


def distance_table(samples: dict, references: dict, seed: int = 0, tables: dict | None = None) -> dict:
    """{set: {reference: exact sliced W2}}: one quantile table per point set (`tables` may hold some by name,
    computed before with the same seed), then every pair."""
    tables = dict(tables or {})
    shapes = {name: tuple(x.shape[1:]) for name, x in {**references, **samples}.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"samples and references must be points of one shape, got {shapes}")
    for name, x in {**references, **samples}.items():
        if name not in tables:
            tables[name] = projected_quantiles(x, N_PROJECTIONS, seed)                # (N, P) sorted projections
    return {s: {r: sliced_w2(tables[s], tables[r]) for r in references} for s in samples}


def _fixed_tables(store, setting: LeakSetting, points: dict, n_samples: int, seed: int) -> dict:
    """The quantile tables that do not depend on omega_T, memoised: an amount change recomputes only those of
    T(data) and of the omega_T samples."""
    keys = {"unconditioned": (*setting.models["unconditioned"][2], n_samples),
            "conditioned_0": (*setting.models["conditioned_0"][2], n_samples),
            "data": setting.data_id, "augmented": (*setting.data_id, setting.spec, setting.sampler.p)}
    return {name: store.memo(("quantiles", key, seed),
                             lambda name=name: projected_quantiles(points[name], N_PROJECTIONS, seed))
            for name, key in keys.items()}


def leak_of(distances: dict) -> float:
    """SW(without omega, data) - SW(with omega at 0, data): > 0 when the model without omega leaks."""
    return distances["unconditioned"]["data"] - distances["conditioned_0"]["data"]


@dataclass
class LeakResult:
    """A leak measurement: samples, references, the distance table and the leak of one setting."""

    setting: LeakSetting
    samples: dict               # set -> (n, 2)
    references: dict            # reference -> (M, 2)
    distances: dict             # set -> reference -> SW2
    leak: float
    start_noise_transformed: bool
    transformed_train: torch.Tensor   # (N, 2) T(training points), for the figures


def measure_leak(store, setting: LeakSetting, n_samples: int = 500, start_noise: str = "matched",
                 seed: int = 0) -> LeakResult:
    """Sample the three sets, build the references (augmented draw and projections from `seed`) and the
    distance table; memoised per setting, so revisiting one is instant."""
    n_samples = check_n_samples(n_samples)
    matched = starts_from_transformed_noise(setting, start_noise)
    key = ("leak", setting.data_id, setting.spec, setting.sampler.p, setting.name, _params_key(setting.params),
           tuple(m[2] for m in setting.models.values()), n_samples, matched, seed)

    def compute():
        samples = sample_sets(store, setting, n_samples, start_noise)
        references = reference_sets(setting, seed)
        tables = _fixed_tables(store, setting, {**samples, **references}, n_samples, seed)
        distances = distance_table(samples, references, seed, tables)
        train = setting.data.train
        return LeakResult(setting, samples, references, distances, leak_of(distances), matched,
                          setting.transform.apply(train, setting.params.expand(len(train), -1)))

    return store.memo(key, compute)


def optimum_leak(store, pair: str = "clean", family: str = "scale", amount: float = 1.0, transforms=None,
                 n_samples: int = 500, start_noise: str = "matched", seed: int = 0, **setting) -> LeakResult:
    """The leak of the closed-form optima of a pair (no training). setting: data, n_train, aug_prob, n_draws."""
    spec, n_samples = family_spec(transforms, family), check_n_samples(n_samples)
    return measure_leak(store, optimum_setting(store, pair, spec, amount, seed=seed, **setting), n_samples,
                        start_noise, seed)


def network_leak(store, pair: str = "clean", family: str = "scale", amount: float = 1.0, transforms=None,
                 n_samples: int = 500, start_noise: str = "matched", seed: int = 0, progress=None,
                 **config) -> LeakResult:
    """The leak of the two toy networks of a pair (`leak_configs(..., **config)`, trained once by the store;
    progress(step, total) while training)."""
    spec, n_samples = family_spec(transforms, family), check_n_samples(n_samples)
    runs = [store.get(c, progress) for c in leak_configs(pair, spec, seed=seed, **config)]
    return measure_leak(store, run_setting(*runs, family, amount), n_samples, start_noise, seed)


__all__ = ["LEAK_TRANSFORMS", "PAIRS", "PAIR_LABELS", "SETS", "REFERENCES", "SET_LABELS", "REF_LABELS", "START_NOISE",
           "pair_variants", "leak_families", "family_spec", "check_n_samples", "leak_configs",
           "LeakSetting", "optimum_setting", "run_setting", "starts_from_transformed_noise", "sample_sets",
           "reference_sets", "distance_table", "leak_of", "LeakResult", "measure_leak", "optimum_leak",
           "network_leak"]
