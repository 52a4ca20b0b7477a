"""Print the mutation score that `make mutation` measured (issue 22): the share of changed copies of
triage/crisis.py and triage/spikes.py that the tests catch. Not a test module (no test_ prefix)."""

import json
from pathlib import Path

stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text())
tested = stats["killed"] + stats["survived"] + stats["timeout"]
share = 100 * stats["killed"] / tested if tested else 0.0
print(
    f"mutation score, triage/crisis.py and triage/spikes.py: {stats['killed']} of {tested} mutants killed "
    f"({share:.0f}%), {stats['survived']} survived, {stats['no_tests']} in code no test reaches, "
    f"{stats['total']} generated"
)
