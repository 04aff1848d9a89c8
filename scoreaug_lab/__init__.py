"""scoreaug_lab: a teaching toolkit for diffusion models built around Score Augmentation (ScoreAug).

Start with README.md; the modules, in the order a reader meets them:
  diffusion     noise levels, EDM preconditioning, the loss for every cell of the augmentation grid
  transforms    one protocol; point and image families; a per-sample sampler with omega codes
  data          toy 2-D sets (closed-form mixture) and image sets
  models        denoisers called as model(x, sigma, omega=None, labels=None)
  scores        ideal / analytic denoisers and scores, Tweedie
  sampling      Heun and Euler samplers that yield their trajectory
  training      the training loop (a generator), checkpoints, exact resume
  metrics       memorisation, distances, train/held-out gap, oracle errors
  cli           scoreaug-lab train | sample | evaluate | demo
"""
__version__ = "0.1.0"
