"""Harbour, a small city written by the tests themselves: plain CSV tables in a layout unlike
the simulated city's, and the city file that describes them (`write_harbour`).

Its registry (`firms.csv`) has its own column names, dates written 2021/3/5, areas and sectors
as letter codes; its inspections (`visits.csv`) have compact dates (20210305), a known date a
few days later, outcome codes 0/1/2 and 9 for "nobody there", follow-up visits among the
routine ones; its complaints (`calls.csv`) have Chinese dates (2021年3月5日) and topic codes;
its officers (`officers.csv`) their skills as codes joined by "|". What makes a firm break the
rules (complaints in the year before, food sector, youth) is this module's business only: the
flow finds it from the data, and only the tests that judge it read `DRIVERS`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

DRAW_RATE = 0.2
"""The share of open firms each round visits (uniform)."""
DRIVERS = ("complaints in the year before", "food sector", "opened less than two years ago")
ROUND_STARTS = ["2019-09-01", "2020-09-01", "2021-09-01", "2022-09-01", "2023-09-01", "2024-09-01"]
AREAS = {"N": "north", "S": "south", "E": "east", "W": "west"}
SECTORS = {"F": "food", "R": "retail", "M": "manufacturing", "S": "services"}
TOPICS = {"HY": "hygiene", "PR": "prices", "QU": "quality"}
SKILLS = {
    "REG": "registration",
    "FOOD": "food_business",
    "PRICE": "prices",
    "QUAL": "product_quality",
}


def _slash(day: pd.Timestamp) -> str:
    return f"{day.year}/{day.month}/{day.day}"


def _chinese(day: pd.Timestamp) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _compact(day: pd.Timestamp) -> str:
    return day.strftime("%Y%m%d")


def city_file(**changes) -> dict:
    """Harbour's city file as a mapping (keys in `changes` replace the top-level ones)."""
    city = {
        "name": "harbour",
        "title": "Harbour: a small city the tests write, in its own layout",
        "tables": {
            "firms": {"path": "firms.csv", "date_style": "slash"},
            "visits": {"path": "visits.csv", "date_style": "compact"},
            "calls": {"path": "calls.csv", "date_style": "chinese"},
            "officers": {"path": "officers.csv"},
        },
        "registry": {
            "table": "firms",
            "entity_id": "firm_no",
            "name": "trading_name",
            "opened_on": "opened",
            "closed_on": "closed",
            "district": {"column": "area", "map": AREAS},
            "industry": {"column": "sector", "map": SECTORS},
            "size": {"column": "staff", "type": "number", "minimum": 0},
            "entity_type": "form",
        },
        "events": [
            {
                "kind": "inspection",
                "table": "visits",
                "entity_id": "firm",
                "id": "visit_ref",
                "occurred_on": "visit_day",
                "known_on": "logged",
                "outcome": {
                    "column": "verdict",
                    "map": {"0": "clean", "1": "minor", "2": "major", "9": "no_access"},
                },
                "inspector": "officer",
                "keep": {"visit_type": ["ROUTINE"]},
            },
            {
                "kind": "complaint",
                "table": "calls",
                "entity_id": "firm",
                "occurred_on": "received",
                "known_after_days": 2,
                "values": {"topic": {"column": "topic", "map": TOPICS}},
            },
        ],
        "label": {"problem": ["minor", "major"], "not_counted": ["no_access"]},
        "rounds": {
            "periods": [
                {"from": s, "until": str((pd.Timestamp(s) + pd.Timedelta(days=60)).date())}
                for s in ROUND_STARTS
            ],
            "screening_date": "2025-06-30",
        },
        "inspectors": {
            "table": "officers",
            "inspector_id": "badge",
            "district": {"column": "area", "map": AREAS},
            "qualifications": {"column": "skills", "map": SKILLS},
            "separator": "|",
            "available_visits": "max_visits",
        },
        "params": {
            "select": {"l1_resamples": 6, "perm_repeats": 2, "max_swaps": 4},
            "tune": {"trials": 4, "holdout_rounds": 1, "validation_rounds": 2, "capacity": 0.2},
            "train": {"calibration_rounds": 2, "cutoffs": {"B": 0.15, "C": 0.3, "D": 0.5}},
            "evaluate": {"capacity": 0.2},
            "plan": {
                "capacity": {"share": 0.1},
                "task": "HB-2025-07",
                "public_value": "Harbour lottery 2025-07-01 draw 118: 4 17 23 31 40",
            },
        },
    }
    return city | changes


