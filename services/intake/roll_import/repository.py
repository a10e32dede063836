"""Every query of the roll import: the import row, its staged rows (COPY), the households the dry run judges in
chunks, the report, the set-based writes of the import itself (INSERT … SELECT from the staged rows), and the
purge of an expired import's staging."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import LIVE, Household, Member, RollImport, RollImportIssue
from services.intake.roll_import.schemas import IssueQuery
from shared.context import correlation_id
from shared.db import json_rows
from shared.events.catalogue import PERSON_LEVEL, ApplicationImported, HouseholdRegistered, PayeeChanged
from shared.pagination import Keyset, Rows, keyset_page
from shared.uow import UnitOfWork

SCHEMA = "intake"


@dataclass(frozen=True)
class Live:
    """A household's live application of a programme (`uq_applications_live`'s row): open, or approved or imported
    and not stopped."""

    application_id: str
    status: str
    case_id: str | None
    origin: str = "front_desk"  # or roll_import: an earlier import brought it in

    @property
    def receives(self) -> bool:
        """Decided: the household is on the roll for it (approved at the front desk, or imported)."""
        return self.status in ("approved", "imported")


@dataclass(frozen=True)
class OnFile:
    """A person already in an active household at intake."""

    household_id: uuid.UUID
    region_code: str  # the household's village
    member_id: uuid.UUID
    live: dict[str, Live]  # the household's live applications, by programme
    members: int  # the household's active members


ROW_COLUMNS = (
    "import_id",
    "line",
    "household_ref",
    "household_id",
    "member_id",
    "name",
    "relation",
    "sex",
    "birth_date",
    "id_number_sealed",
    "id_number_key_id",
    "id_number_masked",
    "id_fingerprint",
    "covered",
    "income_fen",
    "facts",
    "household",
    "account_sealed",
    "account_key_id",
    "account_last4",
    "payee_sealed",
    "payee_key_id",
    "error_field",
    "error_message",
)
ISSUES = Keyset("roll-import-issues", (RollImportIssue.line, RollImportIssue.kind))
#: What an import stages, by what the purge counts: rows (sealed ID numbers, accounts), households, report lines.
STAGING = {"rows": "roll_import_rows", "households": "roll_import_households", "issues": "roll_import_issues"}
#: The statuses whose staging the purge may delete once unchanged long enough: done, a dry run never committed,
#: a dry run stopped (`failed`) or left `validating` by a process that died. Never `importing`: the worker's.
PURGEABLE = ("imported", "validated", "failed", "validating")


async def _raw(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction (begun first: a COPY alone would commit at once)."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return (await connection.get_raw_connection()).driver_connection


class RollImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, item: RollImport) -> None:
        self.session.add(item)

    async def get(
        self, import_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> RollImport | None:
        query = select(RollImport).where(RollImport.id == import_id)
        if for_update:
            query = query.with_for_update(skip_locked=skip_locked)
        return await self.session.scalar(query)

    async def by_sha256(self, region_code: str, sha256: str) -> RollImport | None:
        return await self.session.scalar(
            select(RollImport).where(RollImport.region_code == region_code, RollImport.sha256 == sha256)
        )

    async def lock(self, item: RollImport) -> None:
        """`item` locked for the transaction, and read again as it is once the lock is held."""
        await self.session.refresh(item, with_for_update=True)

    async def pending(self, status: str) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(RollImport.id).where(RollImport.status == status).order_by(RollImport.created_at)
            )
        )

    async def copy_rows(self, records: Sequence[tuple]) -> None:
        await (await _raw(self.session)).copy_records_to_table(
            "roll_import_rows", schema_name=SCHEMA, columns=list(ROW_COLUMNS), records=records
        )

    async def save(self, import_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(RollImport).where(RollImport.id == import_id).values(**values, updated_at=text("now()")),
            execution_options={"synchronize_session": False},
        )

    # --- the dry run ---------------------------------------------------------------------------------------------

    async def group_households(self, import_id: uuid.UUID) -> int:
        """The file's households, numbered by their first line; the rows refused by their own columns and the
        persons listed twice go to the report. How many households."""
        params = {"id": import_id}
        await self.session.execute(_GROUP, params)
        await self.session.execute(_ROW_ISSUES, params)
        await self.session.execute(_TWICE, params)
        return int(await self.session.scalar(_COUNT_HOUSEHOLDS, params) or 0)

    async def household_chunk(self, import_id: uuid.UUID, after: int, limit: int) -> list[Any]:
        """The next households after `after` (seq) with their rows (by line) and the report's refusals of them."""
        return list((await self.session.execute(_CHUNK, {"id": import_id, "after": after, "limit": limit})).all())

    async def on_file(self, fingerprints: list[str]) -> dict[str, OnFile]:
        """Of these persons, those in an active household: which, as which member, its live applications (open,
        or approved or imported and not stopped: one per programme) and how many active members it has."""
        if not fingerprints:
            return {}
        rows = await self.session.execute(_ON_FILE, {"fingerprints": fingerprints})
        return {
            r.id_fingerprint: OnFile(
                r.household_id,
                r.region_code,
                r.member_id,
                {p: Live(a["id"], a["status"], a["case_id"], a["origin"]) for p, a in (r.live or {}).items()},
                r.members,
            )
            for r in rows
        }

    async def join(self, import_id: uuid.UUID, homes: dict[int, uuid.UUID], rows: list[dict[str, Any]]) -> None:
        """Households of the file that are on file already (seq → the household's id) take its id, and their staged
        members (`{"line", "member_id"}`) the ids of the members they are."""
        if homes:
            households = [{"seq": seq, "household_id": home} for seq, home in homes.items()]
            await self.session.execute(_JOIN, {"id": import_id, "rows": json_rows(households), "seqs": list(homes)})
            lines = [r["line"] for r in rows]
            await self.session.execute(_JOIN_MEMBERS, {"id": import_id, "rows": json_rows(rows), "lines": lines})

    async def village_lists(self, codes: list[str]) -> set[str]:
        """Of these village codes, those their township's loaded village list does not hold."""
        if not codes:
            return set()
        return set(await self.session.scalars(_NOT_VILLAGES, {"codes": codes}))

    async def judge(self, import_id: uuid.UUID, verdicts: list[dict[str, Any]]) -> None:
        """A chunk's verdicts in one statement (their JSON columns embedded as the JSON text they are)."""
        if verdicts:
            rows = [
                {
                    **v,
                    "values": orjson.Fragment(v["values"]) if v["values"] is not None else None,
                    "covered": orjson.Fragment(v["covered"]) if v["covered"] is not None else None,
                }
                for v in verdicts
            ]
            seqs = [v["seq"] for v in verdicts]  # also the index condition: the chunk's rows by key, not a scan
            await self.session.execute(_JUDGE, {"id": import_id, "rows": json_rows(rows), "seqs": seqs})

    async def establish_facts(self, import_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
        """Staged members' facts replaced (`{"line", "facts"}`) with what their old approval established."""
        if rows:
            lines = [r["line"] for r in rows]
            await self.session.execute(_ESTABLISH, {"id": import_id, "rows": json_rows(rows), "lines": lines})

    async def add_issues(self, import_id: uuid.UUID, issues: list[dict[str, Any]]) -> None:
        if issues:
            await self.session.execute(_ISSUE, {"id": import_id, "rows": json_rows(issues)})

    async def report(self, import_id: uuid.UUID) -> dict[str, Any]:
        row = (await self.session.execute(_REPORT, {"id": import_id})).mappings().one()
        by_programme = {
            p: {"households": h, "persons": n, "monthly_amount_fen": fen}
            for p, h, n, fen in await self.session.execute(_BY_PROGRAMME, {"id": import_id})
        }
        return {**row, "by_programme": by_programme}

    async def issues(self, import_id: uuid.UUID, q: IssueQuery) -> Rows[RollImportIssue]:
        query = select(RollImportIssue).where(RollImportIssue.import_id == import_id)
        if q.kind:
            query = query.where(RollImportIssue.kind == q.kind)
        return await keyset_page(self.session, query, ISSUES, q)

    # --- the import ----------------------------------------------------------------------------------------------

    async def commit_chunk(self, import_id: uuid.UUID, after: int, limit: int) -> tuple[list[Any], int | None]:
        """The next households to create after `after` (seq, ref, first line, and `late`: a person of it joined an
        active household since the dry run); and the last seq of the chunk scanned."""
        last = await self.session.scalar(_LAST_OF_CHUNK, {"id": import_id, "after": after, "limit": limit})
        if last is None:
            return [], None
        rows = await self.session.execute(_TO_CREATE, {"id": import_id, "after": after, "last": last})
        return list(rows.all()), int(last)

    async def announce(self, uow: UnitOfWork, import_id: uuid.UUID, seqs: list[int], creating: list[int]) -> None:
        """The chunk's events written to the outbox by one statement, built from the staged rows as the front
        desk's are from its objects: every household.registered, then every payee.changed (households with an
        account) — of the households it creates — then every application.imported, each in household order.
        Nothing of a household is read into Python: its snapshot (members, incomes) is assembled once, for both
        events that carry it."""
        statement, params = uow.events_in_runs(
            [
                (HouseholdRegistered, _REGISTERED, "r.household_id", "r.region_code"),
                (PayeeChanged, _PAYEES, "r.household_id", "r.region_code"),
                (ApplicationImported, _IMPORTED, "r.household_id", "r.region_code"),
            ],
            order="r.seq",
        )
        await self.session.execute(
            text(_CHUNK_CREATED + statement), {**params, "id": import_id, "seqs": seqs, "creating": creating}
        )

    async def joined_members(self, import_id: uuid.UUID, seqs: list[int]) -> list[Any]:
        """The members of the households on file these staged households join: (id, household, facts on file,
        facts the file states: what the programme was priced on)."""
        return list((await self.session.execute(_JOINED_MEMBERS, {"id": import_id, "seqs": seqs})).all())

    async def write_member_facts(self, facts: dict[uuid.UUID, dict[str, Any]]) -> list[Household]:
        """Set members' facts, one statement, and mark their households written (version and time, as a front-desk
        edit does): the households, with their members loaded as they are now."""
        await self.session.execute(
            _MEMBER_FACTS, {"rows": json_rows([{"id": m, "facts": f} for m, f in facts.items()])}
        )
        written = await self.session.scalars(
            update(Household)
            .where(Household.id.in_(select(Member.household_id).where(Member.id.in_(list(facts)))))
            .values(version=Household.version + 1, updated_at=func.now())
            .returning(Household)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        return list(written.all())

    async def active_members(self, household_ids: list[uuid.UUID]) -> list[Member]:
        return list(
            await self.session.scalars(
                select(Member)
                .where(Member.household_id.in_(household_ids), Member.active)
                .order_by(Member.name, Member.id)
                .execution_options(populate_existing=True)
            )
        )

    async def audit_created(self, import_id: uuid.UUID, seqs: list[int], actor: str, details: dict[str, Any]) -> None:
        """One `household.import` audit record per created household (as `shared.audit.record` writes them)."""
        await self.session.execute(
            _AUDIT_CREATED,
            {
                "id": import_id,
                "seqs": seqs,
                "actor": actor,
                "correlation_id": correlation_id.get(),
                "details": orjson.dumps(details).decode(),
            },
        )

    async def create(self, import_id: uuid.UUID, seqs: list[int], creating: list[int], profile: str) -> list[int]:
        """The chunk's applications, and the households and members of those it creates (`creating`; the others
        join a household on file), each one INSERT … SELECT from the staged rows; the households imported. One the
        file joins to a household on file that holds the programme live by now (its application taken at the front
        desk or by another import since the dry run, committed or committing meanwhile) gets no application
        (`uq_applications_live`: ON CONFLICT DO NOTHING) and is left out."""
        params = {"id": import_id, "seqs": seqs}
        if creating:
            await self.session.execute(_HOUSEHOLDS, {**params, "seqs": creating})
            await self.session.execute(_MEMBERS, {**params, "seqs": creating, "profile": profile})
        await self.session.execute(_APPLICATIONS, params)
        return list(await self.session.scalars(_MARK_IMPORTED, params))

    async def live_of(self, import_id: uuid.UUID, seqs: list[int]) -> dict[int, Live]:
        """Of these staged households, the live application of their programme the household on file holds."""
        if not seqs:
            return {}
        rows = await self.session.execute(_LIVE_OF, {"id": import_id, "seqs": seqs})
        return {r.seq: Live(str(r.id), r.status, r.case_id and str(r.case_id)) for r in rows}

    async def refuse(self, import_id: uuid.UUID, seqs: list[int]) -> None:
        if seqs:
            await self.session.execute(_MARK_REFUSED, {"id": import_id, "seqs": seqs})

    async def drop_staging(self, import_id: uuid.UUID) -> None:
        """The staged rows hold sealed ID numbers and accounts: gone once the import is done."""
        await self._delete_staged(STAGING["rows"], import_id)

    # --- retention -----------------------------------------------------------------------------------------------

    async def expired(self, retention: timedelta) -> RollImport | None:
        """The import unchanged the longest beyond `retention` whose staging is still there, locked; one another
        transaction holds (a dry-run or import step, a replayed upload) is passed over: it is being worked on."""
        return await self.session.scalar(
            select(RollImport)
            .where(
                RollImport.status.in_(PURGEABLE),
                RollImport.purged_at.is_(None),
                RollImport.updated_at < func.now() - retention,
            )
            .order_by(RollImport.updated_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )

    async def purge(self, import_id: uuid.UUID) -> dict[str, int]:
        """The import's staging deleted, one DELETE per table, and the import marked purged; how many of each
        (rows, households, issues) went."""
        counts = {kind: await self._delete_staged(table, import_id) for kind, table in STAGING.items()}
        await self.save(import_id, purged_at=text("now()"))
        return counts

    async def _delete_staged(self, table: str, import_id: uuid.UUID) -> int:
        result = await self.session.execute(
            text(f"DELETE FROM {SCHEMA}.{table} WHERE import_id = :id"), {"id": import_id}
        )
        return int(result.rowcount)


_GROUP = text("""
INSERT INTO intake.roll_import_households
    (import_id, seq, household_ref, household_id, application_id, first_line, members, status, amount_differs)
SELECT :id, row_number() OVER (ORDER BY min(line)), household_ref, (array_agg(household_id))[1],
       gen_random_uuid(), min(line), count(*), 'pending', false
FROM intake.roll_import_rows WHERE import_id = :id GROUP BY household_ref
ON CONFLICT DO NOTHING
""")
_ROW_ISSUES = text("""
INSERT INTO intake.roll_import_issues (import_id, line, kind, household_ref, field, message)
SELECT import_id, line, 'refused', household_ref, error_field, error_message
FROM intake.roll_import_rows WHERE import_id = :id AND error_field IS NOT NULL
ON CONFLICT DO NOTHING
""")
_TWICE = text("""
INSERT INTO intake.roll_import_issues (import_id, line, kind, household_ref, field, message)
SELECT :id, line, 'refused', household_ref, 'id_number',
       'the same person is also on line ' || first || ' (a household''s second programme goes in a second file, '
       || 'uploaded once this one is imported)'
FROM (SELECT line, household_ref, min(line) OVER (PARTITION BY id_fingerprint) AS first
      FROM intake.roll_import_rows WHERE import_id = :id AND id_fingerprint IS NOT NULL) r
WHERE line <> first
ON CONFLICT DO NOTHING
""")
_COUNT_HOUSEHOLDS = text("SELECT count(*) FROM intake.roll_import_households WHERE import_id = :id")
_CHUNK = text("""
SELECT h.seq, h.household_ref, h.household_id, h.application_id,
       jsonb_agg(jsonb_build_object(
           'line', r.line, 'member_id', r.member_id, 'name', r.name, 'relation', r.relation, 'sex', r.sex,
           'birth_date', r.birth_date, 'id_fingerprint', r.id_fingerprint, 'covered', r.covered,
           'income_fen', r.income_fen, 'facts', r.facts, 'household', r.household,
           'has_account', r.account_sealed IS NOT NULL) ORDER BY r.line) AS rows,
       (SELECT jsonb_agg(jsonb_build_array(i.line, i.field, i.message) ORDER BY i.line)
        FROM intake.roll_import_issues i
        WHERE i.import_id = h.import_id AND i.household_ref = h.household_ref AND i.kind = 'refused') AS refused
FROM intake.roll_import_households h
JOIN intake.roll_import_rows r ON r.import_id = h.import_id AND r.household_ref = h.household_ref
WHERE h.import_id = :id AND h.seq > :after AND h.seq <= :after + :limit
GROUP BY h.import_id, h.seq
ORDER BY h.seq
""")
# The live applications are `uq_applications_live`'s rows (LIVE reads the applications' own columns).
_ON_FILE = text(f"""
SELECT m.id_fingerprint, m.household_id, hh.region_code, m.id AS member_id,
       (SELECT jsonb_object_agg(a.programme, jsonb_build_object('id', a.id, 'status', a.status, 'case_id', a.case_id,
                                                          'origin', a.origin))
        FROM intake.applications a WHERE a.household_id = m.household_id AND ({LIVE})) AS live,
       (SELECT count(*) FROM intake.members o WHERE o.household_id = m.household_id AND o.active) AS members
FROM unnest(CAST(:fingerprints AS varchar[])) AS f(fingerprint)
JOIN intake.members m ON m.id_fingerprint = f.fingerprint AND m.active
JOIN intake.households hh ON hh.id = m.household_id AND hh.active
""")
_JOIN = text("""
UPDATE intake.roll_import_households AS h SET household_id = v.household_id
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(seq bigint, household_id uuid)
WHERE h.import_id = :id AND h.seq = v.seq AND h.seq = ANY(CAST(:seqs AS bigint[]))
""")
_JOIN_MEMBERS = text("""
UPDATE intake.roll_import_rows AS r SET member_id = v.member_id
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(line int, member_id uuid)
WHERE r.import_id = :id AND r.line = v.line AND r.line = ANY(CAST(:lines AS int[]))
""")
_NOT_VILLAGES = text("""
SELECT c FROM unnest(CAST(:codes AS text[])) AS c
WHERE NOT EXISTS (SELECT 1 FROM intake.villages v WHERE v.code = c)
  AND EXISTS (SELECT 1 FROM intake.villages v WHERE v.township_code = left(c, 9))
""")
_JUDGE = text("""
UPDATE intake.roll_import_households AS h
SET status = v.status, "values" = v."values", covered_member_ids = v.covered, computed_amount_fen = v.computed,
    amount_differs = v.differs
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS v(seq bigint, status text, "values" jsonb, covered jsonb, computed bigint, differs boolean)
WHERE h.import_id = :id AND h.seq = v.seq AND h.seq = ANY(CAST(:seqs AS bigint[]))
""")
_ESTABLISH = text("""
UPDATE intake.roll_import_rows AS r SET facts = v.facts
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(line int, facts jsonb)
WHERE r.import_id = :id AND r.line = v.line AND r.line = ANY(CAST(:lines AS int[]))
""")
_ISSUE = text("""
INSERT INTO intake.roll_import_issues (import_id, line, kind, household_ref, field, message)
SELECT :id, i.line, i.kind, i.household_ref, i.field, i.message
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS i(line int, kind text, household_ref text, field text, message text)
ON CONFLICT DO NOTHING
""")
_REPORT = text("""
SELECT (SELECT count(*) FROM intake.roll_import_rows WHERE import_id = :id) AS rows,
       (SELECT count(DISTINCT line) FROM intake.roll_import_issues WHERE import_id = :id AND kind = 'refused')
           AS rows_refused,
       count(*) AS households,
       count(*) FILTER (WHERE status IN ('ok', 'imported') AND j.household_ref IS NULL) AS households_to_create,
       count(*) FILTER (WHERE status IN ('ok', 'imported') AND j.household_ref IS NOT NULL) AS households_joined,
       coalesce(sum(members) FILTER (WHERE status IN ('ok', 'imported') AND j.household_ref IS NULL), 0)::bigint
           AS members_to_create,
       count(*) FILTER (WHERE status = 'refused') AS households_refused,
       count(*) FILTER (WHERE status = 'skipped') AS households_skipped,
       count(*) FILTER (WHERE status IN ('ok', 'imported') AND amount_differs) AS amount_differs,
       count(*) FILTER (WHERE status = 'imported') AS households_imported
FROM intake.roll_import_households h
LEFT JOIN (SELECT DISTINCT household_ref FROM intake.roll_import_issues  -- a household joined on file has its members
           WHERE import_id = :id AND kind = 'joined') j USING (household_ref)
WHERE h.import_id = :id
""")
_BY_PROGRAMME = text("""
SELECT "values"->>'programme', count(*), sum(("values"->>'persons')::int)::bigint,
       sum(("values"->>'monthly_amount_fen')::bigint)::bigint
FROM intake.roll_import_households WHERE import_id = :id AND status IN ('ok', 'imported')
GROUP BY 1 ORDER BY 1
""")
_LAST_OF_CHUNK = text("""
SELECT max(seq) FROM (SELECT seq FROM intake.roll_import_households
                      WHERE import_id = :id AND seq > :after ORDER BY seq LIMIT :limit) c
""")
_TO_CREATE = text("""
SELECT h.seq, h.household_ref, h.first_line,
       EXISTS (SELECT 1 FROM intake.roll_import_rows r
               JOIN intake.members m ON m.id_fingerprint = r.id_fingerprint AND m.active
               WHERE r.import_id = h.import_id AND r.household_ref = h.household_ref
                 AND m.household_id <> h.household_id
                 AND EXISTS (SELECT 1 FROM intake.households hh WHERE hh.id = m.household_id AND hh.active)) AS late,
       EXISTS (SELECT 1 FROM intake.households hh WHERE hh.id = h.household_id) AS joins
FROM intake.roll_import_households h
WHERE h.import_id = :id AND h.seq > :after AND h.seq <= :last AND h.status = 'ok'
ORDER BY h.seq
""")
# The created households as their events carry them: the snapshot is `service.snapshot_of`'s (the members' facts as
# staged, their declared wages as incomes), the account the first row's that gives one. JSON text, not JSONB: it is
# embedded as is in each event, which becomes JSONB once (`sql_envelope`); a member is its columns and its facts.
# Whom the application names: the 户主 for a household programme; for a person-level one the person it covers
# (one per household in the file), whom the rule prices — the 户主 may be a grandparent the programme does not cover.
_APPLICANT = (
    f"""CASE WHEN h."values"->>'programme' IN ({", ".join(f"'{p}'" for p in PERSON_LEVEL)})"""
    """ THEN (h.covered_member_ids->>0)::uuid ELSE {head} END"""
)
_CHUNK_CREATED = f"""
WITH chunk AS MATERIALIZED (
    SELECT h.seq, h.import_id, h.household_id, h.application_id, h."values" AS v, h.covered_member_ids,
           {_APPLICANT.format(head="m.head")} AS applicant,
           h.computed_amount_fen, h.amount_differs, i.created_at AS changed_at, i.committed_by,
           to_char(i.paid_through, 'YYYY-MM') AS paid_through,
           json_build_object('household_id', h.household_id, 'region_code', h."values"->>'region_code',
                             'hukou_type', h."values"->>'hukou', 'members', m.members, 'incomes', m.incomes,
                             'properties', '[]'::json, 'rigid_expenses', '[]'::json) AS snapshot,
           m.identities, m.head, m.payee_key_id, m.payee_sealed, m.account_last4
    FROM intake.roll_import_households h
    JOIN intake.roll_imports i ON i.id = h.import_id
    CROSS JOIN LATERAL (
        SELECT json_agg(CAST(left(CAST(json_build_object('member_id', r.member_id, 'name', r.name,
                                                         'birth_date', r.birth_date, 'sex', r.sex,
                                                         'relation', r.relation) AS text), -1)
                             || ',' || substr(CAST(r.facts AS text), 2) AS json) ORDER BY r.line) AS members,
               coalesce(json_agg(json_build_object('member_id', r.member_id, 'kind', 'wages', 'subkind', 'declared',
                                                   'monthly_amount_fen', r.income_fen) ORDER BY r.line)
                        FILTER (WHERE r.income_fen <> 0), '[]'::json) AS incomes,
               json_agg(json_build_object('member_id', r.member_id, 'id_fingerprint', r.id_fingerprint)
                        ORDER BY r.line) AS identities,
               (array_agg(r.member_id ORDER BY r.line) FILTER (WHERE r.relation = 'head'))[1] AS head,
               (array_agg(r.payee_key_id ORDER BY r.line) FILTER (WHERE r.payee_sealed IS NOT NULL))[1] AS payee_key_id,
               (array_agg(r.payee_sealed ORDER BY r.line) FILTER (WHERE r.payee_sealed IS NOT NULL))[1] AS payee_sealed,
               (array_agg(r.account_last4 ORDER BY r.line) FILTER (WHERE r.payee_sealed IS NOT NULL))[1]
                   AS account_last4
        FROM intake.roll_import_rows r WHERE r.import_id = h.import_id AND r.household_ref = h.household_ref) m
    WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
)
"""
# A household the file joins (on file already, another programme) is registered, and has its account, already.
# Version 1: `_HOUSEHOLDS` writes each created household at its first version.
_REGISTERED = """(SELECT seq, household_id, v->>'region_code' AS region_code, snapshot, identities,
        1 AS household_version
 FROM chunk WHERE seq = ANY(CAST(:creating AS bigint[])))"""
_PAYEES = """(SELECT seq, household_id, v->>'region_code' AS region_code, payee_key_id AS key_id,
        payee_sealed AS sealed, account_last4, changed_at
 FROM chunk WHERE payee_sealed IS NOT NULL AND seq = ANY(CAST(:creating AS bigint[])))"""
_IMPORTED = """(SELECT seq, application_id, household_id, v->>'programme' AS programme,
        v->>'region_code' AS region_code, v->'approved_on' AS submitted_on, applicant AS applicant_member_id,
        false AS consent_signed, false AS separate_register, v->'details' AS details, snapshot, import_id,
        committed_by AS imported_by, v->'approved_on' AS approved_on, v->'monthly_amount_fen' AS monthly_amount_fen,
        v->'persons' AS persons, covered_member_ids, v->'next_review_on' AS next_review_on, paid_through,
        amount_differs, computed_amount_fen
 FROM chunk)"""
_JOINED_MEMBERS = text("""
SELECT m.id, m.household_id, m.facts AS on_file, r.facts AS stated
FROM intake.roll_import_households h
JOIN intake.roll_import_rows r ON r.import_id = h.import_id AND r.household_ref = h.household_ref
JOIN intake.members m ON m.id = r.member_id AND m.active
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
ORDER BY h.seq, r.line
""")
_MEMBER_FACTS = text("""
UPDATE intake.members m SET facts = v.facts
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id uuid, facts jsonb)
WHERE m.id = v.id
""")
_AUDIT_CREATED = text("""
INSERT INTO intake.audit_log
    (actor, roles, action, resource_type, resource_id, household_id, region_code, reason, correlation_id, details)
SELECT :actor, ARRAY['system'], 'household.import', 'household', h.household_id::text, h.household_id,
       h."values"->>'region_code', NULL, :correlation_id, CAST(:details AS jsonb)
FROM intake.roll_import_households h
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
ORDER BY h.seq
""")
_HOUSEHOLDS = text("""
INSERT INTO intake.households
    (id, region_code, hukou_type, address, incomes, properties, rigid_expenses, active, bank_name,
     bank_account_holder, bank_account_sealed, bank_account_key_id, bank_account_last4, bank_account_changed_at,
     payee_backfill_pending, created_at, updated_at, version)
SELECT h.household_id, h."values"->>'region_code', h."values"->>'hukou', h."values"->>'address',
       coalesce(jsonb_agg(jsonb_build_object('member_id', r.member_id, 'kind', 'wages', 'subkind', 'declared',
                                             'monthly_amount_fen', r.income_fen) ORDER BY r.line)
                FILTER (WHERE r.income_fen > 0), '[]'::jsonb),
       '[]'::jsonb, '[]'::jsonb, true, h."values"->>'bank_name', h."values"->>'account_holder',
       (array_agg(r.account_sealed ORDER BY r.line) FILTER (WHERE r.account_sealed IS NOT NULL))[1],
       (array_agg(r.account_key_id ORDER BY r.line) FILTER (WHERE r.account_sealed IS NOT NULL))[1],
       (array_agg(r.account_last4 ORDER BY r.line) FILTER (WHERE r.account_sealed IS NOT NULL))[1],
       i.created_at, false, now(), now(), 1
FROM intake.roll_import_households h
JOIN intake.roll_imports i ON i.id = h.import_id
JOIN intake.roll_import_rows r ON r.import_id = h.import_id AND r.household_ref = h.household_ref
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
GROUP BY h.import_id, h.seq, i.created_at
""")
_MEMBERS = text("""
INSERT INTO intake.members
    (id, household_id, name, id_number_sealed, id_number_key_id, id_number_masked, id_fingerprint,
     fingerprint_profile, active, birth_date, sex, relation, facts)
SELECT r.member_id, h.household_id, r.name, r.id_number_sealed, r.id_number_key_id, r.id_number_masked,
       r.id_fingerprint, :profile, true, r.birth_date, r.sex, r.relation, r.facts
FROM intake.roll_import_households h
JOIN intake.roll_import_rows r ON r.import_id = h.import_id AND r.household_ref = h.household_ref
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
""")
_APPLICATIONS = text(f"""
INSERT INTO intake.applications
    (id, household_id, region_code, programme, status, submitted_on, consent_signed, applicant_member_id,
     separate_register, details, withdrawal_refused_because, next_deadline_provisional, decision, origin,
     created_at, updated_at, version)
SELECT h.application_id, h.household_id, h."values"->>'region_code', h."values"->>'programme', 'imported',
       (h."values"->>'approved_on')::date, false, {_APPLICANT.format(head="head.member_id")}, false,
       h."values"->'details', NULL, false,
       jsonb_build_object('imported', true, 'import_id', h.import_id,
                          'monthly_amount_fen', (h."values"->>'monthly_amount_fen')::bigint,
                          'persons', (h."values"->>'persons')::int),
       'roll_import', now(), now(), 1
FROM intake.roll_import_households h
CROSS JOIN LATERAL (SELECT r.member_id FROM intake.roll_import_rows r
                    WHERE r.import_id = h.import_id AND r.household_ref = h.household_ref AND r.relation = 'head'
                    LIMIT 1) head
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
ON CONFLICT DO NOTHING
""")
_MARK_IMPORTED = text("""
UPDATE intake.roll_import_households h SET status = 'imported'
WHERE import_id = :id AND seq = ANY(CAST(:seqs AS bigint[]))
  AND EXISTS (SELECT 1 FROM intake.applications a WHERE a.id = h.application_id)
RETURNING seq
""")
_LIVE_OF = text(f"""
SELECT h.seq, a.id, a.status, a.case_id
FROM intake.roll_import_households h
CROSS JOIN LATERAL (SELECT id, status, case_id FROM intake.applications
                    WHERE household_id = h.household_id AND programme = h."values"->>'programme' AND ({LIVE})) a
WHERE h.import_id = :id AND h.seq = ANY(CAST(:seqs AS bigint[]))
""")
_MARK_REFUSED = text("""
UPDATE intake.roll_import_households SET status = 'refused'
WHERE import_id = :id AND seq = ANY(CAST(:seqs AS bigint[]))
""")
