"""发放批次 (`DisbursementBatch`): one disbursement of a region for a month, from request to reconciliation.

    building ─built─▶ built ─approve (another officer)─▶ approved ─export─▶ exported ─returns─▶ reconciled
        └────────────── cancel (before export) ───────────▶ cancelled
                          ◀── amend (a late stop cancels lines) ─┘

Amending: a decision about a person (raise, lower amount, 停保, death) that arrives while a batch holding their lines
is not exported yet has those lines computed again from the balance. If the envelope changes it is recomputed, and an
approved batch goes back to `built`: the approval was given to other figures, so another officer approves the new ones.

A plain class: it knows nothing of FastAPI, SQL or Kafka. Its steps check the rules (two people, nothing after
export is cancelled, …) and collect the events they raise; the service saves it and hands the events to the outbox."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.aggregate import Aggregate, Routing
from shared.core.period import Period
from shared.errors import Conflict, TwoPersonRule
from shared.events.catalogue import BatchAmended, BatchApproved, BatchCreated, BatchExported, BatchReconciled, EventData


class BatchKind(StrEnum):
    REGULAR = "regular"  # 月度发放: the balance of every month up to the batch's (earlier: 补发, 提标补发), one-offs
    URGENT = "urgent"  # 先行救助: chosen one-off awards, the same day
    REISSUE = "reissue"  # 重发: the balance of the months before the batch's, on demand (failed lines come back)
    SUPPLEMENT = "supplement"  # 提标补发: the same balance on demand, after a back-dated rise


class BatchStatus(StrEnum):
    BUILDING = "building"
    BUILT = "built"
    APPROVED = "approved"
    EXPORTED = "exported"
    RECONCILED = "reconciled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Settlement:
    """Where a batch's lines stand: lines = paid + failed + pending, in count and in fen."""

    line_count: int
    total_fen: int
    paid_count: int = 0
    paid_fen: int = 0
    failed_count: int = 0
    failed_fen: int = 0

    @property
    def pending_count(self) -> int:
        return self.line_count - self.paid_count - self.failed_count

    @property
    def pending_fen(self) -> int:
        return self.total_fen - self.paid_fen - self.failed_fen

    @property
    def balanced(self) -> bool:
        """Nothing paid or failed beyond what the batch holds."""
        return self.pending_count >= 0 and self.pending_fen >= 0


