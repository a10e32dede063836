"""Accepting, amending and withdrawing applications, their evidence, and keeping their status in step with
eligibility's case events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from services.intake.applications.documents import DOCUMENTS, missing_documents, required_documents
from services.intake.applications.evidence_store import EvidenceStore, sha256
from services.intake.applications.repository import (
    OPEN_STATUSES,
    ApplicationRepository,
    CaseMirror,
    EvidenceRepository,
    add_new,
)
from services.intake.applications.schemas import (
    ApplicationAmend,
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    ApplicationQuery,
    DocumentOut,
    EvidenceOut,
    MedicalIn,
    TemporaryIn,
)
from services.intake.config import Settings
from services.intake.households import service as households
from services.intake.models import Application, Evidence
from shared import audit
from shared.auth import Principal
from shared.consumer import Delivery
from shared.core.household import HouseholdSnapshot
from shared.core.period import china_today
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.catalogue import (
    ApplicationAmended,
    ApplicationDetails,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    CaseWithdrawalRefused,
    ChildRecognition,
    MedicalDetails,
    TekunDetails,
    TemporaryDetails,
    TemporaryRequest,
    application_details,
)
from shared.pagination import narrowed
from shared.preconditions import check_if_match
from shared.schemas import attributes
from shared.uow import UnitOfWork

# Programmes whose eligibility depends on a means check need the signed consent (家庭经济状况核对授权书);
# so does 支出型 temporary assistance, which follows the full procedure. A policy list, but not a dated parameter:
# which programmes are means-tested is set nationally (民发〔2021〕57号《最低生活保障审核确认办法》 for 低保 and,
# by reference, 低保边缘 and 刚性支出困难; 民发〔2021〕43号《特困人员认定办法》 for 特困), with no regional or dated
# variation, and the dated tree is eligibility's (services/eligibility/policy/parameters), which intake may not read
# (services never import each other). The front desk asks for the consent at acceptance, before any case exists.
MEANS_TESTED = frozenset({"dibao", "tekun", "marginal", "rigid_expense"})


def _needs_consent(programme: str, temporary: TemporaryRequest | None) -> bool:
    return programme in MEANS_TESTED or (
        programme == "temporary" and temporary is not None and temporary.type == "expenditure"
    )


def _programme_details(
    programme: str,
    temporary: TemporaryIn | None,
    medical: MedicalIn | None,
    recognitions: list[ChildRecognition],
    tekun_arrangement: str | None = None,
) -> ApplicationDetails:
    """Check the programme-specific facts and return them as the application's typed details."""
    for name, value in (("temporary", temporary), ("medical", medical)):
        if programme == name and value is None:
            raise InvalidInput(name, f"required for {name} assistance")
        if programme != name and value is not None:
            raise InvalidInput(name, f"only for the {name} programme")
    if medical is not None:
        if medical.basic_insurance_paid_fen + medical.critical_illness_paid_fen > medical.bill_total_fen:
            raise InvalidInput("medical.critical_illness_paid_fen", "insurance cannot have paid more than the bill")
        if medical.compliant_cost_fen is not None and medical.compliant_cost_fen > medical.bill_total_fen:
            raise InvalidInput("medical.compliant_cost_fen", "cannot exceed the bill total")
    if tekun_arrangement is not None and programme != "tekun":
        raise InvalidInput("tekun_arrangement", "only for the tekun programme")
    facts: dict[str, Any] = {"temporary": temporary, "medical": medical}
    return application_details(
        programme,
        {"recognitions": [r.model_dump() for r in recognitions]}
        | {name: value.model_dump() for name, value in facts.items() if value is not None}
        | ({"arrangement": tekun_arrangement} if tekun_arrangement else {}),
    )


def _check_recognitions(
    programme: str, details: ApplicationDetails, applicant_member_id: uuid.UUID | None, snapshot: HouseholdSnapshot
) -> None:
    """Each recognised child is a member, once; an orphan programme names its recognised child(ren)."""
    members = {m.member_id for m in snapshot.members}
    seen: set[uuid.UUID] = set()
    for i, recognition in enumerate(details.recognitions):
        if recognition.member_id not in members:
            raise InvalidInput(f"recognitions[{i}].member_id", "not a member of this household")
        if recognition.member_id in seen:
            raise InvalidInput(f"recognitions[{i}].member_id", "the child is recognised once, as one kind")
        seen.add(recognition.member_id)
    if programme in ("orphan", "de_facto_orphan"):
        recognised = {r.member_id for r in details.recognitions if r.kind == programme}
        what = "孤儿认定" if programme == "orphan" else "事实无人抚养儿童认定"
        if not recognised:
            raise InvalidInput("recognitions", f"record the child's {what} (kind {programme}) and its basis")
        if applicant_member_id is not None and applicant_member_id not in recognised:
            raise InvalidInput("recognitions", f"the applicant has no {what} (kind {programme}) recorded")


