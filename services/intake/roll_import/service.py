"""存量对象导入: a county admin's upload of its current recipients, the dry run that judges it, and the import.

- `upload`: the file is hashed (the same file in the same region is the same import), then read row by row
  (`reader`), each row checked (`domain.parse_row`), its ID number sealed for the member it becomes and
  fingerprinted, its account sealed for the household and for payments, and COPYed into the staging table: nothing
  in clear, bounded memory whatever the file's size. A file that cannot be read is a 4xx naming the field.
- `dry_run_step`: a chunk of households judged (their rows agree, one head, the persons not already on file, the
  villages loaded) and priced by eligibility's rules (`POST /assessments`); what is refused, skipped or priced
  otherwise goes to the report, line and field, never the ID number.
- `commit_step`: a chunk of households created — households, members, applications `imported` by INSERT … SELECT
  from the staged rows — and their events (`household.registered`, `payee.changed`, `application.imported`) in the
  outbox, committed with the cursor: a worker killed at any point resumes from the last committed chunk. A
  household that conflicts by now (a person in another household, the household on file holding the programme
  live) is refused in the report, the rest of the chunk imported.
- `purge_step`: the staging (rows, households, report lines) of an import unchanged for the retention period
  deleted — imported, a dry run never committed, or one a dead process left `validating`; never one `importing`.
  The import stays, `purged_at` set: the same file uploaded again is still this import."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import orjson

from services.intake.config import Settings
from services.intake.households.schemas import MemberFactsIn
from services.intake.households.service import announce_updated
from services.intake.models import RollImport
from services.intake.regions.table import region_table
from services.intake.roll_import import domain, reader
from services.intake.roll_import.repository import Live, RollImportRepository
from services.intake.roll_import.schemas import IssueOut, IssuePage, IssueQuery, Progress, Report, RollImportOut
from services.intake.sealed import seal_account, seal_id_number, seal_payee
from shared import audit
from shared.auth import Principal
from shared.core.assessment_contract import AssessmentItem, AssessmentResult
from shared.core.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.core.identity import fingerprinter
from shared.core.money import yuan
from shared.core.period import Period, china_day, china_today
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import (
    PERSON_LEVEL,
    application_details,
)
from shared.uow import UnitOfWork

COPY_ROWS = 5000
ACTOR = "intake"  # the jobs act as the service; who asked is in the import and the audit details
MAX_ISSUE_MESSAGE = 500

#: Prices households by eligibility's rules (shared/core/assessment_contract.py): up to 1000 items a call.
Pricer = Callable[[list[AssessmentItem]], Awaitable[list[AssessmentResult]]]


class PricingUnavailable(RuntimeError):
    """Eligibility could not price the rows (down, refusing, or not yet serving POST /assessments)."""


# --- reads ---------------------------------------------------------------------------------------------------------


def to_out(item: RollImport) -> RollImportOut:
    return RollImportOut(
        id=item.id,
        region_code=item.region_code,
        filename=item.filename,
        format=item.format,
        sha256=item.sha256,
        paid_through=Period.of(item.paid_through),
        all_or_nothing=item.all_or_nothing,
        status=item.status,  # type: ignore[arg-type]
        progress=Progress(done=item.progress_done, total=item.progress_total),
        report=Report.model_validate(item.report) if item.report else None,
        error=item.error,
        created_by=item.created_by,
        created_at=item.created_at,
        committed_by=item.committed_by,
        committed_at=item.committed_at,
        purged_at=item.purged_at,
    )


def import_scope(principal: Principal, region: str | None) -> str:
    """The county (or narrower region) the import is for: the admin's own region, or one named within it."""
    scope = region or principal.region
    if not principal.covers(scope):
        raise Forbidden(f"an admin of {principal.region or 'the nation'} imports only within its own region")
    if len(scope) < 6:
        raise InvalidInput("region", "name the county (6 digits) the roll is for")
    return scope


async def _visible(uow: UnitOfWork, principal: Principal, import_id: uuid.UUID, **lock: bool) -> RollImport:
    item = await RollImportRepository(uow.session).get(import_id, **lock)
    if item is None or not principal.covers(item.region_code):
        raise NotFound(f"roll import {import_id} not found")
    return item


async def read(uow: UnitOfWork, principal: Principal, import_id: uuid.UUID) -> RollImportOut:
    item = await _visible(uow, principal, import_id)
    await audit.record(uow, principal, "roll_import.read", "roll_import", item.id, region_code=item.region_code)
    return to_out(item)


