"""The FastAPI backend service."""