def _check_rules(
    programme: str,
    consent_signed: bool,
    separate_register: bool,
    separate_register_name: str | None,
    applicant_member_id: uuid.UUID | None,
    details: ApplicationDetails,
    snapshot: HouseholdSnapshot,
) -> None:
    temporary = details.temporary if isinstance(details, TemporaryDetails) else None
    if _needs_consent(programme, temporary) and not consent_signed:
        raise InvalidInput("consent_signed", f"{programme} needs the signed consent to the economic check")
    if separate_register and not separate_register_name:
        raise InvalidInput("separate_register_name", "name the staff member or cadre the applicant is related to")
    if separate_register_name and not separate_register:
        raise InvalidInput("separate_register_name", "only with separate_register")
    if applicant_member_id and applicant_member_id not in {m.member_id for m in snapshot.members}:
        raise InvalidInput("applicant_member_id", "not a member of this household")
    _check_recognitions(programme, details, applicant_member_id, snapshot)


def _columns(*names: str) -> Callable[[Application], dict[str, Any]]:
    """The named columns of an application row as keyword arguments for a model whose fields are named alike."""
    get = attrgetter(*names)
    return lambda application: dict(zip(names, get(application), strict=True))


# What the answer and the events carry of the row as it is stored.
_shown_columns = _columns(
    "id",
    "household_id",
    "region_code",
    "programme",
    "status",
    "submitted_on",
    "applicant_member_id",
    "consent_signed",
    "separate_register",
    "separate_register_name",
    "case_id",
    "case_status",
    "next_deadline",
    "next_deadline_provisional",
    "decision",
    "withdrawn_reason",
    "withdrawal",
    "withdrawal_refused_because",
    "updated_at",
    "version",
)
_published_columns = _columns(
    "household_id",
    "programme",
    "region_code",
    "submitted_on",
    "applicant_member_id",
    "consent_signed",
    "separate_register",
)
_withdrawn_columns = _columns("household_id", "programme", "region_code")


def to_out(application: Application, provided: set[str]) -> ApplicationOut:
    # Rows stored before the details were typed are shown in today's shape.
    details = application_details(application.programme, application.details)
    shown = details.model_dump(mode="json")
    required = required_documents(application.programme, shown)
    return ApplicationOut(
        **_shown_columns(application),
        details=details,
        required_documents=[DocumentOut(kind=k, name=DOCUMENTS[k].name, note=DOCUMENTS[k].note) for k in required],
        missing_documents=[
            DocumentOut(kind=d.kind, name=d.name, note=d.note)
            for d in missing_documents(application.programme, shown, provided)
        ],
    )


async def out(uow: UnitOfWork, application: Application) -> ApplicationOut:
    await uow.session.flush()
    await uow.session.refresh(application)
    kinds = await EvidenceRepository(uow.session).kinds([application.id])
    return to_out(application, kinds.get(application.id, set()))


def _submitted_event(
    application: Application,
    snapshot: HouseholdSnapshot,
    cls: type[ApplicationSubmitted] = ApplicationSubmitted,
) -> ApplicationSubmitted:
    return cls(
        application_id=application.id,
        **_published_columns(application),
        details=application_details(application.programme, application.details),
        snapshot=snapshot,
    )


