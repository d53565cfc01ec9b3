"""Rules for what a platform may register, shared by the settings pages (and usable by the API).

Tokens and deliveries need nothing new: `ApiToken.issue` / `ApiToken.revoke` and
`fingerprint.webhooks.resend` do the work. What is here is the early check of a webhook URL.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from fingerprint import fetching

# The same rule as the API's WebhookEndpointSerializer: http(s) only, a URLField's length.
WEBHOOK_URL_MAX_LENGTH = 2000
validate_webhook_url_syntax = URLValidator(schemes=["http", "https"])


def check_webhook_url(url: str) -> None:
    """Refuse a webhook URL that every delivery would refuse anyway: not http(s), credentials in it,
    or a host that is literally a private, loopback or reserved address (or `localhost`) and not in
    settings.FETCH_ALLOWED_HOSTS. Raises ValidationError.

    Host names are not resolved here: a name's addresses can change, so each delivery checks them
    again (fingerprint.webhooks), and a registration should not depend on DNS being reachable now.
    """
    validate_webhook_url_syntax(url)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError("Leave credentials out of the URL: deliveries are signed instead.", code="credentials")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError(f"Not a valid port: {exc}", code="invalid") from exc
    if fetching.host_allowed(host, port):
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise ValidationError("Webhooks cannot be sent to this machine (localhost).", code="private_address")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return  # a name: checked when each delivery resolves it
    if not fetching.address_is_public(host):
        raise ValidationError(
            f"{host} is a private or reserved address: webhooks only go to public addresses.",
            code="private_address",
        )
