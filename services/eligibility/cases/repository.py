"""Every case query of eligibility, and the mapping of the `Case` domain model to and from its row (the snapshot,
the application's details and the assessment are typed models stored as JSONB through pydantic)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, any_, bindparam, false, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, Insert, distinct_on, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.cases import schedule as sched
from services.eligibility.cases.domain import Case, CaseAssessment, StepRecord
from services.eligibility.cases.schedule import Segment
from services.eligibility.cases.schemas import CaseQuery
from services.eligibility.cases.workflow import ON_ROLL, OPEN, Status, Worklist
from services.eligibility.models import Case as CaseRow
from services.eligibility.models import CaseStep, HouseholdFacts
from services.eligibility.policy import TraceEntry
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.db import insert_json_rows, json_row, json_rows, select_json_rows
from shared.events.catalogue import PERSON_LEVEL, ApplicationDetails, application_details
from shared.pagination import Keyset, Rows, keyset_page

_APPLICANT = "applicant_member_id"
# The columns a case is written with; its timestamps are the database's.
_CASE_COLUMNS = [c.key for c in CaseRow.__table__.columns if c.key not in ("created_at", "updated_at")]
_PLAIN = [c for c in _CASE_COLUMNS if c not in ("status", "details", "snapshot", "assessment", "schedule")]


def _upsert_facts() -> Insert:
    """Each household's facts from one JSON parameter, unless those held are of a newer version (or of a known one
    and these of none: `facts.replaces`); the households written."""
    facts = HouseholdFacts.__table__
    stmt = insert_json_rows(facts, ("household_id", "region_code", "snapshot", "version"))
    return stmt.on_conflict_do_update(
        index_elements=[facts.c.household_id],
        set_={
            "snapshot": stmt.excluded.snapshot,
            "region_code": stmt.excluded.region_code,
            "version": stmt.excluded.version,
        },
        where=or_(facts.c.version.is_(None), stmt.excluded.version >= facts.c.version),
    ).returning(facts.c.household_id)


_UPSERT_FACTS = _upsert_facts()


def _insert_cases_with_facts() -> Insert:
    """New cases from one JSON parameter (`rows`, keyed as `row_values`) and, from the same rows, each household's
    latest facts (the last row of the household wins; an application's snapshot is of no known version, so it
    never replaces facts a household event gave with theirs: `facts.replaces`): one statement, the rows parsed
    once."""
    cases, facts = CaseRow.__table__, HouseholdFacts.__table__
    new_rows = select_json_rows(cases, _ROW_KEYS, numbered=True).cte("new_rows")
    opened = insert(cases).from_select(_ROW_KEYS, select(*(new_rows.c[c] for c in _ROW_KEYS))).cte("opened")
    latest = (
        select(new_rows.c.household_id, new_rows.c.region_code, new_rows.c.snapshot)
        .ext(distinct_on(new_rows.c.household_id))
        .order_by(new_rows.c.household_id, new_rows.c.ordinality.desc())
    )
    stmt = insert(facts).from_select(("household_id", "region_code", "snapshot"), latest)
    return stmt.on_conflict_do_update(
        index_elements=[facts.c.household_id],
        set_={"snapshot": stmt.excluded.snapshot, "region_code": stmt.excluded.region_code},
        where=facts.c.version.is_(None),
    ).add_cte(opened)


_APPLICATIONS_WITH_CASES = select(CaseRow.application_id).where(
    CaseRow.application_id == any_(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))))
)


def stored_application(programme: str, stored: dict[str, Any] | None) -> tuple[ApplicationDetails, uuid.UUID | None]:
    """The typed details of a case's application and its applicant, from the row's `details` column."""
    raw = dict(stored or {})
    applicant = raw.pop(_APPLICANT, None) or raw.pop("member_id", None)  # member_id: cases opened before v2
    return application_details(programme, raw), uuid.UUID(str(applicant)) if applicant else None


_STEP_KEYS = ("case_id", "step", "from_status", "to_status", "actor", "roles", "on", "opinion", "data")  # _step_row's


def _step_row(case_id: uuid.UUID, s: StepRecord) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "step": s.step,
        "from_status": s.from_status.value,
        "to_status": s.to_status.value,
        "actor": s.actor.sub,
        "roles": sorted(s.actor.roles),
        "on": s.on,
        "opinion": s.opinion,
        "data": s.data,
    }


def to_case(row: CaseRow) -> Case:
    return _case(
        row,
        row.details,
        HouseholdSnapshot.model_validate(row.snapshot),
        CaseAssessment.model_validate(row.assessment) if row.assessment else None,
        row.schedule,
    )


def _case(
    row: Any,
    details: dict[str, Any] | None,
    snapshot: HouseholdSnapshot,
    assessment: CaseAssessment | None,
    schedule: dict[str, Any] | None,
) -> Case:
    """The Case of a row whose JSON columns (details, snapshot, assessment, schedule) are already decoded."""
    application, applicant = stored_application(row.programme, details)
    status = Status(row.status)
    return Case(
        **{column: getattr(row, column) for column in _PLAIN},
        status=status,
        details=application,
        applicant_member_id=applicant,
        snapshot=snapshot,
        assessment=assessment,
        schedule=stored_schedule(
            schedule,
            snapshot,
            programme=row.programme,
            status=status,
            assessment=assessment,
            monthly_amount_fen=row.monthly_amount_fen,
            effective_month=row.effective_month,
            exit_last_month=row.exit_last_month,
        ),
    )


# --- the schedule as stored: {"facts": [snapshots other than the case's own], "values": [parameter values read],
# "segments": [...]}, a segment naming its facts (None: the case's snapshot) and values by place -------------------

# Trace entries read back, by (key, region, start): a dated value never changes once added, so one entry serves
# every segment that read it.
_ENTRIES: dict[tuple[str, str, str], TraceEntry] = {}


def _entry(raw: dict[str, Any]) -> TraceEntry:
    ident = (raw["key"], raw["region"], raw["start"])
    if (entry := _ENTRIES.get(ident)) is None:
        if len(_ENTRIES) >= 10_000:
            _ENTRIES.clear()
        entry = _ENTRIES[ident] = TraceEntry.model_validate(raw)
    return entry


def stored_schedule(
    raw: dict[str, Any] | None,
    snapshot: HouseholdSnapshot,
    *,
    programme: str,
    status: Status,
    assessment: CaseAssessment | None,
    monthly_amount_fen: int | None,
    effective_month: date | None,
    exit_last_month: date | None,
) -> list[Segment]:
    """The case's segments; a segment without facts of its own was priced on the case's snapshot. A case decided
    before schedules were kept owes its stored amount from its first month (until its 渐退 ends); one that left
    the roll then has no schedule to re-price."""
    if raw is None:
        if monthly_amount_fen is None or effective_month is None or status not in ON_ROLL:
            return []
        last = Period.of(exit_last_month) if exit_last_month and status is Status.GRADUAL_EXIT else None
        return sched.imported(
            snapshot, assessment, monthly_amount_fen, Period.of(effective_month), last, programme in PERSON_LEVEL
        )
    facts = [HouseholdSnapshot.model_validate(f) for f in raw.get("facts", [])]
    values = [_entry(v) for v in raw.get("values", [])]
    return [
        Segment(
            from_month=Period.parse(s["from_month"]),
            to_month=Period.parse(s["to_month"]) if s["to_month"] else None,
            amount_fen=s["amount_fen"],
            persons=s["persons"],
            member_id=uuid.UUID(s["member_id"]) if s["member_id"] else None,
            reason=s["reason"],
            snapshot=snapshot if s["facts"] is None else facts[s["facts"]],
            values=tuple(values[i] for i in s["values"]),
        )
        for s in raw["segments"]
    ]


def schedule_json(segments: list[Segment], snapshot: HouseholdSnapshot) -> dict[str, Any] | None:
    """The segments as stored, each set of facts other than the case's snapshot once."""
    if not segments:
        return None
    facts: list[dict[str, Any]] = []
    index: dict[int, int] = {}  # id(snapshot) → its place in `facts`
    values: list[dict[str, Any]] = []
    places: dict[int, int] = {}  # id(entry) → its place in `values` (the rules share one entry per value)
    rows = []
    for s in segments:
        if s.snapshot is snapshot:
            at = None
        elif (at := index.get(id(s.snapshot))) is None:
            at = index[id(s.snapshot)] = len(facts)
            facts.append(s.snapshot.model_dump(mode="json"))
        rows.append(
            {
                "from_month": str(s.from_month),
                "to_month": str(s.to_month) if s.to_month else None,
                "amount_fen": s.amount_fen,
                "persons": s.persons,
                "member_id": str(s.member_id) if s.member_id else None,
                "reason": s.reason,
                "facts": at,
                "values": [_place(v, values, places) for v in s.values],
            }
        )
    return {"facts": facts, "values": values, "segments": rows}