def _purged(item: RollImport, purged_at: datetime) -> Conflict:
    """What an import whose staging was purged answers where its rows or report lines are needed."""
    day = china_day(purged_at).isoformat()
    then = (
        "the report's counts stay on GET /roll-imports/{id}"
        if item.status == "imported"
        else "upload the same file again to run its dry run anew"
    )
    return Conflict(
        f"roll import {item.id} was purged on {day}: its staged rows and report lines are kept only for the "
        f"retention period after its last change; {then}",
        errors=[{"field": "purged_at", "message": f"purged on {day}"}],
    )


async def issues(uow: UnitOfWork, principal: Principal, import_id: uuid.UUID, q: IssueQuery) -> IssuePage:
    item = await _visible(uow, principal, import_id)
    if item.purged_at is not None:
        raise _purged(item, item.purged_at)  # an empty page would read as a report without a refused line
    page = await RollImportRepository(uow.session).issues(item.id, q)
    await audit.record(uow, principal, "roll_import.issues.read", "roll_import", item.id, region_code=item.region_code)
    return IssuePage(
        items=[IssueOut.model_validate(i, from_attributes=True) for i in page.rows], next=page.next, total=page.total
    )


# --- the upload ----------------------------------------------------------------------------------------------------


@dataclass
class Uploaded:
    out: RollImportOut
    created: bool
    dry_run: bool  # the dry run is to be started (a new import, one whose dry run stopped, or one staged anew)


def _option(value: object) -> str:
    return str(Period.of(value)) if isinstance(value, date) else str(value).lower()


async def upload(
    uow: UnitOfWork,
    principal: Principal,
    settings: Settings,
    *,
    file: IO[bytes],
    filename: str,
    paid_through: Period,
    all_or_nothing: bool,
    region: str | None,
) -> Uploaded:
    scope = import_scope(principal, region)
    try:
        sha256, size = await asyncio.to_thread(reader.digest, file, settings.roll_import_max_bytes)
        fmt = reader.detect_format(file, filename)
    except reader.BadFile as exc:
        raise InvalidInput(exc.field, exc.message) from None
    repo = RollImportRepository(uow.session)
    existing = await repo.by_sha256(scope, sha256)
    if existing is not None:
        # The same file is the same import, with the options it was uploaded with: an officer correcting one by
        # uploading again would otherwise keep the old one without a word (months paid twice, or never).
        for field, asked, kept in (
            ("paid_through", paid_through.first_day, existing.paid_through),
            ("all_or_nothing", all_or_nothing, existing.all_or_nothing),
        ):
            if asked != kept:
                message = f"this file is import {existing.id}, uploaded with {field} {_option(kept)}"
                raise Conflict(message, errors=[{"field": field, "message": message}])
        # Locked, so the purge passes over it from now on (read again: it may have purged it just before). Not one
        # `importing`: the purge never takes it, and its running chunks would stop at the lock.
        if existing.status != "importing":
            await repo.lock(existing)
        details = None
        if existing.purged_at is not None and existing.status != "imported":
            restart = True
            details = {"rows": await _restage(repo, existing, settings, file, fmt), "staged_again": True}
        else:
            restart = existing.status == "validating" or (existing.status == "failed" and existing.committed_at is None)
            if restart:  # saved even when `validating`: a dry run started again is a change the purge waits on
                await repo.save(existing.id, status="validating", error=None)
                existing.status, existing.error = "validating", None
        await audit.record(
            uow,
            principal,
            "roll_import.upload.replayed",
            "roll_import",
            existing.id,
            region_code=scope,
            details=details,
        )
        return Uploaded(to_out(existing), False, restart)
    now = datetime.now(UTC)
    item = RollImport(
        id=uuid.uuid4(),
        region_code=scope,
        sha256=sha256,
        filename=filename,
        format=fmt,
        size_bytes=size,
        paid_through=paid_through.first_day,
        all_or_nothing=all_or_nothing,
        status="validating",
        progress_done=0,
        progress_total=0,
        rows_total=0,
        validate_cursor=0,
        commit_cursor=0,
        created_by=principal.sub,
        created_at=now,
        updated_at=now,
    )
    repo.add(item)
    await uow.session.flush()
    item.rows_total = await _stage(repo, item, settings, file, fmt)
    await audit.record(
        uow,
        principal,
        "roll_import.upload",
        "roll_import",
        item.id,
        region_code=scope,
        details={"rows": item.rows_total, "format": fmt, "bytes": size, "paid_through": str(paid_through)},
    )
    await uow.session.flush()
    return Uploaded(to_out(item), True, True)


