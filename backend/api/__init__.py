"""The REST API (FastAPI), versioned under ``/api/v1``."""
