"""低收入未覆盖: poor by the 低保 standard's measure, yet covered by none of the basic programmes."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="low_income_uncovered",
    description="per-capita income below a multiple of the local 低保 standard and no 低保, 特困 or 低保边缘",
    parameters=(
        Parameter("risk.uncovered.income_multiple", "uncovered_multiple", "numeric"),
        Parameter("dibao.standard.rural", "dibao_rural", "bigint"),
        Parameter("dibao.standard.urban", "dibao_urban", "bigint"),
    ),
    reads=frozenset(),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'low_income_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.per_capita_monthly_fen) * 12,
                          'dibao_standard_annual_fen',
                          min(CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END))
FROM _matched m JOIN _params k ON k.county = m.county LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE NOT coalesce(c.programmes && ARRAY['dibao', 'tekun', 'marginal']::varchar[], false)
  AND m.per_capita_monthly_fen * 12
      < k.uncovered_multiple * CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END
GROUP BY m.household_id
""",
)
