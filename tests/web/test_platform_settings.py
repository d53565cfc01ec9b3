"""Platform settings pages: API tokens (key shown once, revocable) and webhooks (validated, delivery log,
resend), each platform member acting only on their own platform's tokens and endpoints.

Keys are checked against the real API with DRF's APIClient; deliveries go over real HTTP to a receiver
on loopback (allowed explicitly, as the SSRF guard refuses loopback otherwise).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from fingerprint import webhooks
from fingerprint.models import ApiToken, Platform, WebhookDelivery, WebhookEndpoint
from fingerprint.models.platforms import token_digest
from tests.web.conftest import World

# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    """API request counts live in the cache: every test starts with a full budget."""
    cache.clear()
    yield
    cache.clear()


def api_status(key: str) -> int:
    """What the API answers a platform listing its scans with `key`."""
    return APIClient().get("/api/v1/scans", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


def form_nonce(client: Client) -> str:
    """The single-use nonce of the token form, as a browser would get it from the tokens page."""
    page = client.get(reverse("platform:tokens")).content.decode()
    found = re.search(r'name="nonce" value="([^"]+)"', page)
    assert found, "the tokens page carries the token form"
    return found.group(1)


def field_errors(response: Any, field: str) -> str:
    """The error list rendered next to `field` (Django gives it the id `<field id>_error`)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    return found.group(1) if found else ""


@dataclass
class Objects:
    """A token, an endpoint and a delivery of one platform."""

    token: ApiToken
    key: str
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery


def objects_of(platform: Platform, user: Any, name: str) -> Objects:
    token, key = ApiToken.issue(platform, user, name=f"{name}-uploader")
    endpoint = WebhookEndpoint.objects.create(platform=platform, url=f"https://{name}.example/hook")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="scan.completed", payload={"data": {}})
    return Objects(token, key, endpoint, delivery)


@pytest.fixture
def ours(world: World) -> Objects:
    return objects_of(world.ours.platform, world.ours.platform_user, "ours")


@pytest.fixture
def theirs(world: World) -> Objects:
    return objects_of(world.theirs.platform, world.theirs.platform_user, "theirs")


# --- every view for every role ---------------------------------------------------------------------

# Pages (GET) and actions (POST); the second item names the object of `ours` the URL takes.
PAGES = [
    ("platform:tokens", None),
    ("platform:token-new", None),
    ("platform:token-revoke", "token"),
    ("platform:webhooks", None),
    ("platform:webhook-new", None),
    ("platform:webhook-created", "endpoint"),
    ("platform:webhook-edit", "endpoint"),
    ("platform:webhook-deliveries", "endpoint"),
]
ACTIONS = [
    ("platform:webhook-disable", "endpoint", {}),
    ("platform:webhook-enable", "endpoint", {}),
    ("platform:delivery-resend", "delivery", {}),
    ("platform:token-revoke", "token", {"confirmed": "yes"}),
]
DENIED_ROLES = ["staff", "artist", "auditor", "nobody"]


def _url(name: str, kind: str | None, objects: Objects) -> str:
    return reverse(name, args=[getattr(objects, kind).pk]) if kind else reverse(name)


def _user_for(role: str, world: World) -> Any:
    return {
        "own platform": world.ours.platform_user,
        "other platform": world.theirs.platform_user,
        "superuser": world.superuser,
        "staff": world.ours.staff,
        "artist": world.ours.artist_user,
        "auditor": world.ours.auditor,
        "nobody": world.nobody,
    }[role]


def _expected(role: str, kind: str | None, method: str) -> int:
    if role in DENIED_ROLES:
        return 403
    if role == "other platform" and kind is not None:
        return 404  # another platform's object does not exist for this user
    return 200 if method == "GET" else 302