def _place(entry: TraceEntry, values: list[dict[str, Any]], places: dict[int, int]) -> int:
    if (at := places.get(id(entry))) is None:
        at = places[id(entry)] = len(values)
        values.append(_trace_json(entry))
    return at


class _TraceEntryJson:
    """The JSON of the trace entries written: the rules share one frozen entry per parameter value among all the
    assessments that read it, so most of an assessment's JSON (its trace) is dumped once per value, not per case.
    Kept by the entry's identity (an entry's value may be a list, so entries do not hash), the entry held with its
    JSON so that identity is not reused while it is here; emptied when full (entries of parameter sets since
    replaced by an admin's new value)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._by_entry: dict[int, tuple[TraceEntry, dict[str, Any]]] = {}

    def __call__(self, entry: TraceEntry) -> dict[str, Any]:
        if (hit := self._by_entry.get(id(entry))) is not None and hit[0] is entry:
            return hit[1]
        if len(self._by_entry) >= self._limit:
            self._by_entry.clear()
        dumped = entry.model_dump(mode="json")
        self._by_entry[id(entry)] = (entry, dumped)
        return dumped


_trace_json = _TraceEntryJson()


def _assessment_json(assessment: CaseAssessment) -> dict[str, Any]:
    """`assessment.model_dump(mode="json")`, the trace entries' JSON reused (a JSON object, so key order is moot)."""
    return {
        **assessment.model_dump(mode="json", exclude={"trace"}),
        "trace": [_trace_json(entry) for entry in assessment.trace],
    }


