"""A stateful randomized simulation of payments against an independent oracle (Hypothesis `RuleBasedStateMachine`).

Random sequences of schedule changes (back-dated approvals, raises, lowers, stops, deaths as a segment's end), payee
changes, batch requests (regular, 提标补发, 重发) built by the real job, approvals by a second officer, exports,
cancellations, bank returns (paid, failed), 退汇, and overpayments repaid or waived go through payments' real code
on real PostgreSQL: events through the real consumer (inbox included), batch steps through the batch service,
returns through the return-file parser. Regular batches recover open overpayments by deduction (扣回) at a share of
each line drawn per sequence (50, 25, 99 or 0 %).

The oracle is written here, by hand, from the dated history alone: what each person is owed per month is the last
decision's amount for that month (a change replaces every month from its `changed_from`), and why (its reason, a
review or a 提标, drawn per decision). A line's money for its month
is what the bank pays plus what it withheld (扣回); what a live deduction (its line pending or paid) recovered for an
overpaid month is, for that month, money given back, as a repayment is. After every step, for every person and
month (fen):

* paid + in flight − repaid − recovered + pending ≤ owed + open overpayments + waived — nothing goes out beyond
  what is owed, unless recorded;
* open overpayments (what is left of each: amount − live deductions) = max(paid + in flight − repaid − recovered −
  owed − waived, 0) — what the bank holds beyond what is owed is recorded, exactly;
* every line is for a positive amount and withholds at most its batch's share of its month's money (rounded down);
  each deduction is the same person's, and no overpayment has more deducted than its amount; one closed
  `recovered` has all of it deducted;
* every line a batch makes has the kind the oracle gives it from the money before the batch was built: a regular
  batch's own month `regular` (unless a regular line holds it), a month money already held and owed by a 提标 (the
  reason of the last decision from that month on is `standard_rise`) `supplement`, any other `arrears` (`reissue` in
  a 重发 batch); a `supplement` line not yet at the bank is for a month owed by a 提标 now.

At the end (quiescence: every batch exported, every line returned paid, a last regular batch, for the month after the
last one drawn, paid), owed ≤ paid +
withheld − repaid − recovered ≤ owed + open overpayments + waived, and open overpayments = max(that − owed −
waived, 0): everyone is paid exactly what is owed, to the fen, counting what was withheld, and any excess is on
record (open, or waived by two officers).

`SIMULATION_EXAMPLES` (default 200) sets the number of sequences, `SIMULATION_SEED` replays one run (the seed is
printed at the start)."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import random
import time
import uuid
from collections import defaultdict

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import text

from services.payments.batches import returns
from services.payments.batches import service as batches
from services.payments.batches.schemas import BatchIn
from services.payments.models import HOUSEHOLD
from services.payments.recovery import service as recovery
from shared.auth import Principal
from shared.core.period import Period
from shared.errors import DomainError
from tests.payments_kit import PaymentsKit

START = Period(2020, 1)  # a year no other test pays (their batches list by month across the county)
# The months decisions and batches are drawn from, and the horizon the oracle follows: one more, the month of the
# last regular batch at quiescence.
MONTHS = [START.plus(i) for i in range(7)]
STATUSES = ("building", "built", "approved", "exported", "reconciled", "cancelled")
AMOUNTS = (30_000, 60_000, 68_000, 73_000)
_VILLAGES = 700 * 900  # townships 300–999 of 吴起县 (other tests use lower ones), villages 100–999 of each
CREATOR = Principal("sim-finance-a", frozenset({"finance"}), "610626")
APPROVER = Principal("sim-finance-b", frozenset({"finance"}), "610626")

# A decision's shape: every month from `changed_from` on is replaced by these segments.
decisions = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(AMOUNTS)),  # approval, raise or lower, open-ended
    st.tuples(st.just("stop"), st.just(0)),  # 停保: nothing from changed_from
    st.tuples(st.just("end"), st.sampled_from(AMOUNTS), st.integers(0, 3)),  # a death / 渐退: paid to a month
    st.tuples(st.just("two"), st.sampled_from(AMOUNTS), st.integers(0, 2), st.sampled_from(AMOUNTS)),  # a review
)


def segments_of(decision: tuple, changed_from: Period) -> list[tuple[Period, Period | None, int]]:
    match decision:
        case ("set", fen):
            return [(changed_from, None, fen)]
        case ("stop", _):
            return []
        case ("end", fen, k):
            return [(changed_from, changed_from.plus(k), fen)]
        case ("two", fen, k, later):
            return [(changed_from, changed_from.plus(k), fen), (changed_from.plus(k + 1), None, later)]
    raise AssertionError(decision)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class Bank:
    """The payments' side of the simulation: the real code, on a private event loop and engine."""

    def __init__(self, database_url: str) -> None:
        from shared.db import create_engine

        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(database_url, 3)
        self.kit = PaymentsKit(self.engine, f"payments.simulation-{uuid.uuid4()}")
        # A village of its own for every sequence (Hypothesis seeds `random` alike for each, so it cannot draw one):
        # a regular batch is one per region and month, and a sequence must never find another's.
        self.regions: list[str] = []
        self._next_region = itertools.count(random.SystemRandom().randrange(_VILLAGES))
        self.report_every, self.started = 0, time.perf_counter()  # the long form's progress (`run_simulation`)

    def new_region(self) -> str:
        n = next(self._next_region) % _VILLAGES
        self.regions.append(f"610626{300 + n // 900}{100 + n % 900}")
        if self.report_every and len(self.regions) % self.report_every == 0:
            elapsed = time.perf_counter() - self.started
            print(f"payments simulation: {len(self.regions)} sequences begun in {elapsed:.0f} s", flush=True)
        return self.regions[-1]

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    async def step(self, action) -> object:
        """One request's unit of work: the action, then commit; a refusal (409, 403, …) changes nothing."""
        async with self.kit.uow() as uow:
            try:
                result = await action(uow)
            except DomainError:
                return None
            await uow.commit()
            return result

    async def request(self, kind: str, region: str, period: Period, recovery_percent: int = 0) -> uuid.UUID:
        body = BatchIn(kind=kind, region_code=region, period=period)
        batch, _ = await self.step(lambda uow: batches.create(uow, CREATOR, body, recovery_percent))
        await self.kit.build()
        return batch.id

    async def rows(self, sql: str, **params) -> list:
        async with self.engine.connect() as conn:
            return list(await conn.execute(text(sql), params))

    async def post_return(self, batch_id: uuid.UUID, rows: list[tuple[uuid.UUID, int, str]]) -> None:
        content = "payment_id,amount_yuan,result,reason\n" + "".join(
            f"{pid},{yuan(fen)},{result},{'' if result == 'paid' else '模拟'}\n" for pid, fen, result in rows
        )
        file = io.BytesIO(content.encode())
        await self.step(lambda uow: returns.post_returns(uow, CREATOR, batch_id, file))


