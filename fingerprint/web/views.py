"""Platform settings pages: the API tokens and webhooks of the platforms the user acts for.

Every object is looked up within `request.platforms`, so another platform's token, endpoint or
delivery answers 404 whatever its id.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fingerprint import webhooks
from fingerprint.models import ApiToken, Platform, WebhookDelivery, WebhookEndpoint
from fingerprint.web.access import platform_member_required
from fingerprint.web.forms import TokenForm, WebhookForm

TEMPLATES = "fingerprint/platform/"
DELIVERIES_PER_PAGE = 25
# A token form carries a single-use nonce: sending the same form twice (a reload of the page that shows
# the new key re-POSTs it) must neither issue a second token nor show any key again.
TOKEN_NONCES_SESSION_KEY = "platform_token_form_nonces"
TOKEN_NONCES_KEPT = 20  # forms open in other tabs stay usable
# The endpoint whose secret the next "created" page may show, once.
NEW_WEBHOOK_SESSION_KEY = "platform_new_webhook"


def _platforms(request: HttpRequest) -> list[Platform]:
    return request.platforms  # type: ignore[attr-defined,no-any-return]


# --- API tokens ------------------------------------------------------------------------------------


def _issue_nonce(request: HttpRequest) -> str:
    nonce = secrets.token_urlsafe(16)
    kept = request.session.get(TOKEN_NONCES_SESSION_KEY, [])
    request.session[TOKEN_NONCES_SESSION_KEY] = [*kept, nonce][-TOKEN_NONCES_KEPT:]
    return nonce


def _consume_nonce(request: HttpRequest, nonce: str) -> bool:
    kept = request.session.get(TOKEN_NONCES_SESSION_KEY, [])
    if not nonce or nonce not in kept:
        return False
    request.session[TOKEN_NONCES_SESSION_KEY] = [n for n in kept if n != nonce]
    return True


def _token_form_context(request: HttpRequest, form: TokenForm) -> dict[str, object]:
    return {"form": form, "nonce": _issue_nonce(request), "several": len(_platforms(request)) > 1}


@require_GET
@platform_member_required
def tokens(request: HttpRequest) -> HttpResponse:
    platforms = _platforms(request)
    rows = ApiToken.objects.filter(platform__in=platforms).select_related("platform", "user")
    context = _token_form_context(request, TokenForm(platforms=platforms))
    return render(request, TEMPLATES + "tokens.html", {**context, "tokens": rows})


@never_cache
@require_http_methods(["GET", "POST"])
@platform_member_required
def token_new(request: HttpRequest) -> HttpResponse:
    """GET: the form alone. POST: issue the token and answer with its key, which is never stored: this
    response is the only place it appears (and it is marked not to be cached)."""
    platforms = _platforms(request)
    form = TokenForm(request.POST or None, platforms=platforms)
    if request.method != "POST" or not form.is_valid():
        return render(request, TEMPLATES + "token_new.html", _token_form_context(request, form))
    if not _consume_nonce(request, request.POST.get("nonce", "")):
        messages.info(
            request,
            "That form was already sent (or is out of date): no token was created from it this time, and no key "
            "is shown again. Revoke any token whose key you did not copy.",
        )
        return redirect("platform:tokens")
    token, key = ApiToken.issue(form.chosen_platform(), request.user, name=form.cleaned_data["name"])
    return render(request, TEMPLATES + "token_created.html", {"token": token, "key": key})


@require_http_methods(["GET", "POST"])
@platform_member_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revokes on a POST that says it was confirmed (the page's script marks it after asking); any other
    request gets the confirmation page, so the step holds without JavaScript too."""
    token = get_object_or_404(
        ApiToken.objects.select_related("platform", "user"), pk=pk, platform__in=_platforms(request)
    )
    if not token.is_active:
        messages.info(request, f"The token “{token.name or token.prefix}” was already revoked.")
        return redirect("platform:tokens")
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        token.revoke()
        messages.success(request, f"Token “{token.name or token.prefix}” revoked: its key no longer works.")
        return redirect("platform:tokens")
    return render(request, TEMPLATES + "token_revoke.html", {"token": token})


# --- webhooks --------------------------------------------------------------------------------------


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    return get_object_or_404(
        WebhookEndpoint.objects.select_related("platform"), pk=pk, platform__in=_platforms(request)
    )


@require_GET
@platform_member_required
def webhooks_list(request: HttpRequest) -> HttpResponse:
    platforms = _platforms(request)
    endpoints = WebhookEndpoint.objects.filter(platform__in=platforms).select_related("platform")
    endpoints = endpoints.annotate(delivery_count=Count("deliveries"))
    context = {"endpoints": endpoints, "several": len(platforms) > 1}
    return render(request, TEMPLATES + "webhooks.html", context)


@require_http_methods(["GET", "POST"])
@platform_member_required
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None, platforms=_platforms(request))
    if request.method == "POST" and form.is_valid():
        endpoint = form.save()
        request.session[NEW_WEBHOOK_SESSION_KEY] = endpoint.pk
        return redirect("platform:webhook-created", pk=endpoint.pk)
    return render(request, TEMPLATES + "webhook_form.html", {"form": form, "endpoint": None})


@never_cache
@require_GET
@platform_member_required
def webhook_created(request: HttpRequest, pk: int) -> HttpResponse:
    """The new endpoint and, the first time only, its signing secret."""
    endpoint = _endpoint(request, pk)
    show_secret = request.session.get(NEW_WEBHOOK_SESSION_KEY) == endpoint.pk
    if show_secret:
        del request.session[NEW_WEBHOOK_SESSION_KEY]
    return render(request, TEMPLATES + "webhook_created.html", {"endpoint": endpoint, "show_secret": show_secret})


@require_http_methods(["GET", "POST"])
@platform_member_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    form = WebhookForm(request.POST or None, instance=endpoint, platforms=_platforms(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Webhook {endpoint.url} saved.")
        return redirect("platform:webhooks")
    return render(request, TEMPLATES + "webhook_form.html", {"form": form, "endpoint": endpoint})


def _set_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    if endpoint.active != active:
        endpoint.active = active
        endpoint.save(update_fields=["active"])
    if active:
        messages.success(request, f"Webhook {endpoint.url} enabled: new events are sent to it again.")
    else:
        messages.success(request, f"Webhook {endpoint.url} disabled: no more events are sent to it.")
    return redirect("platform:webhooks")


@require_POST
@platform_member_required
def webhook_disable(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=False)


@require_POST
@platform_member_required
def webhook_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=True)


@require_GET
@platform_member_required
def webhook_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    page = Paginator(endpoint.deliveries.all(), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, TEMPLATES + "deliveries.html", {"endpoint": endpoint, "page": page})


@require_POST
@platform_member_required
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint"), pk=pk, endpoint__platform__in=_platforms(request)
    )
    if not delivery.endpoint.active:
        # A disabled endpoint's deliveries fail without being sent: say so rather than queue one.
        messages.error(request, "This webhook is disabled: enable it before sending events to it again.")
    else:
        copy = webhooks.resend(delivery.pk)
        messages.success(request, f"The {delivery.event} event is queued again as delivery #{copy.pk}.")
    return redirect("platform:webhook-deliveries", pk=delivery.endpoint_id)
