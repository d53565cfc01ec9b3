"""Staff issue a platform's API key from the command line; it works once shown and stops when revoked."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from fingerprint.models import ApiToken, Platform


@pytest.mark.django_db
def test_an_issued_key_opens_the_api_for_its_platform_and_a_revoked_one_does_not(client) -> None:
    out = io.StringIO()
    call_command("issue_api_token", "TubeCo", "--name", "uploader-1", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    platform = Platform.objects.get(name="TubeCo")
    token = ApiToken.objects.get(platform=platform)
    assert token.user in platform.members.all() and token.name == "uploader-1"
    assert key not in {token.digest, token.prefix} and key.startswith(token.prefix)  # only the digest is kept

    assert client.get("/api/v1/scans/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-not-used-1")
    client.force_login(staff)
    response = client.post(
        "/admin/fingerprint/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 token(s) revoked" in response.content.decode()
    client.logout()
    assert client.get("/api/v1/scans/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.django_db
def test_a_second_key_for_the_same_platform_is_a_new_token() -> None:
    call_command("issue_api_token", "TubeCo", stdout=io.StringIO())
    call_command("issue_api_token", "TubeCo", stdout=io.StringIO())
    assert Platform.objects.count() == 1
    assert ApiToken.objects.filter(platform__name="TubeCo").count() == 2
