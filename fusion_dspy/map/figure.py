"""Quality against cost per item, one figure per task: every (cell, method) a point, the Pareto front drawn, so a
reader finds the cheapest way to a given quality."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fusion_dspy.eval.paired import ALL

if TYPE_CHECKING:
    from fusion_dspy.map.report import Row

MARKERS = {"single": "o", "majority": "s", "mbr": "s", "fusion": "^", "adaptive": "D", "oracle": "*"}


def quality_vs_cost(rows: list[Row], task: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [r for r in rows if r.task == task]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for row in mine:
        x, y = max(row.cost, 1e-3), row.scores[ALL].mean
        ax.scatter(x, y, marker=MARKERS.get(row.method.removeprefix("bon:"), "x"), s=36 if row.pareto else 18,
                   color="C3" if row.pareto else "C0", zorder=3)  # fmt: skip
        if row.pareto or row.method in ("fusion", "adaptive"):
            ax.annotate(f"{row.cell.split(',')[0]} n={row.n} {row.method}" if row.n > 1 else row.cell, (x, y),
                        fontsize=6, xytext=(3, 2), textcoords="offset points")  # fmt: skip
    front = sorted((r for r in mine if r.pareto), key=lambda r: r.cost)
    ax.plot([max(r.cost, 1e-3) for r in front], [r.scores[ALL].mean for r in front], color="C3",
            linewidth=1, label="Pareto front")  # fmt: skip
    ax.set_xscale("log")
    seconds = all(r.seconds_per_item is not None for r in mine)
    unit = "model seconds" if seconds else "tokens (speeds not measured)"
    ax.set_xlabel(f"{unit} per item (candidates + fusor, log scale)")
    ax.set_ylabel("mean score")
    ax.set_title(f"{task}: quality against cost ({', '.join(f'{m} {k}' for k, m in MARKERS.items())})", fontsize=8)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