def row_values(case: Case, *, json_snapshot: bool = False) -> dict[str, Any]:
    """The case's row. `json_snapshot`: the snapshot as its JSON text (an `orjson.Fragment`), for rows that are
    only ever encoded (`json_rows`): pydantic writes it straight from the model, no dict of it is built."""
    applicant = str(case.applicant_member_id) if case.applicant_member_id else None
    snapshot = case.snapshot
    return {
        **{column: getattr(case, column) for column in _PLAIN},
        "status": case.status.value,
        "details": {**case.details.model_dump(mode="json"), _APPLICANT: applicant},
        "snapshot": orjson.Fragment(snapshot.__pydantic_serializer__.to_json(snapshot))
        if json_snapshot
        else snapshot.model_dump(mode="json"),
        "assessment": _assessment_json(case.assessment) if case.assessment else None,
        "schedule": schedule_json(case.schedule, case.snapshot),
    }


_ROW_KEYS = (*_PLAIN, "status", "details", "snapshot", "assessment", "schedule")  # row_values' keys, in its order
_INSERT_CASES_WITH_FACTS = _insert_cases_with_facts()


# The live case (open or on the roll) of each (household, programme) asked about, for the programmes with one.
_LIVE = text("""
    SELECT DISTINCT ON (c.household_id, c.programme) c.household_id, c.programme, c.id
    FROM eligibility.cases AS c
    JOIN unnest(CAST(:households AS uuid[]), CAST(:programmes AS text[])) AS q(household_id, programme)
      ON c.household_id = q.household_id AND c.programme = q.programme
    WHERE c.status = ANY(CAST(:live AS text[]))
    ORDER BY c.household_id, c.programme, c.opened_on
""")