@pytest.mark.parametrize("role", ["own platform", "superuser", "other platform", *DENIED_ROLES])
def test_each_view_answers_each_role(role: str, world: World, ours: Objects) -> None:
    client = world.client(_user_for(role, world))
    deliveries_before = WebhookDelivery.objects.count()

    answers = {}
    for name, kind in PAGES:
        answers[("GET", name)] = client.get(_url(name, kind, ours)).status_code
    for name, kind, data in ACTIONS:
        answers[("POST", name)] = client.post(_url(name, kind, ours), data).status_code

    expected = {("GET", name): _expected(role, kind, "GET") for name, kind in PAGES}
    expected |= {("POST", name): _expected(role, kind, "POST") for name, kind, _ in ACTIONS}
    assert answers == expected
    ours.token.refresh_from_db()
    ours.endpoint.refresh_from_db()
    acted = role in ("own platform", "superuser")
    assert ours.token.is_active is not acted
    assert ours.endpoint.active  # disabled, then enabled again by those who may act
    assert WebhookDelivery.objects.count() == deliveries_before + (1 if acted else 0)


def test_anonymous_visitors_are_sent_to_log_in(world: World, ours: Objects) -> None:
    client = Client()
    for name, kind in PAGES:
        url = _url(name, kind, ours)
        response = client.get(url)
        assert response.status_code == 302 and response.url == f"/login/?next={url}", name
    for name, kind, data in ACTIONS:
        assert client.post(_url(name, kind, ours), data).url.startswith("/login/?next="), name
    ours.token.refresh_from_db()
    assert ours.token.is_active and WebhookDelivery.objects.count() == 1


def test_a_member_lists_only_their_own_platforms_tokens_and_webhooks(
    world: World, ours: Objects, theirs: Objects
) -> None:
    client = world.client(world.ours.platform_user)

    token_page = client.get(reverse("platform:tokens")).content.decode()
    webhook_page = client.get(reverse("platform:webhooks")).content.decode()

    assert "ours-uploader" in token_page and "theirs-uploader" not in token_page
    assert ours.token.prefix in token_page
    assert ours.key not in token_page  # never the key, only its first characters
    assert "https://ours.example/hook" in webhook_page and "theirs.example" not in webhook_page
    assert ours.endpoint.secret not in webhook_page


# --- API tokens ------------------------------------------------------------------------------------


def test_a_new_token_shows_its_key_once_and_the_key_works_on_the_api(world: World) -> None:
    client = world.client(world.ours.platform_user)
    form = {"name": "uploader-7", "nonce": form_nonce(client)}

    created = client.post(reverse("platform:token-new"), form)

    assert created.status_code == 200
    key = re.search(r'id="new-key" value="([^"]+)"', created.content.decode()).group(1)
    assert "will not be shown again" in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    token = ApiToken.objects.get(name="uploader-7")
    assert (token.platform, token.user, token.is_active) == (world.ours.platform, world.ours.platform_user, True)
    assert token.digest == token_digest(key) and token.prefix == key[: ApiToken.PREFIX_LENGTH]
    assert api_status(key) == 200

    # A reload re-sends the same form: no second token, and the key is not shown again anywhere.
    again = client.post(reverse("platform:token-new"), form, follow=True)
    assert again.redirect_chain == [(reverse("platform:tokens"), 302)]
    assert key not in again.content.decode() and "already sent" in again.content.decode()
    assert ApiToken.objects.filter(name="uploader-7").count() == 1
    listing = client.get(reverse("platform:tokens")).content.decode()
    assert "uploader-7" in listing and key not in listing
    token.refresh_from_db()
    assert token.last_used_at is not None  # the API call above is tracked
    assert "never" not in re.search(r"uploader-7.*?</tr>", listing, re.S).group(0)


def test_a_token_needs_a_name_and_a_platform_the_user_acts_for(world: World) -> None:
    user = world.ours.platform_user
    second = Platform.objects.create(name="OursRadio")
    second.members.add(user)
    client = world.client(user)

    nameless = client.post(reverse("platform:token-new"), {"name": "", "nonce": form_nonce(client)})
    foreign = client.post(
        reverse("platform:token-new"),
        {"name": "sneaky", "platform": world.theirs.platform.pk, "nonce": form_nonce(client)},
    )
    chosen = client.post(
        reverse("platform:token-new"), {"name": "radio", "platform": second.pk, "nonce": form_nonce(client)}
    )

    assert "This field is required." in field_errors(nameless, "name")
    assert "Select a valid choice" in field_errors(foreign, "platform")
    assert not ApiToken.objects.filter(name__in=["", "sneaky"]).exists()
    assert chosen.status_code == 200
    assert ApiToken.objects.get(name="radio").platform == second


