"""What holds money for persons' months, read for the what-if (试算) of a proposed standard: audited (it tells what
households were paid), within the caller's region."""

from __future__ import annotations

from services.payments.balances import repository
from services.payments.balances.schemas import HeldIn, HeldOut
from shared import audit
from shared.auth import Principal
from shared.core.period import Period
from shared.uow import UnitOfWork


async def held(uow: UnitOfWork, principal: Principal, q: HeldIn) -> list[HeldOut]:
    rows = await repository.held(uow.session, principal.region, q)
    await audit.record(
        uow,
        principal,
        "balance.held",
        "beneficiary",
        None,
        region_code=principal.region,
        details={"persons": len(q.persons), "from": str(q.from_month), "through": str(q.through), "rows": len(rows)},
    )
    return [
        HeldOut(
            household_id=r.household_id,
            programme=r.programme,
            member_id=r.member_id,
            period=Period.of(r.period),
            held_fen=int(r.held_fen),
        )
        for r in rows
    ]
