"""``gpubarter dataset``: seal, open, show, verify, appraise and register datasets.

The group is defined here; its commands live in modules named for what they do
(``dataset_vault.py``, ``dataset_valuation.py``) and attach to :data:`dataset_app`.
"""

from __future__ import annotations

import typer

from cli import app

dataset_app = typer.Typer(help="Datasets: seal into encrypted shards on IPFS, open, verify, "
                          "appraise in GPU-hours, register on-chain.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
