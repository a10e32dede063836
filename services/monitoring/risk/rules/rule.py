"""What a risk rule (风险预警规则) is: the alert it raises, the dated parameters it reads and the set-based SQL that
finds its candidates. Each rule lives in a module of its own in this package, its parameters beside its SQL."""

from __future__ import annotations

from dataclasses import dataclass

# A feed row reaches a household only inside the feed's region (its scope: the token's or ?region=; '' national),
# whatever region the row itself names: SQL over feed_records `r` joined to `monitoring.feeds f` and
# `monitoring.households h`.
FEED_REACHES = "starts_with(h.region_code, f.region_code)"


@dataclass(frozen=True)
class Parameter:
    """A dated parameter a rule reads, as the typed column `column` of the matching's `_params` table."""

    key: str
    column: str
    sql_type: str  # bigint (fen), numeric (ratios), int (days)


@dataclass(frozen=True)
class RiskRule:
    """`sql` inserts one `_candidates` row per (household, alert type) it finds among `_matched` (the rows in
    scope joined to their households), `_covered` (active coverage) and `_params` (the values per county);
    `{scope}` in it stands for the scope's condition when it also reads rows outside the scope. It runs only when
    the rows in scope include a kind it `reads` (an empty set: it runs on every matching)."""

    alert_type: str
    description: str
    parameters: tuple[Parameter, ...]
    reads: frozenset[str]
    sql: str
