"""Each source's latest delivery against its earlier ones, before anything reaches the model.

A department's records reach us by the day they were recorded (`known_on`). The latest
delivery is what a source recorded in the `window_days` before the screening date; its earlier
deliveries are the same span of days one, two, ... `earlier_windows` years before (the same
season: annual reports are filed in spring, tax ratings once a year). Per source the monitor
compares:

- **volume**: records now against the mean of the earlier windows, beyond `volume_ratio` and
  beyond `z` Poisson standard errors (a source that stops sending is a ratio of 0);
- **fields**: the share of records with each field filled (a field renamed or dropped
  empties it);
- **scale**: each amount's median (a unit change, yuan to 10,000 yuan, divides it by 10,000);
- **codes**: the share of records whose code (each text field of few values) the earlier
  deliveries never used (codes renumbered), beyond what chance explains (Good-Turing: the
  share of earlier records whose code was seen once);
- and what ingest found in the delivery itself: columns the kind does not know beside
  columns that went missing (a renamed column), and sources whose file could not be read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .checks import Check

IDENTITY = {
    "credit_code", "registration_number", "organisation_code", "name", "legal_rep_name",
    "legal_rep_id", "address", "source_id", "row", "known_on", "occurred_on",
}  # fmt: skip
"""Columns that identify a record or an enterprise: never compared as data."""
MAX_CODES = 60
"""A text field with at most this many values across a kind is a code list."""
COLUMN_FINDINGS = ("unknown_columns", "missing_optional_columns")
QUANTILES = {"q25": 0.25, "median": 0.5, "q75": 0.75}
"""The amounts' quantiles compared (of the positive values)."""
UNIT_TOLERANCE = 0.15
"""Quartiles and median off by one power of ten within this (in log10: a factor of 1.4) read
as a change of unit."""
REGISTRY_KINDS = ("registration",)
"""Kinds whose records are the enterprises themselves: their volume is the city's growth."""


