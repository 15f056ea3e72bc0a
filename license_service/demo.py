"""The demo workload: the prefecture's 2018 report (湘西, Jan-May 2018, fully online) — 1,164
establishments and 362 changes over the nine divisions of 湘西 and every entity kind, with varied,
realistic Chinese data. Deterministic (seeded), so a second run finds every event already applied.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .domain.china_time import CHINA
from .domain.uscc import ALPHABET, check_character, organisation_check
from .intake import RegistrationIn, parse_registration
from .issuance import IssuanceService

__all__ = ["DIVISIONS", "DemoResult", "demo_events", "load_demo"]

DIVISIONS = {
    "433100": "州本级", "433101": "吉首市", "433122": "泸溪县", "433123": "凤凰县", "433124": "花垣县",
    "433125": "保靖县", "433126": "古丈县", "433127": "永顺县", "433130": "龙山县",
}
_PLACE = {"433100": "吉首市", **{k: v for k, v in DIVISIONS.items() if k != "433100"}}
_AUTHORITY = {k: ("湘西土家族苗族自治州市场监督管理局" if k == "433100" else f"{v}市场监督管理局")
              for k, v in DIVISIONS.items()}
_SURNAMES = "向彭田龙石张王李刘陈杨吴麻滕符姚瞿宋杜梁黄唐周胡谭肖粟邓舒"
_GIVEN = "喆堃建军华明红梅秀英志强海燕丽娟玉兰国庆小平德胜文斌湘云春生金凤晓东永福春花家豪子涵雨桐思远"
_TRADE = ["峒河", "武陵", "沱江", "酉水", "腊尔山", "边城", "苗岭", "土家", "德夯", "矮寨", "猛洞", "芙蓉",
          "乾州", "凤凰", "里耶", "湘泉", "山谷", "云雾", "金叶", "绿源", "和谐", "兴隆", "鑫盛", "瑞丰"]
_INDUSTRY = [
    ("生态农业科技", ["猕猴桃、椪柑、茶叶种植及销售", "农产品初加工", "农业技术推广服务", "生态农业观光服务"]),
    ("旅游开发", ["旅游景区开发与经营", "旅游信息咨询", "会议及展览服务", "民宿服务"]),
    ("建筑工程", ["房屋建筑工程施工", "市政公用工程施工", "建筑装饰工程", "建筑材料销售"]),
    ("商贸", ["日用百货、五金交电、文具用品销售", "预包装食品销售", "家用电器销售", "服装鞋帽销售"]),
    ("电子商务", ["网上销售农副产品", "网络技术服务", "物流信息咨询", "电子产品销售"]),
    ("食品", ["腊肉、酸鱼等湘西特色食品加工", "糕点制作及销售", "米粉加工", "食品添加剂销售"]),
    ("文化传媒", ["苗族银饰、土家织锦等民族工艺品制作及销售", "文艺创作与表演", "广告设计、制作、代理、发布"]),
    ("物流", ["普通货物道路运输", "仓储服务（不含危险化学品）", "装卸搬运", "货运代理"]),
]
_STREETS = ["世纪大道", "人民路", "建设路", "武陵路", "乾州街道湘泉路", "沱江镇虹桥路", "团结西路", "迎宾路"]
_KIND_MIX = [("company", 55), ("branch", 8), ("partnership", 5), ("sole_proprietorship", 7), ("cooperative", 10),
             ("individual_business", 15)]
_TYPES = {
    "company": ["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）",
                "股份有限公司（非上市、自然人投资或控股）"],
    "branch": ["有限责任公司分公司（自然人投资或控股）"],
    "partnership": ["普通合伙企业", "有限合伙企业"],
    "sole_proprietorship": ["个人独资企业"],
    "cooperative": ["农民专业合作社"],
    "individual_business": ["个体工商户"],
}
_SUFFIX = {"company": "有限公司", "branch": "有限公司{place}分公司", "partnership": "（有限合伙）",
           "sole_proprietorship": "经营部", "cooperative": "专业合作社", "individual_business": "店"}
_CHANGED = {"address": "住所", "representative": "负责人", "scope": "经营范围", "capital": "注册资本"}
_TYPE_CODE = {"company": "1", "branch": "1", "partnership": "1", "sole_proprietorship": "1", "cooperative": "3",
              "individual_business": "2"}


def _uscc(rng: random.Random, kind: str, division: str, used: set[str]) -> str:
    while True:
        org8 = "MA4" + "".join(rng.choice(ALPHABET[1:]) for _ in range(5))
        first17 = "9" + _TYPE_CODE[kind] + division + org8 + organisation_check(org8)
        code = first17 + check_character(first17)
        if code not in used:
            used.add(code)
            return code


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))


def _working_moment(rng: random.Random, start: date, end: date) -> datetime:
    while True:
        d = start + timedelta(days=rng.randrange((end - start).days + 1))
        if d.weekday() < 5:
            return datetime(d.year, d.month, d.day, rng.randrange(9, 17), rng.randrange(60), tzinfo=CHINA)


def _entity(rng: random.Random, kind: str, division: str, used: set[str], on: date) -> dict[str, Any]:
    place = _PLACE[division]
    trade = rng.choice(_TRADE)
    industry, scopes = rng.choice(_INDUSTRY)
    name: str | None = f"湘西{trade}{industry}" + _SUFFIX[kind].format(place=place)
    if kind == "individual_business":
        name = f"{place}{_person(rng)[0]}记{industry[:2]}店" if rng.random() < 0.8 else None
    scope = "；".join(rng.sample(scopes, rng.randint(2, len(scopes))))
    if kind != "individual_business":
        scope += "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
    return {
        "uscc": _uscc(rng, kind, division, used), "name": name, "entity_kind": kind,
        "entity_type": rng.choice(_TYPES[kind]), "representative": _person(rng),
        "registered_capital": (
            {"amount": str(Decimal(rng.choice([3, 10, 50, 100, 200, 350, 500, 1000, 1280.5]))), "unit": "万元",
             "currency": "CNY"} if kind in ("company", "cooperative") else None),
        "established_on": on.isoformat(),
        "term": ({"from": on.isoformat(), "to": None if rng.random() < 0.8 else on.replace(year=on.year + 30)
                  .isoformat()} if kind in ("company", "branch", "partnership") else None),
        "business_scope": scope,
        "address": f"湖南省湘西土家族苗族自治州{place}{rng.choice(_STREETS)}{rng.randint(1, 300)}号",
        "composition": rng.choice(["个人经营", "家庭经营"]) if kind == "individual_business" else None,
    }


def demo_events(establishments: int = 1164, changes: int = 362, seed: int = 2018) -> Iterator[dict[str, Any]]:
    """The workload as v1 registration bodies, in decision order."""
    rng = random.Random(seed)
    used: set[str] = set()
    kinds = [k for k, w in _KIND_MIX for _ in range(w)]
    divisions = list(DIVISIONS)
    events: list[tuple[datetime, dict[str, Any]]] = []
    for i in range(establishments):
        division = rng.choice(divisions)
        moment = _working_moment(rng, date(2018, 1, 2), date(2018, 5, 25))
        entity = _entity(rng, rng.choice(kinds), division, used, moment.date())
        events.append((moment, {"event_id": f"DEMO-2018-E{i + 1:05d}", "kind": "establishment",
                                "decided_at": moment.isoformat(),
                                "authority": {"name": _AUTHORITY[division], "division_code": division},
                                "entity": entity}))
    established = [e for _, e in events]
    for j in range(changes):
        base = rng.choice(established)
        moment = _working_moment(rng, datetime.fromisoformat(base["decided_at"]).date() + timedelta(days=1),
                                 date(2018, 5, 31))
        entity = dict(base["entity"])
        what = rng.choice(["address", "representative", "scope", "capital"])
        if what == "address" or (what == "capital" and entity["registered_capital"] is None):
            place = _PLACE[base["authority"]["division_code"]]
            entity["address"] = f"湖南省湘西土家族苗族自治州{place}{rng.choice(_STREETS)}{rng.randint(1, 300)}号"
        elif what == "representative":
            entity["representative"] = _person(rng)
        elif what == "scope":
            entity["business_scope"] = "电子商务；" + entity["business_scope"]
        else:
            amount = Decimal(entity["registered_capital"]["amount"]) * 2
            entity["registered_capital"] = {**entity["registered_capital"], "amount": str(amount)}
        events.append((moment, {"event_id": f"DEMO-2018-C{j + 1:05d}", "kind": "change",
                                "decided_at": moment.isoformat(), "authority": base["authority"],
                                "entity": entity, "reason": "变更" + _CHANGED[what]}))
    # a change may only come after every earlier change of the same entity: order by decision time
    events.sort(key=lambda t: t[0])
    for _, body in events:
        yield body


@dataclass
class DemoResult:
    issued: Counter[str] = field(default_factory=Counter)  # "kind/entity_kind" -> licenses issued
    already_applied: int = 0


def load_demo(issuance: IssuanceService, events: Iterable[dict[str, Any]], *,
              clock: Callable[[], datetime], legacy: frozenset[str] = frozenset(),
              advance: Callable[[], None] = lambda: None) -> DemoResult:
    """Apply the workload through the same intake and issuance as the API; replays count as
    already applied, so a second run issues nothing."""
    result = DemoResult()
    for body in events:
        at = clock()
        outcome = issuance.apply(parse_registration(RegistrationIn.model_validate(body), legacy, at=at), at=at)
        if outcome.status == 201:
            result.issued[f"{body['kind']}/{body['entity']['entity_kind']}"] += 1
        else:
            result.already_applied += 1
        advance()
    return result
