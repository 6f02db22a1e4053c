"""Read a JSON file a user handed us, with one clear error for each way it can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpubarter.errors import ConfigError, GpuBarterError


def read_json(path: Path, *, what: str, error: type[GpuBarterError] = ConfigError) -> Any:
    """Parsed JSON of ``path``; ``what`` names the file in errors (``"commitments file"``)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{what} {path} is not readable JSON: {exc}") from None
