"""What enterprises do over the history window: the clean events behind every department's records.

Each kind of event is a table keyed by `entity_uid` with `occurred_on` (when it happened) and
`known_on` (when the record reached the regulator). Rates rise with an enterprise's hidden
conduct trait, so drivers and non-drivers are correlated, as in real data; the violation model
(`drivers.py`) reads only the recorded events, never the trait.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from riskdraw.config import SimulateParams
from riskdraw.domain import inspections
from riskdraw.domain.industries import INDUSTRIES

from .population import Population

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")

COMPLAINT_CATEGORIES = np.array(
    [
        "食品安全",
        "商品质量",
        "价格收费",
        "合同纠纷",
        "虚假宣传",
        "售后服务",
        "计量",
        "特种设备",
        "药品",
        "化妆品",
    ]
)
PENALTY_VIOLATIONS = np.array(
    [
        "未按规定公示信息",
        "销售不符合安全标准的食品",
        "虚假宣传",
        "无照经营",
        "未取得许可从事经营活动",
        "价格违法",
        "计量违法",
        "产品质量不合格",
        "特种设备未定期检验",
        "商标侵权",
    ]
)
PENALTY_KINDS = np.array(
    ["罚款", "警告", "没收违法所得、没收非法财物", "责令停产停业", "罚款;没收违法所得"]
)
LAWSUIT_CAUSES = np.array(
    [
        "买卖合同纠纷",
        "劳动争议",
        "借款合同纠纷",
        "产品责任纠纷",
        "租赁合同纠纷",
        "建设工程施工合同纠纷",
        "服务合同纠纷",
    ]
)
CHANGE_ITEMS = np.array(["法定代表人", "住所", "注册资本", "经营范围", "名称", "股东"])
PROBLEM_RESULTS = np.array(inspections.PROBLEM_RESULTS)
PROBLEM_WEIGHTS = np.array([0.6, 0.22, 0.15, 0.03])
CLEAN_RESULTS = np.array(inspections.CLEAN_RESULTS)
CLEAN_WEIGHTS = np.array([0.9, 0.1])


@dataclass
class Stream:
    """A monthly record stream (social insurance, utilities): who has an account, what's owed.

    Only the months in arrears are events the violation model can read; the full monthly
    records are rendered chunk by chunk when the extract is written.
    """

    kind: str
    department: str
    accounts: np.ndarray  # bool per entity: has an account in this stream
    base_amount: np.ndarray  # float per entity: usual monthly amount
    arrears: pd.DataFrame  # entity_uid, month (datetime64 month start), known_on


@dataclass
class World:
    """The city's truth over the window: the registry plus every event table and stream."""

    params: SimulateParams
    population: Population
    events: dict[str, pd.DataFrame] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)

    _text: dict = field(default_factory=dict, repr=False)

    @property
    def entities(self) -> pd.DataFrame:
        return self.population.entities

    def text(self, table: str, column: str) -> pa.Array:
        """A text column of `entities` or `persons` as one Arrow array (cached).

        Rendering takes rows from these instead of from Python string objects, so forked
        writers never touch (and so never copy) the parent's string objects.
        """
        key = (table, column)
        if key not in self._text:
            frame = self.entities if table == "entities" else self.population.persons
            self._text[key] = pa.array(frame[column].to_numpy(), type=pa.string(), from_pandas=True)
        return self._text[key]

    def add_events(self, kind: str, frame: pd.DataFrame) -> None:
        if kind in self.events:
            frame = pd.concat([self.events[kind], frame], ignore_index=True)
        self.events[kind] = frame


def _d(value) -> np.datetime64:
    return np.datetime64(value, "D")


def active_span(entities: pd.DataFrame, start: np.datetime64, end: np.datetime64):
    """Per enterprise, the part of [start, end) it was open for."""
    lo = np.maximum(entities["founded_on"].to_numpy().astype("datetime64[D]"), start)
    dereg = entities["deregistered_on"].to_numpy().astype("datetime64[D]")
    hi = np.where(np.isnat(dereg), end, np.minimum(dereg, end))
    return lo, np.maximum(hi, lo)


