"""Monitoring worker: relays monitoring's outbox (alert events). Feed consumers arrive with the monitoring work."""

from services.monitoring.config import Settings
from services.monitoring.models import platform
from shared.consumer import Handler
from shared.worker import main

CONSUMERS: dict[str, tuple[list[str], dict[str, Handler]]] = {}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