_COUNTING = text("""
    SELECT c.id, c.household_id,
           ARRAY(SELECT m->>'member_id' FROM jsonb_array_elements(c.snapshot->'members') m
                 WHERE coalesce((m->>'counted')::boolean, true))
    FROM eligibility.cases c
    WHERE c.household_id = ANY(CAST(:households AS uuid[])) AND c.status = ANY(CAST(:on_roll AS text[]))
      AND NOT c.programme = ANY(CAST(:person_level AS text[]))
""")
_RECOGNISED = text("""
    SELECT household_id, CAST(details->>'applicant_member_id' AS uuid), programme, id FROM eligibility.cases
    WHERE household_id = ANY(CAST(:households AS uuid[])) AND programme IN ('orphan', 'de_facto_orphan')
      AND status = ANY(CAST(:live AS text[])) AND details->>'applicant_member_id' IS NOT NULL
""")

# 医疗救助 approved (a one-off amount decided, whatever happened to the case since; a rejected or withdrawn claim
# approved nothing) per household and calendar year of the decision, the cases being assessed left out.
# Per household and year of the decision: the 医疗救助 approved, and the compliant cost its claims left after
# insurance (what they met of the year's deductible, 起付线: the rule counts it up to the deductible).
_MEDICAL_APPROVED = text("""
    SELECT household_id, CAST(extract(year FROM decided_on) AS int), sum(one_off_amount_fen),
           sum(GREATEST(0, COALESCE(CAST(details->'medical'->>'compliant_cost_fen' AS bigint),
                                    CAST(details->'medical'->>'bill_total_fen' AS bigint), 0)
                           - COALESCE(CAST(details->'medical'->>'basic_insurance_paid_fen' AS bigint), 0)
                           - COALESCE(CAST(details->'medical'->>'critical_illness_paid_fen' AS bigint), 0)))
    FROM eligibility.cases
    WHERE household_id = ANY(CAST(:households AS uuid[])) AND programme = 'medical'
      AND status = ANY(CAST(:approved AS text[])) AND one_off_amount_fen > 0 AND decided_on IS NOT NULL
      AND NOT id = ANY(CAST(:exclude AS uuid[]))
    GROUP BY 1, 2
""")
_APPROVED = [s.value for s in (*ON_ROLL, Status.TERMINATED)]

# 提标: the cases whose schedule has a segment priced with the key (any status: a case that left the roll is owed the
# rise for the months it was owed), and the cases decided before schedules were kept whose stored trace read it.
# The ids in one scan; chunks are then read by primary key, so the run stays linear however many there are.
# The cases under a region prefix whose schedule (or, decided before schedules, stored trace) read a key: the 提标
# recompute's work (`priced_with_params` binds it).
PRICED_WITH_FILTER = """region_code LIKE :prefix AND (
        schedule -> 'values' @> CAST(:probe AS jsonb)
        OR (schedule IS NULL AND status = ANY(CAST(:on_roll AS text[])) AND monthly_amount_fen IS NOT NULL
            AND assessment -> 'trace' @> CAST(:probe AS jsonb)))"""
_PRICED_WITH = text(f"SELECT id FROM eligibility.cases WHERE {PRICED_WITH_FILTER} ORDER BY id")


def priced_with_params(region_prefix: str, key: str) -> dict[str, Any]:
    """The parameters of `PRICED_WITH_FILTER`."""
    return {
        "prefix": region_prefix + "%",
        "probe": orjson.dumps([{"key": key}]).decode(),
        "on_roll": [s.value for s in ON_ROLL],
    }


