"""The case's documents as .docx in the bureau's layout (GB/T 9704-2012, shared/official_document.py): 审核确认表
(the household, the assessment with its figures and 计算依据, every step with who and when, room for signatures),
不予批准通知书 (with the written reasons), 停保（终止）通知书 and 调整保障金通知书, each issued by the county's
民政局 and dated.

Eligibility never holds an ID number (only intake does, and shares fingerprints), so none can appear here; the
names are in full because the form is signed by the officials and the notices are addressed to the household
(the public notices, 公示, mask them)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.eligibility.cases.domain import Case, CaseAssessment
from services.eligibility.cases.workflow import OPEN, Status
from services.eligibility.documents.domain import (
    Adjustment,
    DocumentKind,
    RecordedStep,
    Stop,
    adjustments,
    amount_changes,
    decision_step,
    stop,
)
from services.eligibility.notices.service import PROGRAMME_NAMES
from services.eligibility.policy.rules import yuan
from shared.core.household import HouseholdSnapshot, MemberFacts
from shared.core.period import Period
from shared.core.regions import civil_affairs_bureau, display_name
from shared.official_document import OfficialDocument, chinese_date

STEP_NAMES = {
    "investigation": "启动调查",
    "home-visits": "入户调查",
    "economic-check": "家庭经济状况核对",
    "township-opinion": "乡镇（街道）初审",
    "appraisal": "民主评议",
    "notice": "退回公示",
    "notice/objections": "公示异议",
    "notice/close": "公示期满",
    "decision": "县级审核确认",
    "extension": "延长办理期限",
    "emergency-approval": "急难型先行救助",
    "documents-complete": "补齐材料",
    "review": "定期核查",
    "review_requested": "动态监测需复核",
    "death_reported": "死亡比对",
    "termination": "停保",
    "terminate": "停保（死亡比对）",
    "standard_recompute": "提标调整",
    "amended": "申请人更正信息",
    "withdraw": "撤回申请",
    "imported": "存量对象导入",
}
RELATIONS = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "other": "其他",
}
LABOUR = {"full": "有", "partial": "部分", "none": "无"}
STOP_REASONS = {
    "death": "保障对象死亡",
    "fraud": "隐瞒或者虚报家庭收入、财产状况，骗取社会救助",
    "moved": "户籍迁出或者不再在本地居住",
    "ineligible": "经定期核查，已不符合保障条件",
    "other": "其他原因",
}
# 行政复议法 (60 days) and 行政诉讼法 (6 months): what a household may do against a decision it is notified of.
REMEDY = (
    "如对本决定不服，可以自收到本通知书之日起六十日内向{county}人民政府申请行政复议，"
    "或者自收到本通知书之日起六个月内依法向人民法院提起行政诉讼。"
)


RESULTS = {
    "consistent": "核对结果：一致",
    "discrepancies": "核对结果：有出入",
    "agreed": "评议结果：同意",
    "disagreed": "评议结果：不同意",
}
RECOMMENDATIONS = {"approve": "建议批准", "reject": "建议不予批准"}
# The inquiries a 不予批准通知书 says the application went through, when the case recorded them.
INQUIRIES = {"home-visits": "入户调查", "economic-check": "家庭经济状况核对"}


def _step_note(step: RecordedStep) -> str:
    """What the step recorded besides who and when: investigators and findings, a check's or an appraisal's
    result, the township's recommendation, an objection; then the official's opinion."""
    d = step.data
    notes = [
        "调查人：" + "、".join(d["investigators"]) if d.get("investigators") else None,
        f"调查情况：{d['findings']}" if d.get("findings") else None,
        RESULTS.get(d.get("result", "")),
        f"参加{d['participants']}人" if d.get("participants") else None,
        RECOMMENDATIONS.get(d.get("recommendation", "")),
        f"异议：{d['objection']}" if d.get("objection") else None,
        step.opinion,
    ]
    return "；".join(n for n in notes if n)


def _month(period: Period) -> str:
    return f"{period.year}年{period.month}月"


def _programme(case: Case) -> str:
    return PROGRAMME_NAMES.get(case.programme, case.programme)


def _addressee(case: Case) -> MemberFacts:
    """The person a notice is addressed to: the applicant of a person-level programme, else the head."""
    members = case.snapshot.members
    wanted = case.applicant_member_id
    return next((m for m in members if m.member_id == wanted), None) or next(
        (m for m in members if m.relation == "head"), members[0]
    )


def _value(key: str, value: Any) -> str:
    """A parameter value of the 计算依据 as the form shows it: money in yuan, a standard with its period."""
    if isinstance(value, dict):
        if set(value) == {"per", "fen"}:
            return f"{yuan(int(value['fen']))}/{'年' if value['per'] == 'year' else '月'}"
        return "，".join(f"{k}：{_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return "；".join(_value(key, v) for v in value) or "无"
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_fen"):
        return yuan(value)
    return str(value)


def _amount(case: Case) -> str:
    if case.monthly_amount_fen is not None:
        return f"每月{yuan(case.monthly_amount_fen)}"
    if case.one_off_amount_fen is not None:
        return f"一次性{yuan(case.one_off_amount_fen)}"
    return "—"


def _persons(case: Case, imported: RecordedStep | None = None) -> int:
    """保障人数: as the old roll paid an imported case; else those the assessment covers."""
    if imported is not None and imported.data.get("persons"):
        return int(imported.data["persons"])
    a = case.assessment
    return len(a.covered_member_ids) if a and a.covered_member_ids else len(case.snapshot.counted_members())


def _approved(case: Case, decided: RecordedStep | None) -> bool | None:
    """What the county decided: approved (True), rejected (False, a case refused as it opened too), or nothing
    yet (None: the case is still in the procedure)."""
    if decided is not None:
        return decided.to_status != Status.REJECTED.value
    if case.status is Status.REJECTED:
        return False
    return True if case.decided_on is not None and case.status not in OPEN else None


def _priced(a: CaseAssessment | None) -> str | None:
    """The rules' figure for an eligible finding (每月 / 一次性), None when they found nothing to pay."""
    if a is None or not a.eligible:
        return None
    if a.monthly_amount_fen is not None:
        return f"每月{yuan(a.monthly_amount_fen)}"
    return f"一次性{yuan(a.one_off_amount_fen)}" if a.one_off_amount_fen is not None else None


