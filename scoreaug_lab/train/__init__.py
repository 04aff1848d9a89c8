"""Training one run.

    loop.py          the one training loop (a generator; `train_step` is the step), exact resume
    config.py        TrainConfig: every setting of a run, checked where it enters
    build.py         the data, transform sampler, model and EMA a run's training, sampling and evaluation share
    step_updates.py  gradient clipping and the EMA update (torch's public API)
    interrupts.py    Ctrl-C held to step boundaries
    distributed.py   data-parallel training under torchrun
    resources.py     refuse work the machine cannot hold, before any allocation
"""