def _windows(screening: pd.Timestamp, days: int, earlier: int) -> str:
    """The SQL CASE that puts a record's `known_on` in window 0 (latest) .. `earlier`."""
    parts = []
    for k in range(earlier + 1):
        end = screening - pd.Timedelta(days=365 * k)
        start = end - pd.Timedelta(days=days)
        parts.append(f"WHEN known_on > DATE '{start.date()}' AND known_on <= DATE "
                     f"'{end.date()}' THEN {k}")  # fmt: skip
    return "CASE " + " ".join(parts) + " END"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def delivery_tables(interim: Path, screening: pd.Timestamp, settings, con=None):
    """Per source and window: records, each field's filled count, each amount's median, and
    each code's count.

    Args:
        interim: ingest's output (one folder per record kind, one parquet file per source).
        screening: the screening date (the latest window ends there).
        settings: `monitor.deliveries` (`DeliveryParams`).
        con: a DuckDB connection (a new in-memory one if None).

    Returns:
        (summary: source_id, kind, window, records, `<field>:filled`, `<field>:q25`,
        `<field>:median`, `<field>:q75`;
        codes: source_id, kind, window, field, value, records).
    """
    import duckdb

    con = con or duckdb.connect()
    case = _windows(screening, settings.window_days, settings.earlier_windows)
    summaries, codes = [], []
    for folder in sorted(p for p in interim.iterdir() if p.is_dir() and p.name != "quarantine"):
        files = sorted(folder.glob("*.parquet"))
        if not files:
            continue
        glob = _quote_path(folder / "*.parquet")
        schema = con.sql(f"DESCRIBE SELECT * FROM read_parquet({glob}, union_by_name=true)").df()
        types = dict(zip(schema["column_name"], schema["column_type"], strict=True))
        if "known_on" not in types:
            continue
        fields = [c for c in types if c not in IDENTITY and not c.endswith("_no")]
        numeric = [c for c in fields if types[c] in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER")]
        text = [c for c in fields if types[c] == "VARCHAR"]
        base = (f"(SELECT *, {case} AS win FROM read_parquet({glob}, union_by_name=true)) t "
                "WHERE win IS NOT NULL")  # fmt: skip
        select = ["source_id", "win AS window", "count(*) AS records"]
        for c in fields:
            filled = f"NULLIF(trim({_quote(c)}), '')" if c in text else _quote(c)
            select.append(f"count({filled}) AS {_quote(c + ':filled')}")
        for c in numeric:
            for name, q in QUANTILES.items():
                select.append(f"quantile_cont({_quote(c)}, {q}) FILTER (WHERE {_quote(c)} > 0) "
                              f"AS {_quote(c + ':' + name)}")  # fmt: skip
        summary = con.sql(f"SELECT {', '.join(select)} FROM {base} GROUP BY ALL").df()
        summaries.append(summary.assign(kind=folder.name))
        if text:
            distinct = con.sql(
                "SELECT "
                + ", ".join(f"approx_count_distinct({_quote(c)})" for c in text)
                + f" FROM {base}"
            ).fetchall()[0]
            listed = [c for c, n in zip(text, distinct, strict=True) if n and n <= MAX_CODES]
            if listed:  # every code list of the kind in one pass: (field, value) per record
                found = con.sql(
                    "SELECT source_id, win AS window, value, count(*) AS records, field FROM "
                    f"(UNPIVOT (SELECT source_id, win, {', '.join(map(_quote, listed))} FROM "
                    f"{base}) ON {', '.join(map(_quote, listed))} INTO NAME field VALUE value) "
                    "WHERE trim(value) <> '' GROUP BY ALL"
                ).df()
                codes.append(found.assign(kind=folder.name))
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    columns = ["source_id", "window", "value", "records", "kind", "field"]
    code_table = pd.concat(codes, ignore_index=True) if codes else pd.DataFrame(columns=columns)
    return summary, code_table


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def delivery_checks(
    summary: pd.DataFrame, codes: pd.DataFrame, quality: dict, departments: dict, settings
) -> list[Check]:
    """The source checks, one per finding (a source with none gets one passing check).

    Args:
        summary, codes: `delivery_tables`.
        quality: ingest's report (`reports/quality.json`): failed sources, findings.
        departments: source_id -> its department (to name it).
        settings: `monitor.deliveries`.
    """
    checks: list[Check] = []
    failed = quality.get("failed", {})
    for source_id, error in sorted(failed.items()):
        # A required column gone is a changed schema (fail); a file cut short or unreadable
        # is a delivery accident ingest tolerates within its policy (warn).
        schema = "missing; " in error and "columns" in error
        checks.append(Check("source", source_id, "fail" if schema else "warn", None,
                            "every file readable, with the columns its kind needs",
                            f"{departments.get(source_id, source_id)}: ingest could not read "
                            f"it ({error}); the model sees none of its records"))  # fmt: skip
    for entry in quality.get("per_source", []):
        found = [f for f in entry.get("findings", []) if f["finding"] in COLUMN_FINDINGS]
        if found:
            checks.append(Check(
                "source", entry["source_id"], "fail", float(len(found)),
                "the columns its kind knows, and no other",
                f"{entry.get('department', entry['source_id'])}: "
                + "; ".join(f["detail"] for f in found),
            ))  # fmt: skip
    if summary.empty:
        return checks
    earlier = range(1, settings.earlier_windows + 1)
    for (source_id, kind), rows in summary.groupby(["source_id", "kind"], sort=True):
        if source_id in failed:
            continue
        who = departments.get(source_id, source_id)
        volume, found = _source_findings(rows.set_index("window"), earlier, settings)
        found += _code_findings(codes[codes["source_id"] == source_id], earlier, settings)
        if volume:
            found.insert(0, volume)
        if kind in REGISTRY_KINDS:
            # The registry's records are the enterprises themselves: more of them, or another
            # mix of industries and capital, is the city changing (the factors show it), not
            # a department delivering differently; a change of unit is still the bureau's.
            city = [f for f in found if "a change of unit" not in f]
            found = [f for f in found if "a change of unit" in f]
            if city:
                checks.append(Check("source", source_id, "warn", float(len(city)),
                                    "its new registrations like the earlier ones",
                                    f"{who} ({kind}): " + "; ".join(city)
                                    + " - the city's registry changed"))  # fmt: skip
        if found:
            checks.append(Check("source", source_id, "fail", float(len(found)),
                                "its latest delivery like its earlier ones",
                                f"{who} ({kind}): " + "; ".join(found)))  # fmt: skip
    return checks


def _source_findings(rows: pd.DataFrame, earlier, settings) -> tuple[str, list[str]]:
    """(the volume finding or "", the findings on fields and amounts)."""
    found, volume = [], ""
    counts = rows["records"].reindex([0, *earlier], fill_value=0).astype(float)
    now, expected = counts.loc[0], counts.loc[list(earlier)].mean()
    lo, hi = settings.volume_ratio
    if expected >= settings.min_records:
        ratio = now / expected
        if (ratio <= lo or ratio >= hi) and abs(now - expected) >= settings.z * np.sqrt(expected):
            what = "stopped sending" if now == 0 else f"{ratio:.2f} times as many records"
            volume = (f"{what}: {int(now):,} records in the latest {settings.window_days} days "
                      f"against {expected:,.0f} a year earlier on average")  # fmt: skip
    if now < settings.min_records:
        return volume, found
    before = rows.loc[[k for k in earlier if k in rows.index]]
    for column in [c for c in rows.columns if c.endswith(":filled")]:
        field = column.removesuffix(":filled")
        was = before[column].sum() / max(before["records"].sum(), 1)
        share = rows.at[0, column] / now
        if was >= 0.5 and share <= was - settings.fill_drop:
            found.append(f"field {field} filled in {share:.0%} of the records (was {was:.0%}): "
                         "renamed or no longer sent?")  # fmt: skip
    for column in [c for c in rows.columns if c.endswith(":median")]:
        field = column.removesuffix(":median")
        ratios = {}
        for name in QUANTILES:
            earlier_values = before[f"{field}:{name}"].dropna()
            now_value = rows.at[0, f"{field}:{name}"]
            if earlier_values.empty or not np.isfinite(now_value) or now_value <= 0:
                break
            ratios[name] = now_value / float(earlier_values.median())
        if len(ratios) < len(QUANTILES):
            continue
        ratio, was, median = ratios["median"], float(before[column].median()), rows.at[0, column]
        if ratio >= settings.scale_ratio or ratio <= 1 / settings.scale_ratio:
            # A unit scales every amount alike: the quartiles move by the same power of ten
            # as the median. New firms of another size move the median alone.
            powers = np.log10(list(ratios.values()))
            unit = bool(np.all(np.abs(powers - np.round(powers[1])) < UNIT_TOLERANCE))
            why = "a change of unit?" if unit else "a different mix of records, or units?"
            found.append(f"field {field}'s median is {ratio:.4g} times what it was ({was:,.4g} "
                         f"-> {median:,.4g}): {why}")  # fmt: skip
    return volume, found


def _code_findings(codes: pd.DataFrame, earlier, settings) -> list[str]:
    found = []
    for field, rows in codes.groupby("field", sort=True):
        now = rows[rows["window"] == 0]
        total = now["records"].sum()
        if total < settings.min_records:
            continue
        before = rows[rows["window"].isin(list(earlier))]
        known = before.groupby("value")["records"].sum()
        if known.sum() < settings.min_records:
            continue  # too few earlier records to know the codes in use
        # Good-Turing: the codes seen once before tell how often a record carries a code the
        # earlier deliveries happened not to show (a long code list read from few records).
        unseen = float((known == 1).sum()) / float(known.sum())
        new = now[~now["value"].isin(set(known.index))]
        share = new["records"].sum() / total
        chance = unseen + settings.z * np.sqrt(unseen * (1 - unseen) / total)
        if share >= settings.new_code_share and share > chance:
            shown = ", ".join(map(str, new.sort_values("records", ascending=False)["value"][:3]))
            found.append(f"field {field}: {share:.0%} of the records carry codes the earlier "
                         f"deliveries never used ({shown}): codes renumbered?")  # fmt: skip
    return found
