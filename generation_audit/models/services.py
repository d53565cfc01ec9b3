"""Licensed AI services: the registry, every call made through the gateway, the hash-chained ledger
that records them, the audio a generation service returned with its audits, and training manifests."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.models import AudioAsset, Recording, Work
from rights.models import Licence, RightsHolder


class AIService(models.Model):
    """A generation or recommendation service the label has licensed: who operates it, how it is
    reached (a built-in class or an HTTP endpoint) and the licence every call is checked against."""

    class Kind(models.TextChoices):
        GENERATION = "generation", "Generation"
        RECOMMENDATION = "recommendation", "Recommendation"

    class Backend(models.TextChoices):
        BUILTIN_RECOMMENDER = "builtin_recommender", "Built-in recommender (FAISS neighbours)"
        HTTP = "http", "External service over HTTP"
        PYTHON = "python", "Python class (dotted path)"

    name = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    operator = models.ForeignKey(
        RightsHolder, on_delete=models.PROTECT, related_name="ai_services", help_text="The licensee running it."
    )
    backend = models.CharField(max_length=24, choices=Backend.choices)
    endpoint = models.URLField(blank=True, help_text="HTTP backend: the URL calls are POSTed to.")
    adapter_path = models.CharField(max_length=200, blank=True, help_text="Python backend: dotted path of the class.")
    licence = models.ForeignKey(
        Licence,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ai_services",
        help_text="The licence the service operates under; its licensee must be the operator.",
    )
    required_marks = models.JSONField(
        default=list,
        blank=True,
        help_text='Marks every generated output must carry: "c2pa" (a valid manifest), '
        '"digital_source_type" (IPTC trainedAlgorithmicMedia or a relative), "ai_tag" (a declared AI tag).',
    )
    timeout_s = models.FloatField(default=30.0, validators=[MinValueValidator(0.1)])
    max_output_bytes = models.PositiveBigIntegerField(default=200 * 1024 * 1024)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AI service"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().lower()})"


class ServiceCall(models.Model):
    """One call through the gateway: what was asked, whether the licence allowed it, what came back."""

    class Status(models.TextChoices):
        REFUSED = "refused", "Refused (not licensed)"
        OK = "ok", "Answered"
        FAILED = "failed", "Failed"

    service = models.ForeignKey(AIService, on_delete=models.PROTECT, related_name="calls")
    operation = models.CharField(max_length=32, help_text="generate, recommend, ...")
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="ai_service_calls"
    )
    licensee = models.ForeignKey(RightsHolder, on_delete=models.PROTECT, related_name="ai_service_calls")
    territory = models.CharField(max_length=2)
    request = models.JSONField(default=dict)
    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, null=True, blank=True, related_name="ai_service_calls"
    )
    licence_reason = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    error = models.TextField(blank=True)
    response = models.JSONField(default=dict, blank=True, help_text="What the service answered (audio by hash).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.service.name}.{self.operation} #{self.pk} ({self.status})"


class LedgerEntry(models.Model):
    """One link of the append-only, hash-chained ledger: `entry_hash` = sha256 of the previous entry's
    hash and this entry's canonical payload, so changing, removing or inserting any entry breaks
    every hash after it (generation_audit.ledger verifies the chain)."""

    seq = models.PositiveBigIntegerField(unique=True)
    event = models.CharField(max_length=32, db_index=True)
    call = models.ForeignKey(ServiceCall, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger")
    payload = models.JSONField()
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} {self.entry_hash[:12]}"


class GeneratedOutput(models.Model):
    """Audio a generation service returned, stored, and what the audits found in it: the catalogue
    spans it reproduces (replication screen), the marks it carries against those the licence
    requires, and its attribution to catalogue recordings."""

    class Audit(models.TextChoices):
        PENDING = "pending", "Pending"
        CLEAR = "clear", "Clear"
        FLAGGED = "flagged", "Flagged"
        FAILED = "failed", "Audit failed"

    call = models.OneToOneField(ServiceCall, on_delete=models.PROTECT, related_name="output")
    asset = models.ForeignKey(AudioAsset, on_delete=models.PROTECT, related_name="generated_outputs")
    metadata = models.JSONField(default=dict, blank=True, help_text="What the service said of the audio.")
    audit_status = models.CharField(max_length=12, choices=Audit.choices, default=Audit.PENDING, db_index=True)
    replicated_spans = models.JSONField(default=list, blank=True)
    imitated_artists = models.JSONField(
        default=list, blank=True, help_text="The registered artist it sounds like, and whether that is licensed."
    )
    marks = models.JSONField(default=dict, blank=True, help_text="Marks found and marks missing.")
    audit_error = models.TextField(blank=True)
    audited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Output of call #{self.call_id} ({self.audit_status})"


class OutputAttribution(models.Model):
    """The share of one generated output attributed to one catalogue recording, by similarity; an
    output's shares sum to exactly 100 %."""

    output = models.ForeignKey(GeneratedOutput, on_delete=models.CASCADE, related_name="attributions")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="ai_attributions")
    share = models.DecimalField(
        max_digits=7, decimal_places=4, validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
    )
    similarity = models.FloatField()

    class Meta:
        ordering = ["output", "-share"]
        constraints = [models.UniqueConstraint(fields=["output", "recording"], name="attribution_once_per_recording")]

    def __str__(self) -> str:
        return f"{self.recording} {self.share} %"


class TrainingManifest(models.Model):
    """What one model version of a generation service was trained on, and the audit of it."""

    class Audit(models.TextChoices):
        PENDING = "pending", "Pending"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    service = models.ForeignKey(AIService, on_delete=models.PROTECT, related_name="manifests")
    model_version = models.CharField(max_length=100)
    trained_on = models.DateField(help_text="When training ran; licences are checked on this day.")
    territory = models.CharField(max_length=5, default="WORLD", help_text="Where training ran (WORLD: anywhere).")
    audit_status = models.CharField(max_length=12, choices=Audit.choices, default=Audit.PENDING, db_index=True)
    audit_report = models.JSONField(default=dict, blank=True)
    audited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "trained_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["service", "model_version"], name="manifest_one_per_model_version")
        ]

    def __str__(self) -> str:
        return f"{self.service.name} {self.model_version} ({self.audit_status})"


class TrainingManifestEntry(models.Model):
    """One recording or work a model version was trained on, with the licence the service declared."""

    manifest = models.ForeignKey(TrainingManifest, on_delete=models.CASCADE, related_name="entries")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    work = models.ForeignKey(Work, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    declared_licence = models.ForeignKey(Licence, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["manifest", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recording__isnull=False, work__isnull=True)
                | models.Q(recording__isnull=True, work__isnull=False),
                name="manifest_entry_names_recording_or_work",
            )
        ]

    def __str__(self) -> str:
        return str(self.recording or self.work)
