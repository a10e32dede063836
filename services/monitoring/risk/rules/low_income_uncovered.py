"""低收入未覆盖: poor by the 低保 standard's measure, yet covered by none of the basic programmes.

Only rows that bear on the household's means bring it into view (乡村振兴局's list with its income, medical bills,
a disability certificate): a death row says nothing of the survivors' income, and a household whose members are all
reported dead is nobody to assist. A township's not_eligible closure answers for what was on file that day: only a
row dated after the latest such closure raises the alert again."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

INCOME_KINDS = frozenset({"monitoring_list", "medical", "disability"})

RULE = RiskRule(
    alert_type="low_income_uncovered",
    description="per-capita income below a multiple of the local 低保 standard and no 低保, 特困 or 低保边缘",
    parameters=(
        Parameter("risk.uncovered.income_multiple", "uncovered_multiple", "numeric"),
        Parameter("dibao.standard.rural", "dibao_rural", "bigint"),
        Parameter("dibao.standard.urban", "dibao_urban", "bigint"),
    ),
    reads=INCOME_KINDS,
    sql=f"""
INSERT INTO _candidates
SELECT m.household_id, 'low_income_uncovered', min(m.region_code), array_agg(m.id),
       jsonb_build_object('per_capita_annual_income_fen', min(m.per_capita_monthly_fen) * 12,
                          'dibao_standard_annual_fen',
                          min(CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END))
FROM _matched m JOIN _params k ON k.county = m.county LEFT JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind IN ({", ".join(f"'{kind}'" for kind in sorted(INCOME_KINDS))})
  AND NOT coalesce(c.programmes && ARRAY['dibao', 'tekun', 'marginal']::varchar[], false)
  AND m.per_capita_monthly_fen * 12
      < k.uncovered_multiple * CASE m.hukou_type WHEN 'urban' THEN k.dibao_urban ELSE k.dibao_rural END
  -- a member alive as far as any partner knows (uncovered deaths are never in reported_deaths: the death rows)
  AND EXISTS (SELECT 1 FROM monitoring.persons p
              WHERE p.household_id = m.household_id AND p.active
                AND NOT EXISTS (SELECT 1 FROM monitoring.feed_records d
                                WHERE d.id_fingerprint = p.id_fingerprint AND d.kind = 'death'))
  AND m.event_date > coalesce((SELECT max(a.closed_on) FROM monitoring.alerts a
                               WHERE a.household_id = m.household_id AND a.alert_type = 'low_income_uncovered'
                                 AND a.outcome = 'not_eligible' AND a.status = 'closed'), '-infinity')
GROUP BY m.household_id
""",
)
