"""Drawing many samples in bounded memory and writing them as they finish.

Each sample owns its seed (sampling.SeededNoise), so drawing in chunks of seeds gives the samples one big batch
would. `iter_samples` yields CPU chunks, refusing non-finite samples; `write_samples` streams them
into an .npz (one zip entry written chunk by chunk, readable by numpy.load), or collects them for .pt / .png
(whose size is checked against the available memory first). A failed write leaves no partial file.
"""
from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..sampling import CHUNK, sample
from ..train.resources import check_fits

SUFFIXES = (".pt", ".npz", ".png")
MAX_GRID = 1024          # images in one PNG grid


def iter_samples(model, data_shape, seeds, chunk: int = CHUNK, device=None, **sampler_kwargs):
    """Yield (seeds of the chunk, samples (n, *data_shape) float32 on the CPU), chunk by chunk."""
    seeds = list(seeds)
    labels = sampler_kwargs.pop("labels", None)
    for start in range(0, len(seeds), chunk):
        part = seeds[start:start + chunk]
        extra = {} if labels is None else {"labels": labels[start:start + chunk]}
        x = sample(model, tuple(data_shape), part, device=device or model.device, **sampler_kwargs, **extra)
        x = x.float().cpu()
        if not torch.isfinite(x).all():
            raise ValueError(f"the model produced NaN or infinite samples (seeds {part[0]}-{part[-1]}): its "
                             "checkpoint may be corrupt or its training diverged; nothing was written")
        yield part, x


def check_output_file(path: Path, suffixes, what: str = "--out") -> None:
    """One-line errors for an output file that cannot be written: a directory, under a file, wrong kind."""
    if path.is_dir():
        raise ValueError(f"{what} {path} is a directory; name a file ({', '.join(suffixes)})")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{what} {path} lies under {parent}, which is a file")
    if path.suffix not in suffixes:
        raise ValueError(f"{what}: unknown file type {path.suffix!r} for {path}; use {', '.join(suffixes)}")


def check_output(path: Path, n: int, data_shape) -> None:
    """One-line errors for a sample file that cannot be written, before any sampling."""
    check_output_file(path, SUFFIXES)
    if path.suffix == ".png" and len(data_shape) == 3 and n > MAX_GRID:
        raise ValueError(f"a PNG grid holds at most {MAX_GRID} images, asked for {n}; use .npz for more")
    if path.suffix != ".npz":  # .pt and .png hold everything in memory once
        check_fits(f"{n:,} samples in one {path.suffix} file", 3 * n * math.prod(data_shape) * 4)


def write_samples(chunks, path: Path, n: int, data_shape, train=None) -> int:
    """Write the chunks of `iter_samples` to `path`; returns how many samples were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        written = _write_npz(chunks, tmp, n, data_shape) if path.suffix == ".npz" else _write_whole(
            chunks, tmp, path.suffix, train)
        os.replace(tmp, path)
        return written
    finally:
        tmp.unlink(missing_ok=True)


def _write_npz(chunks, path: Path, n: int, data_shape) -> int:
    """samples.npy inside a zip, its header first, then each chunk's bytes as it finishes."""
    written = 0
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        with archive.open("samples.npy", "w", force_zip64=True) as entry:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                      "shape": (n, *data_shape)}
            np.lib.format.write_array_header_2_0(entry, header)
            for _, x in chunks:
                entry.write(np.ascontiguousarray(x.numpy(), dtype=np.float32).tobytes())
                written += x.shape[0]
    return written


def _write_whole(chunks, path: Path, suffix: str, train) -> int:
    samples = torch.cat([x for _, x in chunks])
    if suffix == ".pt":
        with open(path, "wb") as f:
            try:
                torch.save(samples, f)
            except RuntimeError as err:     # a full disk ("unexpected pos"): the failed write it is
                from ..runs.checkpoint import write_failed
                raise write_failed(err, path) from None
    elif samples.ndim == 4:
        from ..plotting import save_image_grid
        save_image_grid(samples, path)
    else:
        from ..plotting import save_sample_figure
        save_sample_figure(samples, path, train=train)
    return samples.shape[0]


__all__ = ["iter_samples", "write_samples", "check_output", "check_output_file", "SUFFIXES"]
