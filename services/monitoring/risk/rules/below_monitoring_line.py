"""防返贫监测线: a household on 乡村振兴局's list below the line."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="below_monitoring_line",
    description="乡村振兴局 list: per-capita annual income below the year's monitoring line",
    parameters=(Parameter("monitoring.line", "monitoring_line", "bigint"),),
    reads=frozenset({"monitoring_list"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'below_monitoring_line', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.amount_fen))
FROM _matched m JOIN _params k ON k.county = m.county
WHERE m.kind = 'monitoring_list' AND m.amount_fen < k.monitoring_line
GROUP BY m.household_id
""",
)
