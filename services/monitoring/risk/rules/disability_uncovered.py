"""残疾未享补贴: a recent disability certificate, and the certified person receives neither 困难残疾人生活补贴 nor
重度残疾人护理补贴 (subsidies per person: another member's subsidy does not cover them)."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="disability_uncovered",
    description="a newly certified disability of a member without the disability subsidies",
    parameters=(Parameter("risk.disability.new_within_days", "disability_days", "int"),),
    reads=frozenset({"disability"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'disability_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('certified_on', min(m.event_date))
FROM _matched m JOIN _params k ON k.county = m.county
WHERE m.kind = 'disability' AND m.event_date > CAST(:today AS date) - k.disability_days
  AND NOT EXISTS (SELECT 1 FROM monitoring.coverage c
                  WHERE c.household_id = m.household_id AND c.active AND m.member_id = ANY(c.member_ids)
                    AND c.programme IN ('disability_living', 'disability_care'))
GROUP BY m.household_id
""",
)
