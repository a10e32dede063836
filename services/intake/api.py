"""Intake API: `uvicorn services.intake.api:app`."""

from fastapi import FastAPI

from services.intake.applications.endpoints import router as applications
from services.intake.config import Settings
from services.intake.drafts.endpoints import router as drafts
from services.intake.households.endpoints import router as households
from services.intake.last_payment.endpoints import router as last_payment
from services.intake.models import platform
from services.intake.regions.endpoints import router as regions
from services.intake.roll_import.endpoints import router as roll_imports
from shared.app import create_app


def build(settings: Settings | None = None) -> FastAPI:
    """A fresh app (tests that drive their own event loop, e.g. schemathesis, need their own instance)."""
    return create_app(
        settings or Settings(),
        platform,
        [households, applications, drafts, regions, last_payment, roll_imports],
        title="Intake (受理)",
        description="Township front desk: households, members, economic facts, applications, evidence. "
        "Every POST accepts an Idempotency-Key header: a retry returns the first result.",
    )


app = build()
