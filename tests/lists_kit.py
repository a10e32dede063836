"""Rows for the lists (shared/pagination.py) straight into every service's tables, set-based (INSERT … SELECT over
generate_series): a county's cases, roll, batches and one batch's lines, overpayments, households with members,
applications, application drafts, alerts and a feed's error report — for the walk and EXPLAIN tests and
bench/list_pages.py.

Row g (1 … n) lies in township `<county>10<g % 2 + 1>`, village `201` of it (two townships, one village
each), so half the rows are each township's; its sort keys repeat every `ties` rows (same day, same timestamp),
so only the id tells many rows apart, as on a real day's intake."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text

# The village of row g: township 1 or 2 of the county, village 01 of it.
_VILLAGE = "(:county || '10' || (g % 2 + 1)::text || '201')"
# 12 digits: county (6) + township (3) + village (3).
_STATEMENTS = {
    "cases": f"""
INSERT INTO eligibility.cases (id, application_id, household_id, programme, region_code, status, opened_on,
    status_since, due_date, due_date_provisional, separate_register, details, snapshot, home_visits,
    county_home_visit, extended, delegated, documents_pending, next_review_on)
SELECT gen_random_uuid(), gen_random_uuid(), h, CASE WHEN g % 3 = 0 THEN 'tekun' ELSE 'dibao' END, v,
    CASE WHEN g % 4 = 0 THEN 'approved' ELSE 'investigation' END, d, d,
    CASE WHEN g % 4 = 0 THEN NULL ELSE d + 10 END, false, false, '{{}}'::jsonb,
    jsonb_build_object('household_id', h, 'region_code', v, 'hukou_type', 'rural', 'members', jsonb_build_array(
        jsonb_build_object('member_id', h, 'name', '张三', 'birth_date', '1960-01-01', 'sex', 'male',
                           'relation', 'head'))),
    0, false, false, false, false, CASE WHEN g % 4 = 0 THEN d + 365 END
FROM (SELECT g, gen_random_uuid() AS h, {_VILLAGE} AS v, DATE '2020-01-01' + (g / :ties)::int AS d
      FROM generate_series(1, :n) g) s""",
    "beneficiaries": f"""
INSERT INTO payments.beneficiaries (id, case_id, household_id, programme, region_code, monthly_amount_fen, persons,
    start_month, status, created_at)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'tekun' ELSE 'dibao' END,
    {_VILLAGE}, 30000, 1 + g % 4, DATE '2024-01-01', CASE WHEN g % 5 = 0 THEN 'stopped' ELSE 'active' END,
    TIMESTAMPTZ '2024-01-01 00:00+08' + (g / :ties) * INTERVAL '1 minute'
FROM generate_series(1, :n) g""",
    "batches": f"""
INSERT INTO payments.batches (id, kind, region_code, period, status, created_by, created_at, progress_done)
SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'urgent' ELSE 'reissue' END, substr({_VILLAGE}, 1, 9),
    DATE '2024-01-01', 'cancelled', 'seed', TIMESTAMPTZ '2024-01-01 00:00+08' + (g / :ties) * INTERVAL '1 minute', 0
FROM generate_series(1, :n) g""",
    "lines": f"""
INSERT INTO payments.payment_lines (payment_id, batch_id, kind, case_id, household_id, programme, region_code,
    period, amount_fen, persons, status)
SELECT gen_random_uuid(), :batch, 'one_off', gen_random_uuid(), gen_random_uuid(), 'dibao', {_VILLAGE},
    DATE '2024-01-01', 30000, 1, CASE WHEN g % 5 = 0 THEN 'failed' ELSE 'pending' END
FROM generate_series(1, :n) g""",
    "households": f"""
WITH h AS (
    INSERT INTO intake.households (id, region_code, hukou_type, address, incomes, properties, rigid_expenses, active,
        created_at, updated_at)
    SELECT gen_random_uuid(), {_VILLAGE}, 'rural', '吴起县' || g || '号', '[]', '[]', '[]', true,
        TIMESTAMPTZ '2024-01-01 00:00+08' + (g / :ties) * INTERVAL '1 minute', now()
    FROM generate_series(1, :n) g
    RETURNING id, created_at)
INSERT INTO intake.members (id, household_id, name, id_number_sealed, id_number_key_id, id_number_masked,
    id_fingerprint, active, birth_date, sex, relation, facts)
SELECT gen_random_uuid(), id, CASE WHEN random() < 0.5 THEN '王' ELSE '李' END || '某', 'not-sealed', 'none',
    '61062619********01', md5(id::text) || md5(id::text), true, DATE '1960-01-01', 'male', 'head', '{{}}'
FROM h""",
    # A household's rows are five months of its own (g of one parity, so one township, within ten of each other).
    "overpayments": f"""
INSERT INTO payments.overpayments (case_id, household_id, programme, member_id, region_code, period, paid_fen,
    owed_fen, amount_fen, reason, status, closed_reason)
