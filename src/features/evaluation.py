"""Evaluation of factor selection against the simulated city's truth (evaluation code only).

Selection never imports this module. A chosen factor recovers a true driver when its family
(`<kind>:<measure>`, see `features.attributes`) is the driver's family.
"""

from __future__ import annotations

import json
from pathlib import Path


def true_drivers(truth: Path) -> list[dict]:
    """The simulator's drivers: name, effect, family."""
    return json.loads((Path(truth) / "drivers.json").read_text(encoding="utf-8"))["drivers"]


def drivers_recovered(factor_families: dict[str, str], truth: Path) -> dict:
    """How many true drivers the factors capture, matched by family.

    Args:
        factor_families: chosen factor -> its family.
        truth: the simulated city's truth folder.
    """
    drivers = true_drivers(truth)
    chosen = set(factor_families.values())
    found = [d["name"] for d in drivers if d["family"] in chosen]
    missed = [d["name"] for d in drivers if d["family"] not in chosen]
    driver_families = {d["family"] for d in drivers}
    return {
        "true_drivers": len(drivers),
        "true_drivers_recovered": len(found),
        "recovered": found,
        "missed": missed,
        "factors_not_drivers": sorted(
            f for f, fam in factor_families.items() if fam not in driver_families
        ),
    }


def selection_against_truth(selection: dict, truth: Path) -> dict:
    """`select`'s report judged against the simulator's drivers (evaluation code only): the
    consensus factors and each compared method's.

    Args:
        selection: `reports/selection.json` (its `factors`, `methods` and `families`).
        truth: the simulated city's truth folder.
    """
    families = selection["families"]
    result = drivers_recovered({f: families[f] for f in selection["factors"]}, truth)
    result["methods"] = {
        method: drivers_recovered({f: families[f] for f in m["factors"]}, truth)[
            "true_drivers_recovered"
        ]
        for method, m in selection["methods"].items()
    }
    return result