def write_harbour(folder: Path, firms: int = 6000, seed: int = 5, **changes) -> Path:
    """Write Harbour's tables and city file into `folder`; returns the city file's path."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start, end = pd.Timestamp("2012-01-01"), pd.Timestamp("2025-06-30")
    opened = pd.Series(
        start + pd.to_timedelta(rng.integers(0, (end - start).days - 200, firms), unit="D")
    )
    closes = rng.random(firms) < 0.15
    closed = opened + pd.to_timedelta(rng.integers(200, 3000, firms), unit="D")
    closed = pd.Series(closed).where(closes & (closed < end))
    sector = rng.choice(list(SECTORS), firms, p=[0.3, 0.3, 0.2, 0.2])
    area = rng.choice(list(AREAS), firms)
    ids = [f"HB{100000 + i}" for i in range(firms)]
    conduct = rng.normal(0, 1, firms)  # hidden: drives both complaints and violations
    registry = pd.DataFrame(
        {
            "firm_no": ids,
            "trading_name": [f"Harbour firm {i}" for i in range(firms)],
            "opened": [_slash(d) for d in opened],
            "closed": ["" if pd.isna(d) else _slash(d) for d in closed],
            "area": area,
            "sector": sector,
            "staff": rng.lognormal(2, 1, firms).round().astype(int),
            "form": rng.choice(["LTD", "SOLE", "COOP"], firms, p=[0.5, 0.45, 0.05]),
        }
    )
    # Complaints: a Poisson stream per firm over its open life, faster with worse conduct.
    rate = 0.35 * np.exp(0.8 * conduct)  # per year
    calls = []
    for i in range(firms):
        life_end = closed[i] if not pd.isna(closed[i]) else end
        years = (life_end - opened[i]).days / 365.25
        days = max(1, (life_end - opened[i]).days)
        for _ in range(rng.poisson(rate[i] * years)):
            day = opened[i] + pd.Timedelta(days=int(rng.integers(0, days)))
            calls.append((ids[i], _chinese(day), rng.choice(list(TOPICS)), day, i))
    calls = pd.DataFrame(calls, columns=["firm", "received", "topic", "day", "i"])
    visits = []
    for r, s in enumerate(ROUND_STARTS):
        as_of = pd.Timestamp(s)
        open_now = ((opened < as_of) & (closed.isna() | (closed >= as_of))).to_numpy()
        pick = np.flatnonzero(open_now & (rng.random(firms) < DRAW_RATE))
        recent = calls[(calls["day"] < as_of) & (calls["day"] >= as_of - pd.Timedelta(days=365))]
        count = np.bincount(recent["i"], minlength=firms)
        young = ((as_of - opened).dt.days < 730).to_numpy(dtype=float)
        logit = -2.2 + 0.9 * np.minimum(count, 4) + 1.0 * (sector == "F") + 0.9 * young
        p = 1 / (1 + np.exp(-logit))
        for i in pick:
            day = as_of + pd.Timedelta(days=int(rng.integers(0, 60)))
            found = rng.random() < p[i]
            verdict = (
                "9"
                if rng.random() < 0.03
                else ("2" if found and rng.random() < 0.4 else "1" if found else "0")
            )
            visits.append(
                (
                    f"V{r}-{i}",
                    ids[i],
                    _compact(day),
                    _compact(day + pd.Timedelta(days=int(rng.integers(1, 6)))),
                    verdict,
                    f"OF{rng.integers(1, 40):03d}",
                    "ROUTINE",
                )
            )
        for i in rng.choice(pick, size=max(1, len(pick) // 20), replace=False):  # follow-ups
            day = as_of + pd.Timedelta(days=61)
            visits.append(
                (f"F{r}-{i}", ids[i], _compact(day), _compact(day), "0", "OF001", "FOLLOWUP")
            )
    visits = pd.DataFrame(
        visits,
        columns=["visit_ref", "firm", "visit_day", "logged", "verdict", "officer", "visit_type"],
    )
    officers = pd.DataFrame(
        {
            "badge": [f"OF{i:03d}" for i in range(1, 41)],
            "area": [list(AREAS)[i % 4] for i in range(40)],
            "skills": ["REG|FOOD" if i % 2 else "REG|PRICE|QUAL" for i in range(40)],
            "max_visits": rng.integers(20, 60, 40),
        }
    )
    registry.to_csv(folder / "firms.csv", index=False)
    visits.to_csv(folder / "visits.csv", index=False)
    calls.drop(columns=["day", "i"]).to_csv(folder / "calls.csv", index=False)
    officers.to_csv(folder / "officers.csv", index=False)
    path = folder / "city.yaml"
    path.write_text(
        yaml.safe_dump(city_file(**changes), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path


if __name__ == "__main__":  # python -m tests.harbour FOLDER: the worked example's tables
    import sys

    print(write_harbour(Path(sys.argv[1] if len(sys.argv) > 1 else "harbour")))
    print(dt.date.today())
