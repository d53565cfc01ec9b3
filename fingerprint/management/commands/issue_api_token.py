"""Issue an API token for a platform account (creating the platform and its member login if new)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from fingerprint.models import ApiToken, Platform


class Command(BaseCommand):
    help = "Issue an API token for a platform (created if new); the key is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("platform", help="The platform's name, e.g. 'TubeCo'.")
        parser.add_argument("--user", help="The member login the token acts as (default: the platform's name).")
        parser.add_argument("--name", default="", help="A label for the token, e.g. 'uploader-1'.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"] or options["platform"].lower().replace(" ", "-")
        with transaction.atomic():
            platform, created = Platform.objects.get_or_create(name=options["platform"])
            user, _ = get_user_model().objects.get_or_create(username=username)
            platform.members.add(user)
            token, key = ApiToken.issue(platform, user, options["name"])
        verb = "Created" if created else "Using"
        self.stdout.write(f"{verb} platform {platform.name!r}; token {token.prefix}… acts as {user.username!r}.")
        self.stdout.write("Key (shown once; send it as 'Authorization: Bearer <key>'):")
        self.stdout.write(key)
