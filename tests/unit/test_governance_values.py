"""Parsing delivered text into typed values: every rule, every repair, and round trips."""

import re
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdraw.domain.codes import USCC_CHARSET, is_valid_uscc, uscc_check_char
from riskdraw.domain.dates import DATE_STYLES, format_dates
from riskdraw.domain.names import to_fullwidth, to_halfwidth
from riskdraw.governance.values import (
    REPAIR_SEPARATOR,
    REPAIRS,
    RULES,
    Parsed,
    clean_text,
    key_kind,
    parse_amounts,
    parse_credit_codes,
    parse_dates,
    parse_enum,
    parse_integers,
    parse_organisation_codes,
    parse_registration_numbers,
)

MIDEA = "91440606722473344C"  # Midea Group's credit code; its organisation code is 72247334-4
ORG = "722473344"
REGNO = "440301103097413"  # Huawei's old registration number


def wrong_last(code: str) -> str:
    """``code`` with its last character replaced by another valid-looking one."""
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def bad_embedded_org_check(code: str) -> str:
    """A credit code whose GB 32100 check is right but whose organisation-code check is wrong."""
    body = code[:16] + ("1" if code[16] != "1" else "2")
    return body + uscc_check_char(body)


def one(parsed: Parsed) -> tuple[object, object, object]:
    """The single row of a one-value parse as (value, rule, repair), value as a Python object."""
    values = parsed.values
    value = values[0].as_py() if isinstance(values, pa.Array) else values[0]
    return value, parsed.rule[0], parsed.repair[0]


# ---------------------------------------------------------------------------------------------
# dates


@pytest.mark.parametrize(
    ("text", "style", "expected", "rule", "repair"),
    [
        ("2023-01-05", "iso", "2023-01-05", None, None),
        ("2023/1/5", "slash", "2023-01-05", None, None),
        ("20230105", "compact", "2023-01-05", None, None),
        ("2023年1月5日", "chinese", "2023-01-05", None, None),
        ("2023.01.05", "dot", "2023-01-05", None, None),
        ("44931", "excel", "2023-01-05", None, None),
        ("2023/1/5", "iso", "2023-01-05", None, "date_style"),
        ("20230105", "iso", "2023-01-05", None, "date_style"),
        ("2023年01月05日", "dot", "2023-01-05", None, "date_style"),
        ("44931", "iso", "2023-01-05", None, "date_style"),
        ("2023-1-5", "iso", "2023-01-05", None, None),  # padding is not a style
        ("2023/1/5", None, "2023-01-05", None, None),  # no declared style, no style repair
        ("２０２３年１月５日", "chinese", "2023-01-05", None, "fullwidth"),
        ("２０２３－０１－０５", "slash", "2023-01-05", None, "fullwidth+date_style"),
        (" 2023-01-05\u3000", "iso", "2023-01-05", None, "whitespace"),
        ("2024年2月29日", "chinese", "2024-02-29", None, None),
        ("2023年2月30日", "chinese", None, "date_impossible", None),
        ("２０２３年２月３０日", "chinese", None, "date_impossible", None),
        ("2023-13-05", "iso", None, "date_impossible", None),
        ("2023.06.00", "dot", None, "date_impossible", None),
        ("20230229", "compact", None, "date_impossible", None),
        ("-1", "excel", None, "date_impossible", None),
        ("0", "iso", None, "date_impossible", None),
        ("1900-01-01", "iso", None, "date_out_of_range", None),
        ("19000101", "compact", None, "date_out_of_range", None),
        ("1949-09-30", "iso", None, "date_out_of_range", None),
        ("2027-01-01", "iso", None, "date_out_of_range", None),
        ("60", "excel", None, "date_out_of_range", None),
        ("abc", "iso", None, "date_unparseable", None),
        ("2023-01/05", "iso", None, "date_unparseable", None),
        ("2023年1月5", "chinese", None, "date_unparseable", None),
        ("202301", "compact", None, "date_unparseable", None),
        ("449310", "excel", None, "date_unparseable", None),
        ("2023-01-05 00:00:00", "iso", None, "date_unparseable", None),
        ("", "iso", None, None, None),
        ("  ", "iso", None, None, "whitespace"),
    ],
)
def test_parse_dates(text: str, style: str | None, expected, rule, repair) -> None:
    value, got_rule, got_repair = one(parse_dates(pa.array([text]), style))
    want = np.datetime64("NaT") if expected is None else np.datetime64(expected, "D")
    assert (np.isnat(value) and np.isnat(want)) or value == want
    assert (got_rule, got_repair) == (rule, repair)


