"""payments: stored payees sealed again under the binding of their version (household + changed_at + key id)

Payees received before this were sealed with the household id alone as associated data, so an older account of the
same household could have been replayed as the current one; each is opened under that old binding and sealed again
bound to its own `changed_at` (the version it is) and key, in chunks, one UPDATE … FROM unnest(…) each, progress
logged. The keys are the service's own (PAYMENTS_SEALING_KEYS, PAYMENTS_SEALING_KEY_ID), which the migration Job
therefore holds. Drain intake's outbox into payments before upgrading: an old-style event arriving afterwards is
stored as it came and does not open (re-announce with `python -m services.intake.reseal --announce-payees`).

Revision ID: payments_payee_binding
Revises: payments_county_sessions
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "payments_payee_binding"
down_revision: str | None = "payments_county_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000
log = logging.getLogger("alembic.payments_payee_binding")


def _rebind(to_new: bool) -> None:
    from services.payments.config import Settings
    from shared.sealing import payee_binding

    ring = Settings().keyring()
    bind = op.get_bind()
    total = bind.execute(sa.text("SELECT count(*) FROM payments.payees WHERE sealed IS NOT NULL")).scalar_one()
    done, after = 0, 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, household_id, key_id, sealed, changed_at FROM payments.payees "
                f"WHERE sealed IS NOT NULL AND id > :after ORDER BY id LIMIT {CHUNK}"
            ),
            {"after": after},
        ).all()
        if not rows:
            break
        ids, sealed = [], []
        for r in rows:
            old, new = str(r.household_id).encode(), payee_binding(r.household_id, r.changed_at)
            if to_new:
                plain = ring.open_unbound_key(r.key_id, r.sealed, old)
                sealed.append(_seal_with(ring, r, plain, new))
            else:
                plain = ring.open(r.key_id, r.sealed, new)
                sealed.append(_seal_unbound(ring, r.key_id, plain, old))
            ids.append(r.id)
        bind.execute(
            sa.text(
                "UPDATE payments.payees p SET sealed = v.sealed "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:sealed AS text[])) AS v(id, sealed) WHERE p.id = v.id"
            ),
            {"ids": ids, "sealed": sealed},
        )
        done, after = done + len(rows), rows[-1].id
        log.info("payees re-bound: %d of %d", done, total)


def _seal_with(ring, row, plain: bytes, associated: bytes) -> str:
    """Sealed again under the key that sealed it (its key id stays as stored)."""
    from shared.sealing import Keyring

    return Keyring(ring.keys, row.key_id).seal(plain, associated)[1]


def _seal_unbound(ring, key_id: str, plain: bytes, associated: bytes) -> str:
    import base64
    import os

    nonce = os.urandom(12)
    return base64.b64encode(nonce + ring._cipher(key_id).encrypt(nonce, plain, associated)).decode()


def upgrade() -> None:
    _rebind(to_new=True)


def downgrade() -> None:
    _rebind(to_new=False)
