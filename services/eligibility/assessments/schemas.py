"""The bodies of `POST /assessments`: the contract intake's roll import (存量对象导入) prices rows by, typed once in
shared/core/assessment_contract.py (both services read the same models)."""

from shared.core.assessment_contract import (
    MAX_ITEMS,
    AssessmentItem,
    AssessmentRequest,
    AssessmentResponse,
    AssessmentResult,
)

__all__ = ["MAX_ITEMS", "AssessmentItem", "AssessmentRequest", "AssessmentResponse", "AssessmentResult"]