@dataclass
class DisbursementBatch(Aggregate):
    id: uuid.UUID
    kind: BatchKind
    region_code: str
    period: Period
    status: BatchStatus
    created_by: str
    created_at: datetime
    case_ids: list[uuid.UUID] | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    cancelled_by: str | None = None
    exported_at: datetime | None = None
    reconciled_at: datetime | None = None
    progress_done: int = 0
    progress_total: int | None = None
    line_count: int | None = None
    total_fen: int | None = None
    recovery_percent: int = 0  # regular batches: at most this share of each line withheld to recover overpayments
    events: list[EventData] = field(default_factory=list, repr=False)

    @classmethod
    def request(
        cls,
        kind: BatchKind,
        region_code: str,
        period: Period,
        by: str,
        case_ids: list[uuid.UUID] | None = None,
        recovery_percent: int = 0,
    ) -> DisbursementBatch:
        batch = cls(
            id=uuid.uuid4(),
            kind=kind,
            region_code=region_code,
            period=period,
            status=BatchStatus.BUILDING,
            created_by=by,
            created_at=datetime.now(UTC),
            case_ids=case_ids,
            # 扣回 is a regular batch's: 补发 and 重发 pay what was missing, whole.
            recovery_percent=recovery_percent if kind is BatchKind.REGULAR else 0,
        )
        batch.events.append(BatchCreated(**batch._batch(), created_by=by))
        return batch

    @property
    def routing(self) -> Routing:
        return Routing(key=self.id, region=self.region_code)

    @property
    def described(self) -> dict[str, Any]:
        """The batch as its audit records describe it: kind and month."""
        return {"kind": self.kind.value, "period": str(self.period)}

    def _batch(self) -> dict[str, Any]:
        """What every batch event says first: which batch, of what kind, where and for which month."""
        return {"batch_id": self.id, "kind": self.kind.value, "region_code": self.region_code, "period": self.period}

    def _envelope(self) -> dict[str, Any]:
        """`_batch` and the envelope as it stands: line count and total."""
        return {**self._batch(), "line_count": self.line_count or 0, "total_fen": self.total_fen or 0}

    def _require(self, action: str, *allowed: BatchStatus) -> None:
        if self.status not in allowed:
            raise Conflict(
                f"cannot {action} a batch that is {self.status.value}",
                errors=[
                    {
                        "field": "status",
                        "message": f"is {self.status.value}; {action} needs " + " or ".join(s.value for s in allowed),
                    }
                ],
            )

    def built(self, line_count: int, total_fen: int) -> None:
        """The build job finished: the envelope (count, total) is fixed from here on."""
        self._require("finish building", BatchStatus.BUILDING)
        self.status, self.line_count, self.total_fen = BatchStatus.BUILT, line_count, total_fen

    def approve(self, by: str) -> None:
        self._require("approve", BatchStatus.BUILT)
        if by == self.created_by:
            raise TwoPersonRule(
                "two-person rule (双人复核): the officer who created a batch cannot approve it",
                errors=[{"field": "approved_by", "message": "same officer as created_by"}],
            )
        self.status, self.approved_by, self.approved_at = BatchStatus.APPROVED, by, datetime.now(UTC)
        self.events.append(BatchApproved(**self._envelope(), approved_by=by))

    def amend(self, envelope: Settlement, cancelled_count: int, cancelled_fen: int, reason: str) -> None:
        """Lines were cancelled before export: a new envelope; an approved batch needs approval again."""
        self._require("amend", BatchStatus.BUILDING, BatchStatus.BUILT, BatchStatus.APPROVED)
        if self.status is BatchStatus.BUILDING:
            return  # the envelope is fixed when the build finishes, from the lines live then
        needs_approval = self.status is BatchStatus.APPROVED
        self.status, self.approved_by, self.approved_at = BatchStatus.BUILT, None, None
        self.line_count, self.total_fen = envelope.line_count, envelope.total_fen
        self.events.append(
            BatchAmended(
                **self._envelope(),
                cancelled_count=cancelled_count,
                cancelled_fen=cancelled_fen,
                reason=reason,
                needs_approval=needs_approval,
            )
        )

    def cancel(self, by: str) -> None:
        self._require("cancel", BatchStatus.BUILDING, BatchStatus.BUILT, BatchStatus.APPROVED)
        self.status, self.cancelled_by = BatchStatus.CANCELLED, by

    def export(self) -> bool:
        """Hand the bank file out. True the first time (the lines are now with the bank); a re-download is allowed
        and changes nothing."""
        self._require("export", BatchStatus.APPROVED, BatchStatus.EXPORTED, BatchStatus.RECONCILED)
        if self.status is not BatchStatus.APPROVED:
            return False
        self.status, self.exported_at = BatchStatus.EXPORTED, datetime.now(UTC)
        self.events.append(BatchExported(**self._envelope()))
        return True

    def check_returns_allowed(self) -> None:
        self._require("post bank returns for", BatchStatus.EXPORTED, BatchStatus.RECONCILED)

    def settle(self, settlement: Settlement) -> None:
        """After bank returns: reconciled once nothing is pending."""
        if self.status is BatchStatus.EXPORTED and settlement.pending_count == 0:
            self.status, self.reconciled_at = BatchStatus.RECONCILED, datetime.now(UTC)
            # The settlement's figures (lines, paid, failed: count and fen) as they stand after the returns.
            self.events.append(BatchReconciled(**self._batch(), **asdict(settlement)))