async def submit(uow: UnitOfWork, principal: Principal, body: ApplicationIn) -> ApplicationOut:
    today = china_today()
    received_on = body.received_on or today
    if received_on > today:
        raise InvalidInput("received_on", "cannot be in the future")
    if received_on < today - timedelta(days=90):
        raise InvalidInput("received_on", "more than 90 days ago: register it as received today with a note")
    household, members = await households.visible_with_members(uow, principal, body.household_id)
    households.ensure_writable(principal, household.region_code)
    details = _programme_details(
        body.programme, body.temporary, body.medical, body.recognitions, body.tekun_arrangement
    )
    snapshot = households.build_snapshot(household, members)
    _check_rules(
        body.programme,
        body.consent_signed,
        body.separate_register,
        body.separate_register_name,
        body.applicant_member_id,
        details,
        snapshot,
    )
    application = Application(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        programme=body.programme,
        status="submitted",
        submitted_on=received_on,
        consent_signed=body.consent_signed,
        applicant_member_id=body.applicant_member_id,
        separate_register=body.separate_register,
        separate_register_name=body.separate_register_name,
        details=details.model_dump(mode="json"),
        next_deadline_provisional=False,
        version=1,
    )
    # Timestamps set here rather than by the server default: nothing is read back before answering.
    application.created_at = application.updated_at = datetime.now(UTC)
    repo = ApplicationRepository(uow.session)
    # The 409 names the live application (one-off help has none: LIVE leaves its claims out).
    if live := await repo.live(household.id, body.programme):
        raise _already(live)
    if body.medical is not None and body.medical.group in _ON_A_ROLL:
        # 医疗救助 pays a 低保 or 特困 recipient at their own rate: the group is what the household receives.
        held = await repo.live(household.id, body.medical.group)
        if held is None or held.status not in ("approved", "imported"):
            raise InvalidInput(
                "medical.group",
                f"the household does not receive {_ON_A_ROLL[body.medical.group]} (no approved application of it)",
            )
    # Written at commit with the audit, outbox and Idempotency-Key rows, in one statement; the unique index keeps the
    # one live application per household and programme against a second one written concurrently, past the check.
    add_new(uow, application)
    uow.on_conflict(
        "uq_applications_live",
        Conflict(
            f"household already has a live {body.programme} application (open, or approved and paid)",
            errors=[{"field": "programme", "message": "an application for it is already open or approved"}],
        ),
    )
    uow.emit(_submitted_event(application, snapshot), key=household.id, region=household.region_code)
    await audit.record(
        uow,
        principal,
        "application.submit",
        "application",
        application.id,
        household_id=household.id,
        region_code=household.region_code,
    )
    return to_out(application, set())  # a new application has no evidence yet


# The 医疗救助 groups whose members are on a roll the platform keeps: the household must receive the programme.
_ON_A_ROLL = {"dibao": "低保", "tekun": "特困"}


def _already(live: Application) -> Conflict:
    """409 naming the household's live application (and its case) for the programme."""
    case = f", case {live.case_id}" if live.case_id else ""
    if live.status == "approved":
        message = (
            f"the household already receives {live.programme} (application {live.id}{case}): "
            "a review is the way to change it"
        )
    else:
        message = f"the household already has an open {live.programme} application ({live.id}{case})"
    return Conflict(
        message,
        errors=[{"field": "programme", "message": message}],
        application_id=str(live.id),
        case_id=str(live.case_id) if live.case_id else None,
    )


async def get_visible(
    uow: UnitOfWork, principal: Principal, application_id: uuid.UUID, *, for_update: bool = False
) -> Application:
    application = await ApplicationRepository(uow.session).get(application_id, for_update=for_update)
    return principal.sees(application, f"application {application_id}")


async def _open_writable(
    uow: UnitOfWork,
    principal: Principal,
    application_id: uuid.UUID,
    doing: str,
    if_match: str | None = None,
) -> Application:
    application = await get_visible(uow, principal, application_id, for_update=True)
    households.ensure_writable(principal, application.region_code)
    # A stale If-Match first: the state the caller saw is gone, whatever it is now.
    check_if_match(if_match, application.version, f"application {application_id}")
    if application.status not in OPEN_STATUSES:
        raise Conflict(
            f"cannot {doing} an application that is {application.status}",
            errors=[{"field": "status", "message": f"application is {application.status}"}],
        )
    # Every write is a new version (ETag), even one that leaves the columns as they were (evidence changes the
    # missing documents the application shows).
    application.updated_at = datetime.now(UTC)
    return application


async def read(uow: UnitOfWork, principal: Principal, application_id: uuid.UUID) -> ApplicationOut:
    application = await get_visible(uow, principal, application_id)
    await audit.record(uow, principal, "application.read", "application", application)
    kinds = await EvidenceRepository(uow.session).kinds([application.id])
    return to_out(application, kinds.get(application.id, set()))


async def search(
    uow: UnitOfWork, principal: Principal, query: ApplicationQuery, id_number: str | None, settings: Settings
) -> ApplicationPage:
    """Applications under the caller's region (or a township or village of it), newest first."""
    prefix = narrowed(principal.region, query.region)
    if prefix is None:
        return ApplicationPage(items=[], next=None, total=0)
    fingerprint = settings.id_fingerprinter()(id_number) if id_number else None
    page = await ApplicationRepository(uow.session).page(prefix, query, fingerprint)
    kinds = await EvidenceRepository(uow.session).kinds([a.id for a in page.rows])
    await audit.record(uow, principal, "application.list", "application", page.rows)
    return ApplicationPage(
        items=[to_out(a, kinds.get(a.id, set())) for a in page.rows], next=page.next, total=page.total
    )