def test_parse_dates_bounds_are_parameters() -> None:
    parsed = parse_dates(pa.array(["1900-03-01", "2099-12-31"]), earliest=None, latest=None)
    assert parsed.ok.all()
    parsed = parse_dates(pa.array(["2020-01-01"]), earliest=date(2021, 1, 1))
    assert parsed.rule.tolist() == ["date_out_of_range"]


def test_parse_dates_rejects_unknown_style() -> None:
    with pytest.raises(ValueError, match="unknown date style 'us'"):
        parse_dates(pa.array(["2023-01-05"]), "us")


@pytest.mark.parametrize("style", DATE_STYLES)
def test_parse_dates_reads_back_every_style(style: str) -> None:
    rng = np.random.default_rng(DATE_STYLES.index(style))
    first, last = np.datetime64("1949-10-01"), np.datetime64("2026-12-31")
    span = int((last - first).astype(int)) + 1
    days = first + rng.integers(0, span, 3_000).astype("timedelta64[D]")
    days = np.concatenate([days, [first, last]])
    text = pa.array(format_dates(days, style), type=pa.string())

    parsed = parse_dates(text, style)
    assert (parsed.values == days).all()
    assert parsed.ok.all() and (parsed.repair == None).all()  # noqa: E711

    other = next(s for s in DATE_STYLES if s != style)
    assert parse_dates(text, other).repaired_counts() == {"date_style": len(days)}


def test_parse_dates_keeps_row_order_over_repeated_values() -> None:
    text = ["2023-01-05", "", "2023/1/5", "2023-01-05", "2023年2月30日", "x", "2023-01-05"]
    parsed = parse_dates(pd.Series(text), "iso")
    assert parsed.values.astype(str).tolist() == [
        "2023-01-05", "NaT", "2023-01-05", "2023-01-05", "NaT", "NaT", "2023-01-05"
    ]  # fmt: skip
    assert parsed.rule.tolist() == [None] * 4 + ["date_impossible", "date_unparseable", None]
    assert parsed.missing.tolist() == [False, True] + [False] * 5
    assert parsed.ok.tolist() == [True] * 4 + [False, False, True]


# ---------------------------------------------------------------------------------------------
# amounts


@pytest.mark.parametrize(
    ("text", "unit", "expected", "rule", "repair"),
    [
        ("39000", "yuan", 39000.0, None, None),
        ("1234.56", "yuan", 1234.56, None, None),
        ("12.5万", "yuan", 125000.0, None, "wan_text"),
        ("12.5万元", "yuan", 125000.0, None, "wan_text"),
        ("56.8", "wan", 568000.0, None, "wan_to_yuan"),
        ("0.12345", "wan", 1234.5, None, "wan_to_yuan"),
        ("12.5万", "wan", 125000.0, None, "wan_text+wan_to_yuan"),
        ("1234元", "wan", 1234.0, None, "yuan_text"),
        ("1234元", "yuan", 1234.0, None, "yuan_text"),
        ("1,234,567.5", "yuan", 1234567.5, None, "thousands_separator"),
        ("1,234", "wan", 12340000.0, None, "thousands_separator+wan_to_yuan"),
        ("１２３４", "yuan", 1234.0, None, "fullwidth"),
        ("１２．５万", "yuan", 125000.0, None, "fullwidth+wan_text"),
        (" 39000 ", "yuan", 39000.0, None, "whitespace"),
        ("-0", "yuan", 0.0, None, None),
        ("-5", "yuan", np.nan, "amount_negative", None),
        ("-1.5万", "yuan", np.nan, "amount_negative", None),
        ("abc", "yuan", np.nan, "amount_unparseable", None),
        ("1.2.3", "yuan", np.nan, "amount_unparseable", None),
        ("12,34", "yuan", np.nan, "amount_unparseable", None),
        ("1e5", "yuan", np.nan, "amount_unparseable", None),
        ("12.5亿", "yuan", np.nan, "amount_unparseable", None),
        ("", "wan", np.nan, None, None),
    ],
)
def test_parse_amounts(text: str, unit: str, expected: float, rule, repair) -> None:
    value, got_rule, got_repair = one(parse_amounts(pa.array([text]), unit))
    assert value == expected or (np.isnan(value) and np.isnan(expected))
    assert (got_rule, got_repair) == (rule, repair)


