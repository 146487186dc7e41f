"""A flow's module imports only what every run needs: the heavy libraries wait for the step that uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each of these takes from 0.5 s to 2 s to import; a run that does not use one should not pay for it, and one that
# does pays for it beside other work (Great Expectations during the load, see tasks.data.validate). matplotlib
# (0.3 s) is not among them: every one of these flows draws charts.
HEAVY = ["great_expectations", "anthropic", "scipy.stats"]


def test_importing_every_flow_leaves_the_heavy_libraries_for_later() -> None:
    script = (
        "import json, sys\n"
        "import flows.weekly_audit, flows.daily_brief, flows.vendor_sla_review\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == dict.fromkeys(HEAVY, False)


def test_great_expectations_imported_in_the_background_is_the_module_validation_uses() -> None:
    script = (
        "import sys\n"
        "from tasks.data.validate import import_in_background\n"
        "import_in_background().join(timeout=60)\n"
        "assert 'great_expectations.validator.v1_validator' in sys.modules\n"
        "from tasks.data.validate import build_suite\n"
        "from opsflow.contract import contract\n"
        "print(len(build_suite(contract('risks'), {}).expectations))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) > 10
