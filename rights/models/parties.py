"""The parties of the rights engine: owners, licensors, licensees, payees."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Artist, Label
from fingerprint.models import Platform


class RightsHolder(models.Model):
    """Anyone the rights engine names: an owner, a licensor or licensee, a payee of a split, an uploader.

    A label, publisher, artist or writer owns and is paid; a platform, channel or AI service uploads,
    disputes and holds licences. `accounts` are the logins that act for the party (the uploader of a
    scan is found through them).
    """

    class Kind(models.TextChoices):
        LABEL = "label", "Label"
        PUBLISHER = "publisher", "Publisher"
        ARTIST = "artist", "Artist"
        WRITER = "writer", "Writer"
        PLATFORM = "platform", "Platform"
        CHANNEL = "channel", "Channel"
        SERVICE = "service", "AI service"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    label = models.ForeignKey(
        Label,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rights_holders",
        help_text="The catalogue label this party is (for labels).",
    )
    artist = models.ForeignKey(
        Artist,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rights_holders",
        help_text="The catalogue artist or writer this party is.",
    )
    platform = models.OneToOneField(
        Platform,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rights_holder",
        help_text="The API platform account this party is (for platforms): its uploads' claims name it.",
    )
    accounts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="rights_holders")
    policy = models.ForeignKey(
        "rights.Policy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="default_for",
        help_text="The match policy for this party's ownerships that name none.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
