"""One adapter per record kind, on tiny inline tables: every kind reads, every rule is named."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from riskdraw.domain.codes import org_code_check_char, resident_id_check_char, uscc_check_char
from riskdraw.governance.adapters import Adapter, SchemaError, pseudonymise
from riskdraw.governance.catalogue import FieldSpec, KindSpec, SourceEntry, load_kinds
from riskdraw.governance.privacy import pseudonymise_personal
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
        return "2030-01-05" if spec.future_years else "2023-01-05"
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
        # Plausible ranges, as data in kinds.yaml (10^14 yuan of capital was accepted).
        (
            "registration",
            "注册资本(元)",
            "100000000000000",
            "subscribed_capital",
            "amount_out_of_range",
        ),
        ("shareholder", "认缴出资额(元)", "20000000000000", "subscribed", "amount_out_of_range"),
        ("annual_report", "资产总额(元)", "500000000000000", "assets", "amount_out_of_range"),
        ("penalty", "罚款金额(元)", "1000000000000", "fine", "amount_out_of_range"),
        ("lawsuit", "标的金额(元)", "10000000000000", "amount", "amount_out_of_range"),
        ("annual_report", "从业人数", "5000000", "employees", "integer_out_of_range"),
        ("annual_report", "社保参保人数", "5000000", "insured_employees", "integer_out_of_range"),
        ("social_insurance", "参保人数", "3000000", "insured", "integer_out_of_range"),
        ("utility", "用量", "99999999999", "usage", "integer_out_of_range"),
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


@pytest.mark.parametrize("kind", sorted(KINDS.kinds))
def test_optional_columns_not_delivered_are_empty_of_their_type_and_meet_the_contract(kind):
    """An optional column a department stops sending leaves its field empty, typed as the
    contract wants (a missing amount is NaN, not an object column that fails the source)."""
    from riskdraw.governance.contracts import canonical_schema, enforce

    spec = KINDS.kinds[kind]
    optional = [f.column for f in spec.fields.values() if not f.required]
    table = _table(kind)
    dropped = [c for c in table.column_names if c.removesuffix("(元)") in optional]
    table = table.drop_columns(dropped)
    frame = Adapter(kind, spec, KINDS.keys).adapt(table, _source(kind)).frame
    keep = frame.assign(source_id="S999", row=range(len(frame)))
    keep["occurred_on"] = keep[spec.occurred_on]
    if spec.fields[spec.occurred_on].type == "period":
        keep["occurred_on"] = keep["occurred_on"] + pd.offsets.MonthEnd(0)
    keep["known_on"] = keep[spec.known_on]
    enforce(canonical_schema(kind, spec), keep, "S999")
    for name, field in spec.fields.items():
        if not field.required:
            assert frame[name].isna().all(), name


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


def _adapt(kind: str, table: pa.Table, **options):
    return Adapter(kind, KINDS.kinds[kind], KINDS.keys, **options).adapt(table, _source(kind))


def _pseudonym(field_class: str, value: str) -> str:
    return pseudonymise_personal(field_class, pd.Series([value])).iat[0]


# --- A. every field carries a class --------------------------------------------------------


def test_every_field_of_every_kind_has_a_class():
    for kind, spec in KINDS.kinds.items():
        classes = {name: spec.field_class(name) for name in spec.fields}
        assert all(classes.values()), kind
        assert spec.field_class("credit_code") == "enterprise_key"
        assert spec.field_class("name") == "enterprise_name"
    assert KINDS.class_of("registration", "legal_rep_id") == "person_id"
    assert KINDS.class_of("registration_change", "before") == "free_text"
    assert KINDS.kinds["registration_change"].quarantine_class("before") == "person_name"
    assert KINDS.kinds["shareholder"].quarantine_class("holder_id") == "person_id"
    with pytest.raises(KeyError, match="no field 'nonsense'"):
        KINDS.class_of("registration", "nonsense")


FIELD = {"column": "x", "type": "text", "class": "free_text"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"column": "x", "type": "text"}, "class"),
        (FIELD | {"class": "secret"}, "class"),
        (FIELD | {"type": "amount", "class": "amount"}, "needs a plausible `maximum`"),
        (FIELD | {"type": "integer", "class": "count"}, "needs a plausible `maximum`"),
        (FIELD | {"type": "integer", "class": "count", "maximum": 1.5}, "whole numbers"),
        (FIELD | {"maximum": 3}, "minimum/maximum apply to"),
        (FIELD | {"type": "amount", "class": "free_text", "maximum": 1}, "class free_text"),
        (FIELD | {"type": "person_id", "class": "free_text"}, "class free_text"),
        (FIELD | {"type": "holder_id", "class": "enterprise_key"}, "needs personal_when"),
        (
            FIELD | {"class": "person_name", "personal_when": {"field": "f", "values": ["a"]}},
            "drop personal_when|class",
        ),
        (
            FIELD | {"personal_when": {"field": "f", "values": ["a"], "class": "free_text"}},
            "personal_when.class must be one of",
        ),
        (FIELD | {"future_years": 5}, "future_years applies to dates only"),
    ],
)
def test_a_field_without_a_sound_class_or_range_is_refused(spec, message):
    with pytest.raises(ValidationError, match=message):
        FieldSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "nowhere", "values": ["a"], "class": "person_name"}, "not an enum field"),
        ({"field": "item", "values": ["外星"], "class": "person_name"}, "not allowed values"),
    ],
)
def test_personal_when_must_name_an_allowed_value_of_an_enum_field(rule, message):
    kind = {
        "title": "t",
        "cadence": "daily",
        "name": "名称",
        "occurred_on": "on",
        "known_on": "on",
        "fields": {
            "on": {"column": "日期", "type": "date", "class": "date"},
            "item": {"column": "事项", "type": "enum", "class": "category", "allowed": ["a"]},
            "before": FIELD | {"personal_when": rule},
        },
    }
    with pytest.raises(ValidationError, match=message):
        KindSpec.model_validate(kind)


# --- B. personal data pseudonymised wherever it appears, one pseudonym per person ----------


def test_names_in_registration_changes_are_pseudonymised_when_the_item_is_personal():
    table = _table(
        "registration_change",
        rows=4,
        **{
            "变更事项": ["法定代表人", "股东", "住所", "外星事项"],
            "变更前内容": ["陈华", "王伟", "佛山市禅城区某路1号", "李娜"],
            "变更后内容": ["张  强", "", "佛山市南海区某路2号", "略"],
        },
    )
    frame = _adapt("registration_change", table).frame
    assert frame["before"].tolist() == [
        _pseudonym("person_name", "陈华"),
        _pseudonym("person_name", "王伟"),
        "佛山市禅城区某路1号",  # an address is not personal: kept
        _pseudonym("person_name", "李娜"),  # an item not allowed: personal, the safe side
    ]
    assert frame["after"].iat[0] == _pseudonym("person_name", "张  强")
    assert pd.isna(frame["after"].iat[1])  # missing stays missing
    assert frame["after"].iat[2] == "佛山市南海区某路2号"
    assert "陈华" not in frame.to_string() and "王伟" not in frame.to_string()


def test_one_person_has_one_pseudonym_as_legal_representative_and_shareholder():
    registration = _table(
        "registration", rows=1, **{"法定代表人": ["陈华"], "法定代表人证件号码": [PERSON]}
    )
    other = _credit_code("MA4UXJ2Y")
    shareholder = _table(
        "shareholder",
        **{
            "股东名称": ["陈华", "佛山市禅城区某某贸易有限公司"],
            "股东类型": ["自然人股东", "企业法人"],
            "证照或证件号码": [PERSON.lower() + " ", other],
        },
    )
    change = _table(
        "registration_change", rows=1, **{"变更事项": ["法定代表人"], "变更后内容": ["陈华"]}
    )
    rep = _adapt("registration", registration).frame
    held = _adapt("shareholder", shareholder).frame
    changed = _adapt("registration_change", change).frame
    assert held["holder_name"].iat[0] == rep["legal_rep_name"].iat[0]  # hashed once, not twice
    assert changed["after"].iat[0] == rep["legal_rep_name"].iat[0]
    assert held["holder_id"].iat[0] == rep["legal_rep_id"].iat[0]
    assert rep["legal_rep_name"].iat[0] == _pseudonym("person_name", "陈华")
    # An enterprise holder is an enterprise, not a person: its name and credit code are kept.
    assert held["holder_name"].iat[1] == "佛山市禅城区某某贸易有限公司"
    assert held["holder_id"].iat[1] == other


def test_ids_and_mobile_numbers_in_free_text_are_masked_and_counted():
    wrong_check = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")
    table = _table(
        "registration",
        rows=4,
        **{
            "住所": [
                f"佛山市禅城区某路1号 经营者{PERSON} 电话13812345678",
                "佛山市禅城区某路2号",
                f"订单{wrong_check}",  # not an ID number: its check character fails
                "许可证JY14406040012345",  # 14 digits: neither an ID nor a mobile number
            ],
            "企业名称": ["佛山市某某店15912345678", *["佛山市禅城区某某有限公司"] * 3],
        },
    )
    adapted = _adapt("registration", table)
    address = adapted.frame["address"].tolist()
    token = _pseudonym("person_id", PERSON)
    phone = _pseudonym("person_id", "13812345678")
    assert address[0] == f"佛山市禅城区某路1号 经营者[ID:{token}] 电话[TEL:{phone}]"
    assert address[1:] == ["佛山市禅城区某路2号", f"订单{wrong_check}", "许可证JY14406040012345"]
    assert adapted.frame["name"].iat[0].startswith("佛山市某某店[TEL:P")
    assert adapted.masked == {
        "address": {"personal_id_masked": 1, "phone_masked": 1},
        "name": {"phone_masked": 1},
    }
    assert adapted.repairs["personal_id_masked"] == 1 and adapted.repairs["phone_masked"] == 2
    assert _broken(adapted) == {}


def test_an_enterprise_holder_with_a_persons_id_has_it_masked():
    table = _table("shareholder", rows=1, **{"股东类型": ["企业法人"], "证照或证件号码": [PERSON]})
    adapted = _adapt("shareholder", table)
    assert adapted.frame["holder_id"].iat[0] == f"[ID:{_pseudonym('person_id', PERSON)}]"
    assert adapted.masked == {"holder_id": {"personal_id_masked": 1}}


# --- C. plausibility as data: ranges, and dates bounded by the delivery --------------------


def test_amount_bounds_apply_in_yuan_after_the_unit():
    table = _table("registration", **{"注册资本(元)": ["", ""]}).drop_columns(["注册资本(元)"])
    table = table.append_column("注册资本(万元)", pa.array(["999999999", "1000000001"]))
    adapted = _adapt("registration", table)
    assert adapted.frame["subscribed_capital"].iat[0] == 9_999_999_990_000.0
    assert pd.isna(adapted.frame["subscribed_capital"].iat[1])
    assert _broken(adapted) == {"subscribed_capital": {"amount_out_of_range"}}
    assert adapted.repairs.get("wan_to_yuan") == 1  # the rejected value was not repaired


@pytest.mark.parametrize(
    ("kind", "column", "value", "field", "rule"),
    [
        ("registration", "成立日期", "2023-07-01", "founded_on", "date_after_delivery"),
        ("registration", "入库日期", "2024-01-01", "known_on", "date_after_delivery"),
        ("abnormal_list", "移出入库日期", "2023-07-01", "removed_known_on", "date_after_delivery"),
        ("licence", "有效期至", "2033-07-01", "valid_until", "date_out_of_range"),
        ("social_insurance", "费款所属期", "202307", "period", "date_after_delivery"),
        ("annual_report", "报告年度", "2024", "year", "integer_out_of_range"),
        ("tax_rating", "评价年度", "2024", "year", "integer_out_of_range"),
    ],
)
def test_dates_may_not_lie_after_the_delivery(kind, column, value, field, rule):
    delivered = dt.date(2023, 6, 30)
    table = _table(kind, **{column: [value, _table(kind)[column][0].as_py()]})
    adapted = _adapt(kind, table, delivered_on=delivered)
    assert _broken(adapted).get(field) == {rule}
    assert adapted.frame[field].isna().iat[0]


def test_on_the_delivery_day_and_expiries_within_their_horizon_are_accepted():
    delivered = dt.date(2023, 6, 30)
    table = _table(
        "licence",
        **{"入库日期": ["2023-06-30", "2023-06-29"], "有效期至": ["2033-06-30", "2024-01-01"]},
    )
    assert _broken(_adapt("licence", table, delivered_on=delivered)) == {}


def test_without_a_delivery_date_no_date_lies_after_today():
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    table = _table("registration", **{"成立日期": [tomorrow, "2023-01-05"]})
    assert _broken(_adapt("registration", table)) == {"founded_on": {"date_after_delivery"}}
