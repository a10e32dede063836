"""Payments API: `uvicorn services.payments.api:app`."""

from services.payments.balances.endpoints import router as balances
from services.payments.batches.endpoints import router as batches
from services.payments.config import Settings
from services.payments.county.endpoints import router as county
from services.payments.models import platform
from services.payments.recovery.endpoints import router as recovery
from services.payments.roll.endpoints import router as roll
from services.payments.statistics.endpoints import router as statistics
from shared.app import create_app

app = create_app(
    Settings(),
    platform,
    [roll, batches, statistics, recovery, county, balances],
    title="Payments (资金发放)",
    description="Beneficiary roll from eligibility decisions; monthly disbursement batches, bank files, returns, "
    "reconciliation and 提标补发; the county's statistics, 工作总结 and dashboard (县级工作台).",
)
