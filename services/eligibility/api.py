"""Eligibility API: `uvicorn services.eligibility.api:app`."""

from services.eligibility.assessments.endpoints import router as assessments
from services.eligibility.cases.endpoints import router as cases
from services.eligibility.config import Settings
from services.eligibility.documents.endpoints import router as documents
from services.eligibility.models import platform
from services.eligibility.notices.endpoints import router as notices
from services.eligibility.policy_admin.endpoints import router as parameters
from services.eligibility.recompute.endpoints import recomputes
from services.eligibility.recompute.endpoints import router as what_if
from services.eligibility.tasks.endpoints import router as tasks
from shared.app import create_app

app = create_app(
    Settings(),
    platform,
    [cases, documents, tasks, notices, what_if, recomputes, parameters, assessments],
    title="Eligibility (审核确认)",
    description="Case workflow from acceptance to the county decision, on dated regional policy parameters.",
)
