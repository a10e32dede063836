"""工作总结 (the half-year or annual social-assistance work summary) drafted from the county statistics, in the
structure the county reports use: 一、主要工作 by programme (户 / 人 / 万元), 动态管理, 临时救助, 监测预警; then
二、存在问题 and 三、下一步打算 as headings for the officer to write. Every number is a field of the statistics; the
same blocks are rendered as Markdown and as .docx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.payments.county.schemas import CountyStatistics
from services.payments.county.service import label
from services.payments.statistics.service import wan
from shared.events.catalogue import ONE_OFF, PERSON_LEVEL
from shared.official_document import OfficialDocument

_NUMBERS = "一二三四五六七八九十"
FOR_THE_OFFICER = "（由经办人员填写。）"


@dataclass(frozen=True)
class Block:
    kind: Literal["title", "heading", "subheading", "paragraph"]
    text: str


def blocks(s: CountyStatistics) -> list[Block]:
    t = s.totals
    out = [
        Block("title", f"{s.region_name}{s.period.label}社会救助工作总结（初稿）"),
        Block(
            "paragraph",
            f"{s.period.label}，{s.region_name}共保障各类社会救助对象{t.households}户{t.persons}人，"
            f"累计发放救助资金{t.money_wan_yuan}万元。",
        ),
        Block("heading", "一、主要工作"),
    ]
    sections: list[tuple[str, str]] = []
    for p in s.programmes:
        if p.programme in ONE_OFF:
            continue
        text = f"保障{label(p.programme)}对象{p.households}户{p.persons}人，累计发放资金{p.money_wan_yuan}万元。"
        if p.supplement_fen:
            text += f"其中提标补发{wan(p.supplement_fen)}万元。"
        sections.append((label(p.programme), text))
    moves = [
        f"{label(p.programme)}新增{p.new}{unit}、停保{p.stopped}{unit}、调整{p.changed}{unit}"
        for p in s.programmes
        if p.programme not in ONE_OFF
        for unit in ("人" if p.programme in PERSON_LEVEL else "户",)  # a person-level programme's changes are persons
    ]
    c = s.cases_total
    sections.append(
        (
            "动态管理",
            ("落实动态管理，有进有出：" + "；".join(moves) + "。" if moves else "")
            + f"受理救助申请{c.received}件，批准{c.approved}件，不予批准{c.rejected}件，"
            f"逾期{c.overdue}件。",
        )
    )
    for p in s.programmes:
        if p.programme in ONE_OFF:
            sections.append(
                (
                    label(p.programme),
                    f"实施{label(p.programme)}{p.one_off_household_times}户次{p.one_off_person_times}人次，"
                    f"发放资金{wan(p.one_off_fen)}万元。",
                )
            )
    a, cov = s.alerts, s.coverage
    covered = "、".join(f"{label(k)}{v}户" for k, v in cov.by_programme.items())
    sections.append(
        (
            "监测预警",
            f"开展低收入人口动态监测，发出预警{a.raised}条，核实{a.verified}条，"
            f"纳入救助{a.brought_into_assistance}户。三类人群监测对象{cov.monitored_households}户，"
            f"其中享受社会救助{cov.covered_households}户" + (f"（{covered}）" if covered else "") + "。",
        )
    )
    for i, (title, text) in enumerate(sections):
        out += [Block("subheading", f"（{_NUMBERS[i] if i < 10 else i + 1}）{title}"), Block("paragraph", text)]
    for heading in ("二、存在问题", "三、下一步打算"):
        out += [Block("heading", heading), Block("paragraph", FOR_THE_OFFICER)]
    return out


def to_markdown(s: CountyStatistics) -> str:
    prefix = {"title": "# ", "heading": "## ", "subheading": "### ", "paragraph": ""}
    return "\n\n".join(prefix[b.kind] + b.text for b in blocks(s)) + "\n"


def to_docx(s: CountyStatistics) -> bytes:
    """The draft as the bureau's documents are laid out (GB/T 9704-2012, shared/official_document.py)."""
    document = OfficialDocument()
    for b in blocks(s):
        if b.kind == "title":
            document.title(b.text)
        elif b.kind == "paragraph":
            document.paragraph(b.text)
        else:
            document.heading(b.text, level=1 if b.kind == "heading" else 2)
    return document.to_bytes()
