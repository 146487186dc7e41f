"""Tests for tasks/coo/drill.py: the drill report names the register's risks a drill exercises."""

from __future__ import annotations

import pandas as pd

from opsflow.drills import Scenario
from tasks.continuity.assess import Candidate, ScheduleSection
from tasks.coo.drill import exercised_risks


def _scenario(risks: list[str]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "s1",
            "title": "t",
            "target": {"kind": "service", "id": "wms"},
            "duration_hours": 1,
            "expected_response": "r",
            "steady_state": [{"name": "p", "kind": "http", "url": "http://127.0.0.1:1/health"}],
            "risks": risks,
        }
    )


def test_declared_risks_with_their_plans_then_the_open_risks_on_the_services() -> None:
    schedule = ScheduleSection(
        candidates=[
            Candidate(scenario="s1", title="t", services="wms", residual_risk=15, risk_ids="R1;R2;R3",
                      cycle_days=90, overdue=True)
        ]
    )  # fmt: skip
    risks = pd.DataFrame(
        {
            "risk_id": ["R1", "R2"],
            "contingency_trigger": ["WMS down 5 min", None],
            "contingency_response": ["Fail over to hall A", None],
        }
    )
    # R1 declared, with a plan; R9 declared but not in the register; R2 and R3 are linked through the service.
    assert exercised_risks(_scenario(["R1", "R9"]), schedule, risks) == (
        "Risks this drill exercises: R1 (if: WMS down 5 min; then: Fail over to hall A); R9 (not in the register); "
        "open risks on its services: R2, R3."
    )
    assert exercised_risks(_scenario(["R2"]), schedule, risks).startswith(
        "Risks this drill exercises: R2 (no if-then plan in the register); open risks on its services: R1, R3."
    )
    assert exercised_risks(_scenario([]), ScheduleSection(), risks) == ""