def test_revoking_a_token_after_confirming_makes_the_api_refuse_its_key(world: World, ours: Objects) -> None:
    client = world.client(world.ours.platform_user)
    url = reverse("platform:token-revoke", args=[ours.token.pk])
    assert api_status(ours.key) == 200

    unconfirmed = client.post(url, {"confirmed": ""})  # no JavaScript to ask: the server asks instead
    ours.token.refresh_from_db()
    assert unconfirmed.status_code == 200 and "Revoke token" in unconfirmed.content.decode()
    assert ours.token.is_active and api_status(ours.key) == 200

    revoked = client.post(url, {"confirmed": "yes"}, follow=True)

    ours.token.refresh_from_db()
    assert revoked.redirect_chain == [(reverse("platform:tokens"), 302)]
    assert "its key no longer works" in revoked.content.decode()
    assert not ours.token.is_active
    assert api_status(ours.key) == 401
    assert "Revoked" in client.get(reverse("platform:tokens")).content.decode()


def test_another_platforms_token_cannot_be_revoked(world: World, theirs: Objects) -> None:
    client = world.client(world.ours.platform_user)

    response = client.post(reverse("platform:token-revoke", args=[theirs.token.pk]), {"confirmed": "yes"})

    theirs.token.refresh_from_db()
    assert response.status_code == 404
    assert theirs.token.is_active and theirs.token.revoked_at is None
    assert api_status(theirs.key) == 200


# --- webhooks --------------------------------------------------------------------------------------


INVALID_URLS = {
    "not a url": "Enter a valid URL.",
    "ftp://example.org/hook": "Enter a valid URL.",
    "http://10.0.0.1/hook": "10.0.0.1 is a private or reserved address",
    "http://169.254.169.254/latest/meta-data/": "private or reserved address",
    "http://[::1]:8080/hook": "::1 is a private or reserved address",
    "http://localhost:8000/hook": "this machine (localhost)",
    "https://user:secret@example.org/hook": "Leave credentials out of the URL",
}


def test_an_invalid_webhook_url_is_explained_next_to_the_field_and_nothing_is_created(world: World) -> None:
    client = world.client(world.ours.platform_user)

    for url, message in INVALID_URLS.items():
        response = client.post(reverse("platform:webhook-new"), {"url": url, "events": ["scan.completed"]})
        assert response.status_code == 200, url
        assert message in field_errors(response, "url"), url
        assert 'aria-invalid="true"' in response.content.decode(), url

    unknown_event = client.post(reverse("platform:webhook-new"), {"url": "https://ok.example/h", "events": ["nope"]})
    assert "Select a valid choice" in field_errors(unknown_event, "events")
    assert not WebhookEndpoint.objects.exists()


