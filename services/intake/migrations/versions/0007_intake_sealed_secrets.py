"""intake: resident ID numbers and bank account numbers sealed at rest; the clear columns dropped

Existing rows are sealed in chunks of keyset-ordered rows, one UPDATE … FROM unnest(…) per chunk, progress logged;
the keys and the crypto profile are the service's own settings (INTAKE_SEALING_KEYS, INTAKE_SEALING_KEY_ID,
INTAKE_CRYPTO_PROFILE), which the migration Job therefore holds too.

Revision ID: intake_sealed_secrets
Revises: 0003_intake_application_drafts
"""

import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_sealed_secrets"
down_revision: str | None = "0003_intake_application_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "intake"
CHUNK = 5000
log = logging.getLogger("alembic.intake_sealed_secrets")


def _keyring():
    from services.intake.config import Settings

    return Settings().keyring()


def _in_chunks(select_sql: str, update_sql: str, convert: Callable[[list], dict], what: str) -> None:
    """Keyset chunks of `select_sql` (rows after :after by id), each converted in memory and written back with one
    set-based UPDATE; progress logged per chunk."""
    bind = op.get_bind()
    total = bind.execute(sa.text(f"SELECT count(*) FROM ({select_sql.format(after='TRUE')}) t")).scalar_one()
    done, after = 0, None
    while True:
        where = "id > :after" if after is not None else "TRUE"
        rows = bind.execute(
            sa.text(select_sql.format(after=where) + f" ORDER BY id LIMIT {CHUNK}"), {"after": after}
        ).all()
        if not rows:
            break
        bind.execute(sa.text(update_sql), convert(rows))
        done, after = done + len(rows), rows[-1][0]
        log.info("%s: %d of %d done", what, done, total)


def upgrade() -> None:
    from services.intake.sealed import seal_account, seal_id_number

    op.add_column("members", sa.Column("id_number_sealed", sa.Text(), nullable=True), schema=S)
    op.add_column("members", sa.Column("id_number_key_id", sa.String(50), nullable=True), schema=S)
    op.add_column("members", sa.Column("id_number_masked", sa.String(18), nullable=True), schema=S)
    op.add_column(
        "members",
        sa.Column("fingerprint_profile", sa.String(10), server_default="standard", nullable=False),
        schema=S,
    )
    op.add_column("households", sa.Column("bank_account_sealed", sa.Text(), nullable=True), schema=S)
    op.add_column("households", sa.Column("bank_account_key_id", sa.String(50), nullable=True), schema=S)
    op.add_column("households", sa.Column("bank_account_last4", sa.String(4), nullable=True), schema=S)
    op.add_column(
        "households", sa.Column("bank_account_changed_at", sa.DateTime(timezone=True), nullable=True), schema=S
    )
    ring = _keyring()

    def members(rows: list) -> dict:
        sealed = [seal_id_number(ring, r.id, r.id_number) for r in rows]
        return {
            "ids": [r.id for r in rows],
            "sealed": [s["id_number_sealed"] for s in sealed],
            "kids": [s["id_number_key_id"] for s in sealed],
            "masked": [s["id_number_masked"] for s in sealed],
        }

    _in_chunks(
        f"SELECT id, id_number FROM {S}.members WHERE {{after}}",
        f"""UPDATE {S}.members m SET id_number_sealed = v.sealed, id_number_key_id = v.kid, id_number_masked = v.masked
            FROM unnest(CAST(:ids AS uuid[]), CAST(:sealed AS text[]), CAST(:kids AS text[]), CAST(:masked AS text[]))
                 AS v(id, sealed, kid, masked)
            WHERE m.id = v.id""",
        members,
        "members' ID numbers sealed",
    )

    def households(rows: list) -> dict:
        # The account's version is the last time the household changed: the binding only has to agree with itself.
        sealed = [seal_account(ring, r.id, r.updated_at, r.bank_account_number) for r in rows]
        return {
            "ids": [r.id for r in rows],
            "sealed": [s["bank_account_sealed"] for s in sealed],
            "kids": [s["bank_account_key_id"] for s in sealed],
            "last4": [s["bank_account_last4"] for s in sealed],
            "changed": [r.updated_at for r in rows],
        }

    _in_chunks(
        f"SELECT id, bank_account_number, updated_at FROM {S}.households "
        "WHERE bank_account_number IS NOT NULL AND {after}",
        f"""UPDATE {S}.households h SET bank_account_sealed = v.sealed, bank_account_key_id = v.kid,
                   bank_account_last4 = v.last4, bank_account_changed_at = v.changed
            FROM unnest(CAST(:ids AS uuid[]), CAST(:sealed AS text[]), CAST(:kids AS text[]),
                        CAST(:last4 AS text[]), CAST(:changed AS timestamptz[])) AS v(id, sealed, kid, last4, changed)
            WHERE h.id = v.id""",
        households,
        "households' bank accounts sealed",
    )
    for column in ("id_number_sealed", "id_number_key_id", "id_number_masked"):
        op.alter_column("members", column, nullable=False, schema=S)
    op.drop_column("members", "id_number", schema=S)
    op.drop_column("households", "bank_account_number", schema=S)


def downgrade() -> None:
    from services.intake.sealed import open_account, open_id_number

    op.add_column("members", sa.Column("id_number", sa.String(18), nullable=True), schema=S)
    op.add_column("households", sa.Column("bank_account_number", sa.String(40), nullable=True), schema=S)
    ring = _keyring()
    _in_chunks(
        f"SELECT id, id_number_key_id, id_number_sealed FROM {S}.members WHERE {{after}}",
        f"""UPDATE {S}.members m SET id_number = v.number
            FROM unnest(CAST(:ids AS uuid[]), CAST(:numbers AS text[])) AS v(id, number) WHERE m.id = v.id""",
        lambda rows: {
            "ids": [r.id for r in rows],
            "numbers": [open_id_number(ring, r.id, r.id_number_key_id, r.id_number_sealed) for r in rows],
        },
        "members' ID numbers opened",
    )
    _in_chunks(
        f"SELECT id, bank_account_key_id, bank_account_sealed, bank_account_changed_at FROM {S}.households "
        "WHERE bank_account_sealed IS NOT NULL AND {after}",
        f"""UPDATE {S}.households h SET bank_account_number = v.number
            FROM unnest(CAST(:ids AS uuid[]), CAST(:numbers AS text[])) AS v(id, number) WHERE h.id = v.id""",
        lambda rows: {
            "ids": [r.id for r in rows],
            "numbers": [
                open_account(ring, r.id, r.bank_account_changed_at, r.bank_account_key_id, r.bank_account_sealed)
                for r in rows
            ],
        },
        "households' bank accounts opened",
    )
    op.alter_column("members", "id_number", nullable=False, schema=S)
    for column in ("id_number_sealed", "id_number_key_id", "id_number_masked", "fingerprint_profile"):
        op.drop_column("members", column, schema=S)
    for column in ("bank_account_sealed", "bank_account_key_id", "bank_account_last4", "bank_account_changed_at"):
        op.drop_column("households", column, schema=S)
