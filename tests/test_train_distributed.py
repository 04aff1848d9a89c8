"""train.distributed: the helpers, and torchrun with 2 processes (gloo) against 1 process, same batch."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from scoreaug_lab.cli import main
from scoreaug_lab.runs.checkpoint import load_checkpoint
from scoreaug_lab.train.distributed import DistInfo, detect, micro_batch_size, rank_device, rank_step_seed, shard_slice
from scoreaug_lab.train.loop import TrainConfig, train

# Every source of randomness at once: ScoreAug transforms, x-flips, class labels with dropout.
TINY = dict(data="digits:8", n_train=64, n_heldout=20, model="unet-tiny", model_kwargs={"model_channels": 8},
            steps=4, batch_size=16, variant="scoreaug", xflip=True, class_cond=True, label_dropout=0.25,
            lr=1e-3, log_every=1, progress=False, device="cpu")

WORKER = textwrap.dedent("""
    import json, sys
    import torch
    torch.set_num_threads(1)
    from scoreaug_lab.train.loop import TrainConfig, train_iter
    config = TrainConfig(**json.loads(sys.argv[1]))
    shards = []
    for state in train_iter(config):
        shards.append(state.shard.tolist())
    with open(f"{config.out}/rank{state.rank}.json", "w") as f:
        json.dump({"rank": state.rank, "world_size": state.world_size, "shards": shards}, f)
""")


def test_detect_reads_torchrun_environment():
    assert detect({}) == DistInfo(0, 0, 1) and not detect({}).distributed
    info = detect({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert info == DistInfo(3, 1, 4) and info.distributed and not info.is_main
    with pytest.raises(ValueError, match="bad distributed environment"):
        detect({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ValueError, match="must be integers"):
        detect({"WORLD_SIZE": "two"})
    assert rank_device("cpu", info) == torch.device("cpu")


def test_shards_partition_the_global_batch():
    for world in (1, 2, 4, 8):
        covered = torch.cat([torch.arange(64)[shard_slice(64, r, world)] for r in range(world)])
        assert torch.equal(covered, torch.arange(64))
    with pytest.raises(ValueError, match="not divisible by the number of processes 3"):
        shard_slice(64, 0, 3)


def test_rank_step_seeds_are_distinct():
    seeds = {rank_step_seed(0, r, s) for r in range(8) for s in range(1000)}
    assert len(seeds) == 8000 and all(0 <= s < 2**63 for s in seeds)
    assert rank_step_seed(1, 0, 0) != rank_step_seed(0, 0, 0)


def test_batch_must_split_over_processes_and_micro_batches():
    assert micro_batch_size(512, 8, 2) == 32 and micro_batch_size(16, 1, 1) == 16
    for batch, world, accum in [(16, 2, 16), (10, 4, 1), (2, 4, 1)]:
        with pytest.raises(ValueError, match=f"batch_size {batch} must split into {world} process"):
            micro_batch_size(batch, world, accum)


def _load(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt["model"], ckpt["ema"]


def _torchrun(*args, timeout=300):
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _assert_same_run(one, two):
    (m1, e1), (m2, e2) = _load(one), _load(two)
    assert m1.keys() == m2.keys()
    assert max((m1[k] - m2[k]).abs().max().item() for k in m1) < 1e-5
    assert max((e1[k].float() - e2[k].float()).abs().max().item() for k in e1) < 1e-5
    # the logged loss is the global batch's mean on both sides, and rank 0 alone wrote the metrics
    logged = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    single = [json.loads(line) for line in (one / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in logged] == [m["step"] for m in single] == [1, 2, 3, 4]
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(logged, single)) < 1e-5


@pytest.mark.slow
def test_two_processes_equal_one_process(tmp_path):
    """torchrun --nproc_per_node=2 (gloo) vs a single process with the same global batch of 16: the same
    weights, each rank on its own half of every global batch."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    two = tmp_path / "two"
    two.mkdir()
    cfg = dict(TINY, out=str(two))
    _torchrun(str(script), json.dumps(cfg))
    ranks = [json.loads((two / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["shards"] == [list(range(8))] * 4 and ranks[1]["shards"] == [list(range(8, 16))] * 4
    one = train(TrainConfig(**{**cfg, "out": str(tmp_path / "one")}))
    assert one.world_size == 1 and one.shard.tolist() == list(range(16))
    _assert_same_run(tmp_path / "one", two)


@pytest.mark.slow
def test_cli_under_torchrun_with_accumulation(tmp_path):
    """The command line launched unchanged under torchrun, 2 processes x 2 micro-batches of 4, stopped
    after 2 steps and resumed to 4, equals one process with one batch of 16; only rank 0 prints."""
    args = ["train", "--data", "digits:8", "--n-train", "64", "--n-heldout", "20", "--model", "unet-tiny",
            "--model-opt", "model_channels=8", "--batch-size", "16", "--variant", "scoreaug",
            "--xflip", "--class-cond", "--label-dropout", "0.25", "--lr", "1e-3", "--log-every", "1",
            "--device", "cpu", "--no-progress"]
    ddp = ["-m", "scoreaug_lab.cli", *args, "--grad-accum", "2", "--out", str(tmp_path / "two")]
    assert _torchrun(*ddp, "--steps", "2").stdout.count("trained to step 2") == 1
    assert _torchrun(*ddp, "--steps", "4").stdout.count("trained to step 4") == 1
    assert main([*args, "--steps", "4", "--out", str(tmp_path / "one")]) == 0
    _assert_same_run(tmp_path / "one", tmp_path / "two")
