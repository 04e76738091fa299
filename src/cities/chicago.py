"""Chicago's food inspections as a riskdraw city.

The City of Chicago published the data behind its own inspection-targeting model
(Chicago/food-inspections-evaluation, MIT licence; `catalogue/chicago/`): canvass inspections
of food establishments, 2011-09 to 2014-10, each labelled by whether it found a critical
violation, with features the city built per inspection from several departments (business
licences, 311 sanitation complaints, burglaries, garbage carts, weather) and the sanitarian
group that inspected. Four raw downloads behind those features (business licences, crime,
food inspections, garbage carts) were not published, so this adapter starts from the city's
per-inspection features (its model table), not from raw records: an establishment's profile
here is the city's, as of each inspection.

The adapter maps that table onto riskdraw's labelled rounds: `entity_id` is the licence,
`problem` is "a critical violation was found", every row was inspected (canvass inspections
are not a random draw, so `inclusion_probability` is 1), and the rows are grouped into rounds
of `period_days` counted back from the city's last training inspection; the city's test period
(its `Test` rows, 2014-09-02..2014-10-31) is the one held-out round. `as_of_date` is the
round's first day; each row keeps its own `inspection_date`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pda
from pandera.errors import SchemaErrors
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

DATA_FILE = "30_xgboost_data.csv.gz"
INSPECTOR = "Inspector_Assigned"
INSPECTOR_GROUPS = ("blue", "brown", "green", "orange", "purple", "yellow")
FACILITY_TYPES = ("Restaurant", "Grocery_Store", "Other")

# What an inspection finds, or the city's own outputs: never attributes.
OUTCOMES = (
    "criticalCount", "seriousCount", "minorCount", "pass_flag", "fail_flag", "criticalFound",
    "score",
)  # fmt: skip
ATTRIBUTES = (
    "pastFail", "pastCritical", "pastSerious", "pastMinor", "timeSinceLast", "firstRecord",
    "ageAtInspection", "consumption_on_premises_incidental_activity",
    "tobacco_retail_over_counter", "package_goods", "limited_business_license", "outdoor_patio",
    "public_place_of_amusement", "childrens_services_facility_license", "tavern",
    "regulated_business_license", "filling_station", "caterers_liquor_license",
    "mobile_food_license", "heat_burglary", "heat_garbage", "heat_sanitation",
    "precipIntensity", "temperatureMax", "windSpeed", "humidity",
)  # fmt: skip
"""The establishment's attributes as the city built them (facility type is added as flags)."""


def _schema() -> pda.DataFrameSchema:
    flag = [pda.Check.isin([0, 1])]
    count = [pda.Check.ge(0)]
    columns = {
        "Inspection_ID": pda.Column(float, count, unique=True),
        "License": pda.Column(int, pda.Check.gt(0)),
        "Inspection_Date": pda.Column("datetime64[ns]", coerce=True),
        "Facility_Type": pda.Column(str, pda.Check.isin(FACILITY_TYPES)),
        INSPECTOR: pda.Column(str, pda.Check.isin(INSPECTOR_GROUPS)),
        "criticalFound": pda.Column(float, flag),
        "Test": pda.Column(bool),
        "Train": pda.Column(bool),
        **{a: pda.Column(float) for a in ATTRIBUTES},
        **{c: pda.Column(float, count) for c in ("pastFail", "pastCritical", "pastSerious")},
        "humidity": pda.Column(float, [pda.Check.ge(0), pda.Check.le(1)]),
    }
    checks = [pda.Check(lambda d: d["Test"] != d["Train"], error="in exactly one of Test, Train")]
    return pda.DataFrameSchema(columns, checks=checks)


