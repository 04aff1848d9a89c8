"""Interactive widgets (ipywidgets + plotly FigureWidget); a notebook only creates one and displays it."""
from .base import WidgetApp
from .image_transform_explorer import ImageTransformExplorer
from .leakage import LeakageExplorer
from .leakage_runs import LeakageRunsExplorer
from .overfitting import OverfittingExplorer
from .overfitting_runs import OverfittingRunsExplorer
from .point_transform_explorer import PointTransformExplorer
from .sampler_explorer import SamplerExplorer
from .score_field import ScoreFieldExplorer
from .transform_explorer import TransformExplorer

__all__ = ["WidgetApp", "TransformExplorer", "ImageTransformExplorer", "PointTransformExplorer", "ScoreFieldExplorer",
           "SamplerExplorer", "OverfittingExplorer", "OverfittingRunsExplorer", "LeakageExplorer", "LeakageRunsExplorer"]
