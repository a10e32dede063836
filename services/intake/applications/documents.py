"""The documents each programme needs (申请材料清单), so the front desk can list every missing one at once
(一次性告知). A requirement is met by uploaded evidence of that document kind on the application.

Based on the national procedures (民发〔2021〕57号 低保, 43号 特困, 临时救助 and 医疗救助 rules) as county
front desks list them; a county with a different list changes this table, not the code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DocumentKind = Literal[
    "application_form",
    "id_card",
    "hukou_booklet",
    "consent_form",
    "income_proof",
    "property_proof",
    "disability_certificate",
    "diagnosis",
    "medical_bills",
    "insurance_settlement",
    "expense_proof",
    "emergency_proof",
    "guardianship_proof",
    "parents_status_proof",
    "care_assessment",
    "other",
]


@dataclass(frozen=True)
class Document:
    kind: str
    name: str
    note: str = ""


DOCUMENTS: dict[str, Document] = {
    d.kind: d
    for d in (
        Document("application_form", "申请书", "signed by the applicant"),
        Document("id_card", "身份证", "of every household member"),
        Document("hukou_booklet", "户口簿"),
        Document("consent_form", "家庭经济状况核对授权书", "signed by every adult member"),
        Document("income_proof", "收入证明", "wages, business, property and transfer income of the last 12 months"),
        Document("property_proof", "财产状况说明", "deposits, vehicles, housing"),
        Document("disability_certificate", "残疾人证", "第二代残疾人证"),
        Document("diagnosis", "诊断证明", "from the treating hospital"),
        Document("medical_bills", "医疗费用票据", "invoices of the bill"),
        Document("insurance_settlement", "医保结算单", "what basic and critical-illness insurance paid"),
        Document("expense_proof", "刚性支出凭证", "medical, education or rehabilitation spending"),
        Document(
            "emergency_proof",
            "困难情况说明",
            "fire, accident or acute illness; may follow after help is given",
        ),
        Document("guardianship_proof", "监护人证明"),
        Document("parents_status_proof", "父母死亡、失踪、服刑等证明"),
        Document("care_assessment", "生活自理能力评估表"),
        Document("other", "其他材料"),
    )
}

_BASE = ("application_form", "id_card", "hukou_booklet")
_MEANS = ("consent_form", "income_proof", "property_proof")

REQUIRED: dict[str, tuple[str, ...]] = {
    "dibao": (*_BASE, *_MEANS),
    "tekun": (*_BASE, *_MEANS, "care_assessment"),
    "marginal": (*_BASE, *_MEANS),
    "rigid_expense": (*_BASE, *_MEANS, "expense_proof"),
    "temporary": _BASE,  # plus per type, below
    "medical": (*_BASE, "diagnosis", "medical_bills", "insurance_settlement"),
    "orphan": (*_BASE, "parents_status_proof", "guardianship_proof"),
    "de_facto_orphan": (*_BASE, "parents_status_proof", "guardianship_proof"),
    "disability_living": (*_BASE, "disability_certificate"),
    "disability_care": (*_BASE, "disability_certificate", "care_assessment"),
}
TEMPORARY_BY_TYPE: dict[str, tuple[str, ...]] = {
    "emergency": ("emergency_proof",),
    # 支出型 follows the full procedure, means check included.
    "expenditure": (*_MEANS, "expense_proof"),
}


def required_documents(programme: str, details: dict[str, Any]) -> list[str]:
    kinds = list(REQUIRED[programme])
    if programme == "temporary" and (facts := details.get("temporary")):
        kinds += TEMPORARY_BY_TYPE[facts["type"]]
    return list(dict.fromkeys(kinds))


def missing_documents(programme: str, details: dict[str, Any], provided: set[str]) -> list[Document]:
    """Every required document not yet provided, in the order a clerk reads them out."""
    return [DOCUMENTS[k] for k in required_documents(programme, details) if k not in provided]