async def amend(
    uow: UnitOfWork,
    principal: Principal,
    application_id: uuid.UUID,
    body: ApplicationAmend,
    if_match: str | None = None,
) -> ApplicationOut:
    application = await _open_writable(uow, principal, application_id, "amend", if_match)
    if application.decision is not None:
        raise Conflict("the application has been decided", errors=[{"field": "status", "message": "decided"}])
    sent = body.model_fields_set
    stored = application_details(application.programme, application.details)
    merged = {
        "applicant_member_id": application.applicant_member_id,
        "consent_signed": application.consent_signed,
        "separate_register": application.separate_register,
        "separate_register_name": application.separate_register_name,
        "temporary": TemporaryIn.model_validate(stored.temporary.model_dump())
        if isinstance(stored, TemporaryDetails)
        else None,
        "medical": MedicalIn.model_validate(stored.medical.model_dump())
        if isinstance(stored, MedicalDetails)
        else None,
        "recognitions": stored.recognitions,
        "tekun_arrangement": stored.arrangement if isinstance(stored, TekunDetails) else None,
    }
    merged.update({name: getattr(body, name) for name in sent})
    if merged["consent_signed"] is None:
        raise InvalidInput("consent_signed", "must be true or false")
    if merged["separate_register"] is None:
        raise InvalidInput("separate_register", "must be true or false")
    if not merged["separate_register"]:
        merged["separate_register_name"] = None
    details = _programme_details(
        application.programme,
        merged["temporary"],
        merged["medical"],
        merged["recognitions"] or [],
        merged["tekun_arrangement"],
    )
    household = await households.get_visible(uow, principal, application.household_id)
    snapshot = await households.snapshot_of(uow, household)
    _check_rules(
        application.programme,
        merged["consent_signed"],
        merged["separate_register"],
        merged["separate_register_name"],
        merged["applicant_member_id"],
        details,
        snapshot,
    )
    application.applicant_member_id = merged["applicant_member_id"]
    application.consent_signed = merged["consent_signed"]
    application.separate_register = merged["separate_register"]
    application.separate_register_name = merged["separate_register_name"]
    application.details = details.model_dump(mode="json")
    await uow.session.flush()
    uow.emit(
        _submitted_event(application, snapshot, ApplicationAmended),
        key=application.household_id,
        region=application.region_code,
    )
    await audit.record(
        uow, principal, "application.amend", "application", application, details={"fields": sorted(sent)}
    )
    return await out(uow, application)


async def withdraw(
    uow: UnitOfWork, principal: Principal, application_id: uuid.UUID, reason: str, if_match: str | None = None
) -> ApplicationOut:
    application = await _open_writable(uow, principal, application_id, "withdraw", if_match)
    # Eligibility owns the case and may have decided it already: this is a request it answers
    # (mirror_case_events); the application keeps its slot (uq_applications_live) until then.
    application.status = "withdrawal_requested"
    application.withdrawal = "requested"
    application.withdrawn_reason = reason
    uow.emit(
        ApplicationWithdrawn(application_id=application.id, **_withdrawn_columns(application), reason=reason),
        key=application.household_id,
        region=application.region_code,
    )
    await audit.record(uow, principal, "application.withdraw", "application", application, reason=reason)
    return await out(uow, application)


def evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut.model_validate(e, from_attributes=True)


@dataclass(frozen=True)
class Upload:
    """A file posted as evidence of one required document, its content type recognised by its magic bytes
    (`evidence_store.check_upload`)."""

    kind: str
    description: str
    filename: str
    content_type: str
    data: bytes


async def upload_evidence(
    uow: UnitOfWork, principal: Principal, application_id: uuid.UUID, upload: Upload
) -> EvidenceOut:
    application = await _open_writable(uow, principal, application_id, "add evidence to")
    digest = sha256(upload.data)
    # The bytes commit with the row, in the same transaction.
    await EvidenceStore(uow.session).put(digest, upload.data)
    evidence = Evidence(
        id=uuid.uuid4(),
        application_id=application.id,
        household_id=application.household_id,
        region_code=application.region_code,
        **attributes(upload, Evidence),
        size_bytes=len(upload.data),
        sha256=digest,
        uploaded_by=principal.sub,
    )
    EvidenceRepository(uow.session).add(evidence)
    await uow.session.flush()
    await uow.session.refresh(evidence)
    await audit.record(
        uow,
        principal,
        "evidence.upload",
        "evidence",
        evidence,
        details={"application_id": str(application.id), "kind": upload.kind, "sha256": digest},
    )
    return evidence_out(evidence)


