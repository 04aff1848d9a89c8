"""Data-parallel training under `torchrun` (DistributedDataParallel; nccl on GPUs, gloo on CPUs).

    torchrun --nproc_per_node=4 -m scoreaug_lab.cli train --data cifar10 --preset cifar10-paper --out runs/x

How N processes reproduce one process with the same global batch: every rank holds the same training
generator (same seed, same checkpointed state) and draws the *whole* global batch from it (indices,
x-flips, sigma, noise, transform draw, label dropout); each rank then trains on its own contiguous
shard `shard_slice(batch, rank, world)`. DDP averages the shard gradients, which is exactly the
gradient of the mean loss over the global batch, so every rank takes the same optimiser step.
Randomness that is local to a rank (dropout inside the network) is seeded per (seed, rank, step)
by `rank_step_seed`, so it is reproducible and resumable too.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only one that writes logs, checkpoints and the progress bar."""
        return self.rank == 0


def detect(environ=None) -> DistInfo:
    """Rank, local rank and world size from torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE)."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", 1))
        rank = int(env.get("RANK", 0))
        local = int(env.get("LOCAL_RANK", rank))
    except ValueError:
        raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ValueError(f"bad distributed environment: RANK={rank}, LOCAL_RANK={local}, WORLD_SIZE={world}")
    return DistInfo(rank, local, world)


def rank_device(spec: str, info: DistInfo) -> torch.device:
    """The device of this rank: 'auto' -> cuda:LOCAL_RANK when CUDA is available, else cpu."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError("--device mps was asked for but no Apple GPU is available")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for but no CUDA device is available")
        if info.distributed or device.index is None:
            device = torch.device("cuda", info.local_rank if info.distributed else torch.cuda.current_device())
    return device


@contextmanager
def distributed_context(device_spec: str = "auto"):
    """Yield (DistInfo, device). Under torchrun it initialises the process group (nccl for CUDA, gloo
    otherwise) unless one already exists, and tears down only what it created."""
    info = detect()
    device = rank_device(device_spec, info)
    created = False
    if info.distributed and not (dist.is_available() and dist.is_initialized()):
        if not dist.is_available():
            raise ValueError("this PyTorch build has no torch.distributed; run a single process")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=info.rank,
                                world_size=info.world_size)
        created = True
    elif dist.is_available() and dist.is_initialized():  # a group made by the caller
        info = DistInfo(dist.get_rank(), info.local_rank, dist.get_world_size())
    try:
        yield info, device
    except BaseException:
        if created:  # no barrier: the other ranks may be gone
            dist.destroy_process_group()
        raise
    else:
        if created:
            try:
                dist.barrier()  # nobody leaves while rank 0 still writes its last checkpoint
            finally:
                dist.destroy_process_group()


def shard_slice(batch: int, rank: int, world_size: int) -> slice:
    """This rank's contiguous share of a global batch; the shards of all ranks partition range(batch)."""
    if batch % world_size:
        raise ValueError(f"global batch size {batch} is not divisible by the number of processes {world_size}")
    per = batch // world_size
    return slice(rank * per, (rank + 1) * per)


def micro_batch_size(batch: int, world_size: int, grad_accum: int) -> int:
    """Size of one micro-batch when `batch` is split over processes and accumulation steps; a clear
    error when it does not split evenly."""
    per_rank, rest = divmod(batch, world_size)
    if per_rank == 0 or rest or per_rank % grad_accum:
        raise ValueError(f"batch_size {batch} must split into {world_size} process(es) x {grad_accum} "
                         "micro-batch(es) of equal size")
    return per_rank // grad_accum


def rank_step_seed(seed: int, rank: int, step: int) -> int:
    """A seed for rank-local randomness (dropout) at one step, mixed from (seed, rank, step) by numpy's
    SeedSequence (well spread, no collisions between neighbouring ranks or steps)."""
    import numpy as np
    return int(np.random.SeedSequence([int(seed), int(rank), int(step)]).generate_state(1, np.uint64)[0]) >> 1


def mean_over_ranks(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """All-reduce average of a tensor across ranks (itself when not distributed)."""
    if not info.distributed:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / info.world_size


def check_same_on_all_ranks(value: int, info: DistInfo, device, what: str) -> None:
    """A clear error, raised on every rank, when an integer differs between ranks (e.g. the step a
    resume starts from, when the run folder is not on a file system that all nodes share)."""
    if not info.distributed:
        return
    both = torch.tensor([int(value), -int(value)], dtype=torch.long, device=device)
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    high, low = int(both[0]), -int(both[1])
    if high != low:
        raise ValueError(f"{what} differs between processes ({low} to {high}); put --out on a file system "
                         "that every node shares")


__all__ = ["DistInfo", "detect", "rank_device", "distributed_context", "shard_slice", "micro_batch_size",
           "rank_step_seed", "check_same_on_all_ranks",
           "mean_over_ranks"]
