"""API keys authenticate a platform, and every platform sees only its own scans, claims and webhooks."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from fingerprint.models import ApiToken, WebhookDelivery, WebhookEndpoint
from rights.models import RightsHolder
from tests.api import builders

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def _delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.create(endpoint=endpoint, event="scan.completed", payload={"data": {}})


def test_a_key_is_accepted_as_bearer_or_token_and_marks_when_it_was_last_used() -> None:
    caller = builders.platform("Tube")
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {caller.key}")

    assert caller.client.get("/api/v1/scans/").status_code == 200
    assert token_client.get("/api/v1/scans/").status_code == 200

    caller.token.refresh_from_db()
    assert caller.token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute() -> None:
    caller = builders.platform("Tube")
    a_while_ago = timezone.now() - datetime.timedelta(seconds=30)
    ApiToken.objects.filter(pk=caller.token.pk).update(last_used_at=a_while_ago)

    caller.client.get("/api/v1/scans/")
    caller.token.refresh_from_db()
    assert caller.token.last_used_at == a_while_ago

    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    ApiToken.objects.filter(pk=caller.token.pk).update(last_used_at=long_ago)
    caller.client.get("/api/v1/scans/")
    caller.token.refresh_from_db()
    assert caller.token.last_used_at > long_ago


@pytest.mark.parametrize("header", [None, "Bearer not-a-key", "Bearer", "Bearer two parts", "Basic abc"])
def test_missing_or_wrong_credentials_get_401(header: str | None) -> None:
    builders.platform("Tube")
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/scans/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] in {"not_authenticated", "authentication_failed"}


def test_a_revoked_key_or_a_deactivated_member_is_refused() -> None:
    revoked = builders.platform("Tube")
    revoked.token.revoke()
    inactive = builders.platform("Other")
    type(inactive.user).objects.filter(pk=inactive.user.pk).update(is_active=False)

    assert revoked.client.get("/api/v1/scans/").status_code == 401
    assert inactive.client.get("/api/v1/claims/").status_code == 401
    assert (
        revoked.client.post("/api/v1/scans/", {"urls": ["https://a.example/x.mp3"]}, format="json").status_code == 401
    )


def test_a_platform_sees_only_its_own_scans_and_claims_and_cannot_dispute_anothers() -> None:
    a, b = builders.platform("A"), builders.platform("B")
    claim_a, claim_b = builders.claim(a.platform, 1), builders.claim(b.platform, 2)
    scan_a, scan_b = claim_a.match.scan, claim_b.match.scan

    assert _ids(a.client.get("/api/v1/scans/")) == [scan_a.pk]
    assert _ids(a.client.get("/api/v1/claims/")) == [claim_a.pk]
    assert a.client.get(f"/api/v1/scans/{scan_b.pk}/").status_code == 404
    assert a.client.get(f"/api/v1/claims/{claim_b.pk}/").status_code == 404
    dispute = a.client.post(
        f"/api/v1/claims/{claim_b.pk}/dispute/", {"reason": "licensed", "evidence": "Licence 1"}, format="json"
    )
    assert dispute.status_code == 404 and dispute.json()["code"] == "not_found"
    claim_b.refresh_from_db()
    assert claim_b.status == "active"
    assert b.client.get(f"/api/v1/scans/{scan_b.pk}/").json()["claims"][0]["id"] == claim_b.pk


def test_a_platform_sees_and_changes_only_its_own_webhooks_and_deliveries() -> None:
    a, b = builders.platform("A"), builders.platform("B")
    created = a.client.post("/api/v1/webhooks/", {"url": "https://a.example/hook"}, format="json")
    assert created.status_code == 201, created.json()
    endpoint_a = WebhookEndpoint.objects.get(pk=created.json()["id"])
    assert endpoint_a.platform == a.platform and created.json()["secret"] == endpoint_a.secret
    endpoint_b = WebhookEndpoint.objects.create(platform=b.platform, url="https://b.example/hook")
    delivery_a, delivery_b = _delivery(endpoint_a), _delivery(endpoint_b)

    assert _ids(a.client.get("/api/v1/webhooks/")) == [endpoint_a.pk]
    assert _ids(a.client.get("/api/v1/webhook-deliveries/")) == [delivery_a.pk]
    assert _ids(a.client.get(f"/api/v1/webhook-deliveries/?endpoint={endpoint_b.pk}")) == []
    assert a.client.get(f"/api/v1/webhooks/{endpoint_b.pk}/").status_code == 404
    assert a.client.patch(f"/api/v1/webhooks/{endpoint_b.pk}/", {"active": False}, format="json").status_code == 404
    assert a.client.delete(f"/api/v1/webhooks/{endpoint_b.pk}/").status_code == 404
    assert a.client.post(f"/api/v1/webhook-deliveries/{delivery_b.pk}/resend/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint_b.pk, active=True).exists()
    assert WebhookDelivery.objects.count() == 2


def test_resend_queues_a_new_delivery_of_the_same_event() -> None:
    a = builders.platform("A")
    endpoint = WebhookEndpoint.objects.create(platform=a.platform, url="https://a.example/hook")
    original = _delivery(endpoint)

    response = a.client.post(f"/api/v1/webhook-deliveries/{original.pk}/resend/")

    assert response.status_code == 202, response.json()
    copy = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert copy.pk != original.pk and copy.event == original.event and copy.endpoint == endpoint
    assert copy.event_id != original.event_id


def test_webhook_urls_must_be_http_and_events_known() -> None:
    a = builders.platform("A")

    bad_scheme = a.client.post("/api/v1/webhooks/", {"url": "ftp://a.example/hook"}, format="json")
    bad_event = a.client.post("/api/v1/webhooks/", {"url": "https://a.example/hook", "events": ["nope"]}, format="json")

    assert bad_scheme.status_code == 400 and "url" in bad_scheme.json()["errors"]
    assert bad_event.status_code == 400 and "events" in bad_event.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_a_login_acting_for_no_platform_sees_nothing_and_cannot_submit() -> None:
    a = builders.platform("A")
    builders.claim(a.platform, 1)
    auditor = get_user_model().objects.create_user("auditor", password="x-not-used-1")
    client = APIClient()
    client.force_authenticate(auditor)

    assert _ids(client.get("/api/v1/scans/")) == []
    assert _ids(client.get("/api/v1/claims/")) == []
    assert _ids(client.get("/api/v1/webhooks/")) == []
    refused = client.post("/api/v1/scans/", {"urls": ["https://a.example/x.mp3"]}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert client.post("/api/v1/webhooks/", {"url": "https://x.example/"}, format="json").status_code == 403


def test_a_member_logged_in_with_a_session_sees_their_platforms_data() -> None:
    a, b = builders.platform("A"), builders.platform("B")
    claim_a = builders.claim(a.platform, 1)
    builders.claim(b.platform, 2)
    client = APIClient()
    client.force_authenticate(a.user)

    assert _ids(client.get("/api/v1/claims/")) == [claim_a.pk]


def test_label_staff_with_a_session_see_their_labels_claims_on_every_platform_but_a_key_acts_for_its_platform() -> None:
    a, b = builders.platform("A"), builders.platform("B")
    claims = [builders.claim(a.platform, 1), builders.claim(b.platform, 2)]  # both on the Test Label's recordings
    staff = get_user_model().objects.create_user("staff", password="x-not-used-1", is_staff=True)
    RightsHolder.objects.get(label__name="Test Label").accounts.add(staff)
    client = APIClient()
    client.force_authenticate(staff)
    type(a.user).objects.filter(pk=a.user.pk).update(is_staff=True)

    assert _ids(client.get("/api/v1/claims/")) == sorted(c.pk for c in claims)
    assert _ids(client.get("/api/v1/scans/")) == sorted(c.match.scan_id for c in claims)
    assert client.get(f"/api/v1/scans/{claims[1].match.scan_id}/").status_code == 200
    assert _ids(a.client.get("/api/v1/claims/")) == [claims[0].pk]


def test_staff_of_no_label_see_no_claims_and_scans() -> None:
    a = builders.platform("A")
    builders.claim(a.platform, 1)
    stranger = get_user_model().objects.create_user("other-staff", password="x-not-used-1", is_staff=True)
    client = APIClient()
    client.force_authenticate(stranger)
    assert client.get("/api/v1/claims/").json()["results"] == []
    assert client.get("/api/v1/scans/").json()["results"] == []
