"""TransformExplorer(data=...): the transform explorer that fits the data, for notebooks that need not know which.

Images ("digits", "cifar10", "digits:32") get an ImageTransformExplorer, toy sets ("toy:gmm8", "toy:moons", ...) a
PointTransformExplorer; every other argument is passed on. Both call `scoreaug_lab.lab.noise_report.noise_report`.

    explorer = TransformExplorer(data="digits", transform="rot90", sigma=0.3)
"""
from __future__ import annotations

from ..data import data_kind
from .image_transform_explorer import ImageTransformExplorer
from .point_transform_explorer import PointTransformExplorer


def TransformExplorer(data: str = "digits", **kwargs):  # noqa: N802 - a factory that reads like the classes
    """ImageTransformExplorer or PointTransformExplorer for `data` (see the module docstring)."""
    kind = data_kind(data)
    return (PointTransformExplorer if kind == "points" else ImageTransformExplorer)(data=data, **kwargs)


__all__ = ["TransformExplorer", "ImageTransformExplorer", "PointTransformExplorer"]
