"""Industry classes (GB/T 4754-2017, four-digit 小类) that market supervision in Foshan meets.

The table is a working subset, not the full standard: retail, catering and wholesale of food
and drugs, Foshan's signature manufacturing (furniture, ceramics, household appliances, metal
products, condiments), and the services that hold licences (hotels, beauty, bathing). Each
class lists the regulated licence domains its enterprises typically fall under, and a rough
weight: its share of the enterprises an entity drawn from this table belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

LICENCE_DOMAINS: MappingProxyType[str, str] = MappingProxyType(
    {
        "food_business": "食品经营许可证",
        "food_production": "食品生产许可证",
        "drug_retail": "药品经营许可证",
        "drug_production": "药品生产许可证",
        "medical_device": "医疗器械经营许可证",
        "cosmetics": "化妆品生产许可证",
        "industrial_product": "工业产品生产许可证",
        "special_equipment": "特种设备使用登记证",
        "public_hygiene": "公共场所卫生许可证",
    }
)
"""Regulated domain -> the licence most characteristic of it.

A domain says which body of rules supervises an enterprise; not every enterprise in it needs
that exact licence. Drug wholesalers (5151) hold the same 药品经营许可证 as pharmacies, so both
are "drug_retail". Medical-device makers (3581) need a 医疗器械生产许可证 and lift makers (3435)
a 特种设备生产许可证, while the table names the licence met most often downstream. Every
manufacturer outside food, drugs, cosmetics and medical devices is marked "industrial_product":
industrial product quality supervision covers them, though only catalogue products need the
production licence.
"""


@dataclass(frozen=True)
class Industry:
    """One GB/T 4754-2017 four-digit class.

    Attributes:
        code: four-digit class code, e.g. "6210".
        name: Chinese name in the standard, e.g. "正餐服务".
        section: section letter (门类), e.g. "H".
        domains: regulated licence domains (keys of ``LICENCE_DOMAINS``); may be empty.
        weight: rough share of Foshan's enterprises in this class; sums to 1 over the table.
    """

    code: str
    name: str
    section: str
    domains: tuple[str, ...]
    weight: float


_FB, _FP = "food_business", "food_production"
_DR, _DP, _MD = "drug_retail", "drug_production", "medical_device"
_IP, _SE, _PH = "industrial_product", "special_equipment", "public_hygiene"

# code, name, section, domains, weight in 1/10000. Weights are judgement, not statistics:
# individual shops and restaurants dominate the register; manufacturing is Foshan's backbone.
_ROWS: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    ("0111", "稻谷种植", "A", (), 50),
    ("0141", "蔬菜种植", "A", (), 100),
    ("0412", "内陆养殖", "A", (), 200),
    ("1411", "糕点、面包制造", "C", (_FP,), 60),
    ("1431", "米、面制品制造", "C", (_FP,), 50),
    ("1462", "酱油、食醋及类似制品制造", "C", (_FP,), 15),
    ("1469", "其他调味品、发酵制品制造", "C", (_FP,), 25),
    ("1491", "营养食品制造", "C", (_FP,), 10),
    ("1524", "含乳饮料和植物蛋白饮料制造", "C", (_FP,), 15),
    ("1811", "运动机织服装制造", "C", (_IP,), 60),
    ("1819", "其他机织服装制造", "C", (_IP,), 100),
    ("2110", "木质家具制造", "C", (_IP,), 350),
    ("2682", "化妆品制造", "C", ("cosmetics",), 25),
    ("2720", "化学药品制剂制造", "C", (_DP,), 5),
    ("2929", "塑料零件及其他塑料制品制造", "C", (_IP,), 300),
    ("3071", "建筑陶瓷制品制造", "C", (_IP,), 100),
    ("3072", "卫生陶瓷制品制造", "C", (_IP,), 50),
    ("3311", "金属结构制造", "C", (_IP,), 150),
    ("3389", "其他金属制日用品制造", "C", (_IP,), 200),
    ("3411", "锅炉及辅助设备制造", "C", (_IP, _SE), 10),
    ("3435", "电梯、自动扶梯及升降机制造", "C", (_IP, _SE), 15),
    ("3581", "医疗诊断、监护及治疗设备制造", "C", (_MD,), 15),
    ("3851", "家用制冷电器具制造", "C", (_IP,), 40),
    ("3852", "家用空气调节器制造", "C", (_IP,), 30),
    ("3854", "家用厨房电器具制造", "C", (_IP,), 80),
    ("3856", "家用美容、保健护理电器具制造", "C", (_IP,), 30),
    ("4790", "其他房屋建筑业", "E", (), 150),
    ("5121", "米、面制品及食用油批发", "F", (_FB,), 150),
    ("5122", "糕点、糖果及糖批发", "F", (_FB,), 80),
    ("5126", "营养和保健品批发", "F", (_FB,), 60),
    ("5151", "西药批发", "F", (_DR,), 40),
    ("5154", "医疗用品及器材批发", "F", (_MD,), 70),
    ("5211", "百货零售", "F", (_FB,), 150),
    ("5212", "超级市场零售", "F", (_FB,), 200),
    ("5213", "便利店零售", "F", (_FB,), 350),
    ("5221", "粮油零售", "F", (_FB,), 250),
    ("5222", "糕点、面包零售", "F", (_FB,), 150),
    ("5223", "果品、蔬菜零售", "F", (_FB,), 500),
    ("5224", "肉、禽、蛋、奶及水产品零售", "F", (_FB,), 550),
    ("5225", "营养和保健品零售", "F", (_FB,), 150),
    ("5226", "酒、饮料及茶叶零售", "F", (_FB,), 300),
    ("5227", "烟草制品零售", "F", (), 250),
    ("5251", "西药零售", "F", (_DR, _MD), 200),
    ("5252", "中药零售", "F", (_DR,), 50),
    ("5254", "医疗用品及器材零售", "F", (_MD,), 80),
    ("5281", "五金零售", "F", (), 400),
    ("6110", "旅游饭店", "H", (_PH, _FB), 60),
    ("6210", "正餐服务", "H", (_FB,), 700),
    ("6220", "快餐服务", "H", (_FB,), 600),
    ("6231", "茶馆服务", "H", (_FB,), 150),
    ("6291", "小吃服务", "H", (_FB,), 650),
    ("6513", "应用软件开发", "I", (), 150),
    ("7212", "投资与资产管理", "L", (), 200),
    ("8010", "家庭服务", "O", (), 150),
    ("8040", "理发及美容服务", "O", (_PH,), 695),
    ("8051", "洗浴服务", "O", (_PH,), 80),
    ("8111", "汽车修理与维护", "O", (), 350),
)

INDUSTRIES: tuple[Industry, ...] = tuple(
    Industry(code, name, section, domains, weight / 10000)
    for code, name, section, domains, weight in _ROWS
)
"""The industry table in code order; weights sum to 1."""

_BY_CODE = {industry.code: industry for industry in INDUSTRIES}


def industry_by_code(code: str | int) -> Industry:
    """The table's industry with four-digit class code ``code`` ("0111" or 111 both work).

    Raises:
        ValueError: the code is not in the table.
    """
    key = f"{code:04d}" if isinstance(code, int) else str(code).strip()
    industry = _BY_CODE.get(key)
    if industry is None:
        raise ValueError(f"industry class {code!r} is not in the table")
    return industry


# GB/T 4754-2017 sections (门类) by the first two digits of the class code (大类).
_SECTIONS = (
    ("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46), ("E", 47, 50), ("F", 51, 52),
    ("G", 53, 60), ("H", 61, 62), ("I", 63, 65), ("J", 66, 69), ("K", 70, 70), ("L", 71, 72),
    ("M", 73, 75), ("N", 76, 79), ("O", 80, 82), ("P", 83, 83), ("Q", 84, 85), ("R", 86, 90),
    ("S", 91, 96), ("T", 97, 97),
)  # fmt: skip
SECTIONS: tuple[str, ...] = tuple(letter for letter, _, _ in _SECTIONS)
"""The twenty GB/T 4754-2017 sections, A (agriculture) to T (international organisations)."""

SECTION_RANGES: tuple[tuple[str, int, int], ...] = _SECTIONS
"""(section, first division, last division): the divisions (两位大类) each section spans."""


def section_of(code: str) -> str | None:
    """The GB/T 4754 section of any class code ("6210" -> "H"), from its division; None if the
    code does not start with a known division."""
    head = str(code).strip()[:2]
    if len(head) != 2 or not head.isdigit():
        return None
    division = int(head)
    return next((s for s, lo, hi in _SECTIONS if lo <= division <= hi), None)
