"""突发严重困难: listed as sudden by 乡村振兴局, or one very large medical bill."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="sudden_hardship",
    description="突发严重困难: on the 乡村振兴局 list as sudden, or one very large medical bill",
    parameters=(Parameter("risk.sudden.single_cost_fen", "sudden_single", "bigint"),),
    reads=frozenset({"monitoring_list", "medical"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'sudden_hardship', min(m.region_code), array_agg(m.id),
       jsonb_build_object('largest_bill_fen', max(m.amount_fen) FILTER (WHERE m.kind = 'medical'),
                          'listed_as_sudden', bool_or(m.kind = 'monitoring_list'))
FROM _matched m JOIN _params k ON k.county = m.county
WHERE (m.kind = 'monitoring_list' AND m.category = 'sudden')
   OR (m.kind = 'medical' AND m.amount_fen >= k.sudden_single)
GROUP BY m.household_id
""",
)
