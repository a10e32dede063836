"""Monitoring API: `uvicorn services.monitoring.api:app`."""

from services.monitoring.alerts.endpoints import router as alerts
from services.monitoring.config import Settings
from services.monitoring.models import platform
from shared.app import create_app

app = create_app(
    Settings(), platform, [alerts],
    title="Monitoring (动态监测)",
    description="Partner data feeds, risk rules and alerts tracked until a township verifies them.",
)
