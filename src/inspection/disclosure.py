"""The public disclosure of a round (一公开): what was found where, and the draw anyone can check.

One row per recorded result: the enterprise's name and credit code, the task, the inspection
date, the day it was published (the day it was recorded in the public system: the inspection
kind's 公示日期), the items checked and failed, the result and the inspecting unit. Nothing
personal: no inspector, no person's name or number (every text value passes the privacy scan,
`riskdraw.governance.privacy.mask_numbers`, before anything is written). Beside it the draw:
its commitment, the revealed secret, the public value and the seed they give, so anyone can
re-run it with `riskdraw verify`.

The rule is publication within `publish.within_days` days of the inspection (20 in Foshan).
A result published later is flagged `late`; one inspected more than that many days before the
publication date and not yet recorded is flagged as overdue, with the visits that have no
result at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskdraw.domain.inspections import PROBLEM_RESULTS
from riskdraw.errors import DATA, UserError

DISCLOSURE_COLUMNS = [
    "name", "credit_code", "task", "inspected_on", "published_on", "items_checked",
    "items_failed", "result", "unit", "late",
]  # fmt: skip
"""The disclosure file's columns: enterprise data and the result, never a person's."""


class PublicationError(UserError):
    """A disclosure that would publish personal data (exit status 3)."""

    exit_code = DATA


def privacy_findings(frame: pd.DataFrame) -> list[str]:
    """Every ID or mobile number found in the text of `frame` (none: fit to publish), each as
    "row R, column C". A `credit_code` column is an enterprise's key: it must hold valid
    credit codes (GB 32100), which are not scanned (a code is not a person's number)."""
    import pyarrow as pa

    from riskdraw.domain.codes import valid_uscc_mask
    from riskdraw.governance.privacy import mask_numbers

    found = []
    for column in frame.columns:
        if column == "credit_code":
            bad = ~valid_uscc_mask(frame[column].reset_index(drop=True))
            found += [
                f"row {row}, column {column}: not a credit code" for row in np.flatnonzero(bad)
            ]
            continue
        if frame[column].dtype != object:
            continue
        text = pa.array(frame[column].astype(str).to_numpy(dtype=object), type=pa.string())
        masked = mask_numbers(text, strict=False, key=b"scan")
        for row in np.flatnonzero(masked.ids | masked.phones):
            kind = "an ID number" if masked.ids[row] else "a mobile number"
            found.append(f"row {row}, column {column}: {kind}")
    return found


def disclosure(accepted: pd.DataFrame, on: pd.Timestamp, within_days: int) -> pd.DataFrame:
    """The disclosure rows of the results recorded by `on` (the publication date).

    Args:
        accepted: `record-results`' accepted results.
        on: the publication date: results recorded after it are not yet published.
        within_days: the days a result may take from inspection to publication.

    Raises:
        PublicationError: personal data in a value (named by row and column).
    """
    out = accepted[accepted["recorded_on"] <= on]
    out = pd.DataFrame(
        {
            "name": out["name"].astype(str),
            "credit_code": out["credit_code"].astype(str),
            "task": out["task"].astype(str),
            "inspected_on": out["inspected_on"].dt.strftime("%Y-%m-%d"),
            "published_on": out["recorded_on"].dt.strftime("%Y-%m-%d"),
            "items_checked": out["items_checked"].astype(int),
            "items_failed": out["items_failed"].astype(int),
            "result": out["result"].astype(str),
            "unit": out["unit"].astype(str),
            "late": ((out["recorded_on"] - out["inspected_on"]).dt.days > within_days),
        }
    ).sort_values(["published_on", "credit_code"], ignore_index=True)
    found = privacy_findings(out)
    if found:
        raise PublicationError(
            f"the disclosure would publish personal data ({len(found)} values): "
            + "; ".join(found[:5])
            + ": nothing is published"
        )
    return out


def overdue(
    accepted: pd.DataFrame, unreported: pd.DataFrame, on: pd.Timestamp, within_days: int
) -> pd.DataFrame:
    """The results past their publication deadline at `on` and not yet published: inspected
    more than `within_days` before it and recorded after it; and the visits with no result
    (their inspection date unknown, so their deadline too): credit_code, name, inspected_on,
    why."""
    deadline = on - pd.Timedelta(days=within_days)
    waiting = accepted[(accepted["recorded_on"] > on) & (accepted["inspected_on"] < deadline)]
    rows = [
        waiting.assign(
            inspected_on=waiting["inspected_on"].dt.strftime("%Y-%m-%d"),
            why=f"inspected more than {within_days} days before {on.date()}, not yet published",
        )[["credit_code", "name", "inspected_on", "why"]],
        unreported.assign(inspected_on="", why="a planned visit with no result recorded")[
            ["credit_code", "name", "inspected_on", "why"]
        ],
    ]
    return pd.concat(rows, ignore_index=True)


def publication_report(published: pd.DataFrame, late: pd.DataFrame, within_days: int) -> dict:
    """What was published: results, problems found, late ones, and those overdue."""
    problems = published["result"].isin(PROBLEM_RESULTS)
    return {
        "published": len(published),
        "problems": int(problems.sum()),
        "items_checked": int(published["items_checked"].sum()),
        "within_days": within_days,
        "published_late": int(published["late"].sum()),
        "overdue": int((late["inspected_on"] != "").sum()),
        "visits_without_result": int((late["inspected_on"] == "").sum()),
    }
