"""The README's chart: targets accepted per second over a run, per client, against the quota.

Series come from the quota suites' JSON: any client entry carrying `accepted_per_second`
(a list of counts, one per second of the run) is drawn; the quota is a dashed line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Series", "draw"]

#: (client label, accepted targets in each second of the run)
Series = tuple[str, Sequence[int]]


def draw(path: Path, panels: Mapping[str, tuple[int, list[Series]]]) -> bool:
    """Draw one panel per API (`api -> (limit, series)`) into `path` (PNG).

    Returns False, drawing nothing, when matplotlib is not installed or there is no series.
    """
    panels = {api: panel for api, panel in panels.items() if panel[1]}
    if not panels:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for axis, (api, (limit, series)) in zip(axes[0], panels.items(), strict=True):
        # The quota line goes under the series: a client at the quota must stay visible.
        axis.axhline(limit, color="grey", linestyle=":", linewidth=1.2, label=f"quota {limit}/s")
        for label, counts in series:
            axis.plot(range(1, len(counts) + 1), counts, label=label, linewidth=1.6, marker=".")
        axis.set_title(f"{api} publish: targets accepted per second")
        axis.set_xlabel("second of the run")
        axis.set_ylim(0, limit * 1.3)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
