"""Sequences the payments simulation found failing, kept as regular tests: each is replayed through the simulation's
own machine (the real services' code and the independent oracle of tests/integration/payments_simulation.py), its
random choices pinned (the rules' picks follow months and persons, not ids) so that it fails without the fix."""

from __future__ import annotations

import pytest

from shared.core.period import Period
from tests.integration.payments_simulation import MONTHS, Bank, machine


@pytest.fixture
def bank(infra):
    bank = Bank(infra.database_url)
    yield bank
    bank.close()


def test_a_deduction_for_a_month_whose_payment_the_bank_reversed_is_paid_back(bank):
    """Seed 3431141637: a 特困 person paid January–March at 680.00; a review makes February 730.00 and ends there
    (March overpaid); April's regular batch pays February's 50.00 less half of it withheld for March; the bank then
    reverses March's 680.00. March is owed nothing and was paid nothing, yet 25.00 had been recovered for it: the
    balance must give it back."""
    Payments = machine(bank)
    state = Payments()
    state.setup(percent=50, months_paid=3, opening=[68_000, 68_000, 30_000])
    state.decide(decision=("end", 73_000, 0), start=1, who=1)
    state.regular(month=3)
    state.decide(decision=("stop", 0), start=3, who=1)
    # The reversal picks among the paid lines by month, then person: March's line of the second person.
    paid = state._in_order(
        bank.run(
            bank.rows(
                "SELECT household_id, programme, member_id, period, id, household_id, member_id, period "
                "FROM payments.payment_lines WHERE region_code = :r AND status = 'paid'",
                r=state.region,
            )
        )
    )
    household, _, member, _ = state.persons[1]
    [pick] = [i for i, (h, m, p) in enumerate(paid) if (h, m, Period.of(p)) == (household, member, MONTHS[2])]
    state.reversal(pick=pick)
    state.nothing_beyond_what_is_owed()
    state.month_paid(month=5, result="paid")
    state.nothing_beyond_what_is_owed()
    state.approve(pick=7)
    state.nothing_beyond_what_is_owed()
    state.teardown()
