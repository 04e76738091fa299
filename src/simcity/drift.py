"""Drift scenarios: the simulated city changing from a date on (`simulate.drift`, config).

What a monitor must catch, each from `since` on:

- `boom`: a share of the city's enterprises are new firms of one industry, founded since
  (the city changes; the model's factors move);
- `renamed_field`: a department's new system writes one column under another name (the whole
  extract: a department re-exports everything with its new headers);
- `renumbered_codes`: a department's codes of one column renumbered (V01, V02, ...) in the
  records it makes since (Chicago's violation codes);
- `complaints`: complaints `factor` times as many everywhere (a hotline campaign), the risk
  unchanged: the truth is drawn before the extra complaints exist;
- `district_violations`: enterprises of one district break the rules more (the truth's
  log-odds raised by `log_odds` at the screening date): nothing in the records shows it, only
  the round's results;
- `unit_change`: a department's amounts recorded since in 10,000 yuan while its header still
  says yuan.

The population's and the truth's changes are applied as the world is built; the departments'
in `drift_records`, between rendering and mess. A scenario draws from its own random stream;
a district's rise or a department's change leaves every extract but its own as without it,
while a boom or more complaints change what the departments route and record after them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskdraw.config import DriftScenario

from .render import Records
from .sources import Source

WAN = 10_000.0


def scenarios(params, kind: str) -> list[DriftScenario]:
    return [s for s in params.drift if s.kind == kind]


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 4099, index])


def extra_complaints(params, complaints: pd.DataFrame) -> pd.DataFrame:
    """The complaints of the `complaints` scenarios added to those the city makes: each
    complaint recorded since `since` comes with `factor - 1` more on average, about the same
    enterprise, at a random day after `since` (the truth was drawn without them)."""
    out = [complaints]
    for i, s in enumerate(scenarios(params, "complaints")):
        rng = _rng(params.seed, i)
        since = np.datetime64(s.since, "D")
        recent = complaints[complaints["occurred_on"].to_numpy() >= since]
        extra = rng.poisson(s.factor - 1.0, len(recent))
        copies = recent.iloc[np.repeat(np.arange(len(recent)), extra)].copy()
        end = np.datetime64(params.history_end, "D")
        span = max(int((end - since).astype(int)), 1)
        shift = since + rng.integers(0, span, len(copies)).astype("timedelta64[D]")
        lag = copies["known_on"].to_numpy() - copies["occurred_on"].to_numpy()
        copies["occurred_on"] = shift
        copies["known_on"] = np.minimum(shift + lag, end)
        out.append(copies)
    return pd.concat(out, ignore_index=True) if len(out) > 1 else complaints


def district_truth(params, truth: pd.DataFrame, districts: np.ndarray, names) -> pd.DataFrame:
    """The screening truth of the `district_violations` scenarios: the enterprises of each
    named district break the rules more (log-odds + `log_odds`), in the probabilities the
    round's results are drawn from; the rounds before keep theirs.

    Args:
        truth: the truth (one row per enterprise and round; round 0 is the screening).
        districts: the district code of each enterprise (by `entity_uid`).
        names: district code -> short name.
    """
    found = scenarios(params, "district_violations")
    if not found:
        return truth
    truth = truth.copy()
    screening = truth["round"].to_numpy() == 0
    where = np.array([names[c] for c in districts[truth["entity_uid"].to_numpy()]])
    for s in found:
        hit = screening & (where == s.district)
        if not hit.any():
            raise ValueError(f"drift: no enterprise of district {s.district} is screened")
        for column in ("p_full", "p_known"):
            p = truth.loc[hit, column].to_numpy()
            logit = np.log(p / (1 - p)) + s.log_odds
            truth.loc[hit, column] = 1.0 / (1.0 + np.exp(-logit))
    return truth


def boom(params) -> tuple[np.random.Generator, str, float, np.datetime64] | None:
    """The `boom` scenario as `make_population` takes it (one at most)."""
    found = scenarios(params, "boom")
    if len(found) > 1:
        raise ValueError("drift: one boom at a time")
    if not found:
        return None
    s = found[0]
    return _rng(params.seed, 100), s.industry, s.share, np.datetime64(s.since, "D")


def drift_records(records: Records, known_on: np.ndarray, source: Source, params) -> Records:
    """A department's records as the scenarios change them (`renamed_field`,
    `renumbered_codes`, `unit_change` of this source), before mess and formatting.

    Args:
        records: the rendered records.
        known_on: the day each record was made (its recording date).
        source: the department's source.
        params: the `simulate` section.
    """
    for s in params.drift:
        if s.source != source.source_id:
            continue
        since = known_on >= np.datetime64(s.since, "D")
        if s.kind == "unit_change":
            for column in records.amounts:
                values = np.asarray(records.columns[column], dtype=float)
                records.columns[column] = np.where(since, values / WAN, values)
        elif s.kind == "renumbered_codes":
            _require(records, s.field, s)
            values = pd.Series(np.asarray(records.columns[s.field], dtype=object))
            codes = {v: f"V{i + 1:02d}" for i, v in enumerate(sorted(values.dropna().unique()))}
            records.columns[s.field] = np.where(since, values.map(codes), values).astype(object)
        elif s.kind == "renamed_field":
            _require(records, s.field, s)
            records.columns = {(s.to if c == s.field else c): v for c, v in records.columns.items()}
            records.dates = [s.to if c == s.field else c for c in records.dates]
            records.amounts = [s.to if c == s.field else c for c in records.amounts]
    return records


def _require(records: Records, column: str, scenario: DriftScenario) -> None:
    if column not in records.columns:
        raise ValueError(
            f"drift: {scenario.kind} of {scenario.source} names column {column!r}, which it does "
            f"not write (it writes {sorted(records.columns)})"
        )
