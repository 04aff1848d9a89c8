"""What the reproduction measures on one trained run, and the two classifiers those measures need.

Per run (the EMA model, sampled at omega = 0 with sample seeds s*n .. s*n + n - 1 for the run's seed s: the same for
every arm of a seed; loss probes seeded with s as well):
  loss by sigma band   EDM-weighted denoising loss on the training set and on held-out images, same noises
                       for both (`metrics.overfitting_gap`); `gap` = held-out - training, averaged over the
                       bands below sigma = 1 (where the loss depends on the images' details)
  memorisation         fraction of samples that copy a training image (`metrics.memorisation`), beside the
                       same fraction for held-out images (the level of a model that copies nothing)
  proxy FID            FID of the samples against the held-out images in the feature space of the toolkit's
                       own small classifier (`fid.proxy_fid_kid`): not Inception, not comparable with
                       published FIDs; Inception FID as well where the budget asks and its weights are cached
  at the best step     the same samples (same seeds) from the EMA weights of the evaluation with the lowest
                       held-out loss (best_ema.pt, kept during training): proxy_fid_best, memorised_best,
                       judged_rotated_best; best_step and heldout_best (that evaluation's held-out loss)
  judged rotated       fraction of samples the orientation classifier calls rotated (`orientation`)
  learning curve       training and held-out loss (bands below sigma = 1) at every evaluation during training
"""
from __future__ import annotations

import time
from pathlib import Path

SAMPLES_KEPT = 64        # the first samples are kept in the run folder for the report's figures
SAMPLES_FILE = "samples_head.pt"


def learning_curve(run_dir) -> list[dict]:
    """[{step, train, heldout, gap}] from the evaluation lines of metrics.jsonl (bands below sigma = 1)."""
    from ..evaluate.metrics import low_sigma_mean
    from ..runs.folder import read_metrics
    return [{"step": r["step"], **{k: low_sigma_mean(r["eval"], k) for k in ("train", "heldout", "gap")}}
            for r in read_metrics(run_dir) if "eval" in r]


def curve_summary(curve: list[dict], steps: int) -> dict:
    """The step of the lowest held-out loss (the first such step; at_cap: it is the last evaluation, so the
    run may not have reached its best), that loss, and the held-out loss at a quarter of the training."""
    if not curve:
        return {"best_heldout_step": None, "heldout_best": None, "heldout_at_quarter": None, "best_at_cap": None}
    best = min(curve, key=lambda r: r["heldout"])
    quarter = next((r for r in curve if r["step"] >= steps / 4), curve[-1])
    return {"best_heldout_step": best["step"], "heldout_best": best["heldout"], "best_at_cap": best is curve[-1],
            "quarter_step": quarter["step"], "heldout_at_quarter": quarter["heldout"]}


