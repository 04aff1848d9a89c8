"""The numbers behind the widgets and notebooks (widgets/ only draws them).

    noise_report.py        what a transform does to a noisy sample, and what a denoiser does with it
    score_fields.py        score fields in the plane: the push-forward score and its Jacobian term
    sampler_report.py      one run of the sampler on 2-D data and the quality of its samples
    memorisation_curve.py  memorisation against training-set size, for the overfitting explorer
    leakage.py             when augmentation shows up in the generated data
"""
