"""One adapter per record kind, on tiny inline tables: every kind reads, every rule is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from riskdraw.domain.codes import org_code_check_char, resident_id_check_char, uscc_check_char
from riskdraw.governance.adapters import Adapter, SchemaError, pseudonymise
from riskdraw.governance.catalogue import SourceEntry, load_kinds
from tests.conftest import ROOT

KINDS = load_kinds(ROOT / "catalogue" / "kinds.yaml")


def _credit_code(body8: str = "MA4UXJ1X") -> str:
    org = body8 + org_code_check_char(body8)
    body = "91440604" + org
    return body + uscc_check_char(body)


CODE = _credit_code()
PERSON = "44060419800101123" + resident_id_check_char("44060419800101123")
SAMPLES = {"FSSJ-": "FSSJ-2023-01", "[0-9]{9}": "440500001;440500002", "[0-9]{4}": "5211"}


def _valid(spec) -> str:
    """A valid delivered text for one field of a kind."""
    kind = spec.type
    if kind == "date":
        return "2030-01-05" if spec.future else "2023-01-05"
    if kind == "amount":
        return "1000"
    if kind in ("integer",):
        return "3"
    if kind == "year":
        return "2022"
    if kind == "number":
        return "0.05"
    if kind == "period":
        return "202301"
    if kind == "enum":
        return spec.allowed[0]
    if kind == "code":
        return next(v for k, v in SAMPLES.items() if k in spec.pattern)
    if kind in ("person_id", "holder_id"):
        return PERSON
    return "佛山某某"


def _source(kind: str, key: str = "credit_code") -> SourceEntry:
    return SourceEntry(
        source_id="S999",
        department="测试局",
        level="city",
        kind=kind,
        format="csv",
        encoding="utf-8",
        key=key,
        date_style="iso",
        amount_unit="yuan",
        file="x.csv",
        owner="测试",
        cadence="daily",
    )


def _table(kind: str, rows: int = 2, **override) -> pa.Table:
    spec = KINDS.kinds[kind]
    columns = {"统一社会信用代码": [CODE] * rows, spec.name: ["佛山市禅城区某某有限公司"] * rows}
    for field in spec.fields.values():
        header = field.column + ("(元)" if field.type == "amount" else "")
        columns[header] = [_valid(field)] * rows
    for column, values in override.items():
        columns[column] = values
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def _broken(adapted) -> dict[str, set]:
    out: dict[str, set] = {}
    for name, _, rule, _ in adapted.issues:
        for r in rule[pd.notna(rule)]:
            out.setdefault(name, set()).add(r)
    return out


@pytest.mark.parametrize("kind", sorted(KINDS.kinds))
def test_every_kind_reads_valid_records_without_issue(kind):
    adapter = Adapter(kind, KINDS.kinds[kind], KINDS.keys)
    adapted = adapter.adapt(_table(kind), _source(kind))
    assert _broken(adapted) == {}
    assert len(adapted.frame) == 2
    assert (adapted.frame["credit_code"] == CODE).all()
    spec = KINDS.kinds[kind]
    occurred = adapted.frame[spec.occurred_on]
    assert occurred.notna().all()


@pytest.mark.parametrize(
    ("kind", "column", "value", "field", "rule"),
    [
        (
            "registration",
            "统一社会信用代码",
            CODE[:-1] + ("1" if CODE[-1] != "1" else "2"),
            "credit_code",
            "credit_code_check",
        ),
        ("registration", "统一社会信用代码", "", "credit_code", "missing_required"),
        ("registration", "成立日期", "2023-02-30", "founded_on", "date_impossible"),
        ("registration", "成立日期", "1900-01-01", "founded_on", "date_out_of_range"),
        ("registration", "成立日期", "sometime", "founded_on", "date_unparseable"),
        ("registration", "企业类型", "有限公司（外星）", "entity_type", "value_not_allowed"),
        ("registration", "行业代码", "52A1", "industry_code", "code_format"),
        (
            "registration",
            "法定代表人证件号码",
            PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2"),
            "legal_rep_id",
            "person_id_check",
        ),
        ("registration", "注册资本(元)", "一百万", "subscribed_capital", "amount_unparseable"),
        ("annual_report", "从业人数", "many", "employees", "integer_unparseable"),
        ("annual_report", "报告年度", "1800", "year", "integer_out_of_range"),
        ("inspection", "入选概率", "1.5", "inclusion_probability", "number_out_of_range"),
        ("social_insurance", "费款所属期", "202313", "period", "period_unparseable"),
        ("licence", "许可证编号", "", "licence_no", "missing_required"),
    ],
)
def test_each_rule_is_named_on_its_field(kind, column, value, field, rule):
    table = _table(kind, **{column: [value, _table(kind)[column][0].as_py()]})
    adapted = Adapter(kind, KINDS.kinds[kind], KINDS.keys).adapt(table, _source(kind))
    broken = _broken(adapted)
    assert rule in broken.get(field, set()), broken
    other = [r for name, _, r, _ in adapted.issues]
    assert all(pd.isna(r[1]) for r in other)  # the second, valid row breaks nothing


def test_checks_across_fields():
    table = _table(
        "registration", **{"注销日期": ["2020-01-01", ""], "成立日期": ["2021-01-01", "2021-01-01"]}
    )
    adapted = Adapter("registration", KINDS.kinds["registration"], KINDS.keys).adapt(
        table, _source("registration")
    )
    assert _broken(adapted) == {"deregistered_on": {"deregistered_before_founded"}}


def test_a_missing_column_fails_the_source_naming_it():
    table = _table("penalty").drop_columns(["处罚决定日期"])
    with pytest.raises(SchemaError, match=r"S999 \(x\.csv\): columns \['处罚决定日期'\] missing"):
        Adapter("penalty", KINDS.kinds["penalty"], KINDS.keys).adapt(table, _source("penalty"))


def test_a_registration_number_column_may_carry_credit_codes():
    table = _table("penalty").drop_columns(["统一社会信用代码"])
    table = table.append_column("注册号", pa.array(["440604000012345"[:-1] + "0", CODE]))
    adapted = Adapter("penalty", KINDS.kinds["penalty"], KINDS.keys).adapt(
        table, _source("penalty", key="registration_number")
    )
    assert adapted.frame["credit_code"].tolist()[1] == CODE
    assert pd.isna(adapted.frame["registration_number"].tolist()[1])


def test_persons_are_pseudonymised_with_a_keyed_hash():
    adapted = Adapter("registration", KINDS.kinds["registration"], KINDS.keys).adapt(
        _table("registration"), _source("registration")
    )
    ids = adapted.frame["legal_rep_id"]
    assert ids.iat[0] == ids.iat[1] and ids.iat[0].startswith("P") and len(ids.iat[0]) == 17
    assert PERSON not in adapted.frame.to_string()
    same = pseudonymise(pd.Series([PERSON]), key=b"k1").iat[0]
    assert same == pseudonymise(pd.Series([PERSON]), key=b"k1").iat[0]
    assert same != pseudonymise(pd.Series([PERSON]), key=b"k2").iat[0]


def test_amounts_in_wan_become_yuan_and_repairs_are_counted():
    table = _table("penalty", **{"罚款金额(元)": ["1.5万", "２００"]})
    adapted = Adapter("penalty", KINDS.kinds["penalty"], KINDS.keys).adapt(
        table, _source("penalty")
    )
    assert np.allclose(adapted.frame["fine"].astype(float), [15000.0, 200.0])
    assert adapted.repairs.get("wan_text") == 1 and adapted.repairs.get("fullwidth") == 1
