"""A platform member manages API tokens and webhooks in the browser: the key is shown once, revoking
asks first, and a webhook's URL is checked before it is added."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from fingerprint.models import ApiToken, WebhookDelivery, WebhookEndpoint
from fingerprint.models.platforms import token_digest
from tests.web.browser import Browser
from tests.web.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_platform_member_creates_and_revokes_a_token_and_adds_a_webhook(
    browser: Browser,
    world: World,
) -> None:
    page = browser.page
    browser.log_in(world.ours.platform_user.username, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()

    # Create: the key is on the result page, with a working copy button and a warning.
    page.get_by_label("Name").fill("browser-key")
    page.get_by_role("button", name="Create token").click()
    key_field = page.get_by_label(f"API key for {world.ours.platform.name}")
    key = key_field.input_value()
    assert ApiToken.objects.get(name="browser-key").digest == token_digest(key)
    assert "will not be shown again" in page.get_by_role("alert").inner_text()
    page.get_by_role("button", name="Copy key").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")  # the clipboard answers asynchronously
    browser.screenshot("platform-token-created")

    # A reload sends the form again: no second token, and the key is gone.
    page.reload()
    page.wait_for_load_state()
    assert key not in page.content()
    assert "already sent" in page.get_by_role("status").first.inner_text()
    assert ApiToken.objects.filter(name="browser-key").count() == 1
    browser.screenshot("platform-tokens")

    # Revoke: dismissing the question keeps the token; accepting it revokes.
    revoke = page.get_by_role("button", name="Revoke token browser-key")
    page.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    assert ApiToken.objects.get(name="browser-key").is_active
    page.once("dialog", lambda dialog: dialog.accept())
    revoke.click()
    page.wait_for_url("**/platform/tokens/")
    assert "its key no longer works" in page.get_by_role("status").first.inner_text()
    assert not ApiToken.objects.get(name="browser-key").is_active

    # A webhook: a private address is refused next to the field, then a public one is added.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add a webhook").click()
    page.get_by_label("URL").fill("http://10.0.0.1/hook")
    page.get_by_role("button", name="Add webhook").click()
    assert "private or reserved address" in page.locator("#id_url_error").inner_text()
    browser.screenshot("platform-webhook-refused")
    assert not WebhookEndpoint.objects.exists()
    page.get_by_label("URL").fill("https://hooks.example.com/contentid")
    page.get_by_label("scan.completed").check()
    page.get_by_role("button", name="Add webhook").click()
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.platform, endpoint.events) == (world.ours.platform, ["scan.completed"])
    assert page.get_by_label("Signing secret").input_value() == endpoint.secret
    page.get_by_role("link", name="Done: back to webhooks").click()
    assert page.get_by_role("cell", name="https://hooks.example.com/contentid", exact=True).is_visible()
    browser.screenshot("platform-webhooks")

    # The delivery log of that endpoint (a failed delivery recorded as the delivery machinery records it).
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="scan.completed",
        payload={"event": "scan.completed", "data": {"scan_id": 1}},
        status=WebhookDelivery.Status.FAILED,
        attempts=3,
        last_status_code=502,
        last_error="HTTP 502: bad gateway",
    )
    page.reload()
    page.get_by_role("link", name="1 delivery to https://hooks.example.com/contentid").click()
    assert page.get_by_role("button", name=re.compile(r"Resend delivery \d+ \(scan.completed\)")).is_visible()
    assert "HTTP 502: bad gateway" in page.locator("table").inner_text()
    browser.screenshot("platform-webhook-deliveries")

    # On a phone the page scrolls down only: the table scrolls sideways inside its own box.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
