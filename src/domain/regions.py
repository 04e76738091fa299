"""Foshan's districts and their towns and sub-districts (镇街), with division codes.

Division codes (GB/T 2260) are the first six digits of registration numbers and credit codes,
so they tie records to a district. Town lists follow the current 镇街 of each district.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

CITY_CODE = "440600"
CITY_NAME = "佛山市"
PROVINCE_NAME = "广东省"


@dataclass(frozen=True)
class District:
    """A district (区) of Foshan.

    Attributes:
        code: six-digit administrative division code, e.g. "440604".
        name: full name, e.g. "禅城区".
        short_name: name without 区, as often written, e.g. "禅城".
        towns: its towns (镇) and sub-districts (街道), in official order.
        slug: ASCII pinyin for file names and ids, e.g. "chancheng".
    """

    code: str
    name: str
    short_name: str
    towns: tuple[str, ...]
    slug: str


_DISTRICT_LIST = (
    District(
        "440604", "禅城区", "禅城", ("祖庙街道", "石湾镇街道", "张槎街道", "南庄镇"), "chancheng"
    ),
    District(
        "440605",
        "南海区",
        "南海",
        ("桂城街道", "九江镇", "西樵镇", "丹灶镇", "狮山镇", "大沥镇", "里水镇"),
        "nanhai",
    ),
    District(
        "440606",
        "顺德区",
        "顺德",
        (
            "大良街道",
            "容桂街道",
            "伦教街道",
            "勒流街道",
            "陈村镇",
            "均安镇",
            "杏坛镇",
            "龙江镇",
            "乐从镇",
            "北滘镇",
        ),
        "shunde",
    ),
    District(
        "440607",
        "三水区",
        "三水",
        ("西南街道", "云东海街道", "白坭镇", "乐平镇", "芦苞镇", "大塘镇", "南山镇"),
        "sanshui",
    ),
    District("440608", "高明区", "高明", ("荷城街道", "杨和镇", "明城镇", "更合镇"), "gaoming"),
)

DISTRICTS: MappingProxyType[str, District] = MappingProxyType({d.code: d for d in _DISTRICT_LIST})
"""Foshan's five districts keyed by division code, in code order."""

_BY_SHORT_NAME = {d.short_name: d for d in _DISTRICT_LIST}


def district_by_name(name: str) -> District:
    """The district named "禅城", "禅城区", "佛山市禅城区" or "广东省佛山市禅城区" (spaces ignored).

    Raises:
        ValueError: the name is not one of Foshan's districts.
    """
    text = "".join(str(name).split())
    for prefix in (PROVINCE_NAME, CITY_NAME, CITY_NAME.removesuffix("市")):
        text = text.removeprefix(prefix)
    district = _BY_SHORT_NAME.get(text.removesuffix("区"))
    if district is None:
        raise ValueError(f"not a Foshan district: {name!r}")
    return district


def district_by_code(code: str | int) -> District:
    """The district with six-digit division code ``code`` (str or int).

    Raises:
        ValueError: the code is not one of Foshan's districts.
    """
    district = DISTRICTS.get(str(code).strip())
    if district is None:
        raise ValueError(f"not a Foshan district code: {code!r}")
    return district