def read_inspections(folder: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The city's inspections, checked row by row.

    Returns:
        (accepted, quarantined): every row of the file is in one of them; `quarantined` has the
        row's `Inspection_ID`, `row` (0-based in the file), `field`, `rule` and `value`.

    Raises:
        FileNotFoundError / ValueError: naming the file and the missing columns.
    """
    path = Path(folder) / DATA_FILE
    raw = pd.read_csv(path)
    needed = {"Inspection_ID", "License", "Inspection_Date", "Facility_Type", INSPECTOR}
    missing = sorted((needed | set(ATTRIBUTES) | {"criticalFound", "Test", "Train"}) - set(raw))
    if missing:
        raise ValueError(f"{path}: columns missing: {missing}")
    try:
        accepted = _schema().validate(raw, lazy=True)
        return accepted, _quarantine(pd.DataFrame())
    except SchemaErrors as err:
        cases = err.failure_cases
        bad = cases.dropna(subset=["index"]).astype({"index": int})
        whole_row = (bad["schema_context"] == "DataFrameSchema").to_numpy()
        quarantined = pd.DataFrame(
            {
                "row": bad["index"].to_numpy(),
                "field": np.where(whole_row, "(row)", bad["column"].astype(str)),
                "rule": bad["check"].astype(str).to_numpy(),
                "value": np.where(whole_row, "", bad["failure_case"].astype(str)),
            }
        ).drop_duplicates(["row", "field"])  # one reason per field: the first rule it broke
        quarantined["Inspection_ID"] = raw.loc[quarantined["row"], "Inspection_ID"].to_numpy()
        keep = ~raw.index.isin(quarantined["row"])
        accepted = _schema().validate(raw[keep])
        return accepted, _quarantine(quarantined)


def _quarantine(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["Inspection_ID", "row", "field", "rule", "value"]
    return frame.reindex(columns=columns).reset_index(drop=True)


def labelled_rounds(inspections: pd.DataFrame, period_days: int) -> pd.DataFrame:
    """The inspections as riskdraw's labelled rounds (see the module docstring).

    Columns: inspection_id, entity_id, as_of_date (the round), inspection_date, snapshot, inspected,
    problem, inclusion_probability, inspector_group, the attributes and facility-type flags.
    """
    date = pd.to_datetime(inspections["Inspection_Date"])
    test = inspections["Test"].to_numpy(dtype=bool)
    last_train = date[~test].max()
    back = ((last_train - date).dt.days // period_days).to_numpy()
    start = last_train - pd.to_timedelta((back + 1) * period_days - 1, unit="D")
    round_ = np.where(test, date[test].min(), start)
    frame = pd.DataFrame(
        {
            "inspection_id": inspections["Inspection_ID"].astype(int).to_numpy(),
            "entity_id": "CHI-" + inspections["License"].astype(str),
            "as_of_date": pd.to_datetime(round_),
            "inspection_date": date.to_numpy(),
            "snapshot": "round",
            "inspected": True,
            "problem": inspections["criticalFound"].astype(int).to_numpy(),
            "inclusion_probability": 1.0,
            "inspector_group": inspections[INSPECTOR].to_numpy(),
        }
    )
    attributes = inspections[list(ATTRIBUTES)].astype(float).reset_index(drop=True)
    facility = {
        f"facility_{t.lower()}": (inspections["Facility_Type"] == t).to_numpy(dtype=float)
        for t in FACILITY_TYPES[:-1]
    }
    return pd.concat([frame, attributes.assign(**facility)], axis=1)


def attribute_names(frame: pd.DataFrame) -> list[str]:
    """The establishment attributes of a `labelled_rounds` frame (not the inspector group)."""
    return [*ATTRIBUTES, *(c for c in frame.columns if c.startswith("facility_"))]


def inspector_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per sanitarian group, `inspector_<colour>`."""
    return pd.DataFrame(
        {f"inspector_{g}": (frame["inspector_group"] == g).astype(float) for g in INSPECTOR_GROUPS},
        index=frame.index,
    )


def city_model_matrix(frame: pd.DataFrame, with_inspector: bool) -> pd.DataFrame:
    """The inputs of the city's published model: past serious and critical violations (capped
    at 1), days since the last inspection, licence older than 4 years, two licence types,
    the 3-day mean of the maximum temperature, the three heat values (capped 70/70/50); with
    the inspector group as flags (one group left out as the reference)."""
    x = pd.DataFrame(
        {
            "past_serious": frame["pastSerious"].clip(upper=1),
            "past_critical": frame["pastCritical"].clip(upper=1),
            "time_since_last": frame["timeSinceLast"],
            "age_over_4": (frame["ageAtInspection"] > 4).astype(float),
            "consumption_on_premises": frame["consumption_on_premises_incidental_activity"],
            "tobacco": frame["tobacco_retail_over_counter"],
            "temperature_max": frame["temperatureMax"],
            "heat_burglary": frame["heat_burglary"].clip(upper=70),
            "heat_sanitation": frame["heat_sanitation"].clip(upper=70),
            "heat_garbage": frame["heat_garbage"].clip(upper=50),
        },
        index=frame.index,
    )
    if with_inspector:
        x = pd.concat([x, inspector_flags(frame).iloc[:, 1:]], axis=1)
    return x.astype(float)


class CityModel(ClassifierMixin, BaseEstimator):
    """The city's published model, re-fitted: logistic regression on `city_model_matrix`.

    The city fitted it with glmnet (ridge, only the inspector flags penalised, at the smallest
    lambda of its path, i.e. almost unpenalised); an unpenalised fit with one group as the
    reference gives the same ranking.
    """

    def __init__(self, with_inspector: bool = True) -> None:
        self.with_inspector = with_inspector

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> CityModel:
        self.model_ = LogisticRegression(C=np.inf, max_iter=5000).fit(
            city_model_matrix(X, self.with_inspector), np.asarray(y, dtype=int), sample_weight
        )
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(city_model_matrix(X, self.with_inspector))


def families(frame: pd.DataFrame) -> dict[str, str]:
    """attribute -> family for the profile's metadata: each of the city's attributes is its own
    family; the inspector-group flags, when present, are `inspector`."""
    out = {a: a for a in attribute_names(frame)}
    return out | {c: "inspector" for c in frame.columns if c.startswith("inspector_")}


def profile(
    folder: Path | str, period_days: int, with_inspector: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The city's inspections as a riskdraw profile (`labelled_rounds`, optionally with the
    inspector-group flags) and the rows refused (`read_inspections`)."""
    accepted, refused = read_inspections(folder)
    frame = labelled_rounds(accepted, period_days)
    if with_inspector:
        frame = frame.join(inspector_flags(frame))
    return frame.drop(columns=["inspector_group"]), refused


def write_profile(settings, out: Path) -> dict:
    """The `profile` stage for this city (`profile.city: chicago`): one Parquet file per round
    in `out`, as the simulated city's, each carrying the attributes' families in its metadata
    (`features.profile.FAMILIES_KEY`) for select and tune to read; returns the stage's report.

    Args:
        settings: the `chicago` section (`ChicagoParams`).
        out: the profile's folder (written beside itself and swapped in whole on success).
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskdraw.features.profile import FAMILIES_KEY
    from riskdraw.outputs import staged_folder, write_completion

    inputs = {"data": Path(settings.data)}
    with staged_folder(out, inputs) as work:  # refuses an output over the city's files
        frame, refused = profile(settings.data, settings.period_days, settings.with_inspector)
        meta = {FAMILIES_KEY: json.dumps(families(frame)).encode()}
        rows_by_date = {}
        for date, rows in frame.groupby("as_of_date"):
            table = pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
            pq.write_table(table, work / f"as_of={date.date()}.parquet")
            rows_by_date[str(date.date())] = len(rows)
        write_completion(work, "profile", inputs, counts={"rows_by_as_of_date": rows_by_date})
    rounds = frame.groupby("as_of_date")["problem"].agg(["size", "mean"])
    return {
        "city": "chicago",
        "rows_in": len(frame) + int(refused["row"].nunique()),
        "rows_quarantined": int(refused["row"].nunique()),
        "attributes": len(families(frame)),
        "snapshots": [
            {
                "as_of_date": str(d.date()),
                "snapshot": "round",
                "rows": int(r["size"]),
                "hit_rate": float(r["mean"]),
            }
            for d, r in rounds.iterrows()
        ],
    }