def machine(bank: Bank) -> type[RuleBasedStateMachine]:
    run = bank.run

    class Payments(RuleBasedStateMachine):
        """One county village per sequence: household A (低保, the household as a whole) and household B whose two
        members each have a 特困 case of their own (person-level lines)."""

        @initialize(
            percent=st.sampled_from((50, 25, 99, 0)),  # the simplest draw deducts
            opening=st.lists(st.sampled_from((0, *AMOUNTS)), min_size=3, max_size=3),
            months_paid=st.integers(0, 3),
        )
        def setup(self, percent: int, opening: list[int], months_paid: int) -> None:
            self.percent = percent  # 扣回: the share of each regular line withheld for open overpayments
            self.region = bank.new_region()
            self.a, self.b = uuid.uuid4(), uuid.uuid4()
            self.persons = [
                (self.a, "dibao", HOUSEHOLD, uuid.uuid4()),
                (self.b, "tekun", uuid.uuid4(), uuid.uuid4()),
                (self.b, "tekun", uuid.uuid4(), uuid.uuid4()),
            ]
            # The oracle: owed per person and month, and why (the decision's reason), from the dated history only.
            self.owed: dict[tuple, dict[Period, int]] = {p[:3]: {} for p in self.persons}
            self.reason: dict[tuple, dict[Period, str]] = {p[:3]: {} for p in self.persons}
            for household in (self.a, self.b):
                run(bank.kit.payee(household, self.region, f"62170000{random.randint(10**10, 10**11 - 1)}"))
            # Where a sequence starts: some persons approved from the first month, and its first months paid, so that
            # short sequences reach what follows money at the bank (a lower amount, a stop: overpayments, 扣回).
            for who, fen in enumerate(opening):
                if fen:
                    self.decide(who, 0, ("set", fen), "approval")
            for month in range(months_paid):
                self.month_paid(month)

        # --- decisions ---------------------------------------------------------------------------------------------

        @rule(
            who=st.integers(0, 2),
            start=st.integers(0, 5),
            decision=decisions,
            reason=st.sampled_from(("review", "standard_rise")),
        )
        def decide(self, who: int, start: int, decision: tuple, reason: str = "review") -> None:
            household, programme, member, case_id = self.persons[who]
            changed_from = MONTHS[start]
            segments = segments_of(decision, changed_from)
            owed = self.owed[(household, programme, member)]
            for month in MONTHS:
                if month >= changed_from:
                    owed.pop(month, None)
                    self.reason[(household, programme, member)][month] = reason  # the months before keep theirs
            for first, last, fen in segments:
                for month in MONTHS:
                    if first <= month and (last is None or month <= last):
                        owed[month] = fen
            run(
                bank.kit.schedule(
                    case_id,
                    household,
                    self.region,
                    changed_from,
                    segments,
                    programme=programme,
                    persons=1 if programme == "tekun" else 2,
                    member_id=None if member == HOUSEHOLD else member,
                    reason=reason,
                )
            )

        @rule(household=st.sampled_from(("a", "b")), account=st.booleans())
        def payee(self, household: str, account: bool) -> None:
            number = f"62284800{random.randint(10**10, 10**11 - 1)}" if account else None
            run(bank.kit.payee(getattr(self, household), self.region, number))

        # --- batches -----------------------------------------------------------------------------------------------

        def _batches(self, *statuses: str) -> list:
            return run(
                bank.rows(
                    "SELECT id FROM payments.batches WHERE region_code = :r AND status = ANY(:s) ORDER BY created_at",
                    r=self.region,
                    s=list(statuses),
                )
            )

        def _in_order(self, rows: list) -> list[tuple]:
            """Rows of (household, programme, member, month, id, *rest) as `rest`, by month, person (their place in
            `self.persons`) and id: a pick never depends on the random ids, so a failing sequence replays (and
            Hypothesis can shrink it)."""
            place = {p[:3]: i for i, p in enumerate(self.persons)}
            return [tuple(r[5:]) for r in sorted(rows, key=lambda r: (r[3], place[(r[0], r[1], r[2])], r[4]))]

        def _request(self, kind: str, period: Period, percent: int = 0) -> uuid.UUID:
            """A batch asked for and built by the job; each line it makes has the kind the oracle gives it from the
            money there was before (`_kind`). The month's regular batch there already is is answered as it is."""
            before, known = self._money(), {b for (b,) in self._batches(*STATUSES)}
            regular_held = {
                ((h, p, m), Period.of(month))
                for h, p, m, month in run(
                    bank.rows(
                        "SELECT household_id, programme, member_id, period FROM payments.payment_lines "
                        "WHERE region_code = :r AND kind = 'regular' AND status IN ('pending', 'paid')",
                        r=self.region,
                    )
                )
            }
            batch_id = run(bank.request(kind, self.region, period, percent))
            if batch_id in known:
                return batch_id
            for h, p, m, month, made in run(
                bank.rows(
                    "SELECT household_id, programme, member_id, period, kind FROM payments.payment_lines "
                    "WHERE batch_id = :b AND kind <> 'one_off'",
                    b=batch_id,
                )
            ):
                person, month = (h, p, m), Period.of(month)
                got = before[person][month]
                held = got["paid"] + got["in_flight"] + got["pending"] - got["repaid"] - got["recovered"]
                expected = self._kind(kind, period, person, month, held, (person, month) in regular_held)
                assert made == expected, (kind, str(period), person, str(month), made, expected, held)
            return batch_id

        def _kind(self, batch: str, period: Period, person: tuple, month: Period, held: int, regular: bool) -> str:
            """What a balance line is: a regular batch's own month `regular` (unless a regular line holds it); a month
            money already holds (`held` fen) and owed now by a 提标 `supplement` (提标补发); else 补发 `arrears`, or
            `reissue` in a 重发 batch."""
            if batch == "regular" and month == period and not regular:
                return "regular"
            rise = self.owed[person].get(month, 0) > 0 and self.reason[person].get(month) == "standard_rise"
            if rise and held > 0:
                return "supplement"
            return "reissue" if batch == "reissue" else "arrears"

        @rule(month=st.integers(0, 5))
        def regular(self, month: int) -> None:
            self._request("regular", MONTHS[month], self.percent)

        @rule(month=st.integers(0, 5), result=st.sampled_from(("paid", "failed")))
        def month_paid(self, month: int, result: str = "paid") -> None:
            """A month's regular batch the whole way in one step: built, approved, exported, returned (so that short
            sequences reach what follows money at the bank: overpayments, their recovery by deduction, and a failed
            line giving a deduction back)."""
            batch_id = self._request("regular", MONTHS[month], self.percent)
            run(bank.step(lambda uow: batches.approve(uow, APPROVER, batch_id)))
            run(bank.step(lambda uow: batches.export(uow, CREATOR, batch_id)))
            self._return(batch_id, [result])

        @rule(kind=st.sampled_from(("supplement", "reissue")), month=st.integers(1, 6))
        def on_demand(self, kind: str, month: int) -> None:
            self._request(kind, START.plus(month))

        @rule(pick=st.integers(0, 10))
        def approve(self, pick: int) -> None:
            if found := self._batches("built"):
                batch_id = found[pick % len(found)][0]
                run(bank.step(lambda uow: batches.approve(uow, APPROVER, batch_id)))

        @rule(pick=st.integers(0, 10))
        def export(self, pick: int) -> None:
            if found := self._batches("approved"):
                batch_id = found[pick % len(found)][0]
                run(bank.step(lambda uow: batches.export(uow, CREATOR, batch_id)))

        @rule(pick=st.integers(0, 10))
        def cancel(self, pick: int) -> None:
            if found := self._batches("built", "approved"):
                batch_id = found[pick % len(found)][0]
                run(bank.step(lambda uow: batches.cancel(uow, CREATOR, batch_id, "simulation")))

        @rule(pick=st.integers(0, 10), results=st.lists(st.sampled_from(("paid", "failed")), min_size=1, max_size=8))
        def bank_returns(self, pick: int, results: list[str]) -> None:
            if found := self._batches("exported"):
                batch_id = found[pick % len(found)][0]
                self._return(batch_id, results)

        def _return(self, batch_id: uuid.UUID, results: list[str]) -> None:
            pending = self._in_order(
                run(
                    bank.rows(
                        "SELECT household_id, programme, member_id, period, id, payment_id, amount_fen "
                        "FROM payments.payment_lines WHERE batch_id = :b AND status = 'pending' "
                        "AND payee_id IS NOT NULL",
                        b=batch_id,
                    )
                )
            )
            if pending:
                rows = [(pid, fen, results[i % len(results)]) for i, (pid, fen) in enumerate(pending)]
                run(bank.post_return(batch_id, rows))

        @rule(pick=st.integers(0, 50))
        def reversal(self, pick: int) -> None:
            paid = self._in_order(
                run(
                    bank.rows(
                        "SELECT household_id, programme, member_id, period, id, batch_id, payment_id, amount_fen "
                        "FROM payments.payment_lines WHERE region_code = :r AND status = 'paid'",
                        r=self.region,
                    )
                )
            )
            if paid:
                batch_id, pid, fen = paid[pick % len(paid)]
                run(bank.post_return(batch_id, [(pid, fen, "reversed")]))

        @rule(pick=st.integers(0, 50), how=st.sampled_from(("repaid", "waived")))
        def settle_overpayment(self, pick: int, how: str) -> None:
            found = self._in_order(
                run(
                    bank.rows(
                        "SELECT household_id, programme, member_id, period, id, id FROM payments.overpayments "
                        "WHERE region_code = :r AND status = 'open'",
                        r=self.region,
                    )
                )
            )
            if not found:
                return
            over_id = found[pick % len(found)][0]
            if how == "repaid":
                run(bank.step(lambda uow: recovery.repaid(uow, CREATOR, over_id, "simulation")))
            else:
                run(bank.step(lambda uow: recovery.request_waiver(uow, CREATOR, over_id, "simulation")))
                run(bank.step(lambda uow: recovery.approve_waiver(uow, APPROVER, over_id)))

        # --- the oracle's checks -----------------------------------------------------------------------------------

        def _money(self) -> dict[tuple, dict[Period, dict[str, int]]]:
            """Per person and month: paid, in flight, pending (fen, what the bank pays plus what the line withheld),
            recovered by live deductions, open overpayments (what is left of each), repaid, waived; checking every
            line's amount and deductions on the way."""
            out: dict[tuple, dict[Period, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
            live: dict[int, tuple] = {}  # line id -> (person, withheld fen)
            for line_id, h, p, m, period, status, exported, fen, withheld, percent in run(
                bank.rows(
                    "SELECT l.id, l.household_id, l.programme, l.member_id, l.period, l.status, "
                    "b.status IN ('exported', 'reconciled'), l.amount_fen, l.deducted_fen, b.recovery_percent "
                    "FROM payments.payment_lines l JOIN payments.batches b ON b.id = l.batch_id "
                    "WHERE l.household_id IN (:a, :b) AND l.status IN ('pending', 'paid')",
                    a=self.a,
                    b=self.b,
                )
            ):
                assert fen > 0, "a line for nothing or less"
                # 扣回: at most the batch's share of the month's money, rounded down (0 % in 补发 and 重发).
                assert withheld >= 0 and withheld * 100 <= (fen + withheld) * percent, (fen, withheld, percent)
                what = "paid" if status == "paid" else "in_flight" if exported else "pending"
                out[(h, p, m)][Period.of(period)][what] += fen + withheld
                live[line_id] = ((h, p, m), withheld)
            deducted_by_line: dict[int, int] = defaultdict(int)
            deducted_of: dict[int, int] = defaultdict(int)
            for line_id, over_id, h, p, m, period, fen in run(
                bank.rows(
                    "SELECT line_id, overpayment_id, household_id, programme, member_id, period, amount_fen "
                    "FROM payments.deductions WHERE household_id IN (:a, :b)",
                    a=self.a,
                    b=self.b,
                )
            ):
                if line_id not in live:
                    continue  # its line failed, was cancelled or reversed: given back
                assert live[line_id][0] == (h, p, m), "a deduction for another person's overpayment"
                deducted_by_line[line_id] += fen
                deducted_of[over_id] += fen
                out[(h, p, m)][Period.of(period)]["recovered"] += fen
            for line_id, (_, withheld) in live.items():
                assert deducted_by_line[line_id] == withheld, (line_id, withheld, deducted_by_line[line_id])
            for over_id, h, p, m, period, fen, status, closed in run(
                bank.rows(
                    "SELECT id, household_id, programme, member_id, period, amount_fen, status, closed_reason "
                    "FROM payments.overpayments WHERE household_id IN (:a, :b)",
                    a=self.a,
                    b=self.b,
                )
            ):
                assert 0 <= deducted_of[over_id] <= fen, (over_id, fen, deducted_of[over_id])
                if status != "closed":
                    out[(h, p, m)][Period.of(period)]["over"] += fen - deducted_of[over_id]
                elif closed == "recovered":
                    assert deducted_of[over_id] == fen, ("recovered, not all deducted", over_id, fen)
                elif closed in ("repaid", "waived"):
                    out[(h, p, m)][Period.of(period)][closed] += fen
            return out

        @invariant()
        def nothing_beyond_what_is_owed(self) -> None:
            if not hasattr(self, "owed"):
                return
            money = self._money()
            for person, owed in self.owed.items():
                for month in set(money[person]) | set(owed):
                    got, due = money[person][month], owed.get(month, 0)
                    # Money the person paid back (退回) is money not paid; a waived excess (核销) stays with them.
                    sent = got["paid"] + got["in_flight"] - got["repaid"] - got["recovered"]
                    assert sent + got["pending"] <= due + got["over"] + got["waived"], (person, month, dict(got), due)
                    assert got["over"] == max(sent - due - got["waived"], 0), (person, month, dict(got), due)

        @invariant()
        def labels_follow_decisions(self) -> None:
            """A line not yet at the bank is computed again on every decision about its person: one labelled 提标补发
            is for a month owed now by a 提标."""
            if not hasattr(self, "owed"):
                return
            for h, p, m, month in run(
                bank.rows(
                    "SELECT l.household_id, l.programme, l.member_id, l.period FROM payments.payment_lines l "
                    "JOIN payments.batches b ON b.id = l.batch_id WHERE l.region_code = :r AND l.kind = 'supplement' "
                    "AND l.status = 'pending' AND b.status IN ('building', 'built', 'approved')",
                    r=self.region,
                )
            ):
                person, month = (h, p, m), Period.of(month)
                assert self.owed[person].get(month, 0) > 0, (person, str(month))
                assert self.reason[person].get(month) == "standard_rise", (person, str(month))

        def teardown(self) -> None:
            if not hasattr(self, "owed"):
                return
            # Quiescence: accounts on file, every batch built, approved, exported and returned paid, then a last
            # regular batch for the month after those drawn (every month's balance up to it), paid too.
            for household in (self.a, self.b):
                run(bank.kit.payee(household, self.region, "6217000012345678901"))
            # (Nothing changes what is owed meanwhile, so no batch goes back to `built`: one pass does it.)
            for (batch_id,) in self._batches("built"):
                run(bank.step(lambda uow, b=batch_id: batches.approve(uow, APPROVER, b)))
            for (batch_id,) in self._batches("approved"):
                run(bank.step(lambda uow, b=batch_id: batches.export(uow, CREATOR, b)))
            for (batch_id,) in self._batches("exported"):
                self._return(batch_id, ["paid"])
            # The last batch is a regular one: what is still open in overpayments is deducted as it would be.
            last = self._request("regular", MONTHS[-1], self.percent)
            run(bank.step(lambda uow: batches.approve(uow, APPROVER, last)))
            run(bank.step(lambda uow: batches.export(uow, CREATOR, last)))
            self._return(last, ["paid"])
            money = self._money()
            for person, owed in self.owed.items():
                for month in set(money[person]) | set(owed):
                    got, due = money[person][month], owed.get(month, 0)
                    assert got["in_flight"] == got["pending"] == 0, (person, month, dict(got))
                    kept = got["paid"] - got["repaid"] - got["recovered"]
                    assert due <= kept <= due + got["over"] + got["waived"], (person, month, dict(got), due)
                    assert got["over"] == max(kept - due - got["waived"], 0), (person, month, dict(got), due)

    return Payments


def run_simulation(database_url: str, examples: int, steps: int = 10) -> None:
    chosen = int(os.environ.get("SIMULATION_SEED") or random.randrange(2**32))
    print(f"\npayments simulation: {examples} sequences, SIMULATION_SEED={chosen}", flush=True)
    bank = Bank(database_url)
    bank.report_every = 1000 if examples >= 5000 else 0
    try:
        Payments = machine(bank)
        Payments.TestCase.settings = settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        started = time.perf_counter()
        seed(chosen)(Payments.TestCase)().runTest()
        print(f"payments simulation: {examples} sequences in {time.perf_counter() - started:.1f} s", flush=True)
        # How much of the money's paths the sequences took (a check that they are reached, not a result).
        [reached] = bank.run(
            bank.rows(
                "SELECT (SELECT count(*) FROM payments.deductions d JOIN payments.payment_lines l ON l.id = d.line_id "
                "WHERE l.status = 'paid' AND l.region_code = ANY(:sim)), "
                "(SELECT count(*) FROM payments.deductions d JOIN payments.payment_lines l ON l.id = d.line_id "
                "WHERE l.status IN ('failed', 'cancelled', 'reversed') AND l.region_code = ANY(:sim)), "
                "(SELECT count(*) FROM payments.overpayments WHERE closed_reason = 'recovered' "
                "AND region_code = ANY(:sim)), "
                "(SELECT count(*) FROM payments.overpayments WHERE region_code = ANY(:sim))",
                sim=bank.regions,
            )
        )
        print(
            f"payments simulation: deductions paid {reached[0]}, given back {reached[1]}; "
            f"overpayments recorded {reached[3]}, recovered {reached[2]}",
            flush=True,
        )
    finally:
        bank.close()
