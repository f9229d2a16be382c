"""Where fusion pays off: a grid of (candidates, fusor, n) cells evaluated on stored pools, with cost per item,
paired statistics against selection and a 1.5B single sample, agreement bins and a quality-vs-cost figure."""

from __future__ import annotations

from fusion_dspy.map.config import Cell, MapConfig, TaskGrid
from fusion_dspy.map.report import MapReport
from fusion_dspy.map.run import MapResults, MapRun

__all__ = ["Cell", "MapConfig", "MapReport", "MapResults", "MapRun", "TaskGrid"]