def poisson_events(
    rng: np.random.Generator, rate_per_year: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Events of a Poisson process per enterprise over [lo, hi): (entity_uid, date) arrays."""
    days = (hi - lo).astype(int)
    counts = rng.poisson(rate_per_year * days / 365.25)
    uid = np.repeat(np.arange(len(rate_per_year)), counts)
    offset = (rng.random(len(uid)) * days[uid]).astype(int)
    return uid.astype(np.int32), lo[uid] + offset.astype("timedelta64[D]")


def lag(rng: np.random.Generator, dates: np.ndarray, low: int, high: int) -> np.ndarray:
    """When a record dated `dates` reached the regulator: a delivery lag of low..high days."""
    return dates + rng.integers(low, high + 1, len(dates)).astype("timedelta64[D]")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return np.log(p / (1 - p))


def simulate_activity(rng: np.random.Generator, world: World) -> None:
    """Fill `world` with the background events of the whole window (inspections come later)."""
    p = world.params
    c = p.conduct
    ent = world.entities
    len(ent)
    start, end = _d(p.history_start), _d(p.history_end)
    lo, hi = active_span(ent, start, end)
    trait = ent["conduct"].to_numpy()
    w = c.conduct_weight
    ent["entity_type"].to_numpy()
    section = ent["industry_section"].to_numpy()
    employees = ent["employees"].to_numpy()
    consumer = np.isin(section, ["F", "H", "O"])

    # --- complaints (12315 / 12345): consumer-facing trades draw far more --------------------
    rate = c.complaints_per_year * np.exp(w * trait - w * w / 2) * np.where(consumer, 1.6, 0.4)
    uid, when = poisson_events(rng, rate, lo, hi)
    m = len(uid)
    world.add_events(
        "complaint",
        pd.DataFrame(
            {
                "entity_uid": uid,
                "occurred_on": when,
                "known_on": lag(rng, when, 0, 3),
                "category": COMPLAINT_CATEGORIES[rng.integers(0, len(COMPLAINT_CATEGORIES), m)],
                "complaint_type": np.where(rng.random(m) < 0.7, "投诉", "举报"),
                "result": np.where(rng.random(m) < 0.8, "调解成功", "终止调解"),
            }
        ),
    )

    # --- administrative penalties (background; draws add their own later) -------------------
    rate = c.penalties_per_year * np.exp(w * trait - w * w / 2)
    uid, when = poisson_events(rng, rate, lo, hi)
    world.add_events("penalty", _penalties(rng, uid, when, origin="background"))

    # --- lawsuits and enforcement -----------------------------------------------------------
    size = np.clip(np.log10(2 + employees), 0.5, 3)
    rate = c.lawsuits_per_year * np.exp(w * trait - w * w / 2) * size
    uid, when = poisson_events(rng, rate, lo, hi)
    m = len(uid)
    defendant = rng.random(m) < 0.7
    amount = np.round(np.exp(rng.normal(np.log(8e4), 1.2, m)), -2)
    world.add_events(
        "lawsuit",
        pd.DataFrame(
            {
                "entity_uid": uid,
                "occurred_on": when,
                "known_on": lag(rng, when, 20, 120),
                "role": np.where(defendant, "被告", "原告"),
                "cause": LAWSUIT_CAUSES[rng.integers(0, len(LAWSUIT_CAUSES), m)],
                "amount": amount,
            }
        ),
    )
    enforce = defendant & (rng.random(m) < c.enforcement_share)
    e_when = when[enforce] + rng.integers(150, 400, int(enforce.sum())).astype("timedelta64[D]")
    keep = e_when < end
    e_uid, e_when, e_amount = uid[enforce][keep], e_when[keep], amount[enforce][keep]
    world.add_events(
        "enforcement",
        pd.DataFrame(
            {
                "entity_uid": e_uid,
                "occurred_on": e_when,
                "known_on": lag(rng, e_when, 10, 60),
                "amount": e_amount,
                "status": np.where(rng.random(len(e_uid)) < 0.6, "已结案", "执行中"),
            }
        ),
    )

    # --- registration changes ---------------------------------------------------------------
    rate = c.changes_per_year * np.exp(0.5 * w * trait - (0.5 * w) ** 2 / 2)
    uid, when = poisson_events(rng, rate, lo, hi)
    m = len(uid)
    world.add_events(
        "registration_change",
        pd.DataFrame(
            {
                "entity_uid": uid,
                "occurred_on": when,
                "known_on": lag(rng, when, 0, 5),
                "item": CHANGE_ITEMS[
                    rng.choice(len(CHANGE_ITEMS), m, p=[0.25, 0.25, 0.15, 0.2, 0.05, 0.1])
                ],
            }
        ),
    )

    _annual_reports_and_listings(rng, world, lo, hi, trait)
    _licences(rng, world, trait)
    _tax_ratings(rng, world, trait)
    _streams(rng, world, lo, hi, trait)


def _penalties(rng, uid, when, origin: str) -> pd.DataFrame:
    m = len(uid)
    return pd.DataFrame(
        {
            "entity_uid": uid.astype(np.int32),
            "occurred_on": when,
            "known_on": lag(rng, when, 7, 30),
            "violation": PENALTY_VIOLATIONS[rng.integers(0, len(PENALTY_VIOLATIONS), m)],
            "penalty_kind": PENALTY_KINDS[
                rng.choice(len(PENALTY_KINDS), m, p=[0.5, 0.2, 0.1, 0.05, 0.15])
            ],
            "amount": np.round(np.exp(rng.normal(np.log(6000), 1.1, m)), -1),
            "origin": origin,
        }
    )


def _annual_reports_and_listings(rng, world: World, lo, hi, trait) -> None:
    """Annual reports (due 30 June of the next year), and the abnormal-operation list they feed."""
    p = world.params
    c = p.conduct
    ent = world.entities
    n = len(ent)
    end = _d(p.history_end)
    founded = ent["founded_on"].to_numpy()
    dereg = ent["deregistered_on"].to_numpy()
    indiv = ent["entity_type"].to_numpy() == "individual"
    employees = ent["employees"].to_numpy()
    insured_share = np.clip(rng.beta(4, 1.5, n) - np.where(indiv, 0.4, 0.0), 0, 1)
    revenue_base = np.exp(rng.normal(np.log(8e4), 0.8, n)) * (1 + employees)
    frames, listings = [], []
    first_year = p.history_start.year - 1
    for year in range(first_year, p.history_end.year):
        due = _d(f"{year + 1}-06-30")
        opened = _d(f"{year + 1}-01-01")
        liable = (founded < _d(f"{year}-12-31")) & (np.isnat(dereg) | (dereg > due))
        idx = np.flatnonzero(liable)
        p_miss = _sigmoid(
            _logit(c.annual_report_missing)
            + c.conduct_weight * trait[idx]
            + np.where(indiv[idx], 0.4, -0.2)
        )
        missing = rng.random(len(idx)) < p_miss
        on_time = idx[~missing]
        filed = opened + rng.integers(0, 180, len(on_time)).astype("timedelta64[D]")
        # Some of the missing file late, after they were listed abnormal.
        late_mask = rng.random(int(missing.sum())) < 0.6
        late = idx[missing][late_mask]
        late_filed = due + rng.integers(20, 400, len(late)).astype("timedelta64[D]")
        who = np.concatenate([on_time, late])
        when = np.concatenate([filed, late_filed])
        ok = when < end
        who, when = who[ok], when[ok]
        drift = np.exp(rng.normal(0, 0.15, len(who)))
        emp = np.maximum(np.round(employees[who] * drift), 0).astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "entity_uid": who.astype(np.int32),
                    "year": year,
                    "occurred_on": when,
                    "known_on": lag(rng, when, 0, 3),
                    "employees": emp,
                    "insured_employees": np.floor(emp * insured_share[who]).astype(np.int64),
                    "revenue": np.round(revenue_base[who] * drift, -2),
                    "assets": np.round(revenue_base[who] * rng.uniform(0.3, 2.0, len(who)), -2),
                }
            )
        )
        # Not filed by the due date: listed abnormal in July; removed when the late report comes.
        listed_uid = idx[missing]
        listed_on = _d(f"{year + 1}-07-01") + rng.integers(0, 45, len(listed_uid)).astype(
            "timedelta64[D]"
        )
        removed = np.full(len(listed_uid), NAT)
        removed[late_mask] = late_filed + rng.integers(1, 20, len(late)).astype("timedelta64[D]")
        listings.append(
            pd.DataFrame(
                {
                    "entity_uid": listed_uid.astype(np.int32),
                    "occurred_on": listed_on,
                    "removed_on": removed,
                    "reason": "未依照规定报送年度报告",
                }
            )
        )
    world.add_events("annual_report", pd.concat(frames, ignore_index=True))

    # Unreachable at the registered address.
    rate = c.unreachable_per_year * np.exp(c.conduct_weight * trait)
    uid, when = poisson_events(rng, rate, lo, hi)
    removed = np.where(
        rng.random(len(uid)) < 0.3,
        when + rng.integers(30, 400, len(uid)).astype("timedelta64[D]"),
        NAT,
    )
    listings.append(
        pd.DataFrame(
            {
                "entity_uid": uid,
                "occurred_on": when,
                "removed_on": removed,
                "reason": "通过登记的住所或者经营场所无法联系",
            }
        )
    )
    add_abnormal_listings(rng, world, pd.concat(listings, ignore_index=True))


def add_abnormal_listings(rng, world: World, frame: pd.DataFrame) -> pd.DataFrame:
    """Add listings, dating when each listing and each removal became known; clip to the window.

    Returns the listings added, as stored (so their dishonesty consequences can be derived).
    """
    end = _d(world.params.history_end)
    frame = frame[frame["occurred_on"] < end].copy()
    removed = frame["removed_on"].to_numpy().astype("datetime64[D]")
    removed = np.where(removed < end, removed, NAT)
    frame["removed_on"] = removed
    frame["known_on"] = lag(rng, frame["occurred_on"].to_numpy(), 0, 7)
    frame["removed_known_on"] = np.where(np.isnat(removed), NAT, lag(rng, removed, 0, 7))
    frame = frame.reset_index(drop=True)
    world.add_events("abnormal_list", frame)
    return frame


def derive_dishonesty(rng, world: World, listings: pd.DataFrame) -> None:
    """Three years on the abnormal list without removal: the serious-dishonesty list.

    Derived from `listings` (abnormal listings just added) and merged into the list. It is
    called on every batch as it is added: the background listings before the first round, each
    round's own right after that round. A round's listings all follow its date, so each round
    sees every dishonesty listing dated before it, as the violation model needs. An enterprise
    is listed once, at its earliest listing.
    """
    end = _d(world.params.history_end)
    listed_on = listings["occurred_on"].to_numpy().astype("datetime64[D]")
    since = listed_on + np.timedelta64(3 * 365, "D")
    removed = listings["removed_on"].to_numpy().astype("datetime64[D]")
    stays = np.isnat(removed) | (removed > since)
    # Listing is a decision, not automatic: about a quarter of those eligible are listed.
    hit = stays & (since < end) & (rng.random(len(listings)) < 0.25)
    when = since[hit] + rng.integers(0, 60, int(hit.sum())).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "entity_uid": listings["entity_uid"].to_numpy()[hit].astype(np.int32),
            "occurred_on": when,
            "known_on": lag(rng, when, 0, 10),
            "reason": "被列入经营异常名录届满3年仍未履行相关义务",
        }
    )
    frame = frame[frame["occurred_on"] < end]
    if "dishonesty_list" in world.events:
        frame = pd.concat([world.events["dishonesty_list"], frame], ignore_index=True)
    frame = frame.sort_values(["occurred_on", "entity_uid"], kind="stable")
    world.events["dishonesty_list"] = frame.drop_duplicates("entity_uid").reset_index(drop=True)


def _licences(rng, world: World, trait) -> None:
    """Licences of regulated trades: five-year terms, renewed or left to lapse."""
    p = world.params
    ent = world.entities
    start, end = _d(p.history_start), _d(p.history_end)
    domains = {i.code: i.domains for i in INDUSTRIES}
    founded = ent["founded_on"].to_numpy()
    dereg = ent["deregistered_on"].to_numpy()
    industry = ent["industry_code"].to_numpy()
    frames = []
    q_renew = _sigmoid(_logit(p.conduct.licence_renewal) - p.conduct.conduct_weight * trait)
    for domain in sorted({d for ds in domains.values() for d in ds}):
        holders = np.flatnonzero([domain in domains[code] for code in industry])
        if not len(holders):
            continue
        issued = founded[holders] + rng.integers(0, 60, len(holders)).astype("timedelta64[D]")
        alive = np.ones(len(holders), dtype=bool)
        while alive.any():
            until = issued + np.timedelta64(5 * 365, "D")
            closed = dereg[holders]
            in_window = alive & (until >= start) & (issued < end)
            in_window &= np.isnat(closed) | (issued < closed)
            frames.append(
                pd.DataFrame(
                    {
                        "entity_uid": holders[in_window].astype(np.int32),
                        "domain": domain,
                        "occurred_on": issued[in_window],
                        "valid_until": until[in_window],
                    }
                )
            )
            # Chains that ended long before the window belong to a trade the firm left:
            # only renewals from a year before the window on can lapse.
            renew = (rng.random(len(holders)) < q_renew[holders]) | (
                until < start - np.timedelta64(365, "D")
            )
            alive &= renew & (until < end)
            issued = until - rng.integers(0, 60, len(holders)).astype("timedelta64[D]")
    frame = pd.concat(frames, ignore_index=True)
    frame["known_on"] = lag(rng, frame["occurred_on"].to_numpy(), 0, 5)
    world.add_events("licence", frame)


def _tax_ratings(rng, world: World, trait) -> None:
    """Yearly tax credit ratings A/B/M/C/D, published in April of the next year."""
    p = world.params
    ent = world.entities
    founded = ent["founded_on"].to_numpy()
    dereg = ent["deregistered_on"].to_numpy()
    frames = []
    for year in range(p.history_start.year - 1, p.history_end.year):
        published = _d(f"{year + 1}-04-15")
        if published >= _d(p.history_end):
            break
        rated = (founded < _d(f"{year}-12-31")) & (np.isnat(dereg) | (dereg > published))
        idx = np.flatnonzero(rated)
        new = founded[idx] >= _d(f"{year}-01-01")
        low = rng.random(len(idx)) < _sigmoid(
            _logit(p.conduct.tax_rating_low) + p.conduct.conduct_weight * trait[idx]
        )
        rating = np.where(rng.random(len(idx)) < 0.3, "A", "B").astype(object)
        rating[new] = "M"
        rating[low] = np.where(rng.random(int(low.sum())) < 0.6, "C", "D")
        frames.append(
            pd.DataFrame(
                {
                    "entity_uid": idx.astype(np.int32),
                    "year": year,
                    "occurred_on": published,
                    "rating": rating,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["known_on"] = frame["occurred_on"] + np.timedelta64(1, "D")
    world.add_events("tax_rating", frame)


STREAM_KINDS = ("social_insurance", "medical_insurance", "utility")


def _streams(rng, world: World, lo, hi, trait) -> None:
    """Monthly streams: every account-month is a record; months in arrears are the events."""
    p = world.params
    ent = world.entities
    n = len(ent)
    etype = ent["entity_type"].to_numpy()
    employees = ent["employees"].to_numpy()
    indiv = etype == "individual"
    month0 = np.datetime64(p.history_start, "M")
    departments = {}
    for family in p.sources:
        for kind in family.kinds:
            if kind in STREAM_KINDS:
                for dept in family.depts:
                    key = family.department.replace("{dept}", dept)
                    departments.setdefault((kind, key), None)
    for kind, department in departments:
        if kind == "utility":
            accounts = ~indiv | (rng.random(n) < 0.8)
            base = np.round(np.exp(rng.normal(np.log(600), 0.8, n)) * (1 + employees) ** 0.6, 2)
        else:
            accounts = (employees > 0) & (~indiv | (rng.random(n) < 0.3))
            base = np.round(np.maximum(employees, 1) * rng.uniform(900, 1500, n), 2)
        rate = p.conduct.arrears_months_per_year * np.exp(
            p.conduct.conduct_weight * trait - p.conduct.conduct_weight**2 / 2
        )
        rate = np.where(accounts, rate, 0.0)
        uid, when = poisson_events(rng, rate, lo, hi)
        months = when.astype("datetime64[M]")
        arrears = pd.DataFrame({"entity_uid": uid, "month": months}).drop_duplicates()
        arrears = arrears[arrears["month"] >= month0].reset_index(drop=True)
        month_end = (arrears["month"].to_numpy() + 1).astype("datetime64[D]") - DAY
        arrears["known_on"] = lag(rng, month_end, 15, 45)
        world.streams.append(
            Stream(
                kind=kind,
                department=department,
                accounts=accounts,
                base_amount=base,
                arrears=arrears,
            )
        )
