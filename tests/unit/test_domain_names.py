"""Normalisation of enterprise names and legal forms."""

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.names import (
    LEGAL_FORMS,
    halfwidth_series,
    legal_form_of,
    normalise_name,
    normalise_names,
    to_fullwidth,
    to_halfwidth,
)


@pytest.mark.parametrize(
    ("full", "half"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("（集团）", "(集团)"),
        ("美的　电器", "美的 电器"),
        ("ａ－ｂ／ｃ", "a-b/c"),
        ("已是半角 abc", "已是半角 abc"),
    ],
)
def test_to_halfwidth(full: str, half: str) -> None:
    assert to_halfwidth(full) == half


@pytest.mark.parametrize("text", ["ABC123", "Foshan(2023)", "a[b]{c}", "xyz09"])
def test_fullwidth_round_trip(text: str) -> None:
    full = to_fullwidth(text)
    assert not set(full) & set(text)
    assert to_halfwidth(full) == text


def test_to_fullwidth_leaves_other_characters() -> None:
    assert to_fullwidth("佛山 -") == "佛山 -"


def test_halfwidth_series_keeps_missing() -> None:
    out = halfwidth_series(pd.Series(["ＡＢＣ（１）", None]))
    assert out.iloc[0] == "ABC(1)"
    assert out.iloc[1] is None


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("佛山市顺德区美的 电器（集团）有限责任公司", "佛山市顺德区美的电器(集团)有限公司"),
        ("佛山市顺德区美的电器(集团)有限公司", "佛山市顺德区美的电器(集团)有限公司"),
        ("  佛山市顺德区美的电器【集团】有限公司\u200b", "佛山市顺德区美的电器(集团)有限公司"),
        ("佛山市顺德区美的电器[集团]责任有限公司", "佛山市顺德区美的电器(集团)有限公司"),
        ("美的集团股份公司", "美的集团股份有限公司"),
        ("美的集团股份有限公司", "美的集团股份有限公司"),
        ("美的集团有限责任公司佛山分公司", "美的集团有限公司佛山分公司"),
        ("佛山市ａｂｃ科技有限公司", "佛山市ABC科技有限公司"),
        ("佛山市Abc投资合伙企业（有限合伙）", "佛山市ABC投资合伙企业(有限合伙)"),
        ("佛山市Abc投资(有限合伙)", "佛山市ABC投资合伙企业(有限合伙)"),
        ("佛山市Abc投资有限合伙企业", "佛山市ABC投资合伙企业(有限合伙)"),
        ("佛山市三水区白坭镇蔬菜专业合作社", "佛山市三水区白坭镇蔬菜农民专业合作社"),
        ("佛山市三水区白坭镇蔬菜合作社", "佛山市三水区白坭镇蔬菜农民专业合作社"),
        ("佛山市南海区平洲夏北股份经济合作社", "佛山市南海区平洲夏北股份经济合作社"),
        ("张三（个体户）", "张三(个体工商户)"),
        ("佛山市禅城区张记餐饮店", "佛山市禅城区张记餐饮店"),
    ],
)
def test_normalise_name(variant: str, canonical: str) -> None:
    assert normalise_name(variant) == canonical
    assert normalise_name(canonical) == canonical  # idempotent


def test_normalise_name_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        normalise_name(None)


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("佛山市顺德区美的电器（集团）有限责任公司", "有限公司"),
        ("美的集团股份有限公司", "股份有限公司"),
        ("美的集团股份有限公司佛山分公司", "分公司"),
        ("佛山市Abc投资合伙企业（有限合伙）", "合伙企业(有限合伙)"),
        ("佛山市某某律师事务所(普通合伙)", "合伙企业(普通合伙)"),
        ("佛山市三水区白坭镇蔬菜专业合作社", "农民专业合作社"),
        ("佛山市高明区某某五金厂(个人独资企业)", "个人独资企业"),
        ("张三（个体户）", "个体工商户"),
        ("佛山市禅城区张记餐饮店", None),
        ("佛山市南海区平洲夏北股份经济合作社", None),
        ("佛山市供销合作社", None),
    ],
)
def test_legal_form_of(name: str, form: str | None) -> None:
    assert legal_form_of(name) == form
    assert form is None or form in LEGAL_FORMS


def test_every_variant_maps_to_its_form() -> None:
    for canonical, variants in LEGAL_FORMS.items():
        for variant in variants:
            assert legal_form_of("佛山市某某" + variant) == canonical, variant


def test_normalise_names_matches_scalar_and_keeps_missing() -> None:
    names = [
        "佛山市顺德区美的 电器（集团）有限责任公司",
        None,
        "美的集团股份公司",
        np.nan,
        "佛山市顺德区美的 电器（集团）有限责任公司",
    ]
    s = pd.Series(names, index=[10, 11, 12, 13, 14], name="entity_name")
    out = normalise_names(s)
    assert out.index.tolist() == s.index.tolist() and out.name == "entity_name"
    assert out[10] == out[14] == normalise_name(names[0])
    assert out[12] == "美的集团股份有限公司"
    assert out[[11, 13]].isna().all()


def test_normalise_names_on_empty_series() -> None:
    assert normalise_names(pd.Series([], dtype=object)).empty
