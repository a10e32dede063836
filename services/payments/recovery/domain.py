"""多发待追回 (`Overpayment`): money the bank holds for a person's month beyond what is owed for it now.

    open ─repaid─▶ closed (repaid: the money came back; the month's balance counts it as not paid)
      ├──deducted whole from later lines (扣回)─▶ closed (recovered) ─a deducting line failed, cancelled or
      │                                                                reversed─▶ open again, for what is left
      ├──request waiver─▶ waiver_requested ─approve (another officer)─▶ closed (waived: the person keeps it)
      └──a later decision restores the amount, or a 退汇 takes the money back─▶ closed (restored)

A plain class: it checks the step may be taken (and the two-person rule on a waiver, as on a batch's approval)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import Conflict, TwoPersonRule


@dataclass
class OverpaymentCase:
    id: int
    status: str
    requested_by: str | None = None
    closed_reason: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None

    def _require(self, action: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise Conflict(
                f"cannot {action} an overpayment that is {self.status}",
                errors=[{"field": "status", "message": f"is {self.status}; {action} needs " + " or ".join(allowed)}],
            )

    def repaid(self, by: str) -> None:
        """退回: the person paid the money back (outside the bank file)."""
        self._require("record the repayment of", "open", "waiver_requested")
        self._close("repaid", by)

    def request_waiver(self, by: str) -> None:
        self._require("request a waiver of", "open")
        self.status, self.requested_by = "waiver_requested", by

    def approve_waiver(self, by: str) -> None:
        """核销: a second officer agrees the money is not recovered."""
        self._require("approve a waiver of", "waiver_requested")
        if by == self.requested_by:
            raise TwoPersonRule(
                "two-person rule (双人复核): the officer who asked for a waiver cannot approve it",
                errors=[{"field": "approved_by", "message": "same officer as requested_by"}],
            )
        self._close("waived", by)

    def _close(self, reason: str, by: str) -> None:
        self.status, self.closed_reason, self.closed_by, self.closed_at = "closed", reason, by, datetime.now(UTC)
