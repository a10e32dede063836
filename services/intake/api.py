"""Intake API: `uvicorn services.intake.api:app`."""

from services.intake.applications.endpoints import router as applications
from services.intake.config import Settings
from services.intake.households.endpoints import router as households
from services.intake.models import platform
from shared.app import create_app

app = create_app(
    Settings(), platform, [households, applications],
    title="Intake (受理)",
    description="Township front desk: households, members, economic facts, applications.",
)
