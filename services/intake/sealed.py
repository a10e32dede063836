"""Intake's secrets at rest (加密存储): members' resident ID numbers and households' bank account numbers are stored
sealed (shared.sealing: AES-256-GCM, or SM4-GCM under the 国密 profile), never in clear columns.

Each sealed value's associated data names its table, row and field (and the sealing adds the key id): a ciphertext
copied onto another member, another household or another field does not open. A bank account is also bound to
`bank_account_changed_at`, the version of the account it was sealed for, so an older account replayed into the
row does not open either. What stays in clear is what is shown anyway: the masked ID number (`610626********123X`)
and the account's last four digits. Lookups go by the keyed fingerprint (`shared.core.identity.id_fingerprint`)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from shared.core.identity import mask_resident_id
from shared.sealing import Keyring, binding, epoch_micros, payee_binding

MEMBERS, HOUSEHOLDS = "intake.members", "intake.households"


def id_number_binding(member_id: uuid.UUID | str) -> bytes:
    return binding(MEMBERS, member_id, "id_number")


def account_binding(household_id: uuid.UUID | str, changed_at: datetime) -> bytes:
    return binding(HOUSEHOLDS, household_id, "bank_account_number", epoch_micros(changed_at))


def seal_id_number(ring: Keyring, member_id: uuid.UUID, number: str) -> dict[str, str]:
    """The member's columns for `number`: sealed, its key id, and the masked form shown on reads."""
    key_id, sealed = ring.seal(number.encode(), id_number_binding(member_id))
    return {"id_number_sealed": sealed, "id_number_key_id": key_id, "id_number_masked": mask_resident_id(number)}


def open_id_number(ring: Keyring, member_id: uuid.UUID, key_id: str, sealed: str) -> str:
    return ring.open(key_id, sealed, id_number_binding(member_id)).decode()


def seal_account(ring: Keyring, household_id: uuid.UUID, changed_at: datetime, number: str) -> dict[str, object]:
    key_id, sealed = ring.seal(number.encode(), account_binding(household_id, changed_at))
    return {
        "bank_account_sealed": sealed,
        "bank_account_key_id": key_id,
        "bank_account_last4": number[-4:],
        "bank_account_changed_at": changed_at,
    }


def open_account(ring: Keyring, household_id: uuid.UUID, changed_at: datetime, key_id: str, sealed: str) -> str:
    return ring.open(key_id, sealed, account_binding(household_id, changed_at)).decode()


def seal_payee(
    ring: Keyring, household_id: uuid.UUID, changed_at: datetime, account: dict[str, str]
) -> tuple[str, str]:
    """收款账户 for payments' `payee.changed`: (key id, sealed JSON of `bank_name`, `account_holder`,
    `account_number`), bound to the household and this version's `changed_at`, so an older account cannot be
    replayed as the current one."""
    return ring.seal(json.dumps(account, ensure_ascii=False).encode(), payee_binding(household_id, changed_at))
