"""Turn clean events into a department's records: its columns, its key, its units.

`render(kind, ...)` returns a `Records`: a typed frame (dates still dates, amounts still yuan)
plus which columns are the key, the name, dates, amounts and values echoed from the registry.
`mess.py` then spoils it at the configured rates and formats every value as the source writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.domain.industries import LICENCE_DOMAINS

from .activity import World
from .population import ENTITY_TYPE_LABELS, ENTITY_TYPES
from .sources import Source

KEY_COLUMNS = {
    "credit_code": "统一社会信用代码",
    "registration_number": "注册号",
    "organisation_code": "组织机构代码",
}


@dataclass
class Records:
    """A source's records before mess: typed column values plus what each column is.

    Columns are numpy arrays (dates as datetime64, amounts as yuan floats) or Arrow string
    arrays; `name_bits`, when given, is name mess already decided per account (streams).
    """

    columns: dict[str, Any]
    uid: np.ndarray  # the true enterprise behind each record (truth only)
    key: str | None
    name: str
    dates: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    echoes: dict[str, Any] = field(default_factory=dict)  # column -> pool of others' values
    name_bits: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.uid)

    def slice(self, lo: int, hi: int) -> Records:
        return Records(
            {c: v[lo:hi] for c, v in self.columns.items()},
            self.uid[lo:hi],
            self.key,
            self.name,
            self.dates,
            self.amounts,
            self.echoes,
            None if self.name_bits is None else self.name_bits[lo:hi],
        )


def entity_keys(world: World, uid: np.ndarray, key: str) -> pa.Array:
    """The key a department files a record under."""
    take = pa.array(np.asarray(uid))
    credit = world.text("entities", "credit_code").take(take)
    if key == "credit_code":
        return credit
    if key == "registration_number":
        regno = world.text("entities", "registration_number").take(take)
        # Enterprises registered after the 2015 reform never had a number: the code stands in.
        return pc.if_else(pc.is_null(regno), credit, regno)
    if key == "organisation_code":
        return pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(credit, 8, 16), pc.utf8_slice_codeunits(credit, 16, 17), "-"
        )
    raise ValueError(f"unknown key type {key!r}")


def _take(world: World, table: str, column: str, rows: np.ndarray) -> pa.Array:
    return world.text(table, column).take(pa.array(np.asarray(rows)))


def _base(world: World, uid: np.ndarray, source: Source, name_col: str) -> dict:
    cols = {}
    if source.key != "name":
        cols[KEY_COLUMNS[source.key]] = entity_keys(world, uid, source.key)
    cols[name_col] = _take(world, "entities", "name", uid)
    return cols


def _numbers(prefix: str, source: Source, when: np.ndarray, seq: np.ndarray) -> np.ndarray:
    year = pd.DatetimeIndex(when).year.astype(str).to_numpy(dtype=object)
    return (
        prefix
        + "〔"
        + year
        + "〕"
        + source.source_id[1:]
        + "-"
        + pd.Series(seq).astype(str).str.zfill(6).to_numpy(dtype=object)
        + "号"
    )


def _records(frame_cols: dict, uid, source, name, dates, amounts, echoes=None) -> Records:
    key = None if source.key == "name" else KEY_COLUMNS[source.key]
    n = len(uid)
    columns = {
        c: (np.full(n, v, dtype=object) if np.ndim(v) == 0 else np.asarray(v))
        for c, v in frame_cols.items()
    }
    return Records(
        columns, np.asarray(uid, dtype=np.int32), key, name, dates, amounts, echoes or {}
    )


def _seq(ev: pd.DataFrame) -> np.ndarray:
    """Running numbers of the records within their source (1-based), for document numbers."""
    if "seq" in ev:
        return ev["seq"].to_numpy()
    return np.arange(1, len(ev) + 1)


def render(kind: str, events: pd.DataFrame, world: World, source: Source) -> Records:
    """The records `source` holds for these events of `kind`."""
    return RENDERERS[kind](events, world, source)


def _registration(ev, world, source):
    ent = world.entities
    uid = ev["entity_uid"].to_numpy()

    def num(column):
        return ent[column].to_numpy()[uid]

    rep = num("legal_rep_uid")
    dereg = num("deregistered_on")
    cols = _base(world, uid, source, "企业名称")
    # A registry holds both identifiers, whichever one the branch files its records under.
    if source.key != "credit_code":
        cols["统一社会信用代码"] = _take(world, "entities", "credit_code", uid)
    if source.key != "registration_number":
        cols["注册号"] = _take(world, "entities", "registration_number", uid)
    labels = np.array([ENTITY_TYPE_LABELS[t] for t in ENTITY_TYPES], dtype=object)
    type_code = pd.Categorical(ent["entity_type"], categories=ENTITY_TYPES).codes[uid]
    cols.update(
        {
            "企业类型": labels[type_code],
            "法定代表人": _take(world, "persons", "name", rep),
            "法定代表人证件号码": _take(world, "persons", "id_number", rep),
            "行业代码": _take(world, "entities", "industry_code", uid),
            "住所": _take(world, "entities", "address", uid),
            "成立日期": num("founded_on"),
            "注销日期": dereg,
            "登记状态": np.where(np.isnat(dereg), "存续", "注销"),
            "注册资本": num("subscribed_capital"),
            "实缴资本": num("paid_in_capital"),
            "登记机关": source.department,
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(
        cols,
        uid,
        source,
        "企业名称",
        ["成立日期", "注销日期", "入库日期"],
        ["注册资本", "实缴资本"],
    )


def _registration_change(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    m = len(uid)
    rng = np.random.default_rng(int(_seq(ev)[0]) if m else 0)
    item = ev["item"].to_numpy()
    persons = world.text("persons", "name")
    rep = pa.array(item == "法定代表人")
    before = pc.if_else(rep, persons.take(pa.array(rng.integers(0, len(persons), m))), "略")
    after = pc.if_else(rep, persons.take(pa.array(rng.integers(0, len(persons), m))), "略")
    cols = _base(world, uid, source, "企业名称")
    cols.update(
        {
            "变更事项": item,
            "变更前内容": before,
            "变更后内容": after,
            "变更日期": ev["occurred_on"].to_numpy(),
            "登记机关": source.department,
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "企业名称", ["变更日期", "入库日期"], [])


def _shareholder(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    is_ent = ev["holder_is_enterprise"].to_numpy()
    he = ev["holder_entity_uid"].to_numpy()
    hp = ev["holder_person_uid"].to_numpy()
    cols = _base(world, uid, source, "企业名称")
    cols.update(
        {
            "股东名称": pc.if_else(
                pa.array(is_ent),
                _take(world, "entities", "name", np.maximum(he, 0)),
                _take(world, "persons", "name", np.maximum(hp, 0)),
            ),
            "股东类型": np.where(is_ent, "企业法人", "自然人股东"),
            "证照或证件号码": pc.if_else(
                pa.array(is_ent),
                _take(world, "entities", "credit_code", np.maximum(he, 0)),
                _take(world, "persons", "id_number", np.maximum(hp, 0)),
            ),
            "认缴出资额": ev["subscribed"].to_numpy(),
            "认缴出资日期": ev["subscribed_on"].to_numpy(),
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "企业名称", ["认缴出资日期", "入库日期"], ["认缴出资额"])


def _annual_report(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    ent = world.entities
    cols = _base(world, uid, source, "企业名称")
    cols.update(
        {
            "报告年度": ev["year"].to_numpy(),
            "报送日期": ev["occurred_on"].to_numpy(),
            "从业人数": ev["employees"].to_numpy(),
            "社保参保人数": ev["insured_employees"].to_numpy(),
            "营业总收入": ev["revenue"].to_numpy(),
            "资产总额": ev["assets"].to_numpy(),
            "实缴资本": ent["paid_in_capital"].to_numpy()[uid],
            "企业通信地址": _take(world, "entities", "address", uid),
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(
        cols,
        uid,
        source,
        "企业名称",
        ["报送日期", "入库日期"],
        ["营业总收入", "资产总额", "实缴资本"],
        {
            "企业通信地址": world.text("entities", "address"),
            "实缴资本": ent["paid_in_capital"].to_numpy(),
        },
    )


def _abnormal_list(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    cols = _base(world, uid, source, "企业名称")
    cols.update(
        {
            "列入日期": ev["occurred_on"].to_numpy(),
            "列入原因": ev["reason"].to_numpy(),
            "移出日期": ev["removed_on"].to_numpy(),
            "作出决定机关": source.department,
            "入库日期": ev["known_on"].to_numpy(),
            "移出入库日期": ev["removed_known_on"].to_numpy(),
        }
    )
    return _records(
        cols, uid, source, "企业名称", ["列入日期", "移出日期", "入库日期", "移出入库日期"], []
    )


def _dishonesty_list(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    cols = _base(world, uid, source, "企业名称")
    cols.update(
        {
            "列入日期": ev["occurred_on"].to_numpy(),
            "列入原因": ev["reason"].to_numpy(),
            "作出决定机关": source.department,
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "企业名称", ["列入日期", "入库日期"], [])


def _inspection(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    rnd = ev["round"].to_numpy()
    year = pd.DatetimeIndex(ev["round_as_of"].to_numpy()).year.astype(str).to_numpy(dtype=object)
    cols = {
        "抽查任务编号": "FSSJ-"
        + year
        + "-"
        + pd.Series(rnd).astype(str).str.zfill(2).to_numpy(dtype=object)
    }
    cols.update(_base(world, uid, source, "企业名称"))
    cols.update(
        {
            "抽查日期": ev["occurred_on"].to_numpy(),
            "检查结果": ev["result"].to_numpy(),
            "检查人员执法证号": ev["inspectors"].to_numpy(),
            "入选概率": np.round(ev["inclusion_probability"].to_numpy(), 6),
            "实施机关": source.department,
            "公示日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "企业名称", ["抽查日期", "公示日期"], [])


def _penalty(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    reps = world.text("persons", "name").take(pa.array(world.entities["legal_rep_uid"].to_numpy()))
    when = ev["occurred_on"].to_numpy()
    cols = {
        "行政处罚决定书文号": _numbers("佛" + source.department[3:5] + "罚", source, when, _seq(ev))
    }
    cols.update(_base(world, uid, source, "当事人名称"))
    cols.update(
        {
            "法定代表人": reps.take(pa.array(uid)),
            "违法行为类型": ev["violation"].to_numpy(),
            "处罚类别": ev["penalty_kind"].to_numpy(),
            "罚款金额": ev["amount"].to_numpy(),
            "处罚决定日期": when,
            "处罚机关": source.department,
            "公示日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(
        cols,
        uid,
        source,
        "当事人名称",
        ["处罚决定日期", "公示日期"],
        ["罚款金额"],
        {"法定代表人": reps},
    )


def _complaint(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    when = ev["occurred_on"].to_numpy()
    cols = {
        "登记编号": "TS"
        + source.source_id
        + pd.Series(_seq(ev)).astype(str).str.zfill(8).to_numpy(dtype=object)
    }
    cols.update(_base(world, uid, source, "被投诉举报对象"))
    cols.update(
        {
            "登记日期": when,
            "类型": ev["complaint_type"].to_numpy(),
            "问题类别": ev["category"].to_numpy(),
            "处理结果": ev["result"].to_numpy(),
            "承办单位": source.department,
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "被投诉举报对象", ["登记日期", "入库日期"], [])


def _licence(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    when = ev["occurred_on"].to_numpy()
    prefix = {
        "food_business": "JY",
        "food_production": "SC",
        "drug_retail": "粤DA",
        "medical_device": "粤佛食药监械经营许",
        "special_equipment": "TS",
        "cosmetics": "粤妆",
        "industrial_product": "XK",
        "public_hygiene": "粤卫公证字",
    }
    cols = {
        "许可证编号": prefix.get(source.licence_domain, "XK")
        + source.source_id[1:]
        + pd.Series(_seq(ev)).astype(str).str.zfill(8).to_numpy(dtype=object)
    }
    cols.update(_base(world, uid, source, "企业名称"))
    cols.update(
        {
            "许可证名称": LICENCE_DOMAINS[source.licence_domain],
            "发证日期": when,
            "有效期至": ev["valid_until"].to_numpy(),
            "经营场所": _take(world, "entities", "address", uid),
            "发证机关": source.department,
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(
        cols,
        uid,
        source,
        "企业名称",
        ["发证日期", "有效期至", "入库日期"],
        [],
        {"经营场所": world.text("entities", "address")},
    )


def _tax_rating(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    cols = _base(world, uid, source, "纳税人名称")
    cols.update(
        {
            "评价年度": ev["year"].to_numpy(),
            "纳税信用级别": ev["rating"].to_numpy(),
            "发布日期": ev["occurred_on"].to_numpy(),
            "入库日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "纳税人名称", ["发布日期", "入库日期"], [])


def _lawsuit(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    when = ev["occurred_on"].to_numpy()
    year = pd.DatetimeIndex(when).year.astype(str).to_numpy(dtype=object)
    cols = {
        "案号": "("
        + year
        + ")粤06"
        + source.source_id[1:]
        + "民初"
        + pd.Series(_seq(ev)).astype(str).to_numpy(dtype=object)
        + "号"
    }
    cols.update(_base(world, uid, source, "当事人名称"))
    cols.update(
        {
            "诉讼地位": ev["role"].to_numpy(),
            "案由": ev["cause"].to_numpy(),
            "立案日期": when,
            "标的金额": ev["amount"].to_numpy(),
            "审理法院": source.department,
            "推送日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "当事人名称", ["立案日期", "推送日期"], ["标的金额"])


def _enforcement(ev, world, source):
    uid = ev["entity_uid"].to_numpy()
    when = ev["occurred_on"].to_numpy()
    year = pd.DatetimeIndex(when).year.astype(str).to_numpy(dtype=object)
    cols = {
        "执行案号": "("
        + year
        + ")粤06执"
        + pd.Series(_seq(ev)).astype(str).to_numpy(dtype=object)
        + "号"
    }
    cols.update(_base(world, uid, source, "被执行人名称"))
    cols.update(
        {
            "立案日期": when,
            "执行标的": ev["amount"].to_numpy(),
            "执行状态": ev["status"].to_numpy(),
            "执行法院": source.department,
            "推送日期": ev["known_on"].to_numpy(),
        }
    )
    return _records(cols, uid, source, "被执行人名称", ["立案日期", "推送日期"], ["执行标的"])


RENDERERS = {
    "registration": _registration,
    "registration_change": _registration_change,
    "shareholder": _shareholder,
    "annual_report": _annual_report,
    "abnormal_list": _abnormal_list,
    "dishonesty_list": _dishonesty_list,
    "inspection": _inspection,
    "penalty": _penalty,
    "complaint": _complaint,
    "licence": _licence,
    "tax_rating": _tax_rating,
    "lawsuit": _lawsuit,
    "enforcement": _enforcement,
}
