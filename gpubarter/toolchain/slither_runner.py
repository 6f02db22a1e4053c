"""Run slither on a list of Solidity files; print its report as JSON (``--json -``'s shape).

Runs inside slither's own environment (``python -I slither_runner.py ...``, called by
``gpubarter/toolchain/slither.py``; ``-I`` keeps this folder, whose ``slither.py`` would shadow
the slither package, off ``sys.path``). It imports nothing from gpubarter, which needs web3 8.

Why not the ``slither`` command: given a folder, crytic-compile (slither's front end) walks up
from it looking for a build framework and hands the build to the first it finds, here Foundry
(``foundry.toml``) or brownie (``brownie-config.yaml``), neither of which can build with our
solc; ``--compile-force-framework solc`` then refuses a folder. Given a SolcStandardJson
target, which is what ``--solc-standard-json`` builds, it compiles exactly the files listed,
in one standard-JSON compile with the remappings given, and detects nothing.

    python -I slither_runner.py --solc SOLC --remap R [--all] FILE...

Prints ``{"success": bool, "error": str|null, "results": {"detectors": [...]}}`` on stdout;
everything slither logs goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--solc", required=True)
    parser.add_argument("--remap", action="append", default=[])
    parser.add_argument("--all", action="store_true", help="every detector, not only high and medium")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    out = sys.stdout
    report: dict = {"success": False, "error": None, "results": {}}
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        try:
            report["results"]["detectors"] = analyse(args.files, args.solc, args.remap, args.all)
            report["success"] = True
        except Exception as exc:  # compile errors among them: the caller reports them
            report["error"] = f"{type(exc).__name__}: {exc}"
    json.dump(report, out)
    out.write("\n")
    return 0


def analyse(files: list[str], solc: str, remaps: list[str], every: bool) -> list[dict]:
    from crytic_compile.platform.solc_standard_json import SolcStandardJson
    from slither import Slither
    from slither.__main__ import get_detectors_and_printers
    from slither.detectors.abstract_detector import DetectorClassification

    target = SolcStandardJson()
    target.add_source_files(files)
    # show_ignored_findings: `// slither-disable` comments and a slither.db.json do not hide
    # findings from the gate; a suppression needs its reason in security/slither-triage.toml.
    analysis = Slither(target, solc=solc, solc_remaps=remaps, show_ignored_findings=True)
    gated = (DetectorClassification.HIGH, DetectorClassification.MEDIUM)
    detectors, _ = get_detectors_and_printers()
    for detector in detectors:
        if every or detector.IMPACT in gated:
            analysis.register_detector(detector)
    return [finding for found in analysis.run_detectors() for finding in found]


if __name__ == "__main__":
    sys.exit(main())
