"""Transforms: one protocol (`base.Transform`), families for points and images, and a per-sample sampler.

Build them by name: `get_transform("scale", kind="points", max_log=0.3)`, or from a command-line spec:
`parse_transforms("rot90,flip,scale:max_log=0.3", kind="points")`.
"""
from __future__ import annotations

from .base import Transform
from .registry import IMAGE_TRANSFORMS, POINT_TRANSFORMS, TABLES
from .sampler import Draw, TransformSampler

KINDS = tuple(TABLES)
# The ScoreAug paper's four linear image transforms (brightness, zero-padded translation, cutout, rot90).
PAPER_TRANSFORMS = "brightness,translate,cutout,rot90"


def registry(kind: str) -> dict:
    """The name -> class table of one family ("points" or "images")."""
    if kind in TABLES:
        return TABLES[kind]
    raise ValueError(f"unknown transform kind {kind!r}; choose one of {', '.join(KINDS)}")


def get_transform(name: str, kind: str = "points", **kwargs) -> Transform:
    table = registry(kind)
    if name not in table:
        raise ValueError(f"unknown {kind} transform {name!r}; choose from {', '.join(sorted(table))}")
    try:
        return table[name](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad options for transform {name!r}: {err}") from None


def parse_value(text: str):
    """An option value: an int, else a float, else the text itself (e.g. interpolation=nearest)."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def parse_transforms(spec: str, kind: str = "points") -> list[Transform]:
    """'rot90,flip,scale:max_log=0.3' -> [Rot90(), Flip(), Scale(max_log=0.3)]."""
    if not spec or not spec.strip():
        raise ValueError("no transforms given (expected names such as 'rot90,flip')")
    out = []
    for item in spec.split(","):
        name, *options = item.strip().split(":")
        kwargs = {}
        for opt in options:
            key, sep, value = opt.partition("=")
            if not sep:
                raise ValueError(f"transform option {opt!r} must look like key=value")
            kwargs[key.strip()] = parse_value(value.strip())
        out.append(get_transform(name.strip(), kind, **kwargs))
    return out


def build_sampler(spec: str, kind: str = "points", p: float = 1.0) -> TransformSampler:
    return TransformSampler(parse_transforms(spec, kind), p=p)


__all__ = ["PAPER_TRANSFORMS", "Draw", "Transform", "TransformSampler", "registry", "get_transform", "parse_transforms",
           "build_sampler", "IMAGE_TRANSFORMS", "POINT_TRANSFORMS"]
