"""Staff read AI-service calls, the ledger and outputs in the admin and cannot alter them there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from generation_audit import ledger
from generation_audit.models import AIService, ServiceCall
from rights.models import RightsHolder

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_calls_and_the_ledger_are_listed_but_cannot_be_added_changed_or_deleted(admin_client: Client) -> None:
    operator = RightsHolder.objects.create(name="Gen Co", kind="service")
    service = AIService.objects.create(name="gen", kind="generation", operator=operator, backend="http")
    call = ServiceCall.objects.create(
        service=service, operation="generate", licensee=operator, territory="GB", status="refused",
        licence_reason="service gen has no licence: every call is refused",
    )  # fmt: skip
    entry = ledger.append("call", {"call": call.pk}, call)

    for url in ("/admin/generation_audit/servicecall/", "/admin/generation_audit/ledgerentry/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b"to view |" in page.content  # Django's title for a list staff may only view
    detail = admin_client.get(f"/admin/generation_audit/servicecall/{call.pk}/change/")
    assert detail.status_code == 200 and b"every call is refused" in detail.content
    assert admin_client.get("/admin/generation_audit/ledgerentry/add/").status_code == 403
    response = admin_client.post(f"/admin/generation_audit/ledgerentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ledger.verify().entries == 1
    assert admin_client.get("/admin/generation_audit/aiservice/add/").status_code == 200  # services are configured here
