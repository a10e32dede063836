"""Eligibility API: `uvicorn services.eligibility.api:app`."""

from services.eligibility.cases.endpoints import router as cases
from services.eligibility.config import Settings
from services.eligibility.models import platform
from shared.app import create_app

app = create_app(
    Settings(), platform, [cases],
    title="Eligibility (审核确认)",
    description="Case workflow from investigation to the county decision; dated regional policy parameters.",
)
