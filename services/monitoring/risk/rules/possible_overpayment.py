"""疑似多发: assets a 低保 or 特困 household should not hold, found in registers."""

from services.monitoring.risk.rules.rule import Parameter, RiskRule

RULE = RiskRule(
    alert_type="possible_overpayment",
    description="a business, property or vehicle registration or a bank balance of a 低保/特困 household",
    parameters=(
        Parameter("risk.overpayment.business_min_fen", "business_min", "bigint"),
        Parameter("risk.overpayment.property_min_fen", "property_min", "bigint"),
        Parameter("risk.overpayment.bank_balance_min_fen", "bank_min", "bigint"),
    ),
    reads=frozenset({"business", "property", "bank"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'possible_overpayment', min(m.region_code), array_agg(m.id),
       jsonb_build_object('registrations', jsonb_agg(jsonb_build_object('kind', m.kind, 'category', m.category,
                                                                        'amount_fen', m.amount_fen)))
FROM _matched m JOIN _params k ON k.county = m.county JOIN _covered c ON c.household_id = m.household_id
WHERE c.programmes && ARRAY['dibao', 'tekun']::varchar[]
  AND ((m.kind = 'business' AND m.amount_fen >= k.business_min)
    OR (m.kind = 'property' AND m.amount_fen >= k.property_min)
    OR (m.kind = 'bank' AND m.amount_fen >= k.bank_min))
GROUP BY m.household_id
""",
)