def _conclusion(case: Case, decided: RecordedStep | None, imported: RecordedStep | None) -> list[str]:
    """认定结论: the decision's — 符合保障条件 with the amount once approved, 不符合保障条件 / 不予批准 with the
    reasons once rejected (the rules' own figure said as theirs, whatever it was); a case still in the procedure
    has no conclusion, only the rules' finding as 初步认定. A case of the old roll came in at the amount paid,
    with our rules' figure for the review when they price it otherwise."""
    a = case.assessment
    if imported is None:
        approved, priced = _approved(case, decided), _priced(a)
        if approved:
            return [f"认定结论：符合保障条件。保障金额：{_amount(case)}。"]
        if approved is None:
            finding = "不符合保障条件"
            if a is not None and a.eligible:
                finding = f"符合保障条件，测算金额{priced}" if priced else "符合保障条件"
            return [f"初步认定（尚未审核确认）：{finding}。"]
        why = "；".join(case.reasons or [])
        lines = ["认定结论：不符合保障条件，不予批准。" + (f"理由：{why}。" if why else "")]
        if a is not None:
            lines.append(f"规则测算：{priced}（未予批准）。" if priced else "规则测算：不符合保障条件。")
        return lines
    lines = [f"认定结论：原系统审批纳入（存量对象导入），按现发放金额保障。保障金额：{_amount(case)}。"]
    if imported.data.get("amount_differs"):
        computed = imported.data.get("computed_amount_fen")
        if computed is None and a is not None:  # an intake that sent no figure: the case's own assessment's
            computed = a.monthly_owed_fen
        ours = f"每月{yuan(int(computed))}" if computed is not None else "不符合保障条件"
        lines.append(f"现行规则测算{ours}，与现发放金额不一致，待复核。")
    return lines


def _as_decided(case: Case, decided: RecordedStep | None) -> Case:
    """The case as its decision saw it: the facts, assessment and amounts kept with the decision step (a later
    review changes the case, not what was decided); a decision recorded before they were kept reads the case."""
    if decided is None or not decided.data.get("snapshot"):
        return case
    data = decided.data
    return replace(
        case,
        snapshot=HouseholdSnapshot.model_validate(data["snapshot"]),
        assessment=CaseAssessment.model_validate(data["assessment"]) if data.get("assessment") else None,
        monthly_amount_fen=data.get("monthly_amount_fen", case.monthly_amount_fen),
        one_off_amount_fen=data.get("one_off_amount_fen", case.one_off_amount_fen),
    )