def measure_run(run_dir, measure: dict, classifiers: Path, device: str = "cpu") -> dict:
    """Every measure of one finished run (see the module note), as one JSON-able dict."""
    from ..evaluate.classifier import load_classifier
    from ..sampling import sample
    from ..evaluate.fid import proxy_fid_kid
    from ..evaluate.metrics import low_sigma_mean, memorisation, overfitting_gap
    from .orientation import judged_rotated, load_orientation_classifier
    from ..runs.checkpoint import atomic_save
    from ..runs.folder import load_run

    t0 = time.perf_counter()
    run = load_run(run_dir, device=device)
    model, data = run.model, run.setup.data
    out = {"step": run.step}
    bands = overfitting_gap(model, data.train, data.heldout, n_per_band=measure["n_per_band"],
                            seed=measure.get("probe_seed", 0))
    out.update(loss_by_band=bands, gap=low_sigma_mean(bands, "gap"), train_loss=low_sigma_mean(bands, "train"),
               heldout_loss=low_sigma_mean(bands, "heldout"))

    first = measure.get("first_sample_seed", 0)
    seeds = range(first, first + measure["n_samples"])

    def draw(denoiser):   # the run seed's sample seeds, the same for every arm and checkpoint
        return sample(denoiser, data.data_shape, seeds, num_steps=measure["sampler_steps"],
                      device=denoiser.device).float().cpu()

    samples = draw(model)
    atomic_save(samples[:SAMPLES_KEPT].clone(), Path(run_dir) / SAMPLES_FILE)
    mem = memorisation(samples, data.train)
    ref = memorisation(data.heldout[: measure["n_samples"]], data.train)
    out.update(memorised=mem["memorised_fraction"], nn_distance=mem["mean_nn_distance"],
               heldout_memorised=ref["memorised_fraction"], heldout_nn_distance=ref["mean_nn_distance"])
    net, info = load_classifier(classifiers / f"{measure['proxy']}.pt", device)
    proxy = proxy_fid_kid(samples, {"vs_heldout": data.heldout}, net, info)["vs_heldout"]
    out.update(proxy_fid=proxy["fid"], proxy_kid=proxy["kid"]["mean"])
    orient = None
    if measure.get("orientation"):
        orient, _ = load_orientation_classifier(classifiers / f"{measure['orientation']}.pt", device)
    if run.config.keep_best:
        best = load_run(run_dir, device=device, best=True)
        best_samples = draw(best.model)
        best_proxy = proxy_fid_kid(best_samples, {"vs_heldout": data.heldout}, net, info)["vs_heldout"]
        out.update(best_step=best.step, proxy_fid_best=best_proxy["fid"],
                   memorised_best=memorisation(best_samples, data.train)["memorised_fraction"],
                   judged_rotated_best=judged_rotated(orient, best_samples)["judged_rotated"] if orient else None)
    out["inception_fid"] = None
    if measure.get("inception"):
        from ..evaluate.fid import find_inception_weights, inception_fid_kid
        weights, reason = find_inception_weights(download=False)
        out["inception_note"] = reason
        if weights is not None:
            out["inception_fid"] = inception_fid_kid(samples, {"vs_heldout": data.heldout}, weights,
                                                     device=device)["vs_heldout"]["fid"]
    judged = judged_rotated(orient, samples) if orient else {"judged_rotated": None, "turn_fractions": None}
    out.update(judged_rotated=judged["judged_rotated"], turn_fractions=judged["turn_fractions"])
    out["curve"] = learning_curve(run_dir)
    out.update(curve_summary(out["curve"], run.config.steps))
    out["seconds_measure"] = time.perf_counter() - t0
    return out


def train_classifier_for(spec: dict, path: Path) -> dict:
    """Train and save (atomically) the proxy-FID feature network (class labels) or the orientation classifier
    (quarter turns) of one data set, on its training pool; test accuracy on its held-out images."""
    from ..runs.checkpoint import save_json
    from ..evaluate.classifier import save_classifier, train_classifier
    from ..data import load_data
    from .orientation import save_orientation_classifier, train_orientation_classifier

    c0 = time.process_time()
    data = load_data(spec["data"], spec["n_train"], spec["n_heldout"], seed=0)
    digits = spec["data"].startswith("digits")
    if spec["kind"] == "proxy":
        # no flips for digits (a mirrored digit is another shape); CIFAR-10 gets the usual flips and shifts
        net, info = train_classifier(data.train, data.train_labels, data.heldout, data.heldout_labels,
                                     epochs=spec["epochs"], width=spec["width"], augment=not digits,
                                     device=spec["device"])
        info["purpose"] = "proxy-FID features (class labels)"
        save_classifier(net, {**info, "data": spec["data"]}, path)
    else:
        net, info = train_orientation_classifier(data.train, data.heldout, epochs=spec["epochs"], width=spec["width"],
                                                 device=spec["device"])
        save_orientation_classifier(net, {**info, "data": spec["data"]}, path)
    info = {**info, "data": spec["data"], "spec": spec, "cpu_seconds": time.process_time() - c0}
    save_json(info, path.with_suffix(".json"))
    return info


__all__ = ["SAMPLES_FILE", "learning_curve", "curve_summary", "measure_run",
           "train_classifier_for"]
