"""死亡: a covered member's death record (eligibility stops or re-prices the case). One alert per household and
run, listing each dead member with their own date of death (the earliest row of that member): eligibility is told of
each (one death.reported per member). A member already reported dead (monitoring.reported_deaths, by whichever
source came first) is not reported again: the later row is that first alert's evidence (alerts/repository.py)."""

from services.monitoring.risk.rules.rule import RiskRule

RULE = RiskRule(
    alert_type="recipient_death",
    description="the death of a member receiving assistance",
    parameters=(),
    reads=frozenset({"death"}),
    sql="""
WITH died AS (
    SELECT m.id, m.household_id, m.member_id, m.region_code,
           min(m.event_date) OVER (PARTITION BY m.household_id, m.member_id) AS death_date
    FROM _matched m JOIN _covered c ON c.household_id = m.household_id
    WHERE m.kind = 'death' AND m.member_id = ANY(c.members)
      AND NOT EXISTS (SELECT 1 FROM monitoring.reported_deaths r WHERE r.member_id = m.member_id)
)
INSERT INTO _candidates
SELECT household_id, 'recipient_death', min(region_code), array_agg(id ORDER BY id),
       jsonb_build_object('deaths', jsonb_agg(DISTINCT jsonb_build_object('member_id', member_id::text,
                                                                          'death_date', death_date)))
FROM died
GROUP BY household_id
""",
)