def approval_form(case: Case, steps: list[RecordedStep], village: str) -> OfficialDocument:
    """审核确认表: the household, the assessment and its 计算依据 as the decision saw them, every step, and the
    signatures."""
    doc = OfficialDocument()
    decided = decision_step(steps)
    case = _as_decided(case, decided)
    imported = next((x for x in steps if x.step == "imported"), None)
    doc.title(f"{_programme(case)}审核确认表")
    s = case.snapshot
    head = _addressee(case)
    doc.table(
        [
            ["申请人", head.name, "所在村（社区）", village],
            ["户籍性质", "城镇" if s.hukou_type == "urban" else "农村", "受理日期", chinese_date(case.opened_on)],
            ["申请项目", _programme(case), "保障人数", f"{_persons(case, imported)}人"],
        ],
        header=False,
        widths_mm=(30, 48, 36, 42),
    )
    doc.heading("一、家庭成员", 1)
    doc.table(
        [["姓名", "与户主关系", "性别", "出生日期", "劳动能力", "共同生活"]]
        + [
            [
                m.name,
                RELATIONS.get(m.relation, m.relation),
                "男" if m.sex == "male" else "女",
                chinese_date(m.birth_date),
                LABOUR.get(m.labour_capacity, m.labour_capacity),
                "是" if m.counted else f"否（{m.not_counted_reason or ''}）",
            ]
            for m in s.members
        ],
        widths_mm=(24, 24, 14, 40, 24, 30),
    )
    doc.heading("二、认定结果", 1)
    a = case.assessment
    for line in _conclusion(case, decided, imported):
        doc.paragraph(line)
    if case.effective_month:
        doc.paragraph(f"发放起始年月：{_month(Period.of(case.effective_month))}。")
    for reason in a.reasons if a else []:
        doc.paragraph(reason + "。")
    if a and a.trace:
        doc.heading("（一）计算依据", 2)
        doc.table(
            [["参数", "取值", "起始日期", "依据"]]
            + [[t.key, _value(t.key, t.value), chinese_date(t.start), t.reference] for t in a.trace],
            widths_mm=(40, 40, 30, 46),
        )
    doc.heading("三、办理过程", 1)
    doc.table(
        [["环节", "日期", "经办人", "意见"]]
        + [[STEP_NAMES.get(x.step, x.step), chinese_date(x.on), x.actor, _step_note(x)] for x in steps],
        widths_mm=(34, 36, 30, 56),
    )
    doc.heading("四、审核确认意见", 1)
    if decided is not None:
        verdict = "不同意" if decided.to_status == Status.REJECTED.value else "同意"
        opinion = decided.opinion if decided.opinion and decided.opinion != verdict else ""
        doc.paragraph(f"{verdict}。{opinion}")
    if case.reasons:
        doc.paragraph("不予批准理由：" + "；".join(case.reasons) + "。")
    doc.blank()
    for line in (
        "乡镇（街道）审核意见：                    经办人（签字）：",
        "负责人（签字）：                    （盖章）        年    月    日",
        "县级民政部门审核确认意见：                    审核人（签字）：",
        "负责人（签字）：                    （盖章）        年    月    日",
    ):
        doc.paragraph(line, indent=False)
    doc.closing(civil_affairs_bureau(case.region_code), case.decided_on or case.status_since)
    return doc


def rejection_notice(case: Case, steps: list[RecordedStep], village: str) -> OfficialDocument:
    """不予批准通知书: the decision and its written reasons, and how to appeal."""
    doc = OfficialDocument()
    doc.title("不予批准通知书")
    doc.paragraph(f"{village} {_addressee(case).name}：", indent=False)
    # What the case went through, as recorded: a second application refused as it opened was never investigated.
    done = [name for step, name in INQUIRIES.items() if any(x.step == step for x in steps)]
    how = "、".join(done) + "和审核" if done else "审核"
    doc.paragraph(
        f"你（你家）于{chinese_date(case.opened_on)}提出的{_programme(case)}申请，经{how}，"
        f"根据《社会救助暂行办法》等有关规定，决定不予批准。理由如下："
    )
    for i, reason in enumerate(case.reasons or [], start=1):
        doc.paragraph(f"{i}. {reason}")
    decided = decision_step(steps)
    if decided is not None and decided.opinion:
        doc.paragraph(f"审核意见：{decided.opinion}")
    doc.paragraph(REMEDY.format(county=display_name(case.region_code[:6])))
    doc.paragraph("特此通知。")
    doc.closing(civil_affairs_bureau(case.region_code), case.decided_on or case.status_since)
    return doc


