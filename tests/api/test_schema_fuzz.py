"""Schemathesis fuzzes every operation of the OpenAPI schema, as a platform with data of its own.

Checks: no response is a 5xx, and every status code answered is one the schema documents for the
operation. Valid and invalid inputs are both generated; a bounded number of examples per operation
keeps the run to a minute or two.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from fingerprint.models import WebhookDelivery, WebhookEndpoint
from tests.api import builders

MAX_EXAMPLES = 25


@pytest.fixture
def fuzz_caller(db: None) -> builders.Caller:
    """A platform with a claim, a disputed claim, a webhook endpoint and a delivery (ids 1, 2, ...) for the
    fuzzer to find, and another platform's claim it must not."""
    caller = builders.platform("Fuzz")
    builders.claim(caller.platform, 1)
    builders.claim(caller.platform, 2)
    builders.claim(builders.platform("Other").platform, 3)
    endpoint = WebhookEndpoint.objects.create(platform=caller.platform, url="https://hooks.example.com/in")
    WebhookDelivery.objects.create(endpoint=endpoint, event="scan.completed", payload={"data": {}})
    return caller


@pytest.fixture
def wsgi_keeps_the_test_connection() -> Iterator[None]:
    """Called through WSGI (not the test client), Django would close the database connection at each
    request's start and end: on PostgreSQL that ends the test's transaction. The test client avoids it
    the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def generous_rates(settings: object) -> None:
    """Throttling is tested on its own; here it would only cut the run short."""
    rates = {"uploads": "100000/min", "reads": "100000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}  # type: ignore[attr-defined]


# The schema is served by the app itself (no database needed), at import; each operation becomes a test.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    application,
    config=SchemathesisConfig.from_dict({"generation": {"max-examples": MAX_EXAMPLES}, "seed": 20261122}),
)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.usefixtures("generous_rates", "wsgi_keeps_the_test_connection")
def test_no_operation_answers_5xx_or_an_undocumented_status(
    case: schemathesis.Case, fuzz_caller: builders.Caller
) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_caller.key}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance],
    )


def test_the_schema_validates_without_warnings_and_the_docs_are_served(tmp_path: Path, client: Client) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    unknown = client.get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
