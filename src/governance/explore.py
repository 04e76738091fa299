"""Tables and a figure for the data steward's review of ingest (`notebooks/02-data-quality`).

Everything here takes what ingest reported (the `reports/quality.json` payload, already read)
and returns a table or draws on an Axes; nothing reads or writes files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .quality import DIMENSIONS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

STATUS_MARKS = {"warn": "!", "fail": "×"}  # how the heatmap marks a dimension's status

_COUNTS = [
    "source_id",
    "kind",
    "department",
    "records_in",
    "records_accepted",
    "records_quarantined",
    "reconciles",
    "status",
    "error",
]
_STATUS_COLUMNS = [f"{d}_status" for d in DIMENSIONS]


def source_scores(report: dict) -> pd.DataFrame:
    """One row per source: its counts, status, error and the six dimensions.

    Args:
        report: the `reports/quality.json` payload.

    Returns:
        Indexed by `source_id`, in the report's order: kind, department, records_in,
        records_accepted, records_quarantined, reconciles, status, error, one float column per
        dimension (NaN where not measurable), `<dimension>_status` (ok/warn/fail/n/a), and
        `fails`, `warns` (dimensions at fail / warn) and `lowest` (the lowest score).
    """
    rows = [
        {
            **{k: s[k] for k in _COUNTS},
            **{d: s["scores"][d] for d in DIMENSIONS},
            **{f"{d}_status": s["dimension_status"][d] for d in DIMENSIONS},
        }
        for s in report["per_source"]
    ]
    frame = pd.DataFrame(rows, columns=[*_COUNTS, *DIMENSIONS, *_STATUS_COLUMNS])
    frame = frame.astype({d: float for d in DIMENSIONS}).set_index("source_id")
    status = frame[_STATUS_COLUMNS]
    return frame.assign(
        fails=(status == "fail").sum(axis=1),
        warns=(status == "warn").sum(axis=1),
        lowest=frame[list(DIMENSIONS)].min(axis=1),
    )


def scores_by(sources: pd.DataFrame, by: str) -> pd.DataFrame:
    """Sources aggregated by a column such as `department` or `kind`.

    A group's score on a dimension is the mean over its records: sources weigh by their records
    in, and only sources where the dimension is measured count (NaN if none is).

    Args:
        sources: the table from `source_scores`.
        by: the column to group by.

    Returns:
        Indexed by the group: sources, failed, fail, warn (sources at each status), records_in,
        records_quarantined, quarantined_share, then the six dimensions.
    """
    weights = sources["records_in"]
    scores = sources[list(DIMENSIONS)]
    weighted = scores.fillna(0).mul(weights, axis=0).groupby(sources[by]).sum()
    measured = scores.notna().mul(weights, axis=0).groupby(sources[by]).sum()
    counts = (
        sources.assign(
            failed=sources["error"].notna(),
            fail=sources["status"] == "fail",
            warn=sources["status"] == "warn",
        )
        .groupby(by)
        .agg(
            sources=("status", "size"),
            failed=("failed", "sum"),
            fail=("fail", "sum"),
            warn=("warn", "sum"),
            records_in=("records_in", "sum"),
            records_quarantined=("records_quarantined", "sum"),
        )
    )
    share = counts["records_quarantined"] / counts["records_in"].where(counts["records_in"] > 0)
    return counts.assign(quarantined_share=share).join(weighted / measured.where(measured > 0))


def plot_quality_heatmap(sources: pd.DataFrame, ax: Axes | None = None, vmin: float = 0.9) -> Axes:
    """Sources (rows, grouped by kind) by the six dimensions, coloured by score.

    Warn cells are marked `!`, fail cells `×`; grey cells are not measurable; a source that
    failed to read is labelled across its row.

    Args:
        sources: the table from `source_scores` (kinds keep their order of first appearance).
        ax: the Axes to draw on; a new figure sized to the sources when None.
        vmin: the score shown darkest red (lower scores are clipped to it).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(sources["kind"]))
    ordered = sources.iloc[np.argsort(sources["kind"].map(kinds.index).to_numpy(), kind="stable")]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 2.0 + 0.13 * len(ordered)))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    values = np.ma.masked_invalid(ordered[list(DIMENSIONS)].to_numpy(dtype=float))
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=1.0, aspect="auto", interpolation="none")
    for i, row in enumerate(ordered[_STATUS_COLUMNS].to_numpy()):
        for j, status in enumerate(row):
            if status in STATUS_MARKS:
                ax.text(j, i, STATUS_MARKS[status], ha="center", va="center", fontsize=7)
    for i, error in enumerate(ordered["error"]):
        if isinstance(error, str):
            ax.text(2.5, i, "source failed to read", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(DIMENSIONS)), DIMENSIONS, rotation=30, ha="left")
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(ordered)), ordered.index, fontsize=6)
    bounds = np.cumsum([0, *ordered.groupby("kind", sort=False).size().loc[kinds]])
    for kind, start, stop in zip(kinds, bounds[:-1], bounds[1:], strict=True):
        ax.axhline(stop - 0.5, color="black", linewidth=0.6)
        ax.text(len(DIMENSIONS) - 0.4, (start + stop - 1) / 2, kind, va="center", fontsize=7)
    ax.figure.colorbar(
        image, ax=ax, orientation="horizontal", extend="min", shrink=0.6, pad=0.02, aspect=30
    ).set_label(f"score ({vmin:g} and below: darkest red)")
    ax.set_title("Quality by source and dimension  (! warn, × fail, grey n/a)", fontsize=9)
    return ax
