"""The payments simulation against its independent oracle (see tests/integration/payments_simulation.py): 200
random sequences in the suite; `make simulate` runs 10,000 (`SIMULATION_EXAMPLES`), `SIMULATION_SEED` replays one."""

from __future__ import annotations

import os

from tests.integration.payments_simulation import run_simulation


def test_random_sequences_pay_exactly_what_is_owed(infra):
    run_simulation(infra.database_url, int(os.environ.get("SIMULATION_EXAMPLES", "200")))