async def _restage(repo: RollImportRepository, item: RollImport, settings: Settings, file: IO[bytes], fmt: str) -> int:
    """The file of an import whose staging was purged before it was imported, staged anew into the same import
    (its id, parameters and creation time, which the sealed accounts are bound to), its dry run to start over.
    How many rows."""
    rows = await _stage(repo, item, settings, file, fmt)
    reset: dict[str, Any] = {
        "status": "validating",
        "error": None,
        "report": None,
        "progress_done": 0,
        "progress_total": 0,
        "rows_total": rows,
        "validate_cursor": 0,
        "commit_cursor": 0,
        "committed_by": None,  # its import starts over too: a failed one is no longer taken up by …/commit
        "committed_at": None,
        "purged_at": None,
    }
    await repo.save(item.id, **reset)
    for name, value in reset.items():
        setattr(item, name, value)
    return rows


async def _stage(repo: RollImportRepository, item: RollImport, settings: Settings, file: IO[bytes], fmt: str) -> int:
    """Every row of the file checked, sealed and COPYed into the staging table, a few thousand at a time; a file
    that cannot be read is a 422 (the request's rollback drops what was staged)."""
    ctx = domain.RowContext(
        regions=region_table(settings),
        scope=item.region_code,
        today=china_today(),
        fingerprint=fingerprinter(settings.pii_hmac_key.encode(), settings.crypto_profile),
    )
    ring = settings.keyring()
    records = (_record(item, line, raw, ctx, ring) for line, raw in reader.rows(file, fmt))
    count = 0
    # Reading, checking and sealing a batch is CPU and file work: done off the event loop, which meanwhile COPYs
    # the batch before (the API keeps answering while a province's file is staged).
    try:
        batch = await asyncio.to_thread(_take, records, COPY_ROWS)
        while batch:
            copying = asyncio.ensure_future(repo.copy_rows(batch))
            try:
                following = await asyncio.to_thread(_take, records, COPY_ROWS)
            finally:
                await copying
            count += len(batch)
            batch = following
    except reader.BadFile as exc:
        raise InvalidInput(exc.field, exc.message) from None
    return count


def _take(records: Iterator[tuple], n: int) -> list[tuple]:
    return list(itertools.islice(records, n))


def _refused(item: RollImport, line: int, ref: str, field: str, message: str) -> tuple:
    ref = ref[:64] or f"line {line}"
    household_id = uuid.uuid5(item.id, ref)
    return (item.id, line, ref, household_id, *([None] * 18), field, message[:MAX_ISSUE_MESSAGE])


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _record(
    item: RollImport, line: int, raw: dict[str, Any] | reader.RowRefused, ctx: domain.RowContext, ring
) -> tuple:
    if isinstance(raw, reader.RowRefused):
        return _refused(item, line, raw.household_ref, raw.field, raw.message)
    ref = str(raw.get("household_ref") or "").strip()
    try:
        row = domain.parse_row(line, raw, ctx)
    except domain.RowProblem as exc:
        return _refused(item, line, ref, exc.field, exc.message)
    household_id = uuid.uuid5(item.id, row.household_ref)
    member_id = uuid.uuid4()
    sealed = seal_id_number(ring, member_id, row.id_number)
    account: dict[str, Any] = {}
    payee_key = payee_sealed = None
    if row.account_number:
        if "bank_name" not in row.household or "account_holder" not in row.household:
            missing = "bank_name" if "bank_name" not in row.household else "account_holder"
            return _refused(item, line, ref, missing, "give 开户银行 and 账户名 on the row that gives 银行账号")
        account = seal_account(ring, household_id, item.created_at, row.account_number)
        payee = {
            "bank_name": row.household["bank_name"],
            "account_holder": row.household["account_holder"],
            "account_number": row.account_number,
        }
        payee_key, payee_sealed = seal_payee(ring, household_id, item.created_at, payee)
    facts = MemberFactsIn.model_validate(row.facts).model_dump(mode="json")
    return (
        item.id,
        line,
        row.household_ref,
        household_id,
        member_id,
        row.name,
        row.relation,
        row.sex,
        row.birth_date,
        sealed["id_number_sealed"],
        sealed["id_number_key_id"],
        sealed["id_number_masked"],
        row.id_fingerprint,
        row.covered,
        row.income_fen,
        _json(facts),
        _json({k: v.isoformat() if isinstance(v, date) else v for k, v in row.household.items()}),
        account.get("bank_account_sealed"),
        account.get("bank_account_key_id"),
        account.get("bank_account_last4"),
        payee_sealed,
        payee_key,
        None,
        None,
    )


# --- the dry run ---------------------------------------------------------------------------------------------------


