"""The enterprise profile's attributes, defined as data: families x windows x aggregations.

Each attribute is one number per `(entity_id, as_of_date)`, computed from the records of one
record kind that were known before `as_of_date` (see `features.profile`). An attribute has a
name, a family (`<kind>:<what it measures>`, e.g. `complaint:count`: all attributes that read
the same facts share a family), the record kinds it reads and a description in Chinese and
English. `ATTRIBUTES` lists them all; `catalogue()` gives them as a table.

Kinds of definition:

- *event* attributes aggregate a kind's events over a window before the as-of date (counts,
  sums, maxima, shares, days since the last one) with Ibis expressions (`Agg`);
- *registry* attributes read the registration record known at the as-of date (age, capital,
  type, industry, district);
- *network* attributes count the other open enterprises sharing an address or a legal
  representative.

Nothing here knows which attributes matter: factor selection finds that from the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import pandas as pd

from riskdraw.domain.industries import LICENCE_DOMAINS, SECTIONS
from riskdraw.domain.inspections import PROBLEM_RESULTS
from riskdraw.domain.registry import ENTITY_TYPES

WINDOWS: tuple[int | None, ...] = (90, 180, 365, 730, 1095, None)
"""Look-back windows in days; None is the whole history."""
NEVER_DAYS = 3650
"""`days_since_*` of an enterprise with no such record: ten years (the history's horizon)."""

Expr = Callable[[ibis.Table], ibis.Value]


@dataclass(frozen=True)
class Attribute:
    """One attribute of the profile.

    Attributes:
        name: column name in the profile, e.g. `complaint_count_365d`.
        family: `<kind>:<measure>`; attributes of one family read the same facts.
        kinds: the record kinds it reads.
        zh, en: what it is, in Chinese and English.
        source: `event`, `registry` or `network` (how `features.profile` builds it).
        expr: for event attributes, the Ibis aggregate over the kind's events (columns of the
            kind plus `as_of_date`), grouped by `(entity_id, as_of_date)`.
        empty: the value where an enterprise has no record of the kind (0 for counts and sums,
            `NEVER_DAYS` for days since, None where unknown stays unknown).
    """

    name: str
    family: str
    kinds: tuple[str, ...]
    zh: str
    en: str
    source: str = "event"
    expr: Expr | None = None
    empty: float | None = 0.0

    @property
    def bounds(self) -> tuple[float, float]:
        """The values the attribute can take. Every attribute counts records, sums amounts, or
        measures days, years, ratings, shares or flags, so none is negative; a share is at most
        1. (Days since the latest record can pass `NEVER_DAYS`, the value put for "never".)"""
        if "_share_" in self.name or self.name.endswith("_share"):
            return 0.0, 1.0
        return 0.0, float("inf")


def _within(t: ibis.Table, days: int | None) -> ibis.Value:
    if days is None:
        return t.entity_id.notnull()  # every record (a column, so that it aggregates)
    return t.occurred_on >= t.as_of_date - ibis.interval(days=days)


def _suffix(days: int | None) -> str:
    return "all" if days is None else f"{days}d"


def _zh_window(days: int | None) -> str:
    return "全部历史" if days is None else f"近{days}天"


def _en_window(days: int | None) -> str:
    return "ever" if days is None else f"in the last {days} days"


def _count(where: Callable[[ibis.Table], ibis.Value] | None, days: int | None) -> Expr:
    def expr(t: ibis.Table) -> ibis.Value:
        cond = _within(t, days)
        if where is not None:
            cond = cond & where(t)
        return cond.ifelse(1, 0).sum()

    return expr


def _sum(value: Callable[[ibis.Table], ibis.Value], days: int | None) -> Expr:
    return lambda t: value(t).sum(where=_within(t, days))


def _max(value: Callable[[ibis.Table], ibis.Value], days: int | None) -> Expr:
    return lambda t: value(t).max(where=_within(t, days))


def _share(where: Callable[[ibis.Table], ibis.Value], days: int | None) -> Expr:
    """Share of the window's records that meet `where` (None where there are none)."""

    def expr(t: ibis.Table) -> ibis.Value:
        inside = _within(t, days)
        hits = (inside & where(t)).ifelse(1, 0).sum().cast("float64")
        return hits / inside.ifelse(1, None).sum()

    return expr


def _days_since(where: Callable[[ibis.Table], ibis.Value] | None = None) -> Expr:
    def expr(t: ibis.Table) -> ibis.Value:
        gap = (t.as_of_date.epoch_seconds() - t.occurred_on.epoch_seconds()) / 86400
        return gap.min(where=where(t) if where is not None else None).floor()

    return expr


def _latest(value: Callable[[ibis.Table], ibis.Value]) -> Expr:
    return lambda t: value(t).argmax(t.known_on)


@dataclass(frozen=True)
class Measure:
    """A thing to count or add up in a kind's records, in every window."""

    kind: str
    measure: str  # the family's second part
    zh: str
    en: str
    where: Callable[[ibis.Table], ibis.Value] | None = None  # which records count
    value: Callable[[ibis.Table], ibis.Value] | None = None  # the amount to add (sum, max)
    aggs: tuple[str, ...] = ("count",)  # of count, sum, max, days_since
    family: str | None = None  # default `<kind>:<measure>`


def _expand(m: Measure) -> list[Attribute]:
    family = m.family or f"{m.kind}:{m.measure}"
    out: list[Attribute] = []
    for agg in m.aggs:
        if agg == "days_since":
            out.append(
                Attribute(
                    f"{m.kind}_{m.measure}_days_since",
                    family,
                    (m.kind,),
                    f"距最近一次{m.zh}的天数",
                    f"days since the last {m.en}",
                    expr=_days_since(m.where),
                    empty=NEVER_DAYS,
                )
            )
            continue
        for days in WINDOWS:
            name = f"{m.kind}_{m.measure}_{agg}_{_suffix(days)}"
            if agg == "count":
                expr, zh, en = _count(m.where, days), f"{m.zh}次数", f"number of {m.en}"
            elif agg == "sum":
                expr, zh, en = _sum(m.value, days), f"{m.zh}合计", f"total {m.en}"
            elif agg == "max":
                expr, zh, en = _max(m.value, days), f"{m.zh}最大值", f"largest {m.en}"
            elif agg == "share":
                expr, zh, en = _share(m.where, days), f"{m.zh}占比", f"share of {m.en}"
            else:
                raise ValueError(f"unknown aggregation {agg!r} for {m.kind}:{m.measure}")
            out.append(
                Attribute(
                    name,
                    family,
                    (m.kind,),
                    f"{_zh_window(days)}{zh}",
                    f"{en} {_en_window(days)}",
                    expr=expr,
                    empty=None if agg == "share" else 0.0,
                )
            )
    return out


def _is(column: str, *values: str) -> Callable[[ibis.Table], ibis.Value]:
    return lambda t: t[column].isin(list(values))


_PROBLEM = _is("result", *PROBLEM_RESULTS)
_STREAMS = {
    "social_insurance": ("社保缴费", "social insurance", "insured", "参保人数", "insured staff"),
    "medical_insurance": ("医保缴费", "medical insurance", "insured", "参保人数", "insured staff"),
    "utility": ("水电费", "utility bill", "usage", "用量", "usage"),
}
_CHANGE_ITEMS = {
    "法定代表人": ("legal_rep", "legal representative"),
    "住所": ("address", "address"),
    "注册资本": ("capital", "registered capital"),
    "经营范围": ("scope", "business scope"),
    "名称": ("name", "name"),
    "股东": ("shareholders", "shareholders"),
}
_COMPLAINT_CATEGORIES = {
    "食品安全": "food",
    "药品": "drugs",
    "特种设备": "special_equipment",
    "计量": "metrology",
    "价格收费": "prices",
    "商品质量": "product_quality",
    "合同纠纷": "contracts",
    "售后服务": "after_sales",
    "虚假宣传": "advertising",
    "化妆品": "cosmetics",
}


def _measures() -> list[Measure]:
    ms = [
        # Complaints and reports (投诉举报).
        Measure(
            "complaint", "count", "投诉举报", "complaints and reports", aggs=("count", "days_since")
        ),
        Measure(
            "complaint",
            "report",
            "举报",
            "reports (举报)",
            _is("complaint_type", "举报"),
            family="complaint:count",
        ),
        Measure(
            "complaint",
            "unresolved",
            "未调解成功的投诉",
            "complaints not settled",
            lambda t: t.result != "调解成功",
            family="complaint:count",
        ),
        # Administrative penalties.
        Measure(
            "penalty", "count", "行政处罚", "administrative penalties", aggs=("count", "days_since")
        ),
        Measure(
            "penalty",
            "fine",
            "罚款金额",
            "fines (yuan)",
            value=lambda t: t.fine.fill_null(0),
            aggs=("sum", "max"),
        ),
        Measure(
            "penalty",
            "market",
            "市场监管部门处罚",
            "penalties by market supervision",
            lambda t: t.authority.contains("市场监督管理局"),
            family="penalty:count",
        ),
        Measure(
            "penalty",
            "severe",
            "责令停产停业或没收",
            "penalties closing the business or confiscating",
            lambda t: t.penalty_kind.contains("停产") | t.penalty_kind.contains("没收"),
            family="penalty:count",
        ),
        # Courts.
        Measure("lawsuit", "count", "涉诉案件", "lawsuits", aggs=("count", "days_since")),
        Measure(
            "lawsuit",
            "defendant",
            "作为被告的诉讼",
            "lawsuits as defendant",
            _is("role", "被告"),
            family="lawsuit:count",
        ),
        Measure(
            "lawsuit",
            "amount",
            "涉诉金额",
            "amounts in dispute (yuan)",
            value=lambda t: t.amount.fill_null(0),
            aggs=("sum", "max"),
        ),
        Measure(
            "enforcement", "count", "被执行案件", "enforcement cases", aggs=("count", "days_since")
        ),
        Measure(
            "enforcement",
            "open",
            "执行中的案件",
            "enforcement cases still open",
            _is("status", "执行中"),
            family="enforcement:count",
        ),
        Measure(
            "enforcement",
            "amount",
            "执行标的",
            "amounts enforced (yuan)",
            value=lambda t: t.amount.fill_null(0),
            aggs=("sum", "max"),
        ),
        # Past inspections (the as-of date's own round is never known yet).
        Measure(
            "inspection", "count", "双随机抽查", "random inspections", aggs=("count", "days_since")
        ),
        Measure(
            "inspection",
            "problem",
            "抽查发现问题",
            "inspections that found a problem",
            _PROBLEM,
            aggs=("count", "share", "days_since"),
        ),
        Measure(
            "inspection",
            "unreachable",
            "抽查无法联系",
            "inspections finding it unreachable",
            _is("result", "通过登记的住所（经营场所）无法联系"),
            family="inspection:problem",
        ),
        # Registration changes.
        Measure(
            "registration_change",
            "count",
            "登记变更",
            "registration changes",
            aggs=("count", "days_since"),
        ),
        # Licences issued.
        Measure("licence", "issued", "取得许可", "licences issued", aggs=("count", "days_since")),
        # Lists.
        Measure(
            "abnormal_list",
            "listed",
            "列入经营异常名录",
            "listings as abnormal",
            aggs=("count", "days_since"),
        ),
        Measure(
            "abnormal_list",
            "no_report",
            "因未报年报列入异常名录",
            "abnormal listings for no annual report",
            _is("reason", "未依照规定报送年度报告"),
            family="abnormal_list:listed",
        ),
        Measure(
            "dishonesty_list",
            "listed",
            "列入严重违法失信名单",
            "listings as seriously dishonest",
            aggs=("count", "days_since"),
        ),
        # Tax credit ratings.
        Measure(
            "tax_rating",
            "low",
            "纳税信用C或D级",
            "tax credit ratings of C or D",
            _is("rating", "C", "D"),
            family="tax_rating:rating",
        ),
        Measure(
            "tax_rating",
            "top",
            "纳税信用A级",
            "tax credit ratings of A",
            _is("rating", "A"),
            family="tax_rating:rating",
        ),
        # Annual reports filed.
        Measure(
            "annual_report",
            "filed",
            "报送年度报告",
            "annual reports filed",
            aggs=("count", "days_since"),
            family="annual_report:missing",
        ),
    ]
    for item, (short, en) in _CHANGE_ITEMS.items():
        ms.append(
            Measure(
                "registration_change",
                short,
                f"{item}变更",
                f"changes of {en}",
                _is("item", item),
                family="registration_change:count",
            )
        )
    for category, short in _COMPLAINT_CATEGORIES.items():
        ms.append(
            Measure(
                "complaint",
                short,
                f"{category}类投诉举报",
                f"complaints about {short}",
                _is("category", category),
                family="complaint:count",
            )
        )
    for kind, (zh, en, _, _, _) in _STREAMS.items():
        ms += [
            Measure(
                kind,
                "arrears",
                f"{zh}欠费月数",
                f"months of {en} in arrears",
                lambda t: t.arrears == "1",
                aggs=("count", "share", "days_since"),
            ),
            Measure(
                kind,
                "months",
                f"{zh}记录月数",
                f"months of {en} records",
                family=f"{kind}:coverage",
            ),
            Measure(
                kind,
                "unpaid",
                f"{zh}欠缴金额",
                f"{en} unpaid (yuan)",
                value=lambda t: (t.due - t.paid).clip(lower=0).fill_null(0),
                aggs=("sum", "max"),
                family=f"{kind}:arrears",
            ),
        ]
    return ms


def _latest_attributes() -> list[Attribute]:
    out = []
    for kind, (zh, en, column, zh_col, en_col) in _STREAMS.items():
        out += [
            Attribute(
                f"{kind}_{column}_latest",
                f"{kind}:{column}",
                (kind,),
                f"最近一月{zh}{zh_col}",
                f"{en_col} in the latest month of {en}",
                expr=_latest(lambda t, c=column: t[c].cast("float64")),
                empty=None,
            ),
            Attribute(
                f"{kind}_{column}_mean_365d",
                f"{kind}:{column}",
                (kind,),
                f"近365天{zh}{zh_col}月均",
                f"mean monthly {en_col} of {en}, last 365 days",
                expr=lambda t, c=column: t[c].cast("float64").mean(where=_within(t, 365)),
                empty=None,
            ),
            Attribute(
                f"{kind}_{column}_max_1095d",
                f"{kind}:{column}",
                (kind,),
                f"近1095天{zh}{zh_col}最高",
                f"highest monthly {en_col} of {en}, 3 years",
                expr=lambda t, c=column: t[c].cast("float64").max(where=_within(t, 1095)),
                empty=None,
            ),
            Attribute(
                f"{kind}_due_sum_365d",
                f"{kind}:amount",
                (kind,),
                f"近365天{zh}应缴合计",
                f"{en} due in the last 365 days (yuan)",
                expr=_sum(lambda t: t.due.fill_null(0), 365),
            ),
        ]
    report = [
        ("employees", "从业人数", "employees"),
        ("insured_employees", "参保人数", "insured employees"),
        ("revenue", "营业收入", "revenue (yuan)"),
        ("assets", "资产总额", "total assets (yuan)"),
        ("paid_in_capital", "实缴资本", "paid-in capital (yuan)"),
    ]
    for column, zh, en in report:
        out += [
            Attribute(
                f"annual_report_{column}_latest",
                f"annual_report:{column}",
                ("annual_report",),
                f"最近一期年报{zh}",
                f"{en} in the latest annual report",
                expr=_latest(lambda t, c=column: t[c].cast("float64")),
                empty=None,
            ),
            Attribute(
                f"annual_report_{column}_max",
                f"annual_report:{column}",
                ("annual_report",),
                f"历年年报{zh}最大值",
                f"largest {en} of any annual report",
                expr=lambda t, c=column: t[c].cast("float64").max(),
                empty=None,
            ),
        ]
    out += [
        Attribute(
            "annual_report_latest_year",
            "annual_report:missing",
            ("annual_report",),
            "最近一期年报所属年度",
            "year of the latest annual report filed",
            expr=lambda t: t.year.max(),
            empty=None,
        ),
        Attribute(
            "tax_rating_latest_score",
            "tax_rating:rating",
            ("tax_rating",),
            "最近一次纳税信用等级(A=4…D=1, M=3)",
            "latest tax credit rating (A=4 … D=1, M=3)",
            expr=_latest(
                lambda t: t.rating.cases(
                    ("A", 4), ("B", 3), ("M", 3), ("C", 2), ("D", 1), else_=None
                )
            ),
            empty=None,
        ),
        Attribute(
            "tax_rating_latest_low",
            "tax_rating:rating",
            ("tax_rating",),
            "最近一次纳税信用为C或D级",
            "latest tax credit rating is C or D",
            expr=_latest(lambda t: t.rating.isin(["C", "D"]).ifelse(1, 0)),
        ),
        Attribute(
            "abnormal_list_listed_now",
            "abnormal_list:listed",
            ("abnormal_list",),
            "当前列入经营异常名录",
            "on the abnormal-operation list at the as-of date",
            expr=lambda t: (
                (t.removed_known_on.isnull() | (t.removed_known_on >= t.as_of_date))
                .ifelse(1, 0)
                .max()
            ),
        ),
        Attribute(
            "dishonesty_list_listed_now",
            "dishonesty_list:listed",
            ("dishonesty_list",),
            "已列入严重违法失信名单",
            "on the serious-dishonesty list",
            expr=lambda t: t.entity_id.notnull().ifelse(1, 0).max(),
        ),
        Attribute(
            "licence_valid_now",
            "licence:lapsed",
            ("licence",),
            "有效许可证数",
            "licences valid at the as-of date",
            expr=lambda t: (t.valid_until >= t.as_of_date).ifelse(1, 0).sum(),
        ),
        Attribute(
            "licence_lapsed_now",
            "licence:lapsed",
            ("licence",),
            "已过期许可证数(同类未续)",
            "licences lapsed and not renewed",
            expr=lambda t: (t.valid_until < t.as_of_date).ifelse(1, 0).sum(),
        ),
        Attribute(
            "licence_lapsed_365d",
            "licence:lapsed",
            ("licence",),
            "近365天过期的许可证数",
            "licences that expired in the last 365 days",
            expr=lambda t: (
                (
                    (t.valid_until < t.as_of_date)
                    & (t.valid_until >= t.as_of_date - ibis.interval(days=365))
                )
                .ifelse(1, 0)
                .sum()
            ),
        ),
        Attribute(
            "licence_days_to_expiry",
            "licence:lapsed",
            ("licence",),
            "距最近一张有效许可证到期天数",
            "days until the next valid licence expires",
            expr=lambda t: (
                ((t.valid_until.epoch_seconds() - t.as_of_date.epoch_seconds()) / 86400)
                .min(where=t.valid_until >= t.as_of_date)
                .floor()
            ),
            empty=None,
        ),
        *[
            Attribute(
                f"licence_valid_{domain}",
                "licence:lapsed",
                ("licence",),
                f"持有有效{name}",
                f"holds a valid {name} ({domain.replace('_', ' ')} licence)",
                expr=lambda t, name=name: (
                    ((t.licence_name == name) & (t.valid_until >= t.as_of_date)).ifelse(1, 0).max()
                ),
            )
            for domain, name in LICENCE_DOMAINS.items()
        ],
        Attribute(
            "licence_kinds",
            "licence:count",
            ("licence",),
            "许可证种类数",
            "kinds of licence ever issued",
            expr=lambda t: t.licence_name.nunique(),
        ),
        Attribute(
            "shareholder_count",
            "shareholder:count",
            ("shareholder",),
            "股东人数",
            "shareholders",
            expr=lambda t: t.count(),
        ),
        Attribute(
            "shareholder_persons",
            "shareholder:count",
            ("shareholder",),
            "自然人股东人数",
            "shareholders who are natural persons",
            expr=_count(_is("holder_type", "自然人股东"), None),
        ),
        Attribute(
            "shareholder_companies",
            "shareholder:count",
            ("shareholder",),
            "企业法人股东人数",
            "shareholders that are enterprises",
            expr=_count(_is("holder_type", "企业法人"), None),
        ),
        Attribute(
            "shareholder_subscribed_sum",
            "shareholder:subscribed",
            ("shareholder",),
            "股东认缴出资合计",
            "capital subscribed by shareholders (yuan)",
            expr=lambda t: t.subscribed.sum(),
        ),
        Attribute(
            "shareholder_subscribed_max_share",
            "shareholder:subscribed",
            ("shareholder",),
            "最大股东认缴占比",
            "largest shareholder's share of subscriptions",
            expr=lambda t: t.subscribed.max() / t.subscribed.sum(),
            empty=None,
        ),
    ]
    return out


def _registry_attributes() -> list[Attribute]:
    def reg(name, family, zh, en, empty=None):
        return Attribute(name, family, ("registration",), zh, en, source="registry", empty=empty)

    out = [
        reg("years_in_existence", "registration:founded_on", "成立年限", "years since founding"),
        reg(
            "subscribed_capital",
            "registration:subscribed_capital",
            "注册资本(认缴)",
            "subscribed registered capital (yuan)",
        ),
        reg(
            "subscribed_capital_log",
            "registration:subscribed_capital",
            "注册资本(对数)",
            "log10 of 1 + subscribed capital",
        ),
        reg(
            "paid_in_capital", "registration:paid_in_capital", "实缴资本", "paid-in capital (yuan)"
        ),
        reg(
            "paid_in_ratio",
            "registration:paid_in_capital",
            "实缴比例",
            "paid-in over subscribed capital",
        ),
        Attribute(
            "licence_missing_required",
            "licence:lapsed",
            ("registration", "licence"),
            "所属行业须持有而无有效许可证的许可种类数",
            "licence domains its industry class requires with no valid licence held",
            source="registry",
            empty=None,
        ),
        reg(
            "regulated_trade",
            "registration:industry_code",
            "属许可监管行业",
            "its industry class is one that licences regulate",
            empty=0.0,
        ),
    ]
    for zh, short in ENTITY_TYPES.items():
        out.append(
            reg(
                f"type_{short}",
                "registration:entity_type",
                f"主体类型为{zh}",
                f"entity type is {short}",
                empty=0.0,
            )
        )
    for section in SECTIONS:
        out.append(
            reg(
                f"industry_{section}",
                "registration:industry_code",
                f"行业门类为{section}",
                f"industry section {section} (GB/T 4754)",
                empty=0.0,
            )
        )
    out += [
        Attribute(
            "same_address_enterprises",
            "registration:address",
            ("registration",),
            "同一住所的其他在营企业数",
            "other open enterprises at the same address",
            source="network",
            empty=0.0,
        ),
        Attribute(
            "same_legal_rep_enterprises",
            "registration:legal_rep",
            ("registration",),
            "同一法定代表人的其他在营企业数",
            "other open enterprises with the same legal representative",
            source="network",
            empty=0.0,
        ),
        Attribute(
            "same_address_abnormal",
            "registration:address",
            ("registration", "abnormal_list"),
            "同一住所的其他企业中列入异常名录的数",
            "other enterprises at the same address ever listed as abnormal",
            source="network",
            empty=0.0,
        ),
        Attribute(
            "same_legal_rep_penalised",
            "registration:legal_rep",
            ("registration", "penalty"),
            "同一法定代表人的其他企业受处罚数",
            "penalties of other enterprises with the same legal representative",
            source="network",
            empty=0.0,
        ),
    ]
    return out


def _district_attributes(districts: list[str]) -> list[Attribute]:
    return [
        Attribute(
            f"district_{code}",
            "registration:district",
            ("registration",),
            f"登记机关所在区划{code}",
            f"registered in district {code}",
            source="registry",
            empty=0.0,
        )
        for code in districts
    ]


def event_attributes() -> list[Attribute]:
    out: list[Attribute] = []
    for m in _measures():
        out += _expand(m)
    return out + _latest_attributes()


def attributes(districts: list[str] | None = None) -> list[Attribute]:
    """Every attribute: event, registry and network; one per district code given."""
    return event_attributes() + _registry_attributes() + _district_attributes(districts or [])


def catalogue(attrs: list[Attribute]) -> pd.DataFrame:
    """The attributes as a table: name, family, kinds, source, Chinese and English description."""
    return pd.DataFrame(
        {
            "name": [a.name for a in attrs],
            "family": [a.family for a in attrs],
            "kinds": [", ".join(a.kinds) for a in attrs],
            "source": [a.source for a in attrs],
            "zh": [a.zh for a in attrs],
            "en": [a.en for a in attrs],
        }
    )


def catalogue_markdown(table: pd.DataFrame) -> str:
    """The attribute catalogue as a Markdown page, grouped by family."""
    lines = [
        "# The enterprise profile's attributes",
        "",
        f"{len(table)} attributes in {table['family'].nunique()} families, one value per "
        "`(entity_id, as_of_date)`, each from records known before the as-of date. Generated by "
        "`riskdraw profile` from `src/features/attributes.py`; do not edit.",
        "",
        "| attribute | family | reads | 说明 | description |",
        "|---|---|---|---|---|",
    ]
    for row in table.sort_values(["family", "name"], kind="stable").itertuples():
        lines.append(f"| `{row.name}` | {row.family} | {row.kinds} | {row.zh} | {row.en} |")
    return "\n".join(lines) + "\n"