SELECT gen_random_uuid(), CAST(md5(:county || '/overpayment/' || g % 2 || '/' || g / 10) AS uuid),
    CASE WHEN g % 3 = 0 THEN 'tekun' ELSE 'dibao' END, CAST('00000000-0000-0000-0000-000000000000' AS uuid),
    {_VILLAGE}, CAST(DATE '2024-01-01' + g % 10 * INTERVAL '1 month' AS date), 30000, 20000, 10000, 'reduced',
    CASE WHEN g % 4 = 0 THEN 'closed' ELSE 'open' END, CASE WHEN g % 4 = 0 THEN 'repaid' END
FROM generate_series(1, :n) g""",
    "applications": """
INSERT INTO intake.applications (id, household_id, region_code, programme, status, submitted_on, consent_signed,
    separate_register, details, created_at)
SELECT gen_random_uuid(), id, region_code, 'dibao', 'submitted', DATE '2024-01-01', true, false,
    '{"programme": "dibao"}', created_at
FROM intake.households WHERE region_code LIKE :county || '%'""",
    # A draft for each household (monitoring's verification brought it into assistance): a third for 低保, which its
    # 低保 application received after the verification completes; the others to complete.
    "drafts": """
INSERT INTO intake.application_drafts (id, alert_id, household_id, region_code, programme, note, verified_on,
    created_at)
SELECT gen_random_uuid(), gen_random_uuid(), id, region_code, CASE WHEN g % 3 = 0 THEN 'dibao' ELSE 'medical' END,
    '入户核实', DATE '2023-12-01', TIMESTAMPTZ '2024-02-01 00:00+08' + (g / :ties) * INTERVAL '1 minute'
FROM (SELECT id, region_code, row_number() OVER (ORDER BY created_at, id) AS g FROM intake.households
      WHERE region_code LIKE :county || '%') h""",
    "alerts": f"""
INSERT INTO monitoring.alerts (id, household_id, region_code, alert_type, status, due_date, trace, raised_on,
    created_at)
SELECT gen_random_uuid(), gen_random_uuid(), {_VILLAGE}, 'below_monitoring_line',
    CASE WHEN g % 4 = 0 THEN 'closed' ELSE 'dispatched' END, DATE '2020-01-01' + (g / :ties)::int, '{{}}',
    DATE '2020-01-01', TIMESTAMPTZ '2024-01-01 00:00+08' + (g / :ties) * INTERVAL '1 minute'
FROM generate_series(1, :n) g""",
    # One partner's feed of the county whose every row was rejected: its error report.
    "feed_errors": """
WITH f AS (
    INSERT INTO monitoring.feeds (id, partner, kind, region_code, format, mode, status, rows_read, rows_loaded,
        rows_rejected, alerts_raised, uploaded_by)
    VALUES (gen_random_uuid(), 'medical_insurance', 'medical', :county, 'csv', 'best_effort', 'loaded', :n, 0, :n, 0,
        'seed')
    RETURNING id)
INSERT INTO monitoring.feed_errors (feed_id, line, field, message)
SELECT f.id, g + 1, 'out_of_pocket_fen', 'must not be negative' FROM f, generate_series(1, :n) g""",
}
TABLES = tuple(_STATEMENTS)


@dataclass(frozen=True)
class Seeded:
    county: str
    n: int
    batch_id: uuid.UUID | None  # the batch whose lines were seeded (one of the batches)


def township(county: str, which: int) -> str:
    return f"{county}10{which}"


async def seed_lists(engine, county: str, n: int, *, ties: int = 7, tables: tuple[str, ...] = TABLES) -> Seeded:
    """`n` rows of each of `tables` in `county` (lines: `n` lines of one of its batches), then ANALYZE."""
    async with engine.begin() as conn:
        for table in tables:
            if table == "lines":
                continue
            await conn.execute(text(_STATEMENTS[table]), {"county": county, "n": n, "ties": ties})
        batch_id = None
        if "lines" in tables:
            batch_id = await conn.scalar(
                text("SELECT id FROM payments.batches WHERE region_code LIKE :p ORDER BY id LIMIT 1"),
                {"p": county + "%"},
            )
            await conn.execute(text(_STATEMENTS["lines"]), {"county": county, "n": n, "batch": batch_id})
    analysed = {
        "cases": ("eligibility.cases",),
        "beneficiaries": ("payments.beneficiaries",),
        "batches": ("payments.batches",),
        "lines": ("payments.payment_lines",),
        "overpayments": ("payments.overpayments",),
        "households": ("intake.households", "intake.members"),
        "applications": ("intake.applications",),
        "drafts": ("intake.application_drafts",),
        "alerts": ("monitoring.alerts",),
        "feed_errors": ("monitoring.feed_errors",),
    }
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            for name in analysed[table]:
                await conn.execute(text(f"ANALYZE {name}"))
    return Seeded(county, n, batch_id)
