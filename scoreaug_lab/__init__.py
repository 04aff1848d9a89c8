"""scoreaug_lab: a teaching toolkit for diffusion models built around Score Augmentation (ScoreAug).

Start with README.md. The core, at the top of the package, in the order a reader meets it:
  diffusion     noise levels, EDM preconditioning, the loss for every cell of the augmentation grid
  denoiser      the one calling convention of every network and oracle
  scores        ideal and analytic denoisers and scores, Tweedie, push-forward scores
  oracles       oracle denoisers (ideal, mixture, transformed) and the equivariance check
  optima        the optimal denoiser of every variant of the grid
  sampling      Heun and Euler: steps/heun/euler(model, x, sigmas) and sample(model, shape, seeds)
  presets       named training configurations and the notebooks' size policy
  plotting, validation, paths   static figures, checks where values enter, the project's folders
Then one subpackage per layer:
  transforms/   one protocol; point and image families; a per-sample sampler with omega codes
  data/         toy 2-D sets (closed-form mixture) and image sets
  models/       denoisers called as model(x, sigma, omega=None, labels=None)
  symbolic/     the same relationships derived with sympy, each with numeric twins
  train/        the training loop and what it needs (config, build, step updates, interrupts, distributed)
  runs/         the run folder, the run store and its keys, checkpoints, worker processes
  evaluate/     metrics, evaluating a run, FID/KID and the proxy classifier, summaries over seeds
  lab/          the numbers behind widgets and notebooks (noise report, score fields, sampler report, leakage)
  widgets/      ipywidgets that only draw what lab/ computes
  course/       the walkthrough's lessons and demo, and the nbgrader course's sandboxed grading
  reproduce/    `scoreaug-lab reproduce`: the paper's claims at small scale
  cli/          the `scoreaug-lab` command line (the only layer that parses arguments)
"""
__version__ = "0.1.0"