# The JSON as text, decoded here with orjson; the assessment only where the schedule must be read from it.
_ROLL_CHUNK = text(f"""
    SELECT {", ".join(c for c in _PLAIN)}, status, updated_at, details::text AS details, snapshot::text AS snapshot,
           schedule::text AS schedule, CASE WHEN schedule IS NULL THEN assessment::text END AS assessment
    FROM eligibility.cases WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id
""")
# One statement per chunk; `version` (the row's updated_at when read) is an optimistic check: a case changed
# meanwhile (a review committed since the chunk was read) is left alone, and only the ids returned are announced.
_SAVE_MANY = text("""
    WITH saved AS (
        UPDATE eligibility.cases AS c
        SET schedule = v.schedule, monthly_amount_fen = v.monthly_amount_fen,
            assessment = COALESCE(v.assessment, c.assessment), updated_at = now()
        FROM jsonb_to_recordset(CAST(:rows AS jsonb))
             AS v(id uuid, version timestamptz, schedule jsonb, monthly_amount_fen bigint, assessment jsonb)
        WHERE c.id = v.id AND c.updated_at = v.version
        RETURNING c.id
    ), steps AS (
        INSERT INTO eligibility.case_steps (case_id, step, from_status, to_status, actor, roles, "on", opinion, data)
        SELECT s.case_id, s.step, s.from_status, s.to_status, s.actor, s.roles, s."on", s.opinion, s.data
        FROM jsonb_populate_recordset(NULL::eligibility.case_steps, CAST(:steps AS jsonb)) AS s
        JOIN saved ON saved.id = s.case_id
    )
    SELECT id FROM saved
""")


@dataclass(frozen=True)
class SavedRows:
    """A chunk of re-priced cases as `save_many` writes them: the cases' and their steps' JSON."""

    cases: str
    steps: str

    @classmethod
    def of(cls, rows: list[SavedRow]) -> SavedRows:
        if not rows:
            return cls("", "[]")
        return cls(f"[{','.join(r.case for r in rows)}]", f"[{','.join(s for r in rows for s in r.steps)}]")


@dataclass(frozen=True)
class SavedRow:
    """One re-priced case as `save_many` writes it, already JSON: a chunk of thousands keeps text, not Cases."""

    case: str
    steps: tuple[str, ...]


def saved_row(case: Case, version: Any, steps: list[StepRecord]) -> SavedRow:
    """(case, version read, steps recorded) as `save_many` takes them: pure, so a caller may build it off the
    event loop while the database is busy with something else."""
    row = {
        "id": case.id,
        "version": version,
        "schedule": schedule_json(case.schedule, case.snapshot),
        "monthly_amount_fen": case.monthly_amount_fen,
        "assessment": _assessment_json(case.assessment) if case.assessment else None,
    }
    return SavedRow(json_row(row), tuple(json_row(_step_row(case.id, s)) for s in steps))


def roll_case(row: Any) -> tuple[Case, Any]:
    """A row of `CaseRepository.roll_rows` as the recompute reads it, with its version (for `save_many`'s
    optimistic check): its assessment left out unless its schedule is still to be read from it (a re-priced case
    gets a new one). Pure: no session needed."""
    return _roll_case(row), row.updated_at


def _roll_case(row: Any) -> Case:
    return _case(
        row,
        orjson.loads(row.details),
        HouseholdSnapshot.model_validate_json(row.snapshot),
        CaseAssessment.model_validate_json(row.assessment) if row.assessment else None,
        orjson.loads(row.schedule) if row.schedule else None,
    )


def _holds_steps(worklist: Worklist) -> ColumnElement[bool]:
    emergency = CaseRow.details["temporary"]["type"].astext == "emergency"
    return or_(
        CaseRow.status.in_([s.value for s in worklist.statuses]),
        and_(CaseRow.delegated, CaseRow.status == Status.COUNTY_REVIEW.value)
        if worklist.delegated_decisions
        else false(),
        and_(
            CaseRow.programme == "temporary",
            emergency,
            CaseRow.status.in_([s.value for s in worklist.emergency_statuses]),
        )
        if worklist.emergency_statuses
        else false(),
        # 急难型 paid first: the paperwork owed.
        and_(CaseRow.documents_pending, CaseRow.status == Status.APPROVED.value)
        if worklist.documents_pending
        else false(),
    )