async def dry_run_step(uow: UnitOfWork, import_id: uuid.UUID, chunk: int, price: Pricer) -> bool:
    """Judge the next chunk of households (grouping them first); True while there is more to do. The cursor,
    the verdicts and the report's lines commit together."""
    repo = RollImportRepository(uow.session)
    item = await repo.get(import_id, for_update=True, skip_locked=True)
    if item is None or item.status != "validating" or item.purged_at is not None:
        return False  # a purged one's rows are gone: uploading the file again stages them anew
    if item.validate_cursor == 0 and item.progress_total == 0:
        total = await repo.group_households(item.id)
        await repo.save(item.id, progress_total=total)
        item.progress_total = total
    households = await repo.household_chunk(item.id, item.validate_cursor, chunk)
    if not households:
        report = await repo.report(item.id)
        await repo.save(item.id, status="validated", report=report, progress_done=item.progress_total)
        return False
    verdicts, issues = await _judge(uow, repo, item, households, price)
    await repo.judge(item.id, verdicts)
    await repo.add_issues(item.id, issues)
    last = households[-1].seq
    await repo.save(item.id, validate_cursor=last, progress_done=last)
    await audit.record(
        uow,
        ACTOR,
        "roll_import.assess",
        "roll_import",
        item.id,
        region_code=item.region_code,
        details={"households": len(households), "priced_by": "eligibility"},
    )
    return True


def _member(m: dict[str, Any]) -> domain.StagedMember:
    return domain.StagedMember(
        line=m["line"],
        member_id=m["member_id"],
        name=m["name"],
        relation=m["relation"],
        sex=m["sex"],
        birth_date=date.fromisoformat(m["birth_date"]),
        id_fingerprint=m["id_fingerprint"],
        covered=m["covered"],
        income_fen=m["income_fen"],
        facts=m["facts"],
        household=m["household"] or {},
        has_account=m["has_account"],
    )


def _details(values: dict[str, Any], covered: list[str]) -> dict[str, Any]:
    programme = values["programme"]
    raw: dict[str, Any] = {"programme": programme}
    if programme == "tekun":
        raw["arrangement"] = values.get("tekun_arrangement")
    if programme in ("orphan", "de_facto_orphan"):
        raw["recognitions"] = [{"member_id": covered[0], "kind": programme, "basis": "存量对象导入: 原系统已认定"}]
    return application_details(programme, raw).model_dump(mode="json")


def snapshot_of(household_id: Any, values: dict[str, Any], members: Iterable[dict[str, Any]]) -> HouseholdSnapshot:
    members = list(members)
    return HouseholdSnapshot(
        household_id=household_id,
        region_code=values["region_code"],
        hukou_type=values["hukou"],
        members=[
            MemberFacts(
                member_id=m["member_id"],
                name=m["name"],
                birth_date=m["birth_date"],
                sex=m["sex"],
                relation=m["relation"],
                **m["facts"],
            )
            for m in members
        ],
        incomes=[
            IncomeItem(member_id=m["member_id"], kind="wages", subkind="declared", monthly_amount_fen=m["income_fen"])
            for m in members
            if m["income_fen"]
        ],
        properties=[],
        rigid_expenses=[],
    )


