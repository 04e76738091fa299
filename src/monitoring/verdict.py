"""From the checks to one verdict: status, the failed checks, and what to do, in plain words.

The order matters. A source that changed explains whatever drift follows from it, and
retraining on it would teach the model the change as risk: so a source's fault comes first
("investigate a source"). Then what the model sees and does: its results against what it
expected, its factors, the profile's families and its scores ("retrain"). Then the profile's
own quality ("investigate the profile"). Warnings (a file that could not be read, groups too
small to judge) are shown, and change nothing.
"""

from __future__ import annotations

from .checks import GROUPS, Check

RETRAIN_GROUPS = ("performance", "factor_drift", "family_drift", "prediction_drift")


def _named(checks: list[Check], limit: int = 4) -> str:
    names = ", ".join(c.subject for c in checks[:limit])
    return names + (f" and {len(checks) - limit} more" if len(checks) > limit else "")


def verdict(checks: list[Check]) -> dict:
    """The monitor's summary: `status` (pass, warn or fail), `failed` (each failed check),
    `warnings`, `recommendation` (retrain, investigate a source, investigate the profile,
    nothing to do) and `why`, in plain words."""
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    by_group = {g: [c for c in failed if c.group == g] for g in GROUPS}
    if by_group["source"]:
        found = by_group["source"]
        recommendation = "investigate a source"
        why = (
            f"{len(found)} source(s) deliver differently from before ({_named(found)}): "
            + " | ".join(c.detail for c in found[:3])
            + ". Fix or explain the delivery before the next screening; do not retrain on it "
            "(the model would learn the change as risk)."
        )
    elif any(by_group[g] for g in RETRAIN_GROUPS):
        parts = []
        if by_group["performance"]:
            shown = "; ".join(f"{c.subject}: {c.detail}" for c in by_group["performance"][:3])
            parts.append(f"the round's results differ from what the model expected ({shown})")
        if by_group["factor_drift"]:
            parts.append(f"its factors moved ({_named(by_group['factor_drift'])})")
        if by_group["family_drift"]:
            parts.append(f"the profile's families moved ({_named(by_group['family_drift'])})")
        if by_group["prediction_drift"]:
            parts.append(f"its scores moved ({_named(by_group['prediction_drift'])})")
        recommendation = "retrain"
        why = (
            "The sources deliver as before, but " + "; ".join(parts) + ": the city is no longer "
            "the one the model learnt from. Retrain on the latest rounds, and judge the new "
            "version on the next round's results."
        )
    elif by_group["data_quality"]:
        recommendation = "investigate the profile"
        why = (
            f"The profile breaks its own rules ({_named(by_group['data_quality'])}: "
            + "; ".join(c.detail for c in by_group["data_quality"][:3])
            + "). Find the stage that let it through before scoring with it."
        )
    else:
        recommendation = "nothing to do"
        noted = (
            (
                f" ({len(warned)} warning(s), shown and not failing: "
                + "; ".join(f"{c.group} {c.subject}" for c in warned[:4])
                + ")"
            )
            if warned
            else ""
        )
        why = (
            f"No check fails{noted}: the sources deliver as before, the factors and "
            "scores look like the city the model learnt from"
            + (
                ", and the round's results match what it expected"
                if any(c.group == "performance" for c in checks)
                else ""
            )
            + "."
        )
    status = "fail" if failed else ("warn" if warned else "pass")
    return {
        "status": status,
        "recommendation": recommendation,
        "why": why,
        "failed": [c.as_dict() for c in failed],
        "warnings": [c.as_dict() for c in warned],
        "checks": len(checks),
        "checks_by_group": {
            g: {
                s: sum(1 for c in checks if c.group == g and c.status == s)
                for s in ("pass", "warn", "fail", "skipped")
            }
            for g in GROUPS
            if any(c.group == g for c in checks)
        },
    }
