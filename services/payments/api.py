"""Payments API: `uvicorn services.payments.api:app`."""

from services.payments.config import Settings
from services.payments.models import platform
from services.payments.roll.endpoints import router as roll
from shared.app import create_app

app = create_app(
    Settings(), platform, [roll],
    title="Payments (资金发放)",
    description="Beneficiary roll from eligibility decisions; monthly disbursement.",
)
