"""Payments' tables (schema `payments`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import PlatformTables, service_metadata

SCHEMA = "payments"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


platform = PlatformTables(Base.metadata)


class Beneficiary(Base):
    """保障对象: one household on the roll for one programme, from an approved case."""

    __tablename__ = "beneficiaries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    household_id: Mapped[uuid.UUID] = mapped_column(index=True)
    programme: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    monthly_amount_fen: Mapped[int]
    start_month: Mapped[date] = mapped_column(Date, comment="first day of the first month paid")
    end_month: Mapped[date | None] = mapped_column(Date, comment="first day of the last month paid, once known")
    status: Mapped[str] = mapped_column(String(20), default="active", comment="active, exiting, stopped")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
