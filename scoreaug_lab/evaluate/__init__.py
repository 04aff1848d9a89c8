"""Measuring samples and runs.

    metrics.py     memorisation, sliced Wasserstein, MMD, the train/held-out gap per sigma band, equivariance error
    evaluation.py  evaluate a trained run (sample with omega = 0, then measure)
    fid.py         FID and KID (Inception through torch-fidelity, or the proxy classifier's features)
    classifier.py  the small classifier behind the offline proxy FID
    sample_io.py   many samples in bounded memory, written as they finish
    summary.py     mean, standard deviation and a t-interval over seeds
"""
