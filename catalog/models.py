"""What labels own: labels, artists, works, recordings, releases and the audio files behind them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from catalog import identifiers


def _validate(normalize: Callable[[str], str], value: str) -> None:
    try:
        normalize(value)
    except identifiers.IdentifierError as exc:
        raise ValidationError(str(exc)) from exc


# Module-level functions (not closures) so migrations can refer to them.
def validate_isrc(value: str) -> None:
    _validate(identifiers.normalize_isrc, value)


def validate_iswc(value: str) -> None:
    _validate(identifiers.normalize_iswc, value)


def validate_isni(value: str) -> None:
    _validate(identifiers.normalize_isni, value)


def validate_ipi(value: str) -> None:
    _validate(identifiers.normalize_ipi, value)


def validate_upc(value: str) -> None:
    _validate(identifiers.normalize_upc, value)


class NormalizedIdentifiersMixin(models.Model):
    """Stores identifiers in their normal form; a malformed one raises before anything is written.

    Identifier columns are wider than the normal forms so that forms accept display forms
    ('US-RC1-76-07839') and normalise them instead of refusing them on length.
    """

    identifier_fields: dict[str, Callable[[str], str]] = {}

    class Meta:
        abstract = True

    def normalize_identifiers(self) -> None:
        errors: dict[str, list[str]] = {}
        for field, normalize in self.identifier_fields.items():
            value = getattr(self, field)
            if not value:
                setattr(self, field, None)
                continue
            try:
                setattr(self, field, normalize(value))
            except identifiers.IdentifierError as exc:
                errors[field] = [str(exc)]
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        super().clean()
        self.normalize_identifiers()

    def save(self, *args: object, **kwargs: object) -> None:
        self.normalize_identifiers()
        super().save(*args, **kwargs)


class Label(models.Model):
    """A record label: the owner of recordings and the tenant staff act for."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Artist(NormalizedIdentifiersMixin):
    """A performer or writer, identified by ISNI and (for writers) an IPI name number."""

    name = models.CharField(max_length=200, db_index=True)
    isni = models.CharField("ISNI", max_length=32, unique=True, null=True, blank=True, validators=[validate_isni])
    ipi = models.CharField(
        "IPI name number", max_length=32, unique=True, null=True, blank=True, validators=[validate_ipi]
    )
    label = models.ForeignKey(Label, on_delete=models.SET_NULL, null=True, blank=True, related_name="artists")
    created_at = models.DateTimeField(auto_now_add=True)

    identifier_fields = {"isni": identifiers.normalize_isni, "ipi": identifiers.normalize_ipi}

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AILikenessUse(models.TextChoices):
    """The ways an AI service can use an artist's likeness, each consented to on its own (licences grant
    them as the uses ai_likeness_<value>, see rights.licensing_terms)."""

    VOICE = "voice", "Voice: singing or speech made with a model of the artist's voice"
    STYLE = "style", "Style: music made to sound like the artist"
    NAME = "name", "Name and image: the artist named or shown in prompts, titles or marketing"


