"""残疾未享补贴: a recent disability certificate, and neither 困难残疾人生活补贴 nor 重度残疾人护理补贴."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="disability_uncovered",
    description="a newly certified disability in a household without the disability subsidies",
    parameters=(Parameter("risk.disability.new_within_days", "disability_days", "int"),),
    reads=frozenset({"disability"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'disability_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('certified_on', min(m.event_date))
FROM _matched m JOIN _params k ON k.county = m.county LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'disability' AND m.event_date > CAST(:today AS date) - k.disability_days
  AND NOT coalesce(c.programmes && ARRAY['disability_living', 'disability_care']::varchar[], false)
GROUP BY m.household_id
""",
)