def test_parse_amounts_converts_wan_exactly() -> None:
    yuan = np.random.default_rng(0).integers(0, 10**12, 5_000)
    text = [f"{y // 10_000}.{y % 10_000:04d}" for y in yuan]
    parsed = parse_amounts(pa.array(text), "wan")
    assert (parsed.values == yuan.astype(float)).all()
    assert parsed.repaired_counts() == {"wan_to_yuan": len(yuan)}


def test_parse_amounts_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown amount unit 'usd'"):
        parse_amounts(pa.array(["1"]), "usd")


# ---------------------------------------------------------------------------------------------
# integers and text


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        ("12", 12, None, None),
        ("+3", 3, None, None),
        ("0", 0, None, None),
        ("000000000000000000012", 12, None, None),
        ("1,000", 1000, None, "thousands_separator"),
        ("１２", 12, None, "fullwidth"),
        (" 12\t", 12, None, "whitespace"),
        ("-1", None, "integer_out_of_range", None),
        ("1001", None, "integer_out_of_range", None),
        ("99999999999999999999", None, "integer_out_of_range", None),
        ("1.5", None, "integer_unparseable", None),
        ("12人", None, "integer_unparseable", None),
        ("", None, None, None),
    ],
)
def test_parse_integers(text: str, expected: int | None, rule, repair) -> None:
    assert one(parse_integers(pa.array([text]), maximum=1000)) == (expected, rule, repair)


def test_parse_integers_without_bounds() -> None:
    parsed = parse_integers(pa.array(["-7", "123456789012345678"]), minimum=None)
    assert parsed.values.to_pylist() == [-7, 123456789012345678]


@pytest.mark.parametrize(
    ("text", "expected", "repair"),
    [
        ("佛山市美的电器有限公司", "佛山市美的电器有限公司", None),
        (" 佛山市 美的 ", "佛山市 美的", "whitespace"),
        ("ＡＢＣ（佛山）", "ABC(佛山)", "fullwidth"),
        ("\u3000ＡＢＣ\ufeff", "ABC", "whitespace+fullwidth"),
        ("佛山市\u3000美的", "佛山市 美的", "fullwidth"),
        ("", None, None),
        ("   ", None, "whitespace"),
    ],
)
def test_clean_text(text: str, expected: str | None, repair) -> None:
    assert one(clean_text(pa.array([text]))) == (expected, None, repair)


# ---------------------------------------------------------------------------------------------
# enumerations

STATUSES = ["存续", "注销", "吊销", "(个体)", "有限责任公司（自然人独资）"]
ALIASES = {"在业": "存续", "开业": "存续"}


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        ("存续", "存续", None, None),
        (" 注销 ", "注销", None, "whitespace"),
        ("在业", "存续", None, "alias"),
        ("\u3000开业", "存续", None, "whitespace+alias"),
        ("（个体）", "(个体)", None, "fullwidth"),
        ("有限责任公司（自然人独资）", "有限责任公司（自然人独资）", None, None),
        ("有限责任公司(自然人独资)", "有限责任公司（自然人独资）", None, "fullwidth"),
        ("迁出", None, "value_not_allowed", None),
        ("", None, None, None),
    ],
)
def test_parse_enum(text: str, expected: str | None, rule, repair) -> None:
    assert one(parse_enum(pa.array([text]), STATUSES, ALIASES)) == (expected, rule, repair)


