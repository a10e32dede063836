"""services.monitoring.risk.rules: each rule module keeps its parameters beside its SQL."""

from __future__ import annotations

import re

from services.monitoring.feeds.kinds import FEED_KINDS
from services.monitoring.risk.parameters import SCHEMA
from services.monitoring.risk.rules import RULES


def test_every_parameter_column_a_rule_reads_is_declared_by_that_rule_and_known_to_the_tree():
    for rule in RULES.values():
        declared = {p.column for p in rule.parameters}
        read = set(re.findall(r"\bk\.([a-z_]+)", rule.sql)) - {"county", "due_date", "trace"}
        assert read <= declared, (rule.alert_type, read - declared)
        assert {p.key for p in rule.parameters} <= set(SCHEMA), rule.alert_type


def test_each_rule_raises_its_own_alert_type_and_reads_known_feed_kinds():
    for alert_type, rule in RULES.items():
        assert f"'{alert_type}'" in rule.sql
        assert rule.reads <= set(FEED_KINDS)