# The orders of eligibility's lists (shared/pagination.py), each served by an index of migration 0004_list_indexes.
CASES = Keyset("cases", (CaseRow.opened_on, CaseRow.id))
DEADLINES = Keyset("cases/deadlines", (CaseRow.due_date, CaseRow.id))
REVIEWS = Keyset("cases/reviews-due", (CaseRow.next_review_on, CaseRow.id))
WORKLIST = Keyset("tasks", (CaseRow.due_date, CaseRow.id))


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _cases(self, query: Select[tuple[CaseRow]]) -> list[Case]:
        return [to_case(row) for row in await self.session.scalars(query)]

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        row = await self.session.get(CaseRow, case_id, with_for_update=for_update)
        return to_case(row) if row else None

    async def by_application(self, application_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        query = select(CaseRow).where(CaseRow.application_id == application_id)
        row = await self.session.scalar(query.with_for_update() if for_update else query)
        return to_case(row) if row else None

    async def page(self, region_prefix: str, q: CaseQuery, *, worklist: Worklist | None = None) -> Rows[Case]:
        """A page of `q`'s cases under `region_prefix`. Ordered by 受理 date, or by the date a filter asks about (the
        nearest deadline for `due_before`, the review date for `review_due_before`), so the page is always a range
        of one index. `worklist`: the open cases that may hold a step of a user's worklist, oldest deadline first."""
        conditions: list[Any] = [CaseRow.region_code.startswith(region_prefix, autoescape=True)]
        keyset = CASES
        if q.status:
            conditions.append(CaseRow.status == q.status.value)
        if q.programme:
            conditions.append(CaseRow.programme == q.programme)
        if q.household_id:
            conditions.append(CaseRow.household_id == q.household_id)
        if q.review_due_before:
            keyset = REVIEWS
            conditions += [CaseRow.status.in_([s.value for s in ON_ROLL]), CaseRow.next_review_on < q.review_due_before]
        if q.due_before:
            keyset = DEADLINES
            conditions += [CaseRow.status.in_([s.value for s in OPEN]), CaseRow.due_date < q.due_before]
        if worklist is not None:
            keyset = WORKLIST
            conditions += [CaseRow.due_date.is_not(None), _holds_steps(worklist)]
        page = await keyset_page(self.session, select(CaseRow).where(*conditions), keyset, q)
        return Rows([to_case(row) for row in page.rows], page.next, page.total)

    async def count_reviews_due(self, region_prefix: str, before: date, programme: str | None) -> int:
        """The cases on the roll under `region_prefix` whose review falls before `before` (a range of the review
        date's index, as `page` reads it for reviews-due)."""
        conditions = [
            CaseRow.region_code.startswith(region_prefix, autoescape=True),
            CaseRow.status.in_([s.value for s in ON_ROLL]),
            CaseRow.next_review_on < before,
        ]
        if programme:
            conditions.append(CaseRow.programme == programme)
        return int(await self.session.scalar(select(func.count()).select_from(CaseRow).where(*conditions)) or 0)

    async def open_with_provisional_due_date(self, region_prefix: str) -> list[Case]:
        """Open cases whose deadline was counted without an official calendar, to count again once it is loaded."""
        return await self._cases(
            select(CaseRow)
            .where(
                CaseRow.region_code.startswith(region_prefix),
                CaseRow.status.in_([s.value for s in OPEN]),
                CaseRow.due_date_provisional,
            )
            .order_by(CaseRow.id)
            .with_for_update()
        )

    async def missing_members(self, present: dict[uuid.UUID, set[uuid.UUID]]) -> list[uuid.UUID]:
        """The household programmes' cases on the roll (低保, 边缘) of these households that count a member no
        longer among the household's (`present`: household → its members now): one statement for a run."""
        if not present:
            return []
        rows = await self.session.execute(
            _COUNTING,
            {"households": list(present), "on_roll": [s.value for s in ON_ROLL], "person_level": list(PERSON_LEVEL)},
        )
        return [
            case_id for case_id, household_id, counted in rows if set(map(uuid.UUID, counted)) - present[household_id]
        ]

    async def many_for_update(self, case_ids: list[uuid.UUID]) -> list[Case]:
        """These cases, locked for a change, in id order: one statement however many."""
        if not case_ids:
            return []
        return await self._cases(select(CaseRow).where(CaseRow.id.in_(case_ids)).order_by(CaseRow.id).with_for_update())

    async def on_roll_of(self, household_id: uuid.UUID) -> list[Case]:
        """The household's cases on the roll, locked for a change."""
        return await self.on_roll_of_households({household_id})

    async def on_roll_of_households(self, household_ids: set[uuid.UUID]) -> list[Case]:
        """These households' cases on the roll, locked for a change, in id order: one statement."""
        return await self.of_households(household_ids, ON_ROLL)

    async def of_households(self, household_ids: set[uuid.UUID], statuses: frozenset[Status]) -> list[Case]:
        """These households' cases in these statuses, locked for a change, in id order: one statement."""
        return await self._cases(
            select(CaseRow)
            .where(CaseRow.household_id.in_(household_ids), CaseRow.status.in_([s.value for s in statuses]))
            .order_by(CaseRow.id)
            .with_for_update()
        )

    async def on_notice(self, region_prefix: str) -> list[Case]:
        return await self._cases(
            select(CaseRow)
            .where(CaseRow.region_code.startswith(region_prefix), CaseRow.status == Status.PUBLIC_NOTICE.value)
            .order_by(CaseRow.region_code, CaseRow.notice_posted_on, CaseRow.id)
        )

    async def steps(self, case_id: uuid.UUID) -> list[CaseStep]:
        return list(
            await self.session.scalars(select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.id))
        )

    async def save(self, case: Case, steps: list[StepRecord]) -> None:
        """Write the case back to its row (only the columns that changed; a new case is added) with its steps.
        A case loaded in this session is in its identity map: no query."""
        values = row_values(case)
        row = await self.session.get(CaseRow, case.id)
        if row is None:
            self.session.add(CaseRow(**values))
        else:
            for column, value in values.items():
                if getattr(row, column) != value:
                    setattr(row, column, value)
        self.session.add_all([CaseStep(**_step_row(case.id, s)) for s in steps])

    async def latest_facts(self, household_id: uuid.UUID) -> tuple[HouseholdSnapshot, int | None] | None:
        """The household's latest facts and the version at intake they are of (None: not known), if any came."""
        facts = await self.session.get(HouseholdFacts, household_id)
        return (HouseholdSnapshot.model_validate(facts.snapshot), facts.version) if facts else None

    async def applications_with_cases(self, application_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        # One array parameter: the same statement (prepared once) for a batch of any size, not IN with one
        # parameter per id.
        return set(await self.session.scalars(_APPLICATIONS_WITH_CASES, {"ids": application_ids}))

    async def insert(self, cases: list[Case], steps: Iterable[tuple[Case, list[StepRecord]]] = ()) -> None:
        """Many new cases in one statement, the rows one JSON parameter (no ORM or per-row parameter work), and
        their households' latest facts; the steps they recorded (an imported case's `imported`) in one more."""
        await self.session.execute(
            _INSERT_CASES_WITH_FACTS, {"rows": json_rows([row_values(case, json_snapshot=True) for case in cases])}
        )
        rows = [_step_row(case.id, s) for case, recorded in steps for s in recorded]
        if rows:
            await self.session.execute(insert_json_rows(CaseStep.__table__, _STEP_KEYS), {"rows": json_rows(rows)})

    async def save_facts(self, facts: dict[uuid.UUID, tuple[str, HouseholdSnapshot, int | None]]) -> set[uuid.UUID]:
        """The latest snapshot per household (household id → (region code, snapshot, its version at intake)), one
        statement, never over facts of a newer version (`facts.replaces`); each snapshot written as pydantic's JSON
        of it, no dict of it built only to be encoded. The households whose facts were written."""
        if not facts:
            return set()
        written = await self.session.scalars(
            _UPSERT_FACTS,
            {
                "rows": json_rows(
                    [
                        {
                            "household_id": h,
                            "region_code": region,
                            "snapshot": orjson.Fragment(snapshot.__pydantic_serializer__.to_json(snapshot)),
                            "version": version,
                        }
                        for h, (region, snapshot, version) in facts.items()
                    ]
                )
            },
        )
        return set(written)

    async def recognised_children(self, households: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
        """Household → the children its live 孤儿 / 事实无人抚养儿童 cases support: (member, programme, case)."""
        found: dict[uuid.UUID, list[Any]] = {}
        rows = await self.session.execute(
            _RECOGNISED, {"households": list(set(households)), "live": [s.value for s in (*OPEN, *ON_ROLL)]}
        )
        for household_id, member_id, programme, case_id in rows:
            found.setdefault(household_id, []).append((member_id, programme, case_id))
        return found

    async def medical_approved(
        self, households: Iterable[uuid.UUID], exclude: Iterable[uuid.UUID] = ()
    ) -> dict[uuid.UUID, tuple[dict[int, int], dict[int, int]]]:
        """Household → the 医疗救助 its cases (but `exclude`) were approved, and the deductible (起付线) those
        approved claims met, each fen by calendar year of the decision: what a medical claim's annual cap and
        deductible count at least (`Case.medical_approved_by_year`, `Case.medical_deductible_used_by_year`)."""
        found: dict[uuid.UUID, tuple[dict[int, int], dict[int, int]]] = {}
        rows = await self.session.execute(
            _MEDICAL_APPROVED, {"households": list(set(households)), "approved": _APPROVED, "exclude": list(exclude)}
        )
        for household_id, year, fen, met in rows:
            approved, deductible = found.setdefault(household_id, ({}, {}))
            approved[year], deductible[year] = int(fen), int(met or 0)
        return found

    async def live_cases(self, wanted: Iterable[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
        """(household, programme) → its live case (open or on the roll), for those of `wanted` that have one."""
        pairs = list(set(wanted))
        if not pairs:
            return {}
        rows = await self.session.execute(
            _LIVE,
            {
                "households": [h for h, _ in pairs],
                "programmes": [p for _, p in pairs],
                "live": [s.value for s in (*OPEN, *ON_ROLL)],
            },
        )
        return {(h, p): case_id for h, p, case_id in rows}

    # --- 提标: many cases at once ----------------------------------------------------------------------------------

    async def priced_with(self, region_prefix: str, key: str) -> list[uuid.UUID]:
        """Ids of the cases under the prefix whose schedule (or, decided before schedules, stored trace) read `key`."""
        return list((await self.session.execute(_PRICED_WITH, priced_with_params(region_prefix, key))).scalars())

    async def roll_rows(self, ids: list[uuid.UUID]) -> list[Any]:
        """The rows of the cases with these ids, their JSON undecoded: `roll_case` makes each a Case (off the event
        loop, if the caller wishes)."""
        return list(await self.session.execute(_ROLL_CHUNK, {"ids": ids}))

    async def save_many(self, rows: SavedRows) -> set[uuid.UUID]:
        """Many re-priced cases (`saved_row`s joined by `SavedRows.of`), set-based: one statement updating their
        schedule, amount and assessment where the row is still the version read, and inserting the steps of those.
        The ids written."""
        if not rows.cases:
            return set()
        result = await self.session.execute(_SAVE_MANY, {"rows": rows.cases, "steps": rows.steps})
        return set(result.scalars())