def test_adding_a_webhook_shows_its_secret_once(world: World) -> None:
    client = world.client(world.ours.platform_user)

    response = client.post(
        reverse("platform:webhook-new"),
        {"url": "https://hooks.example.com/in", "events": ["scan.failed", "claim.created", "scan.failed"]},
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response.url == reverse("platform:webhook-created", args=[endpoint.pk])
    assert (endpoint.platform, endpoint.active) == (world.ours.platform, True)
    assert endpoint.events == ["claim.created", "scan.failed"]  # stored sorted and once, as the API does
    first = client.get(response.url)
    assert endpoint.secret in first.content.decode() and "no-store" in first["Cache-Control"]
    second = client.get(response.url)
    assert endpoint.secret not in second.content.decode()
    assert "not shown again" in second.content.decode()


def test_editing_disabling_and_enabling_a_webhook(world: World, ours: Objects) -> None:
    client = world.client(world.ours.platform_user)
    edit = reverse("platform:webhook-edit", args=[ours.endpoint.pk])

    refused = client.post(edit, {"url": "http://192.168.1.20/hook", "active": "on"})
    ours.endpoint.refresh_from_db()
    assert "private or reserved address" in field_errors(refused, "url")
    assert ours.endpoint.url == "https://ours.example/hook"

    saved = client.post(edit, {"url": "https://ours.example/v2", "events": ["dispute.opened"], "active": "on"})
    ours.endpoint.refresh_from_db()
    assert saved.status_code == 302
    assert (ours.endpoint.url, ours.endpoint.events, ours.endpoint.active) == (
        "https://ours.example/v2",
        ["dispute.opened"],
        True,
    )

    client.post(reverse("platform:webhook-disable", args=[ours.endpoint.pk]))
    ours.endpoint.refresh_from_db()
    assert not ours.endpoint.active
    assert "Disabled" in client.get(reverse("platform:webhooks")).content.decode()
    client.post(reverse("platform:webhook-enable", args=[ours.endpoint.pk]))
    ours.endpoint.refresh_from_db()
    assert ours.endpoint.active


def test_another_platforms_webhook_cannot_be_seen_or_changed(world: World, theirs: Objects) -> None:
    client = world.client(world.ours.platform_user)
    pk = theirs.endpoint.pk

    answers = [
        client.get(reverse("platform:webhook-edit", args=[pk])).status_code,
        client.post(reverse("platform:webhook-edit", args=[pk]), {"url": "https://evil.example/"}).status_code,
        client.post(reverse("platform:webhook-disable", args=[pk])).status_code,
        client.get(reverse("platform:webhook-deliveries", args=[pk])).status_code,
        client.post(reverse("platform:delivery-resend", args=[theirs.delivery.pk])).status_code,
    ]

    theirs.endpoint.refresh_from_db()
    assert answers == [404] * 5
    assert (theirs.endpoint.url, theirs.endpoint.active) == ("https://theirs.example/hook", True)
    assert WebhookDelivery.objects.count() == 1


# --- deliveries over real HTTP ---------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST; the first `fail_first` get a 500."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.fail_first = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                failing = len(owner.bodies) <= owner.fail_first
                answer = b"receiver is down" if failing else b"ok"
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    r = Receiver()
    settings.FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{r.port}"]
    settings.WEBHOOK_RETRY_DELAYS_S = ()  # one attempt: a failure is final at once
    settings.WEBHOOK_TIMEOUT_S = 5
    yield r
    r.stop()


def test_the_delivery_log_lists_attempts_and_resend_delivers_again(
    world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    client = world.client(world.ours.platform_user)
    receiver.fail_first = 1
    # An allowed loopback receiver passes the form's address check, like it passes the delivery's.
    client.post(reverse("platform:webhook-new"), {"url": receiver.url()})
    endpoint = WebhookEndpoint.objects.get(url=receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        (failed,) = webhooks.emit(world.ours.platform.pk, "scan.completed", {"scan_id": 1, "status": "done"})
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_status_code) == (WebhookDelivery.Status.FAILED, 1, 500)
    log_url = reverse("platform:webhook-deliveries", args=[endpoint.pk])

    log = client.get(log_url).content.decode()
    assert "scan.completed" in log and "Failed (retries exhausted)" in log
    assert "HTTP 500: receiver is down" in log and ">500<" in log

    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(reverse("platform:delivery-resend", args=[failed.pk]), follow=True)

    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert resent.redirect_chain == [(log_url, 302)]
    assert f"queued again as delivery #{again.pk}" in resent.content.decode()
    assert (again.status, again.attempts, again.last_status_code) == (WebhookDelivery.Status.DELIVERED, 1, 200)
    assert again.event == "scan.completed" and again.event_id != failed.event_id
    assert len(receiver.bodies) == 2
    log = client.get(log_url).content.decode()  # the page followed above was drawn before the attempt
    assert f"#{again.pk} ·" in log and f"#{failed.pk} ·" in log and "Delivered" in log


def test_a_disabled_webhooks_delivery_is_not_resent(world: World, ours: Objects) -> None:
    client = world.client(world.ours.platform_user)
    ours.endpoint.active = False
    ours.endpoint.save()

    response = client.post(reverse("platform:delivery-resend", args=[ours.delivery.pk]), follow=True)

    assert "enable it before sending" in response.content.decode()
    assert WebhookDelivery.objects.count() == 1