class ArtistAIConsent(models.Model):
    """Whether an artist allows their likeness to be licensed for one AI use. No row means no consent:
    an artist is out until they opt in, and an opt-out ends every licence's cover of that use."""

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="ai_consents")
    use = models.CharField(max_length=16, choices=AILikenessUse.choices)
    opted_in = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True, help_text="The artist's conditions, in their words.")
    changed_at = models.DateTimeField(auto_now=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["artist", "use"]
        constraints = [models.UniqueConstraint(fields=["artist", "use"], name="one_ai_consent_per_artist_and_use")]
        verbose_name = "artist AI-likeness consent"

    def __str__(self) -> str:
        return f"{self.artist}: {'opted in' if self.opted_in else 'opted out'} of AI {self.get_use_display()}"


def consents_to(artist: Artist, use: str) -> bool:
    """Whether the artist has opted in to AI-likeness licensing for `use` (an AILikenessUse value)."""
    return ArtistAIConsent.objects.filter(artist=artist, use=use, opted_in=True).exists()


class Work(NormalizedIdentifiersMixin):
    """A composition (ISWC): the melody and lyrics that recordings embed."""

    title = models.CharField(max_length=300, db_index=True)
    iswc = models.CharField("ISWC", max_length=32, unique=True, null=True, blank=True, validators=[validate_iswc])
    writers = models.ManyToManyField(Artist, blank=True, related_name="works")
    ai_training_opt_out = models.BooleanField(
        "opted out of AI training", default=False, help_text="No AI model may be trained on it, licence or not."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    identifier_fields = {"iswc": identifiers.normalize_iswc}

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.title} ({self.shown_iswc})" if self.iswc else self.title

    @property
    def shown_iswc(self) -> str:
        """The ISWC as people write it (T-345.246.800-1), or ''."""
        return identifiers.format_iswc(self.iswc) if self.iswc else ""


class Recording(NormalizedIdentifiersMixin):
    """A sound recording (master), identified by ISRC, with its reference audio."""

    title = models.CharField(max_length=300, db_index=True)
    isrc = models.CharField("ISRC", max_length=32, unique=True, null=True, blank=True, validators=[validate_isrc])
    # The id a label's own systems (or a benchmark's reference list) know the recording by.
    external_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    label = models.ForeignKey(Label, on_delete=models.PROTECT, null=True, blank=True, related_name="recordings")
    artists = models.ManyToManyField(Artist, blank=True, related_name="recordings")
    works = models.ManyToManyField(Work, blank=True, related_name="recordings")
    duration_s = models.FloatField(null=True, blank=True)
    ai_training_opt_out = models.BooleanField(
        "opted out of AI training", default=False, help_text="No AI model may be trained on it, licence or not."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    identifier_fields = {"isrc": identifiers.normalize_isrc}

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.title} ({identifiers.format_isrc(self.isrc)})" if self.isrc else self.title


class Release(NormalizedIdentifiersMixin):
    """A product (album, single) identified by its UPC or EAN barcode."""

    title = models.CharField(max_length=300, db_index=True)
    upc = models.CharField("UPC/EAN", max_length=32, unique=True, null=True, blank=True, validators=[validate_upc])
    label = models.ForeignKey(Label, on_delete=models.PROTECT, null=True, blank=True, related_name="releases")
    recordings = models.ManyToManyField(Recording, blank=True, related_name="releases")
    release_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    identifier_fields = {"upc": identifiers.normalize_upc}

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


def audio_upload_path(asset: AudioAsset, filename: str) -> str:
    # Content-addressed, so two uploads of the same bytes can never overwrite each other's file.
    return f"audio/{asset.kind}/{asset.sha256[:2]}/{asset.sha256}.{asset.format}"


class AudioAsset(models.Model):
    """One stored audio file: a recording's reference audio, a work's rendition (a performance of the
    composition that work identification learns it from), a platform's upload, or AI-generated audio."""

    class Kind(models.TextChoices):
        REFERENCE = "reference", "Reference"
        RENDITION = "rendition", "Rendition of a work"
        UPLOAD = "upload", "Upload"
        GENERATED = "generated", "Generated by an AI service"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    recording = models.ForeignKey(
        Recording, on_delete=models.CASCADE, null=True, blank=True, related_name="reference_assets"
    )
    work = models.ForeignKey(Work, on_delete=models.CASCADE, null=True, blank=True, related_name="renditions")
    file = models.FileField(upload_to=audio_upload_path, max_length=300)
    original_name = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=16, help_text="Container sniffed from the content, not the file name.")
    codec = models.CharField(max_length=32, blank=True)
    sample_rate = models.PositiveIntegerField(help_text="Hz, as stored in the file.")
    channels = models.PositiveSmallIntegerField()
    duration_s = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "sha256"], name="audio_asset_unique_content_per_kind"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["upload", "generated"])
                | models.Q(kind="reference", recording__isnull=False)
                | models.Q(kind="rendition", work__isnull=False),
                name="audio_asset_reference_has_recording_rendition_has_work",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name or self.sha256[:12]}"
