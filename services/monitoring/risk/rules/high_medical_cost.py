"""因病支出型困难: a year's medical bills out of proportion to the household's income."""

from services.monitoring.risk.rules.rule import FEED_REACHES, Parameter, RiskRule

RULE = RiskRule(
    alert_type="high_medical_cost",
    description="12-month medical out-of-pocket above a share of the household's annual income",
    parameters=(
        Parameter("risk.medical.share_of_income", "medical_share", "numeric"),
        Parameter("risk.medical.min_out_of_pocket_fen", "medical_floor", "bigint"),
    ),
    reads=frozenset({"medical"}),
    sql=f"""
INSERT INTO _candidates
WITH bills AS (
    -- the 12-month bills of the households these rows touch: the rows in scope, already matched (the feed's
    -- million rows are not joined to the fingerprints a second time) ...
    SELECT m.household_id, m.member_id, m.event_date, m.amount_fen FROM _matched m
    WHERE m.kind = 'medical' AND m.event_date > CAST(:today AS date) - 365
    -- (UNION, not UNION ALL: a bill is one per person, settlement date and amount, as the 医保局 rows carry no
    -- settlement number; re-sent in a later feed or repeated on two lines of one file, it counts once)
    UNION
    -- ... and every earlier bill of their members, from any other feed whose region reaches the household
    SELECT p.household_id, p.member_id, r.event_date, r.amount_fen
    FROM monitoring.feed_records r
    JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint AND p.active
    JOIN monitoring.households h ON h.household_id = p.household_id
    JOIN monitoring.feeds f ON f.id = r.feed_id AND {FEED_REACHES}
    WHERE r.kind = 'medical' AND r.event_date > CAST(:today AS date) - 365 AND NOT ({{scope}})
      AND p.household_id IN (SELECT household_id FROM _matched WHERE kind = 'medical')
),
totals AS (SELECT household_id, sum(amount_fen) AS total FROM bills GROUP BY household_id),
flagged AS (
    SELECT t.household_id, t.total, h.region_code, h.monthly_income_fen
    FROM totals t
    JOIN monitoring.households h ON h.household_id = t.household_id
    JOIN _params k ON k.county = left(h.region_code, 6)
    -- "above half of annual household income" (>) "and at least 5,000 yuan out of pocket" (>=): each as its
    -- reference says (risk/parameters/610626.yaml)
    WHERE t.total > k.medical_share * h.monthly_income_fen * 12 AND t.total >= k.medical_floor
)
SELECT f.household_id, 'high_medical_cost', f.region_code, e.record_ids,
       jsonb_build_object('out_of_pocket_12m_fen', f.total, 'annual_income_fen', f.monthly_income_fen * 12)
FROM flagged f
JOIN (SELECT m.household_id, array_agg(m.id) AS record_ids FROM _matched m
      WHERE m.kind = 'medical' AND m.household_id IN (SELECT household_id FROM flagged)
      GROUP BY m.household_id) e ON e.household_id = f.household_id
""",
)