def termination_notice(case: Case, steps: list[RecordedStep], village: str) -> OfficialDocument:
    """停保（终止）通知书: why, from which month payment stops, how to appeal."""
    stopped: Stop | None = stop(steps)
    assert stopped is not None  # checked before rendering
    doc = OfficialDocument()
    doc.title(f"停止{_programme(case)}通知书")
    doc.paragraph(f"{village} {_addressee(case).name}：", indent=False)
    first_owed = Period.of(case.effective_month) if case.effective_month else None
    if first_owed is not None and stopped.last_month < first_owed:
        # Stopped before the first month owed (died between the decision and it): no month was ever paid to name.
        stops = f"决定自{_month(first_owed)}起停止发放，此前尚未发放。"
    else:
        stops = f"决定自{_month(stopped.last_month.next())}起停止发放，{_month(stopped.last_month)}为最后发放月份。"
    doc.paragraph(
        f"你（你家）享受的{_programme(case)}（{_amount(case)}），因{STOP_REASONS.get(stopped.reason, stopped.reason)}，"
        f"根据《社会救助暂行办法》等有关规定，{stops}"
    )
    if stopped.opinion:
        doc.paragraph(f"具体情况：{stopped.opinion}")
    a = case.assessment
    if stopped.reason == "ineligible" and a is not None and not a.eligible and a.reasons:
        doc.paragraph("核查认定：" + "；".join(a.reasons) + "。")  # what the review found, in the rules' words
    doc.paragraph(REMEDY.format(county=display_name(case.region_code[:6])))
    doc.paragraph("特此通知。")
    doc.closing(civil_affairs_bureau(case.region_code), stopped.on)
    return doc


def adjustment_notice(case: Case, steps: list[RecordedStep], village: str) -> OfficialDocument:
    """调整保障金通知书: from each month the latest change takes effect, what the household got before and gets
    now, and the decisions that moved it (`adjustments`); their opinions, and the 计算依据 of the amount now."""
    changes = amount_changes(steps)
    lines = adjustments(changes, case.schedule)
    doc = OfficialDocument()
    doc.title("调整保障金通知书")
    doc.paragraph(f"{village} {_addressee(case).name}：", indent=False)

    def why(a: Adjustment) -> str:
        return "、".join(dict.fromkeys(c.why for c in a.changes))

    def amounts(a: Adjustment) -> str:
        return f"保障金由每月{yuan(a.before_fen)}自{_month(a.month)}起调整为每月{yuan(a.after_fen)}"

    granted = f"你（你家）享受的{_programme(case)}"
    if len(lines) == 1:
        doc.paragraph(f"{granted}，经{why(lines[0])}，根据《社会救助暂行办法》等有关规定，{amounts(lines[0])}。")
    else:
        doc.paragraph(f"{granted}，根据《社会救助暂行办法》等有关规定，保障金调整如下：")
        for i, a in enumerate(lines, start=1):
            doc.paragraph(f"{i}. 经{why(a)}，{amounts(a)}。")
    told = {id(c) for a in lines for c in a.changes}
    opinions = dict.fromkeys(c.opinion for c in changes if c.opinion and id(c) in told)
    if opinions:
        doc.paragraph("调整依据：" + "；".join(opinions))
    a = case.assessment
    if a and a.reasons and changes[-1].assessed:
        doc.paragraph("计算过程：" + "；".join(a.reasons) + "。")
    doc.paragraph(REMEDY.format(county=display_name(case.region_code[:6])))
    doc.paragraph("特此通知。")
    doc.closing(civil_affairs_bureau(case.region_code), changes[-1].on)
    return doc


RENDERERS = {
    DocumentKind.APPROVAL_FORM: approval_form,
    DocumentKind.REJECTION_NOTICE: rejection_notice,
    DocumentKind.TERMINATION_NOTICE: termination_notice,
    DocumentKind.ADJUSTMENT_NOTICE: adjustment_notice,
}


def render(kind: DocumentKind, case: Case, steps: list[RecordedStep], village: str) -> bytes:
    """`village`: the household's village as printed (its township and the name the county loaded)."""
    return RENDERERS[kind](case, steps, village).to_bytes()
