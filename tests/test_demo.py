"""`gpubarter demo`, the README's main job, end to end as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from gpubarter.paths import project_root


def test_demo_runs_the_scenario_and_exits_zero(cli_env):
    proc = subprocess.run([sys.executable, "-m", "gpubarter", "demo"], env=cli_env, text=True,
                          capture_output=True, cwd=project_root(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in ("started a local chain", "deployed the protocol", "trader takes CPT from the faucet",
                 "agent submits the permit", "GPU Barter demo summary", "the local chain is stopped"):
        assert step in out, step
    # the summary table shows the balances the scenario must end with
    assert "750.00" in out and "150.00" in out and "100.00" in out
