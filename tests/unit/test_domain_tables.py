"""Foshan's districts, the industry table and the risk classes."""

import pytest

from riskdraw.domain.industries import INDUSTRIES, LICENCE_DOMAINS, industry_by_code
from riskdraw.domain.regions import (
    CITY_CODE,
    CITY_NAME,
    DISTRICTS,
    district_by_code,
    district_by_name,
)
from riskdraw.domain.risk import RISK_CLASSES, RISK_LABELS, RISK_LABELS_EN, risk_rank


def test_city() -> None:
    assert (CITY_CODE, CITY_NAME) == ("440600", "佛山市")


def test_districts() -> None:
    assert list(DISTRICTS) == ["440604", "440605", "440606", "440607", "440608"]
    assert [d.slug for d in DISTRICTS.values()] == [
        "chancheng",
        "nanhai",
        "shunde",
        "sanshui",
        "gaoming",
    ]
    assert [len(d.towns) for d in DISTRICTS.values()] == [4, 7, 10, 7, 4]
    for code, district in DISTRICTS.items():
        assert district.code == code and code[:4] == CITY_CODE[:4]
        assert district.name == district.short_name + "区"
        assert all(t.endswith(("镇", "街道")) for t in district.towns)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("禅城", "440604"),
        ("禅城区", "440604"),
        ("佛山市禅城区", "440604"),
        ("广东省佛山市顺德区", "440606"),
        (" 佛山 南海区 ", "440605"),
        ("高明", "440608"),
    ],
)
def test_district_by_name(name: str, code: str) -> None:
    assert district_by_name(name).code == code


@pytest.mark.parametrize("name", ["越秀区", "佛山市", ""])
def test_district_by_name_rejects_others(name: str) -> None:
    with pytest.raises(ValueError, match="not a Foshan district"):
        district_by_name(name)


def test_district_by_code() -> None:
    assert district_by_code(440607).name == "三水区"
    with pytest.raises(ValueError, match="not a Foshan district code"):
        district_by_code("440600")


def test_industry_table_is_consistent() -> None:
    codes = [industry.code for industry in INDUSTRIES]
    assert codes == sorted(set(codes))
    assert sum(industry.weight for industry in INDUSTRIES) == pytest.approx(1.0)
    for industry in INDUSTRIES:
        assert len(industry.code) == 4 and industry.code.isdigit()
        assert industry.section in "ACEFHIKLO" and industry.weight > 0
        assert set(industry.domains) <= set(LICENCE_DOMAINS)


@pytest.mark.parametrize(
    ("code", "name", "domains"),
    [
        ("6210", "正餐服务", ("food_business",)),
        ("1411", "糕点、面包制造", ("food_production",)),
        ("5251", "西药零售", ("drug_retail", "medical_device")),
        ("2682", "化妆品制造", ("cosmetics",)),
        ("3435", "电梯、自动扶梯及升降机制造", ("industrial_product", "special_equipment")),
        ("3851", "家用制冷电器具制造", ("industrial_product",)),
        ("8040", "理发及美容服务", ("public_hygiene",)),
        ("6110", "旅游饭店", ("public_hygiene", "food_business")),
    ],
)
def test_industry_by_code(code: str, name: str, domains: tuple[str, ...]) -> None:
    industry = industry_by_code(code)
    assert (industry.name, industry.domains) == (name, domains)


def test_industry_by_code_accepts_ints_and_rejects_unknown() -> None:
    assert industry_by_code(111).name == "稻谷种植"
    with pytest.raises(ValueError, match="'9999' is not in the table"):
        industry_by_code("9999")


def test_every_licence_domain_is_used() -> None:
    used = {domain for industry in INDUSTRIES for domain in industry.domains}
    assert used == set(LICENCE_DOMAINS)


def test_risk_classes() -> None:
    assert RISK_CLASSES == ("A", "B", "C", "D")
    assert RISK_LABELS["A"] == "低风险" and RISK_LABELS["D"] == "高风险"
    assert list(RISK_LABELS) == list(RISK_LABELS_EN) == list(RISK_CLASSES)
    assert [risk_rank(c) for c in RISK_CLASSES] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown risk class 'E'"):
        risk_rank("E")
