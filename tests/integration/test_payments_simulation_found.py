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


def test_a_repayment_for_a_month_whose_payment_the_bank_reversed_is_paid_back(bank):
    """Seed 1006467214 (the 10,000-sequence run): a 特困 person paid January at 730.00; a stop from January makes
    it an overpayment of 730.00, which the person repays (退回); the bank then reverses January's 730.00. January is
    owed nothing and the person has received nothing for it, yet has handed 730.00 back: the balance must return
    it — one line of 730.00 for January, paid, and nothing more."""
    Payments = machine(bank)
    state = Payments()
    state.setup(percent=50, opening=[0, 73_000, 0], months_paid=1)
    state.nothing_beyond_what_is_owed()
    state.decide(decision=("stop", 0), start=0, who=1)
    state.nothing_beyond_what_is_owed()
    state.settle_overpayment(how="repaid", pick=0)
    state.nothing_beyond_what_is_owed()
    state.reversal(pick=0)
    state.nothing_beyond_what_is_owed()
    state.teardown()
    lines = _january_lines(bank, state)
    assert lines == [("paid", 73_000), ("reversed", 73_000)]


def test_a_deduction_given_back_reaches_a_household_owed_nothing_at_all(bank):
    """The same balance, for a household with no month owed left: a 特困 person paid January at 730.00 is lowered
    to 300.00 from January (430.00 overpaid); February's batch pays 300.00, half of it withheld for January; a stop
    from January then leaves the household owed nothing, and the bank reverses January's 730.00. January was paid
    nothing, yet 150.00 was recovered for it: the next batch must look at this household although it owes it no
    month, and give the 150.00 back (withholding from it, in turn, for February's 300.00 now overpaid)."""
    Payments = machine(bank)
    state = Payments()
    state.setup(percent=50, opening=[0, 73_000, 0], months_paid=1)
    state.decide(decision=("set", 30_000), start=0, who=1)
    state.nothing_beyond_what_is_owed()
    state.month_paid(month=1, result="paid")
    state.nothing_beyond_what_is_owed()
    state.decide(decision=("stop", 0), start=0, who=1)
    state.nothing_beyond_what_is_owed()
    state.reversal(pick=0)  # the paid lines by month: January's first
    state.nothing_beyond_what_is_owed()
    state.teardown()
    # January: the 730.00 reversed, and the 150.00 recovered for it given back (the bank's part and what this line
    # withheld in turn, together).
    assert _january_lines(bank, state) == [("paid", 15_000), ("reversed", 73_000)]


def _january_lines(bank, state) -> list[tuple[str, int]]:
    """The second person's lines for January: (status, fen the line holds: what the bank pays plus what it withheld)."""
    household, programme, member, _ = state.persons[1]
    rows = bank.run(
        bank.rows(
            "SELECT status, amount_fen + deducted_fen FROM payments.payment_lines WHERE household_id = :h "
            "AND programme = :p AND member_id = :m AND period = :january",
            h=household,
            p=programme,
            m=member,
            january=MONTHS[0].first_day,
        )
    )
    return sorted((status, fen) for status, fen in rows)
