"""Every transform by name, per family: the leaf modules are imported here, and only here, so that no module of
the family depends on another for its table (point_warps and resampled build on points and images)."""
from __future__ import annotations

from . import images, point_warps, points, resampled

POINT_TRANSFORMS = {cls.name: cls for cls in (
    points.Rotate, points.Rot90, points.Flip, points.Reflect, point_warps.Scale, points.Translate, point_warps.Shear,
    point_warps.TanhSquash, point_warps.QuadraticShear)}
IMAGE_TRANSFORMS = {cls.name: cls for cls in (
    images.Brightness, images.Translate, images.TranslateCircular, images.Cutout, images.Rot90, images.XFlip,
    images.YFlip, resampled.Rotate, resampled.RotateNearest, resampled.Geometric, resampled.GeometricNearest)}
TABLES = {"points": POINT_TRANSFORMS, "images": IMAGE_TRANSFORMS}

__all__ = ["IMAGE_TRANSFORMS", "POINT_TRANSFORMS", "TABLES"]
