"""The registry's categories of market entity (市场主体类型), as registration records write them."""

from __future__ import annotations

from types import MappingProxyType

ENTITY_TYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "有限责任公司": "limited",
        "股份有限公司": "joint_stock",
        "有限责任公司分公司": "branch",
        "个体工商户": "individual",
        "农民专业合作社": "cooperative",
    }
)
"""Chinese registry category -> short English name (used in attribute names)."""
