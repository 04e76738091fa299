"""The simulated registry: enterprises, the people behind them, their addresses.

Everything here is the *truth* of the simulated city: clean values keyed by `entity_uid`, which
never leaves `data/truth/`. Departments' extracts are rendered from it (with their mess) later.
All generation is vectorised over enterprises; the only per-row Python is string assembly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskdraw.domain.codes import make_regnos, make_resident_ids, make_usccs
from riskdraw.domain.industries import INDUSTRIES
from riskdraw.domain.regions import DISTRICTS

# Share of Foshan's enterprises by district (南海 and 顺德 are the largest economies).
DISTRICT_WEIGHTS = {"440604": 0.20, "440605": 0.33, "440606": 0.32, "440607": 0.08, "440608": 0.07}

ENTITY_TYPES = ("limited", "joint_stock", "branch", "individual", "cooperative")
ENTITY_TYPE_WEIGHTS = (0.36, 0.02, 0.05, 0.55, 0.02)
ENTITY_TYPE_LABELS = {
    "limited": "有限责任公司",
    "joint_stock": "股份有限公司",
    "branch": "有限责任公司分公司",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
}
ORG_TYPE_CODE = {
    "limited": "1",
    "joint_stock": "1",
    "branch": "1",
    "individual": "2",
    "cooperative": "3",
}
LEGAL_FORM_SUFFIX = {
    "limited": "有限公司",
    "joint_stock": "股份有限公司",
    "branch": "分公司",
    "individual": "",
    "cooperative": "农民专业合作社",
}

TRADE_CHARS = np.array(
    list(
        "华美顺达盛利鑫泰丰源宏嘉信德恒兴祥瑞永辉金银通新安康乐成和富明光海天中南佳汇创志"
        "博睿晟景卓越宇航鸿运骏豪锦程启航远帆凯旋伟业俊杰浩然雅致雄峰福禄寿喜东西北星月"
        "日升万家千百亿联合正大广粤禅桂容良陈勒龙均杏伦北滘乐从丹灶西樵九江狮山大沥里水"
        "白坭芦苞荷城杨和明城更合云溪松竹梅兰菊荣昌隆盈满晶彩虹霞辰弘毅诚朗润泽沃尔特"
    )
)
SURNAMES = np.array(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
        "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
        "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤区麦冼伍关"
    )
)
GIVEN_CHARS = np.array(
    list(
        "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕丹玲萍红玉兰"
        "文斌辉鹏宇浩然子轩梓涵思雨欣怡嘉豪俊杰锦荣永健家明少华国强丽珍惠玲淑贞"
    )
)
ROAD_WORDS = np.array(list("中东西南北新华人民建设解放文化工业兴业"))
ROAD_SUFFIX = np.array(["路", "大道", "街", "大街", "一路", "二路", "三路"])

# The word a name carries for its industry (the simulator's own dressing, not a domain rule).
SECTION_WORDS = {
    "A": ("种养", "农业", "水产"),
    "C": ("制造", "实业", "工贸"),
    "E": ("建筑", "工程"),
    "F": ("贸易", "商贸", "商行"),
    "H": ("餐饮", "饮食", "酒楼"),
    "I": ("科技", "信息技术"),
    "L": ("投资", "管理"),
    "O": ("服务", "美容美发"),
}
INDIVIDUAL_SUFFIX = np.array(["店", "商行", "经营部", "档", "馆"])


@dataclass(frozen=True)
class Population:
    """The registry truth: `entities`, `persons`, `shareholders`, one row per thing."""

    entities: pd.DataFrame
    persons: pd.DataFrame
    shareholders: pd.DataFrame


def _choice(rng: np.random.Generator, values, size: int, weights=None) -> np.ndarray:
    values = np.asarray(values)
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return values[rng.choice(len(values), size=size, p=p)]


def _join(*parts: np.ndarray) -> np.ndarray:
    """Concatenate arrays of strings element-wise (object dtype, fast enough for 1.3M rows)."""
    out = parts[0].astype(object)
    for part in parts[1:]:
        out = out + part.astype(object)
    return out


def _dates(
    rng: np.random.Generator,
    start: np.datetime64,
    end: np.datetime64,
    size: int,
    growth: float = 0.0,
) -> np.ndarray:
    """Dates in [start, end), uniform, or denser towards `end` when growth > 0 (per year)."""
    span = (end - start).astype(int)
    if growth <= 0:
        offsets = rng.integers(0, span, size)
    else:
        years = span / 365.25
        u = rng.random(size)
        x = np.log1p(u * np.expm1(growth * years)) / growth  # inverse CDF of exp growth
        offsets = np.minimum((x * 365.25).astype(int), span - 1)
    return start + offsets.astype("timedelta64[D]")


def make_persons(rng: np.random.Generator, n: int, as_of: np.datetime64) -> pd.DataFrame:
    """Natural persons: legal representatives, operators and shareholders."""
    surname = _choice(rng, SURNAMES, n)
    given_len = rng.choice([1, 2], size=n, p=[0.3, 0.7])
    g1 = _choice(rng, GIVEN_CHARS, n)
    g2 = np.where(given_len == 2, _choice(rng, GIVEN_CHARS, n), "")
    birth = as_of - rng.integers(22 * 365, 70 * 365, n).astype("timedelta64[D]")
    female = rng.random(n) < 0.42
    # Most are local; a quarter were born elsewhere in Guangdong, Hunan or Guangxi.
    home = _choice(
        rng,
        ["440604", "440605", "440606", "440607", "440608", "440103", "441402", "430124", "450102"],
        n,
        [0.15, 0.18, 0.18, 0.05, 0.04, 0.05, 0.1, 0.15, 0.1],
    )
    return pd.DataFrame(
        {
            "person_uid": np.arange(n, dtype=np.int32),
            "name": _join(surname, g1, g2),
            "id_number": make_resident_ids(rng, n, home, birth, female),
            "birth_date": birth,
            "female": female,
        }
    )


def _trade_names(rng: np.random.Generator, n: int) -> np.ndarray:
    length = rng.choice([2, 3], size=n, p=[0.75, 0.25])
    a, b, c = (_choice(rng, TRADE_CHARS, n) for _ in range(3))
    return _join(a, b, np.where(length == 3, c, ""))


def _entity_names(rng, n, district_names, town_names, sections, etype, parent_idx) -> np.ndarray:
    trade = _trade_names(rng, n)
    words = np.empty(n, dtype=object)
    for section in np.unique(sections):
        mask = sections == section
        words[mask] = _choice(rng, SECTION_WORDS.get(section, ("贸易",)), int(mask.sum()))
    prefix = np.where(rng.random(n) < 0.85, "佛山市", "广东")  # most names carry the city
    with_district = rng.random(n) < 0.5
    area = np.where(with_district, district_names, "")
    suffix = np.array([LEGAL_FORM_SUFFIX[t] for t in etype], dtype=object)
    names = _join(prefix, area, trade, words, suffix)
    individual = etype == "individual"
    names[individual] = _join(
        np.full(individual.sum(), "佛山市"),
        district_names[individual],
        trade[individual],
        words[individual],
        _choice(rng, INDIVIDUAL_SUFFIX, int(individual.sum())),
    )
    coop = etype == "cooperative"
    names[coop] = _join(
        np.full(coop.sum(), "佛山市"), district_names[coop], trade[coop], words[coop], suffix[coop]
    )
    branch = np.flatnonzero(etype == "branch")
    names[branch] = _join(
        names[parent_idx[branch]].astype(object), town_names[branch], np.full(len(branch), "分公司")
    )
    # A registry never holds two enterprises of the same name: add a character until unique.
    for _ in range(10):
        dup = pd.Series(names).duplicated().to_numpy()
        if not dup.any():
            break
        extra = _choice(rng, TRADE_CHARS, int(dup.sum()))
        names[dup] = [
            nm.replace(t, t + x, 1) for nm, t, x in zip(names[dup], trade[dup], extra, strict=True)
        ]
    return names


def _addresses(rng, n, district_codes, towns) -> tuple[np.ndarray, np.ndarray]:
    """Registered addresses; about 3% of enterprises sit at a few shared 'cluster' addresses."""
    road = _join(
        _choice(rng, ROAD_WORDS, n), _choice(rng, ROAD_WORDS, n), _choice(rng, ROAD_SUFFIX, n)
    )
    number = rng.integers(1, 400, n).astype(str).astype(object)
    room = np.where(
        rng.random(n) < 0.4,
        _join(
            rng.integers(1, 30, n).astype(str),
            np.full(n, "座"),
            rng.integers(101, 2999, n).astype(str),
            np.full(n, "室"),
        ),
        "",
    )
    address = _join(towns, road, number, np.full(n, "号"), room)
    address_id = np.arange(n, dtype=np.int64)
    clustered = np.flatnonzero(rng.random(n) < 0.03)
    if len(clustered):
        n_clusters = max(1, len(clustered) // 80)
        hub = rng.choice(n, n_clusters, replace=False)
        pick = hub[rng.integers(0, n_clusters, len(clustered))]
        address[clustered] = address[pick]
        address_id[clustered] = address_id[pick]
    full = _join(
        np.full(n, "广东省佛山市"),
        np.array([DISTRICTS[c].name for c in district_codes], dtype=object),
        address,
    )
    return full, address_id


def make_population(
    rng: np.random.Generator,
    n: int,
    history_start: np.datetime64,
    history_end: np.datetime64,
    active_share_at_start: float,
    deregistration_per_year: float,
    habitual_share: float = 0.0,
    habitual_shift: float = 0.0,
    boom: tuple[np.random.Generator, str, float, np.datetime64] | None = None,
) -> Population:
    """Generate the registry truth for `n` enterprises.

    Args:
        rng: the city's random generator.
        n: enterprises ever registered in the window (active at its start or founded in it).
        history_start, history_end: the window.
        active_share_at_start: share founded before the window opens.
        deregistration_per_year: base hazard of closing.
        habitual_share: share of habitual offenders, whose hidden conduct is shifted up.
        habitual_shift: how far (in standard deviations of the conduct trait).
        boom: (its own generator, industry code, share, since): that share of the enterprises
            are firms of that industry founded since (`simcity.drift`, the `boom` scenario).

    Returns:
        The population: enterprises (with their hidden conduct trait), persons, shareholders.
    """
    codes = np.array(list(DISTRICT_WEIGHTS))
    district = _choice(rng, codes, n, list(DISTRICT_WEIGHTS.values()))
    district_name = np.array([DISTRICTS[c].name for c in district], dtype=object)
    town = np.empty(n, dtype=object)
    for code in codes:
        mask = district == code
        town[mask] = _choice(rng, DISTRICTS[code].towns, int(mask.sum()))
    etype = _choice(rng, ENTITY_TYPES, n, ENTITY_TYPE_WEIGHTS)

    inds = INDUSTRIES
    ind_code = np.array([i.code for i in inds])
    ind_section = np.array([i.section for i in inds])
    ind_weight = np.array([i.weight for i in inds])
    industry = _choice(rng, ind_code, n, ind_weight)
    # Individual businesses trade and serve; cooperatives farm.
    indiv = etype == "individual"
    street = np.isin(ind_section, ["F", "H", "O"])
    industry[indiv] = _choice(rng, ind_code[street], int(indiv.sum()), ind_weight[street])
    coop = etype == "cooperative"
    farm = ind_section == "A"
    if farm.any():
        industry[coop] = _choice(rng, ind_code[farm], int(coop.sum()), ind_weight[farm])
    # Founded before the window (older firms rarer: the registry grew ~12%/year) or inside it.
    before = rng.random(n) < active_share_at_start
    founded = np.where(
        before,
        _dates(rng, np.datetime64("1992-01-01"), history_start, n, growth=0.12),
        _dates(rng, history_start, history_end - np.timedelta64(20, "D"), n),
    )
    if boom is not None:
        b_rng, b_industry, b_share, since = boom
        if b_industry not in set(ind_code):
            raise ValueError(f"drift: boom industry {b_industry!r} is not an industry code")
        new = b_rng.random(n) < b_share
        founded[new] = _dates(b_rng, since, history_end - np.timedelta64(20, "D"), int(new.sum()))
        industry[new] = b_industry
        before = before & ~new
    section = pd.Series(industry).map(dict(zip(ind_code, ind_section, strict=True))).to_numpy()
    # Conduct is a mixture: most enterprises around 0, a minority of habitual offenders shifted
    # up (none in the default city; configs/concentrated-city.yaml has some).
    # Habitual offenders close no faster than others (the hazard reads the base trait), so the
    # minority's share of open enterprises stays near habitual_share.
    habitual = rng.random(n) < habitual_share if habitual_share > 0 else np.zeros(n, dtype=bool)
    base = rng.standard_normal(n)
    conduct = base + habitual_shift * habitual
    hazard = deregistration_per_year * np.exp(0.3 * base) * np.where(indiv, 1.5, 1.0)
    life = rng.exponential(1.0 / hazard) * 365.25
    start_clock = np.maximum(founded, history_start)
    closed = start_clock + life.astype("timedelta64[D]")
    deregistered = np.where(closed < history_end, closed, np.datetime64("NaT"))

    # Parents of branches: limited or joint-stock companies of the city.
    companies = np.flatnonzero(np.isin(etype, ["limited", "joint_stock"]))
    parent = np.full(n, -1, dtype=np.int64)
    branch = etype == "branch"
    parent[branch] = rng.choice(companies, int(branch.sum()))
    names = _entity_names(rng, n, district_name, town, section, etype, parent)

    org_type = np.array([ORG_TYPE_CODE[t] for t in etype])
    credit_code = make_usccs(rng, district, org_type)
    old = founded < np.datetime64("2015-10-01")
    regno = np.where(old, make_regnos(rng, district), None)

    log_capital = np.select(
        [etype == "joint_stock", etype == "limited", etype == "cooperative", indiv],
        [
            rng.normal(np.log(3e7), 1.0, n),
            rng.normal(np.log(1e6), 1.3, n),
            rng.normal(np.log(5e5), 0.9, n),
            rng.normal(np.log(3e4), 1.0, n),
        ],
        rng.normal(np.log(2e5), 1.0, n),  # branches: working capital allotted
    )
    subscribed = np.maximum(np.round(np.exp(log_capital), -3), 1000.0)
    paid_share = np.where(rng.random(n) < 0.45, 0.0, rng.beta(2, 1.5, n))
    paid_share[indiv] = 1.0  # individual businesses declare what they hold
    paid_in = np.round(subscribed * paid_share, -2)
    log_emp = np.select(
        [etype == "joint_stock", etype == "limited", indiv],
        [
            rng.normal(np.log(120), 1.0, n),
            rng.normal(np.log(9), 1.2, n),
            rng.normal(np.log(1.5), 0.7, n),
        ],
        rng.normal(np.log(6), 1.0, n),
    )
    employees = np.floor(np.exp(log_emp)).astype(np.int64)

    address, address_id = _addresses(rng, n, district, town)

    n_persons = int(n * 1.2) + 10
    persons = make_persons(rng, n_persons, history_end)
    # Legal representatives: most enterprises have their own; about one in eight is led by a
    # person from a small pool who represents several (groups, and registration agents' nominees).
    legal_rep = rng.permutation(n_persons)[:n]
    serial = rng.random(n) < 0.12
    pool = max(1, n // 50)
    weights = rng.pareto(1.2, pool) + 1.0
    legal_rep[serial] = rng.choice(pool, int(serial.sum()), p=weights / weights.sum())

    entities = pd.DataFrame(
        {
            "entity_uid": np.arange(n, dtype=np.int32),
            "credit_code": credit_code,
            "registration_number": regno,
            "name": names,
            "entity_type": etype,
            "industry_code": industry,
            "industry_section": section,
            "district_code": district,
            "town": town,
            "address": address,
            "address_id": address_id,
            "founded_on": founded.astype("datetime64[D]"),
            "deregistered_on": deregistered.astype("datetime64[D]"),
            "subscribed_capital": subscribed,
            "paid_in_capital": paid_in,
            "employees": employees,
            "legal_rep_uid": legal_rep.astype(np.int32),
            "parent_uid": parent.astype(np.int32),
            "conduct": conduct,
            "habitual": habitual,
        }
    )
    shareholders = _make_shareholders(rng, entities, n_persons)
    return Population(entities=entities, persons=persons, shareholders=shareholders)


def _make_shareholders(
    rng: np.random.Generator, entities: pd.DataFrame, n_persons: int
) -> pd.DataFrame:
    """1-4 shareholders per company or cooperative, mostly persons, some enterprises."""
    holders = entities.index[
        entities["entity_type"].isin(["limited", "joint_stock", "cooperative"])
    ].to_numpy()
    count = rng.choice([1, 2, 3, 4], size=len(holders), p=[0.35, 0.35, 0.2, 0.1])
    owner = np.repeat(holders, count)
    m = len(owner)
    is_enterprise = rng.random(m) < 0.08
    holder_entity = rng.choice(holders, m)
    holder_person = rng.integers(0, n_persons, m)
    share = rng.gamma(1.0, 1.0, m)
    total = np.bincount(np.repeat(np.arange(len(holders)), count), weights=share)
    share = share / np.repeat(total, count)
    capital = entities["subscribed_capital"].to_numpy()[owner]
    founded = entities["founded_on"].to_numpy()[owner]
    return pd.DataFrame(
        {
            "entity_uid": owner.astype(np.int32),
            "holder_is_enterprise": is_enterprise,
            "holder_entity_uid": np.where(is_enterprise, holder_entity, -1).astype(np.int32),
            "holder_person_uid": np.where(is_enterprise, -1, holder_person).astype(np.int32),
            "subscribed": np.round(capital * share, -2),
            "subscribed_on": founded,
        }
    )
