"""死亡: a covered member's death record (eligibility stops or re-prices the case)."""

from services.monitoring.risk.rules.rule import RiskRule

RULE = RiskRule(
    alert_type="recipient_death",
    description="the death of a member receiving assistance",
    parameters=(),
    reads=frozenset({"death"}),
    sql="""
INSERT INTO _candidates
SELECT m.household_id, 'recipient_death', min(m.region_code), array_agg(m.id),
       jsonb_build_object('member_id', min(m.member_id::text), 'death_date', min(m.event_date))
FROM _matched m JOIN _covered c ON c.household_id = m.household_id
WHERE m.kind = 'death' AND m.member_id = ANY(c.members)
GROUP BY m.household_id
""",
)
