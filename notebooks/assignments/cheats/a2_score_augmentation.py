"""Cheating answers to assignment 2 (twins of the asked functions): graded like the wrong answers, in one kernel;
each must lose its question's points. The cheats that tamper with the kernel or the course are in
a1_denoisers_and_scores.py (the grading that stops them does not depend on the assignment). Never released.
"""

TWIN_CHEATS = [
    dict(question="q1_training_pair", name="the library's make_training_pair",
         source='''from scoreaug_lab.diffusion import TrainingRandomness, make_training_pair
from scoreaug_lab.transforms import Draw, TransformSampler

def training_pair(x0, sigma, noise, transform, params, variant):
    draw = Draw(torch.zeros(x0.shape[0], dtype=torch.long), [params])
    return make_training_pair(x0, TrainingRandomness(sigma, noise, draw), variant, TransformSampler([transform], p=1.0))
'''),
    dict(question="q1_training_pair", name="make_training_pair reached through the diffusion module",
         source='''from scoreaug_lab import diffusion as D
from scoreaug_lab.transforms import Draw, TransformSampler

def training_pair(x0, sigma, noise, transform, params, variant):
    draw = Draw(torch.zeros(x0.shape[0], dtype=torch.long), [params])
    randomness = D.TrainingRandomness(sigma, noise, draw)
    return D.make_training_pair(x0, randomness, variant, TransformSampler([transform], p=1.0))
'''),
]
