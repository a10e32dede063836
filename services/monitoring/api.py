"""Monitoring API: `uvicorn services.monitoring.api:app`."""

from services.monitoring.alerts.endpoints import router as alerts
from services.monitoring.config import Settings
from services.monitoring.feeds.endpoints import router as feeds
from services.monitoring.models import platform
from services.monitoring.readmodel.endpoints import router as households
from services.monitoring.reports.endpoints import router as reports
from services.monitoring.risk.parameters import risk_parameters
from shared.app import create_app
from shared.core.regions import RegionTable

settings = Settings()
risk_parameters()  # an invalid parameter file fails at start-up, naming the file and key
RegionTable.load(settings.region_data_dir)  # loaded once, before the first feed arrives

app = create_app(
    settings,
    platform,
    [feeds, alerts, households, reports],
    title="Monitoring (动态监测)",
    description="Partner data feeds (数据比对), 三类人群 risk rules, and alerts tracked until a township has "
    "verified and closed them; the monthly report to 乡村振兴局.",
)
