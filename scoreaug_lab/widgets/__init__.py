"""Interactive widgets (ipywidgets + plotly FigureWidget); a notebook only creates one and displays it."""
from .base import WidgetApp
from .leakage import LeakageExplorer
from .overfitting import OverfittingExplorer
from .sampler_explorer import SamplerExplorer
from .score_field import ScoreFieldExplorer
from .transform_explorer import TransformExplorer

__all__ = ["WidgetApp", "TransformExplorer", "ScoreFieldExplorer", "SamplerExplorer", "OverfittingExplorer",
           "LeakageExplorer"]
