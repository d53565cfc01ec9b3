"""The hash-chained audit trail of every change to ownership, policies, claims, licences and splits."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One change, chained to the previous event by its hash.

    `hash` = SHA-256 over the previous event's hash and this event's content (see rights.audit);
    editing or deleting any event breaks the chain, which `manage.py verify_audit_trail` reports.
    Actors are kept as id and name (not a foreign key) so deleting a user cannot rewrite history.
    """

    seq = models.PositiveBigIntegerField(unique=True, help_text="1, 2, 3... without gaps.")
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, default="system")
    entity = models.CharField(max_length=40, db_index=True, help_text="Model, e.g. rights.ownership.")
    entity_id = models.CharField(max_length=40, db_index=True)
    verb = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.verb} {self.entity} {self.entity_id}"


class AuditChainHead(models.Model):
    """The last event's number and hash: one row, locked while appending, so deleting the newest
    events is detected too."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"Audit head at #{self.seq}"