async def _judge(
    uow: UnitOfWork, repo: RollImportRepository, item: RollImport, households: list[Any], price: Pricer
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    verdicts: dict[int, dict[str, Any]] = {}
    issues: list[dict[str, Any]] = []
    judged: list[tuple[Any, domain.HouseholdVerdict, list[domain.StagedMember]]] = []

    def refuse(h: Any, line: int, field: str, message: str, values: dict[str, Any] | None = None) -> None:
        verdicts[h.seq] = _verdict(h.seq, "refused", values)
        issues.append(_issue(line, "refused", h.household_ref, field, message))

    for h in households:
        if h.refused:
            verdicts[h.seq] = _verdict(h.seq, "refused", None)
            continue
        members = [_member(m) for m in h.rows]
        verdict = domain.check_household(members)
        if verdict.problem:
            refuse(h, *verdict.problem)
            continue
        judged.append((h, verdict, members))
    codes = sorted({v.values["region_code"] for _, v, _ in judged})
    unlisted = await repo.village_lists(codes)
    taken = await repo.on_file([m.id_fingerprint for _, _, ms in judged for m in ms])
    to_price: list[tuple[Any, domain.HouseholdVerdict, list[domain.StagedMember]]] = []
    facts: list[dict[str, Any]] = []
    homes: dict[int, uuid.UUID] = {}  # seq → the household on file it joins
    joined_members: list[dict[str, Any]] = []
    for h, verdict, members in judged:
        values = verdict.values
        if values["region_code"] in unlisted:
            refuse(h, members[0].line, "region_code", "not a village of its township's loaded list (GET /regions)")
            continue
        on_file = [taken[m.id_fingerprint] for m in members if m.id_fingerprint in taken]
        if on_file:
            home = on_file[0]
            # The same people as one household on file: this programme is that household's too (a 低保 household's
            # member with a disability subsidy comes in a second file), unless it already holds it.
            same = len(on_file) == len(members) == home.members and {p.household_id for p in on_file} == {
                home.household_id
            }
            live = home.live.get(values["programme"]) if same else None
            if live is not None and live.receives:
                verdicts[h.seq] = _verdict(h.seq, "skipped", values)
                issues.append(_issue(members[0].line, "skipped", h.household_ref, "household_ref", _receives(live)))
                continue
            if live is not None:  # open at the front desk: one live entitlement per household and programme
                refuse(h, members[0].line, "programme", _open_there(live))
                continue
            if not same:
                line = next(m.line for m in members if m.id_fingerprint in taken)
                refuse(h, line, "id_number", "this person already belongs to an active household")
                continue
            if values["region_code"] != home.region_code:
                refuse(h, members[0].line, "region_code", f"the household on file is in {home.region_code}")
                continue
            members = [replace(m, member_id=taken[m.id_fingerprint].member_id) for m in members]
            joined_members += [{"line": m.line, "member_id": m.member_id} for m in members]
            homes[h.seq] = home.household_id
            message = "on file with the same members: this programme is added to that household, paid to its account"
            issues.append(_issue(members[0].line, "joined", h.household_ref, "household_ref", message))
        established = domain.with_established_facts(values, members)
        facts += [{"line": m.line, "facts": m.facts} for m, was in zip(established, members, strict=True) if m != was]
        to_price.append((h, verdict, established))
    # What the import writes is what was priced: the staged rows carry the established facts from here on, and a
    # household on file its id and its members'.
    await repo.establish_facts(item.id, facts)
    await repo.join(item.id, homes, joined_members)
    items = []
    for h, verdict, members in to_price:
        covered = [str(m.member_id) for m in members if m.covered]
        values = {**verdict.values, "details": _details(verdict.values, covered)}
        verdict.values = values
        snapshot = snapshot_of(homes.get(h.seq, h.household_id), values, (_plain(m) for m in members))
        items.append(
            AssessmentItem(
                ref=str(h.seq),
                programme=values["programme"],
                on=china_today(),
                snapshot=snapshot,
                details=values["details"],
                covered_member_ids=covered if values["programme"] in PERSON_LEVEL else None,
            )
        )
    results = {r.ref: r for r in await price(items)} if items else {}
    for h, verdict, members in to_price:
        values = verdict.values
        result = results.get(str(h.seq))
        if result is None:
            raise PricingUnavailable(f"eligibility did not price household {h.household_ref}")
        paid = values["monthly_amount_fen"]
        differs = not result.eligible or result.monthly_amount_fen != paid
        covered = [str(m.member_id) for m in members if m.covered]
        verdicts[h.seq] = _verdict(h.seq, "ok", values, covered, result.monthly_amount_fen, differs)
        if differs:
            issues.append(
                _issue(members[0].line, "amount_differs", h.household_ref, "monthly_amount", _differs(paid, result))
            )
    return list(verdicts.values()), issues


def _receives(live: Live) -> str:
    how = "imported before, by an earlier file" if live.origin == "roll_import" else "approved at the front desk"
    case = f", case {live.case_id}" if live.case_id else ""
    return (
        f"the household on file already receives this programme ({how}: application {live.application_id}{case}): "
        "skipped, not doubled"
    )


def _open_there(live: Live) -> str:
    return (
        f"the household on file has an open application of this programme (application {live.application_id}, "
        f"{live.status}): one live entitlement per household and programme; the procedure decides it, the file "
        "cannot add the programme"
    )


def _plain(m: domain.StagedMember) -> dict[str, Any]:
    return {
        "member_id": m.member_id,
        "name": m.name,
        "birth_date": m.birth_date,
        "sex": m.sex,
        "relation": m.relation,
        "facts": m.facts,
        "income_fen": m.income_fen,
    }


def _differs(paid: int, result: AssessmentResult) -> str:
    if not result.eligible:
        why = "; ".join(result.reasons)[:300]
        computed = f"our rules find the household not eligible today ({why})" if why else "not eligible by our rules"
    else:
        computed = f"our rules compute {yuan(result.monthly_amount_fen or 0)} for {result.persons} persons"
    return f"paid {yuan(paid)} yuan a month today; {computed}: kept as paid, flagged for review"


def _verdict(
    seq: int,
    status: str,
    values: dict[str, Any] | None,
    covered: list[str] | None = None,
    computed: int | None = None,
    differs: bool = False,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "status": status,
        "values": _json(values) if values is not None else None,
        "covered": _json(covered) if covered is not None else None,
        "computed": computed,
        "differs": differs,
    }


def _issue(line: int, kind: str, ref: str, field: str, message: str) -> dict[str, Any]:
    return {"line": line, "kind": kind, "household_ref": ref, "field": field, "message": message[:MAX_ISSUE_MESSAGE]}


async def dry_run_failed(uow: UnitOfWork, import_id: uuid.UUID, error: str) -> None:
    await RollImportRepository(uow.session).save(import_id, status="failed", error=error[:1000])


# --- the import ----------------------------------------------------------------------------------------------------


async def resume_dry_run(uow: UnitOfWork, principal: Principal, import_id: uuid.UUID) -> RollImportOut:
    """The dry run of an import left `validating` (the process running it stopped) or `failed` (eligibility could
    not price it) taken up again from its last committed chunk, without the file. 409 once it finished, once it is
    imported, or once its staging was purged (then the file is needed: upload it again)."""
    item = await _visible(uow, principal, import_id, for_update=True)
    if item.purged_at is not None:
        raise _purged(item, item.purged_at)
    if item.status not in ("validating", "failed") or item.committed_at is not None:
        over = "its import failed: POST /roll-imports/{id}/commit takes it up" if item.committed_at else item.status
        raise Conflict(
            f"the dry run of roll import {item.id} is over: {over}",
            errors=[{"field": "status", "message": f"is {item.status}, not a dry run validating or failed"}],
        )
    details = {"from_household": item.validate_cursor, "was": item.status}
    return await _resumed(uow, principal, item, "validating", "roll_import.dry_run.resumed", details)


async def start_import(uow: UnitOfWork, principal: Principal, import_id: uuid.UUID) -> RollImportOut:
    """Start the import of a dry-run report: 409 before the dry run finished, or, all-or-nothing, when any row is
    refused. Asking again once it runs or ran answers the import as it is; an import that failed (`error`) is
    taken up again from its last committed chunk."""
    item = await _visible(uow, principal, import_id, for_update=True)
    if principal.region and len(principal.region) < 6:
        raise Forbidden("a roll import is committed by its county's admin")
    if item.status in ("importing", "imported"):
        return to_out(item)
    if item.purged_at is not None:
        raise _purged(item, item.purged_at)
    if item.status == "failed" and item.committed_at is not None:
        return await _resume_import(uow, principal, item)
    if item.status != "validated":
        raise Conflict(
            f"the dry run is {item.status}: the import starts from a finished dry-run report",
            errors=[{"field": "status", "message": f"is {item.status}, not validated"}],
        )
    report = item.report or {}
    if item.all_or_nothing and (report.get("rows_refused") or report.get("households_refused")):
        raise Conflict(
            f"all-or-nothing: {report.get('rows_refused', 0)} rows are refused (GET /roll-imports/{item.id}/issues); "
            "correct the file and upload it again",
            errors=[{"field": "all_or_nothing", "message": "refused rows in the dry-run report"}],
        )
    now = datetime.now(UTC)
    await RollImportRepository(uow.session).save(
        item.id,
        status="importing",
        committed_by=principal.sub,
        committed_at=now,
        progress_done=0,
        progress_total=report.get("households", 0),
    )
    item.status, item.committed_by, item.committed_at = "importing", principal.sub, now
    item.progress_done, item.progress_total = 0, report.get("households", 0)
    await audit.record(
        uow,
        principal,
        "roll_import.commit",
        "roll_import",
        item.id,
        region_code=item.region_code,
        details={"households": report.get("households_to_create", 0)},
    )
    return to_out(item)


async def _resume_import(uow: UnitOfWork, principal: Principal, item: RollImport) -> RollImportOut:
    details = {"from_household": item.commit_cursor, "error": item.error}
    return await _resumed(uow, principal, item, "importing", "roll_import.commit.resumed", details)


async def _resumed(
    uow: UnitOfWork, principal: Principal, item: RollImport, status: str, action: str, details: dict[str, Any]
) -> RollImportOut:
    """A stopped or failed phase taken up again (the worker carries it on from its last committed chunk), audited."""
    await RollImportRepository(uow.session).save(item.id, status=status, error=None)
    item.status, item.error = status, None
    await audit.record(uow, principal, action, "roll_import", item.id, region_code=item.region_code, details=details)
    return to_out(item)


async def import_failed(uow: UnitOfWork, import_id: uuid.UUID, why: str) -> None:
    """An import whose chunk failed for what it holds (it would fail the same way every time) ends `failed`, with
    why and where: the chunks before it stay imported."""
    repo = RollImportRepository(uow.session)
    item = await repo.get(import_id, for_update=True)
    if item is None or item.status != "importing":
        return
    error = (
        f"the import stopped after {item.commit_cursor} of {item.progress_total} households: {why}; the households "
        "before are imported, POST /roll-imports/{id}/commit takes it up again from there"
    )
    await repo.save(item.id, status="failed", error=error[:1000])
    await audit.record(
        uow,
        ACTOR,
        "roll_import.failed",
        "roll_import",
        item.id,
        region_code=item.region_code,
        details={"after_household": item.commit_cursor, "error": why, "committed_by": item.committed_by},
    )


async def commit_step(uow: UnitOfWork, import_id: uuid.UUID, chunk: int, settings: Settings) -> bool:
    """Create the next chunk of households; True while there is more. Households whose persons joined another
    household since the dry run, and those joining a household on file that holds the programme live by now, are
    refused (named in the report), never doubled; the rest of the chunk is imported."""
    repo = RollImportRepository(uow.session)
    item = await repo.get(import_id, for_update=True, skip_locked=True)
    if item is None or item.status != "importing":
        return False
    households, last = await repo.commit_chunk(item.id, item.commit_cursor, chunk)
    if last is None:
        report = await repo.report(item.id)
        await repo.drop_staging(item.id)
        await repo.save(item.id, status="imported", report=report, progress_done=item.progress_total)
        await audit.record(
            uow,
            ACTOR,
            "roll_import.imported",
            "roll_import",
            item.id,
            region_code=item.region_code,
            details={"households": report["households_imported"], "committed_by": item.committed_by},
        )
        return False
    moved = "a person of this household joined another household after the dry run"
    refused = [_issue(h.first_line, "refused", h.household_ref, "id_number", moved) for h in households if h.late]
    create = [h.seq for h in households if not h.late]
    creating = [h.seq for h in households if not h.late and not h.joins]
    imported = set(await repo.create(item.id, create, creating, settings.crypto_profile)) if create else set()
    taken = [h for h in households if not h.late and h.seq not in imported]
    live = await repo.live_of(item.id, [h.seq for h in taken])
    refused += [_issue(h.first_line, "refused", h.household_ref, "programme", _taken(live.get(h.seq))) for h in taken]
    await repo.refuse(item.id, [h.seq for h in households if h.seq not in imported])
    await repo.add_issues(item.id, refused)
    if imported:
        create, creating = [s for s in create if s in imported], [s for s in creating if s in imported]
        await repo.announce(uow, item.id, create, creating)
        details = {"import_id": str(item.id), "committed_by": item.committed_by}
        await repo.audit_created(item.id, create, ACTOR, details)
        if joining := sorted(imported - set(creating)):
            await _join_facts(uow, repo, item, joining)
    await repo.save(item.id, commit_cursor=last, progress_done=last)
    return True


def _taken(live: Live | None) -> str:
    which = f" (application {live.application_id}, {live.status})" if live else ""
    return (
        f"the household on file took a live application of this programme after the dry run{which}: one live "
        "entitlement per household and programme"
    )


# A member's facts as the front desk's form leaves them blank.
_BLANK = MemberFactsIn().model_dump(mode="json")


async def _join_facts(uow: UnitOfWork, repo: RollImportRepository, item: RollImport, seqs: list[int]) -> None:
    """The households on file the chunk's files join take the facts their new programme was priced on
    (`domain.joined_facts`), written as a front-desk edit is: household.updated, and an audit record per member."""
    facts: dict[uuid.UUID, dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    for member_id, household_id, on_file, stated in await repo.joined_members(item.id, seqs):
        merged = MemberFactsIn.model_validate(domain.joined_facts(on_file, stated, _BLANK)).model_dump(mode="json")
        if merged != on_file:
            facts[member_id] = merged
            changed = sorted(k for k in merged if merged[k] != on_file.get(k))
            audits.append(
                {
                    "resource_id": member_id,
                    "household_id": household_id,
                    "region_code": item.region_code,
                    "details": {"fields": changed, "import_id": str(item.id), "committed_by": item.committed_by},
                }
            )
    if not facts:
        return
    households = await repo.write_member_facts(facts)
    members = await repo.active_members([h.id for h in households])
    for household in households:
        announce_updated(uow, household, [m for m in members if m.household_id == household.id])
    await audit.record(uow, ACTOR, "member.update", "member", audits)


# --- the template --------------------------------------------------------------------------------------------------

_NOTES = (
    "一行一名家庭成员;同一户的成员填写相同的“户编号”,户的信息(村代码、户籍、地址、保障类别、审批日期、月保障金、"
    "保障人数、下次复核日期、开户银行、账户名、银行账号)可每行重复,也可只填在该户第一行,重复时须一致。",
    "金额以元为单位,最多两位小数;日期格式 YYYY-MM-DD;身份证号码、银行账号所在列请设为文本格式。",
    "导入参数 paid_through(YYYY-MM):原系统已发放到的最后一个月;此后各月由本平台发放。",
    "上传后先试导入(dry run),报告列出将创建的户数人数、被拒绝的行(行号、字段、原因,不显示身份证号码)"
    "以及按现行标准测算金额与月保障金不一致的户(按原金额导入并标记复核);确认后再正式导入。",
    "同一文件重复上传返回同一次导入;已导入的户再次出现时跳过,不会重复。",
    "同一人在一个文件中只能出现一次。同一户享受的另一保障类别(如低保户成员的残疾人两项补贴)请放在另一文件中,"
    "待本文件导入后上传:成员与已导入的户完全相同的,该保障类别加到该户,按该户账户发放。",
)
_EXAMPLE = {
    "household_ref": "WQ0001",
    "region_code": "610626101201",
    "hukou": "农村",
    "address": "铁边城镇某村1组",
    "name": "王秀英",
    "id_number": "(18位身份证号码)",
    "relation": "户主",
    "labour_capacity": "无劳动能力",
    "covered": "是",
    "programme": "低保",
    "approved_on": "2024-03-15",
    "monthly_amount": "520.00",
    "persons": "1",
    "bank_name": "吴起农村商业银行",
    "account_holder": "王秀英",
    "account_number": "(银行账号)",
}


def template(fmt: str) -> tuple[bytes, str]:
    """The roll file template: .xlsx with the data sheet and its 填表说明, or a CSV header (UTF-8 with BOM)."""
    import csv
    import io

    from shared.downloads import XLSX
    from shared.spreadsheets import csv_row, xlsx_workbook

    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerow(csv_row(*(c.title for c in domain.COLUMNS)))
        return ("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8"
    buffer = io.BytesIO()
    book = xlsx_workbook(buffer, in_memory=True)
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True})
    data = book.add_worksheet("花名册")
    for index, column in enumerate(domain.COLUMNS):
        data.set_column(index, index, 16, text)
        data.write(0, index, column.title, bold)
    notes = book.add_worksheet("填表说明")
    notes.set_column(0, 0, 18)
    notes.set_column(1, 1, 20)
    notes.set_column(2, 2, 8)
    notes.set_column(3, 3, 80)
    notes.set_column(4, 4, 24)
    notes.write_row(0, 0, ["列名", "字段", "必填", "说明", "示例"], bold)
    for row, column in enumerate(domain.COLUMNS, start=1):
        required = "是" if column.required else "否"
        notes.write_row(row, 0, [column.title, column.key, required, column.explain, _EXAMPLE.get(column.key, "")])
    start = len(domain.COLUMNS) + 2
    for offset, note in enumerate(_NOTES):
        notes.write(start + offset, 0, f"{offset + 1}. {note}")
    book.close()
    return buffer.getvalue(), XLSX


async def pending_imports(uow: UnitOfWork) -> list[uuid.UUID]:
    return await RollImportRepository(uow.session).pending("importing")


# --- retention -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    import_id: uuid.UUID
    status: str
    counts: dict[str, int]  # deleted: rows, households, issues


async def purge_step(uow: UnitOfWork, retention_days: int) -> Purged | None:
    """The staging of the import unchanged the longest beyond `retention_days` deleted, the import kept and marked
    purged, audited with the counts (never a row's content); None when none is due. One import a step: a
    province's roll is deleted in one transaction, as its upload staged it in one."""
    repo = RollImportRepository(uow.session)
    item = await repo.expired(timedelta(days=retention_days))
    if item is None:
        return None
    counts = await repo.purge(item.id)
    await audit.record(
        uow,
        ACTOR,
        "roll_import.purge",
        "roll_import",
        item.id,
        region_code=item.region_code,
        details={
            **counts,
            "status": item.status,
            "unchanged_since": item.updated_at.isoformat(),
            "retention_days": retention_days,
        },
    )
    return Purged(item.id, item.status, counts)
