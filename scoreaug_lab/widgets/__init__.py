"""Interactive widgets (ipywidgets + plotly FigureWidget); a notebook only creates one and displays it."""
from .image_transform_explorer import ImageTransformExplorer
from .leakage_explorer import LeakageExplorer
from .overfitting_explorer import OverfittingExplorer
from .point_transform_explorer import PointTransformExplorer
from .sampler_explorer import SamplerExplorer
from .score_field_explorer import ScoreFieldExplorer
from .transform_explorer import TransformExplorer
from .widget_app import WidgetApp

__all__ = ["WidgetApp", "TransformExplorer", "ImageTransformExplorer", "PointTransformExplorer", "ScoreFieldExplorer",
           "SamplerExplorer", "OverfittingExplorer", "LeakageExplorer"]
