from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from services.payments.batches import returns, service
from services.payments.batches.schemas import (
    BatchIn,
    BatchOut,
    BatchPage,
    BatchQuery,
    CancelIn,
    LinePage,
    LineQuery,
    ReturnsOut,
)
from services.payments.deps import Finance, FinanceOnly, PaymentsSettings, Reader
from shared.app import UowDep
from shared.core.period import Period
from shared.downloads import XLSX, or_xlsx
from shared.errors import InvalidInput, problems
from shared.responses import streamed

router = APIRouter(prefix="/batches", tags=["batches"])


@router.post(
    "",
    status_code=202,
    summary="Request a disbursement batch (发放批次); its lines are built in the background",
    responses={200: {"model": BatchOut, "description": "the regular batch of that region and month exists"}},
)
async def create_batch(
    body: BatchIn, uow: UowDep, principal: FinanceOnly, settings: PaymentsSettings, response: Response
) -> BatchOut:
    batch, created = await service.create(uow, principal, body, settings.recovery_percent)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/batches/{batch.id}"
    return await service.to_out(uow, batch)


@router.get("", summary="Batches in your region, newest first, a page at a time")
async def list_batches(uow: UowDep, principal: Reader, query: Annotated[BatchQuery, Query()]) -> BatchPage:
    month = Period.parse_field("period", query.period) if query.period else None
    return await service.in_region(uow, principal, query, month)


@router.get("/{batch_id}", summary="A batch: progress, envelope and reconciliation")
async def get_batch(batch_id: uuid.UUID, uow: UowDep, principal: Reader) -> BatchOut:
    return await service.to_out(uow, await service.visible(uow, principal, batch_id), with_reconciliation=True)


@router.get("/{batch_id}/lines", summary="A batch's lines by id, a page at a time")
async def batch_lines(
    batch_id: uuid.UUID, uow: UowDep, principal: Reader, query: Annotated[LineQuery, Query()]
) -> LinePage:
    return await service.lines(uow, principal, batch_id, query)


@router.post("/{batch_id}/approve", summary="Approve the envelope (双人复核: not by the officer who created the batch)")
async def approve(batch_id: uuid.UUID, uow: UowDep, principal: FinanceOnly) -> BatchOut:
    return await service.to_out(uow, await service.approve(uow, principal, batch_id))


@router.post("/{batch_id}/cancel", summary="Cancel a batch before it is exported")
async def cancel(
    batch_id: uuid.UUID,
    uow: UowDep,
    principal: Finance,
    body: CancelIn,
) -> BatchOut:
    return await service.to_out(uow, await service.cancel(uow, principal, batch_id, body.reason))


@router.post(
    "/{batch_id}/export", summary="Release an approved batch to the bank; its bank file and rosters become available"
)
async def export(batch_id: uuid.UUID, uow: UowDep, principal: Finance) -> BatchOut:
    return await service.to_out(uow, await service.export(uow, principal, batch_id))


@router.get(
    "/{batch_id}/bank-file",
    summary="The bank file (银行代发文件), CSV ending with its control record; written whole before it is sent",
    response_class=StreamingResponse,
    # 409: not exported yet, or a file that cannot be produced whole (a payee that does not open).
    responses={200: {"content": {"text/csv": {}}}, **problems(409)},
)
async def bank_file(
    batch_id: uuid.UUID,
    uow: UowDep,
    principal: FinanceOnly,
    settings: PaymentsSettings,
    encoding: Literal["utf-8", "gbk"] = "utf-8",
) -> StreamingResponse:
    batch, out = await service.bank_file(uow, principal, batch_id, settings.keyring(), encoding)
    return streamed(out, f"text/csv; charset={encoding}", f"bank-{batch.region_code}-{batch.period}-{batch.id}.csv")


@router.get(
    "/{batch_id}/roster",
    summary="花名册 of one township (.xlsx) for signing",
    response_class=Response,
    responses=or_xlsx(),
)
async def roster(
    batch_id: uuid.UUID,
    uow: UowDep,
    principal: Finance,
    settings: PaymentsSettings,
    township: Annotated[str, Query(pattern=r"^[0-9]{9}$", description="9-digit township code")],
) -> StreamingResponse:
    if len(township) < 9:
        raise InvalidInput("township", "a roster is per township: give a 9-digit code")
    principal.within(township, "township")
    batch, out = await service.roster(uow, principal, batch_id, settings.keyring(), township)
    return streamed(out, XLSX, f"roster-{township}-{batch.period}.xlsx")


@router.post(
    "/{batch_id}/returns",
    summary="Settle lines from the bank's return file (CSV: payment_id,amount_yuan,result,reason)",
)
async def post_returns(
    batch_id: uuid.UUID,
    uow: UowDep,
    principal: Finance,
    file: Annotated[UploadFile, File(description="the bank's result file")],
) -> ReturnsOut:
    return await returns.post_returns(uow, principal, batch_id, file.file)
