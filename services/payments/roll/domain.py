"""The entitlement history (应发记录) of one beneficiary, as plain data: which amount is owed for which months.

Decisions arrive in order per household (one Kafka partition per household). The rule is *the latest decision wins
from its effective month on*: an amount change from month M — even a backdated one (提标 decided late) — replaces
whatever was in force from M, and a 渐退 / 停保 ending in month L removes everything after L. Rows are never edited:
a decision supersedes rows and adds new ones, so what was decided when stays readable."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.period import Period


@dataclass(frozen=True)
class EntitlementRow:
    """`monthly_amount_fen` owed each month from `from_month` to `to_month` (inclusive; None = open-ended)."""

    from_month: Period
    to_month: Period | None
    monthly_amount_fen: int
    id: int | None = None

    def covers(self, month: Period) -> bool:
        return self.from_month <= month and (self.to_month is None or month <= self.to_month)


@dataclass
class HistoryChange:
    """What a decision does to the rows in force: ids to supersede, rows to add."""

    superseded: list[int] = field(default_factory=list)
    added: list[EntitlementRow] = field(default_factory=list)


def _cut(rows: list[EntitlementRow], last_kept: Period) -> HistoryChange:
    """Keep the months up to `last_kept`; supersede everything after it."""
    change = HistoryChange()
    for row in rows:
        if row.from_month > last_kept:
            change.superseded.append(row.id)  # type: ignore[arg-type]
        elif row.to_month is None or row.to_month > last_kept:
            change.superseded.append(row.id)  # type: ignore[arg-type]
            change.added.append(EntitlementRow(row.from_month, last_kept, row.monthly_amount_fen))
    return change


def set_amount(rows: list[EntitlementRow], from_month: Period, amount_fen: int,
               last_month: Period | None) -> HistoryChange:
    """调整 (also backdated): `amount_fen` a month from `from_month` until the beneficiary's last month, if known."""
    change = _cut(rows, from_month.plus(-1))
    if last_month is None or from_month <= last_month:
        change.added.append(EntitlementRow(from_month, last_month, amount_fen))
    return change


def end_after(rows: list[EntitlementRow], last_month: Period) -> HistoryChange:
    """渐退 / 停保: nothing is owed after `last_month` (a death in a month is paid up to and including it)."""
    return _cut(rows, last_month)


def amount_for(rows: list[EntitlementRow], month: Period) -> int:
    """The amount in force for `month` (0 when none)."""
    return next((r.monthly_amount_fen for r in rows if r.covers(month)), 0)
