"""Who may read what: auditors' access granted by labels, and the record of each audit-trail check."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Label


class AuditorGrant(models.Model):
    """A label lets an auditor read its claims, splits, statements and audit trail (never write).

    Access ends on `expires_on` (inclusive) when set; revoking deletes the grant.
    """

    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="auditor_grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auditor_grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Last day of access; empty: until revoked.")

    class Meta:
        ordering = ["label__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["label", "user"], name="auditor_grant_once_per_label")]

    def __str__(self) -> str:
        return f"{self.user} audits {self.label}"


class AuditCheck(models.Model):
    """One verification of the audit trail's hash chain (`verify_audit_trail`, or from the auditor pages)."""

    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)
    events = models.PositiveBigIntegerField(help_text="Events checked.")
    ok = models.BooleanField()
    problems = models.JSONField(default=list, blank=True, help_text="The first problems found, as sentences.")
    checked_by = models.CharField(max_length=150, default="system")

    class Meta:
        ordering = ["-checked_at", "-pk"]

    def __str__(self) -> str:
        return f"Audit check {self.checked_at:%Y-%m-%d %H:%M}: {'intact' if self.ok else 'BROKEN'}"