async def list_evidence(uow: UnitOfWork, principal: Principal, application_id: uuid.UUID) -> list[EvidenceOut]:
    application = await get_visible(uow, principal, application_id)
    await audit.record(
        uow,
        principal,
        "evidence.list",
        "application",
        application.id,
        household_id=application.household_id,
        region_code=application.region_code,
    )
    return [evidence_out(e) for e in await EvidenceRepository(uow.session).for_application(application.id)]


async def evidence_for_download(
    uow: UnitOfWork, principal: Principal, application_id: uuid.UUID, evidence_id: uuid.UUID
) -> tuple[Evidence, bytes]:
    """The evidence row and its file's first chunk (404 if the row or its bytes are missing)."""
    application = await get_visible(uow, principal, application_id)
    evidence = await EvidenceRepository(uow.session).get(application.id, evidence_id)
    if evidence is None:
        raise NotFound(f"evidence {evidence_id} not found")
    await audit.record(
        uow,
        principal,
        "evidence.download",
        "evidence",
        evidence.id,
        household_id=application.household_id,
        region_code=application.region_code,
    )
    first = await EvidenceStore(uow.session).chunk(evidence.sha256, 0)
    if first is None:
        raise NotFound(f"the file of evidence {evidence_id} is not in the evidence store")
    return evidence, first


CaseEvent = CaseOpened | CaseStatusChanged | CaseApproved | CaseRejected | CaseWithdrawalRefused | CaseDeadlineChanged


async def mirror_case_events(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """Mirror eligibility's view of the case on the application, for the front desk: eligibility owns the case,
    so the application's status is what the case says, a pending withdrawal included. A run of events is one
    locking read of its applications, the changes in memory in event order, one write of those changed and one
    audit insert."""
    repo = ApplicationRepository(uow.session)
    applications = await repo.mirrors_for_update({d.data.application_id for d in deliveries})
    before = {a.id: a.state() for a in applications.values()}
    audits = []
    for d in deliveries:
        data: CaseEvent = d.data
        application = applications.get(data.application_id)
        if application is None:
            raise LookupError(f"case event for unknown application {data.application_id}")
        _mirror(application, data)
        audits.append(
            {
                "resource_id": application.id,
                "household_id": application.household_id,
                "region_code": application.region_code,
                "correlation_id": d.event.correlationid,
                "details": {"case_status": application.case_status},
            }
        )
    await repo.save_mirrors([a for a in applications.values() if a.state() != before[a.id]])
    await audit.record(uow, "eligibility", "application.case_update", "application", audits)


def _mirror(application: CaseMirror, data: CaseEvent) -> None:
    if application.status == "withdrawn" or application.case_status == "terminated":
        # Withdrawal and 停保 are final: an event of the case's earlier life arriving late (a replay) must not
        # reopen the application (and, with a new application for the same programme live, it could not: one
        # live application per programme).
        return
    application.case_id = data.case_id
    pending = application.status == "withdrawal_requested"
    match data:
        case CaseOpened() | CaseStatusChanged() if data.status == "withdrawn":
            application.case_status, application.status = data.status, "withdrawn"
            application.next_deadline, application.next_deadline_provisional = None, False
            application.withdrawal = "accepted" if pending else application.withdrawal
        case CaseOpened() | CaseStatusChanged():
            application.case_status = data.status
            application.next_deadline, application.next_deadline_provisional = data.due_date, data.due_date_provisional
            if not pending and application.decision is None:  # a decided application keeps its decision
                application.status = "in_review"
        case CaseDeadlineChanged():
            application.next_deadline, application.next_deadline_provisional = data.due_date, data.due_date_provisional
        case CaseApproved():
            application.case_status = application.status = "approved"
            application.next_deadline, application.next_deadline_provisional = None, False
            application.decision = data.model_dump(
                mode="json",
                include={"monthly_amount_fen", "one_off_amount_fen", "effective_month", "decided_at"},
            )
        case CaseRejected():
            application.case_status = application.status = "rejected"
            application.next_deadline, application.next_deadline_provisional = None, False
            application.decision = data.model_dump(mode="json", include={"reasons", "decided_at"})
        case CaseWithdrawalRefused():
            application.withdrawal, application.withdrawal_refused_because = "refused", data.reason