@pytest.mark.parametrize(
    ("allowed", "aliases", "match"),
    [
        ([], None, "at least one value"),
        (["存续"], {"在业": "营业"}, "not allowed: \\['营业'\\]"),
        (["存续", "在业"], {"在业": "存续"}, "must not be allowed values"),
        (["(个体)", "（个体）"], None, "character width"),
    ],
)
def test_parse_enum_rejects_bad_vocabulary(allowed, aliases, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_enum(pa.array(["存续"]), allowed, aliases)


# ---------------------------------------------------------------------------------------------
# identifiers


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        (MIDEA, MIDEA, None, None),
        (to_fullwidth(MIDEA), MIDEA, None, "fullwidth"),
        (" " + MIDEA.lower(), MIDEA, None, "whitespace+case"),
        ("9144 0606 7224 7334 4C", MIDEA, None, "whitespace"),
        (wrong_last(MIDEA), None, "credit_code_check", None),
        (to_fullwidth(wrong_last(MIDEA)), None, "credit_code_check", None),
        (bad_embedded_org_check(MIDEA), None, "credit_code_check", None),
        (MIDEA[:-1], None, "credit_code_format", None),
        (MIDEA + "0", None, "credit_code_format", None),
        (MIDEA[:10] + "O" + MIDEA[11:], None, "credit_code_format", None),  # no O in codes
        ("Z" + MIDEA[1:], None, "credit_code_format", None),  # no such authority
        ("", None, None, None),
    ],
)
def test_parse_credit_codes(text: str, expected: str | None, rule, repair) -> None:
    assert one(parse_credit_codes(pa.array([text]))) == (expected, rule, repair)


def test_parse_credit_codes_agrees_with_the_scalar_check() -> None:
    rng = np.random.default_rng(1)
    bodies = [MIDEA[:8] + "".join(rng.choice(list(USCC_CHARSET), 9)) for _ in range(500)]
    codes = [b + uscc_check_char(b) for b in bodies]  # embedded org check right by chance only
    codes += [wrong_last(c) for c in codes[:100]]
    parsed = parse_credit_codes(pa.array(codes))
    valid = [is_valid_uscc(c) for c in codes]
    assert parsed.ok.tolist() == valid
    assert 0 < sum(valid) < len(codes)
    assert set(parsed.rule_counts()) == {"credit_code_check"}


@pytest.mark.parametrize(
    ("text", "expected", "kind", "rule", "repair"),
    [
        (REGNO, REGNO, "registration_number", None, None),
        (to_fullwidth(REGNO) + " ", REGNO, "registration_number", None, "whitespace+fullwidth"),
        (MIDEA, MIDEA, "credit_code", None, None),
        (MIDEA.lower(), MIDEA, "credit_code", None, "case"),
        (wrong_last(REGNO), None, None, "registration_number_check", None),
        (REGNO[:-1] + "X", None, None, "registration_number_format", None),
        (REGNO[:-1], None, None, "registration_number_format", None),
        (wrong_last(MIDEA), None, None, "credit_code_check", None),
        ("I" * 18, None, None, "credit_code_format", None),
        ("", None, None, None, None),
    ],
)
def test_parse_registration_numbers(text: str, expected, kind, rule, repair) -> None:
    parsed = parse_registration_numbers(pa.array([text]))
    assert one(parsed) == (expected, rule, repair)
    assert key_kind(parsed.values).tolist() == [kind]


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        (ORG, ORG, None, None),
        ("72247334-4", ORG, None, None),  # the hyphen is how the code is written
        ("72247334－4", ORG, None, "fullwidth"),
        (" 72247334 - 4", ORG, None, "whitespace"),
        ("ma4abcde-3", "MA4ABCDE3", None, "case"),
        ("72247334-5", None, "organisation_code_check", None),
        ("722473345", None, "organisation_code_check", None),
        ("7224733-44", None, "organisation_code_format", None),
        ("72247334", None, "organisation_code_format", None),
        ("72247334-Y", None, "organisation_code_format", None),
        ("", None, None, None),
    ],
)
def test_parse_organisation_codes(text: str, expected, rule, repair) -> None:
    assert one(parse_organisation_codes(pa.array([text]))) == (expected, rule, repair)


# ---------------------------------------------------------------------------------------------
# the result and its inputs


