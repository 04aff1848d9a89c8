"""train.build: the EMA's warm-up against its closed form on a scalar."""
import torch


def test_ema_warms_up_and_then_follows_its_decay():
    """The EMA decay ramps as min(decay, (1 + n) / (10 + n)): check against that closed form on a scalar."""
    from scoreaug_lab.train.build import ema_with_warmup

    update = ema_with_warmup(0.9)
    ema, value = [torch.zeros(1, dtype=torch.float64)], 0.0
    for n in range(1, 60):
        target = torch.full((1,), float(n), dtype=torch.float64)
        update(ema, [target], torch.tensor(n))
        d = min(0.9, (1 + n) / (10 + n))
        value = d * value + (1 - d) * n
        assert abs(ema[0].item() - value) < 1e-12
