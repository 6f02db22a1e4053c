"""Property-based API fuzz: schemathesis against the app's own OpenAPI spec, live over HTTP.

Whatever a client sends that the spec allows (and much that it does not), the
server never answers 5xx, and every error is a problem document. (schemathesis's
pytest plugin does not work with pytest 9 yet, so operations are driven through
hypothesis directly.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from waiting import wait_for


def fuzz(operation: Any, mode: GenerationMode, counter: list[int]) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        counter[0] += 1
        response = case.call(timeout=10)
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text}"
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"], where

    return check


@pytest.mark.slow
def test_no_request_gets_a_server_error(service):
    # /ready answers 503 until the indexer's first step (that is its job): fuzz a ready service
    wait_for("readiness", lambda: httpx.get(f"{service.url}/api/v1/ready").status_code == 200)
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    calls = [0]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, calls)()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid request to make
                assert mode is GenerationMode.NEGATIVE and not operation.path_parameters \
                    and not operation.query and not list(operation.body)
    assert calls[0] >= 100