def test_parsed_counts_each_rule_and_repair() -> None:
    parsed = parse_amounts(
        pa.array(["1,234", "１,２３４", "１２", "-1", "x", "y", ""]), unit="yuan"
    )
    assert parsed.rule_counts() == {"amount_unparseable": 2, "amount_negative": 1}
    assert parsed.repaired_counts() == {"thousands_separator": 2, "fullwidth": 2}
    assert parsed.repair[1] == REPAIR_SEPARATOR.join(["fullwidth", "thousands_separator"])
    assert parsed.ok.tolist() == [True, True, True, False, False, False, True]
    assert parsed.missing.tolist() == [False] * 6 + [True]


def test_names_are_unique_and_snake_case() -> None:
    for names in (RULES, REPAIRS):
        assert len(set(names)) == len(names)
        assert all(name.replace("_", "").isalpha() and name.islower() for name in names)


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["2023-01-05", None, "x"]),
        pa.chunked_array([["2023-01-05"], [None, "x"]]),
        pa.array(["2023-01-05", None, "x"], type=pa.large_string()),
        pd.Series(["2023-01-05", None, "x"]),
        pd.Series(["2023-01-05", pd.NA, "x"], dtype="string"),
        np.array(["2023-01-05", None, "x"], dtype=object),
    ],
)
def test_inputs_of_every_kind_are_read_as_text(column) -> None:
    parsed = parse_dates(column, "iso")
    assert parsed.rule.tolist() == [None, None, "date_unparseable"]
    assert parsed.missing.tolist() == [False, True, False]


def test_mixed_non_text_values_are_refused() -> None:
    with pytest.raises(TypeError, match="expected a column of text"):
        clean_text(pd.Series(["a", 1], dtype=object))


# ---------------------------------------------------------------------------------------------
# control and invisible format characters: removed from every value, and counted

CONTROL = "control_characters"


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        (MIDEA[:5] + "\x00" + MIDEA[5:], MIDEA, None, CONTROL),
        (MIDEA + "\x00", MIDEA, None, CONTROL),
        (MIDEA + "\x00" * 3, MIDEA, None, CONTROL),
        (MIDEA[:3] + "\u200e" + MIDEA[3:], MIDEA, None, CONTROL),  # left-to-right mark
        ("\u202e" + MIDEA, MIDEA, None, CONTROL),  # right-to-left override
        (MIDEA[:8] + "\u2066" + MIDEA[8:] + "\u2069", MIDEA, None, CONTROL),  # bidi isolate
        (MIDEA[:-1] + "\x7f" + MIDEA[-1], MIDEA, None, CONTROL),  # DEL
        (MIDEA[:8] + "\x85" + MIDEA[8:], MIDEA, None, CONTROL),  # C1 next-line
        (MIDEA[:8] + "\xad" + MIDEA[8:], MIDEA, None, CONTROL),  # soft hyphen
        ("\ufeff" + MIDEA[:9] + "\ufeff" + MIDEA[9:], MIDEA, None, f"{CONTROL}+whitespace"),
        (" \x00" + MIDEA.lower(), MIDEA, None, f"{CONTROL}+whitespace+case"),
        (MIDEA[:8] + "\r\n" + MIDEA[8:], MIDEA, None, "whitespace"),  # a line break is a space
        (MIDEA[:8] + "\xa0" + MIDEA[8:], MIDEA, None, "whitespace"),
        (MIDEA + "\x00X", None, "credit_code_format", None),  # judged cleaned: 19 characters
        ("\x00" + wrong_last(MIDEA), None, "credit_code_check", None),
        (MIDEA[:8] + "\ufffd" + MIDEA[9:], None, "credit_code_format", None),  # a lost character
        ("\x00\x01", None, None, CONTROL),  # nothing left: missing
    ],
)
def test_parse_credit_codes_removes_control_characters(text: str, expected, rule, repair) -> None:
    assert one(parse_credit_codes(pa.array([text]))) == (expected, rule, repair)


