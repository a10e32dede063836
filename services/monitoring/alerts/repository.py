"""Every alert query of monitoring."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.models import Alert


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def in_region(self, region_prefix: str, status: str | None, limit: int) -> list[Alert]:
        query = select(Alert).where(Alert.region_code.startswith(region_prefix))
        if status:
            query = query.where(Alert.status == status)
        return list(await self.session.scalars(query.order_by(Alert.opened_at).limit(limit)))