@pytest.mark.parametrize(
    ("text", "expected", "kind", "rule", "repair"),
    [
        (REGNO[:4] + "\x1f" + REGNO[4:], REGNO, "registration_number", None, CONTROL),
        (MIDEA + "\u200f", MIDEA, "credit_code", None, CONTROL),  # 19 long until cleaned
        (REGNO + "\x000", None, None, "registration_number_format", None),
    ],
)
def test_parse_registration_numbers_removes_control_characters(
    text: str, expected, kind, rule, repair
) -> None:
    parsed = parse_registration_numbers(pa.array([text]))
    assert one(parsed) == (expected, rule, repair)
    assert key_kind(parsed.values).tolist() == [kind]


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        ("72247334\u200b-4", ORG, None, CONTROL),
        ("\x0072247334-4", ORG, None, CONTROL),
        ("72247334-4\x00", ORG, None, CONTROL),
        ("72247334-\x005", None, "organisation_code_check", None),
    ],
)
def test_parse_organisation_codes_removes_control_characters(
    text: str, expected, rule, repair
) -> None:
    assert one(parse_organisation_codes(pa.array([text]))) == (expected, rule, repair)


@pytest.mark.parametrize(
    ("text", "expected", "repair"),
    [
        ("佛山市\x00美的", "佛山市美的", CONTROL),
        ("佛山市\u200b美的", "佛山市美的", CONTROL),  # zero-width space inside, not only around
        ("\u202e佛山市美的\u202c", "佛山市美的", CONTROL),
        ("佛山\u00ad市", "佛山市", CONTROL),
        ("美的\x85集团\x9f", "美的集团", CONTROL),
        ("美的\x7f", "美的", CONTROL),
        ("美的\x1b[31m集团", "美的[31m集团", CONTROL),  # the escape goes, the text stays
        ("\U000e0041美的", "美的", CONTROL),  # tag character
        ("美的\ufeff集团", "美的集团", CONTROL),
        (" \x07美的 ", "美的", f"{CONTROL}+whitespace"),
        ("\x0b美的\x0b集团", "美的集团", f"{CONTROL}+whitespace"),
        ("ＡＢＣ\u200e", "ABC", f"{CONTROL}+fullwidth"),
        ("广东省佛山市\n顺德区", "广东省佛山市\n顺德区", None),  # a line of an address
        ("一\t二\r\n三", "一\t二\r\n三", None),
        ("美的\ufffd集团", "美的\ufffd集团", None),  # a decoding loss stays visible
        ("\x00", None, CONTROL),
    ],
)
def test_clean_text_removes_control_characters(text: str, expected, repair) -> None:
    assert one(clean_text(pa.array([text]))) == (expected, None, repair)


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        ("存续\u200e", "存续", None, CONTROL),
        ("\x00注销", "注销", None, CONTROL),
        ("（个\u200b体）", "(个体)", None, f"{CONTROL}+fullwidth"),
        ("(个\u200b体)", "(个体)", None, CONTROL),
        ("(个体)\u200b", "(个体)", None, "whitespace"),  # zero-width at the edge, as before
        ("在\u00ad业", "存续", None, f"{CONTROL}+alias"),
        ("迁\x00出", None, "value_not_allowed", None),
    ],
)
def test_parse_enum_removes_control_characters(text: str, expected, rule, repair) -> None:
    assert one(parse_enum(pa.array([text]), STATUSES, ALIASES)) == (expected, rule, repair)


@pytest.mark.parametrize(
    ("text", "expected", "rule", "repair"),
    [
        ("2023-01-05\x00", "2023-01-05", None, CONTROL),
        ("2023\u200f-01-05", "2023-01-05", None, CONTROL),
        ("2023年1月5日\x7f", "2023-01-05", None, CONTROL),
        ("\ufeff2023-01-05", "2023-01-05", None, "whitespace"),
        ("2023-02-30\x00", None, "date_impossible", None),
        ("2023-01-05\x00X", None, "date_unparseable", None),
    ],
)
def test_parse_dates_removes_control_characters(text: str, expected, rule, repair) -> None:
    value, got_rule, got_repair = one(parse_dates(pa.array([text]), None))
    want = np.datetime64("NaT") if expected is None else np.datetime64(expected, "D")
    assert (np.isnat(value) and np.isnat(want)) or value == want
    assert (got_rule, got_repair) == (rule, repair)


@pytest.mark.parametrize(
    ("text", "unit", "expected", "rule", "repair"),
    [
        ("1,234\x7f", "yuan", 1234.0, None, f"{CONTROL}+thousands_separator"),
        ("12.5\u200b万", "yuan", 125000.0, None, f"{CONTROL}+wan_text"),
        ("39\x0000", "yuan", 3900.0, None, CONTROL),
        ("\u202d56.8", "wan", 568000.0, None, f"{CONTROL}+wan_to_yuan"),
        ("-\x005", "yuan", np.nan, "amount_negative", None),
        ("12\x00x", "yuan", np.nan, "amount_unparseable", None),
    ],
)
def test_parse_amounts_removes_control_characters(
    text: str, unit: str, expected: float, rule, repair
) -> None:
    value, got_rule, got_repair = one(parse_amounts(pa.array([text]), unit))
    assert value == expected or (np.isnan(value) and np.isnan(expected))
    assert (got_rule, got_repair) == (rule, repair)


def test_parse_integers_removes_control_characters() -> None:
    parsed = parse_integers(pa.array(["1\x002", "\u200e7", "3"]))
    assert parsed.values.to_pylist() == [12, 7, 3]
    assert parsed.repair.tolist() == [CONTROL, CONTROL, None]


def test_control_characters_are_counted_only_where_removed() -> None:
    text = ["佛山", "佛\x00山", None, "\u200e佛山\u200f", " 佛山 ", "佛山\n"]
    parsed = clean_text(pa.array(text * 1000))
    assert parsed.values.to_pylist()[:6] == ["佛山", "佛山", None, "佛山", "佛山", "佛山"]
    assert parsed.repaired_counts() == {CONTROL: 2000, "whitespace": 2000}


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_control_characters_are_found_in_a_slice_of_a_column(offset: int) -> None:
    column = pa.array(["x\x00", "佛山\x07", "a", "b\x1f", "c d"]).slice(offset, 3)
    parsed = clean_text(column)
    expected = ["x", "佛山", "a", "b", "c d"][offset : offset + 3]
    assert parsed.values.to_pylist() == expected
    repairs = [CONTROL, CONTROL, None, CONTROL, None][offset : offset + 3]
    assert parsed.repair.tolist() == repairs


def test_the_module_docstring_names_every_repair() -> None:
    from riskdraw.governance import values

    assert all(f"``{name}``" in values.__doc__ for name in REPAIRS)
    assert REPAIRS[0] == CONTROL  # removed first, so named first


# An independent spelling of the cleaning rules, in Python, for the property tests below.
SPACES = " \t\n\r\v\f\xa0\u3000\u200b\u200c\u200d\u2060\ufeff"
PY_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0001\U000e0020-\U000e007f]"
)
HOSTILE = (
    [chr(c) for c in [*range(0x20), *range(0x7F, 0xA1)]]
    + list("\xad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2060\u2066\u2069")
    + list("\ufeff\ufff9\ufffd\u3000\uff10\uff21\uff41\u00b7\u201c\U000e0001\U000e0041 ")
)


def py_clean(text: str) -> str:
    """Trim, remove control characters, trim again, make full-width ASCII half-width."""
    return to_halfwidth(PY_CONTROLS.sub("", text.strip(SPACES)).strip(SPACES))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(HOSTILE + list("佛山ab1 ")), max_size=12), max_size=30))
def test_clean_text_agrees_with_the_rules_spelled_in_python(texts: list[str]) -> None:
    parsed = clean_text(pa.array(texts, type=pa.string()))
    assert parsed.values.to_pylist() == [py_clean(t) or None for t in texts]
    removed = [bool(PY_CONTROLS.search(t.strip(SPACES))) for t in texts]
    assert [CONTROL in (r or "") for r in parsed.repair] == removed


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 18), st.text(st.sampled_from(HOSTILE), max_size=3))))
def test_a_credit_code_is_judged_and_kept_as_cleaned(edits: list[tuple[int, str]]) -> None:
    text = MIDEA
    for at, inserted in edits:
        text = text[:at] + inserted + text[at:]
    cleaned = re.sub("[ \t\n\r\xa0]", "", py_clean(text)).upper()
    value, rule, repair = one(parse_credit_codes(pa.array([text])))
    assert value == (cleaned if is_valid_uscc(cleaned) else None)
    assert (rule is None) == (is_valid_uscc(cleaned) or cleaned == "")
    if value is not None:  # an accepted value names a repair exactly when it was changed
        assert (repair is None) == (value == text)
