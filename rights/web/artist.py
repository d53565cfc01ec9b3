"""The artist portal: an artist's works, recordings, claims and statements; registering works and
recordings, sending reference audio, and recording splits.

Every page is for the artist role and reads through `rights.roles` with the viewer narrowed to the
artist (see `_as_artist`), so a user who is also label staff or an auditor still sees only the
music they are credited on here. Another artist's recording or upload answers 404, not 403: the
page does not confirm that it exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods

from catalog import identifiers
from catalog.models import AILikenessUse, Artist, ArtistAIConsent, Recording, Work
from fingerprint import audio, references
from fingerprint.models import ReferenceUpload
from rights import registration, roles, splits
from rights.models import Dispute, RightsHolder, RoyaltyRun, Split, SplitShare
from rights.royalties import from_minor
from rights.web.access import role_required

# Rows the split editor shows without JavaScript (with it, rows are added and removed freely).
SPLIT_ROWS = 6
MAX_SPLIT_ROWS = 50

# kind in the URL: (normalise, display form, name shown in messages)
IDENTIFIER_KINDS = {
    "isrc": (identifiers.normalize_isrc, identifiers.format_isrc, "ISRC"),
    "iswc": (identifiers.normalize_iswc, identifiers.format_iswc, "ISWC"),
    "isni": (identifiers.normalize_isni, identifiers.format_isni, "ISNI"),
    "ipi": (identifiers.normalize_ipi, identifiers.normalize_ipi, "IPI name number"),
    "upc": (identifiers.normalize_upc, identifiers.normalize_upc, "UPC/EAN"),
}


def _as_artist(request: HttpRequest) -> roles.Viewer:
    """The request's viewer narrowed to the artist role: credited artists and own parties only."""
    viewer: roles.Viewer = request.viewer  # type: ignore[attr-defined]
    return roles.Viewer(user=viewer.user, artists=viewer.artists, parties=viewer.parties)


def _url_or_empty(name: str, *args: Any) -> str:
    """The URL of a page that another part of the site may or may not install yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _is_xhr(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


# --- portal home ------------------------------------------------------------------------------------


def _reference_states(recordings: list[Recording]) -> dict[int, dict[str, Any]]:
    """Per recording: its latest web upload (if any) and the words for its reference audio."""
    latest: dict[int, ReferenceUpload] = {}
    uploads = ReferenceUpload.objects.filter(recording__in=recordings).select_related("asset__fingerprint")
    for upload in uploads.order_by("recording_id", "-created_at", "-pk"):
        latest.setdefault(upload.recording_id, upload)
    states = {}
    for recording in recordings:
        indexed = [a for a in recording.reference_assets.all() if hasattr(a, "fingerprint")]
        upload = latest.get(recording.pk)
        if upload is not None and not upload.is_final:
            text, css = references.describe(upload), "warn"
        elif indexed:
            asset = indexed[0]
            minutes, seconds = divmod(round(asset.duration_s), 60)
            text, css = f"Fingerprinted: {minutes}:{seconds:02d}, {asset.fingerprint.landmark_count} landmarks", "ok"
        elif upload is not None:
            text, css = references.describe(upload), "bad"
        else:
            text, css = "No reference audio", "muted"
        states[recording.pk] = {"text": text, "css": css, "upload": upload}
    return states


@role_required(roles.ARTIST)
@require_GET
def portal(request: HttpRequest) -> HttpResponse:
    viewer = _as_artist(request)
    works = list(roles.works_for(viewer).prefetch_related("writers").order_by("title", "pk"))
    recordings = list(
        roles.recordings_for(viewer)
        .select_related("label")
        .prefetch_related("artists", "works", "reference_assets__fingerprint")
        .order_by("title", "pk")
    )
    for recording in recordings:
        recording.shown_isrc = identifiers.format_isrc(recording.isrc) if recording.isrc else ""  # type: ignore[attr-defined]
    states = _reference_states(recordings)
    claims = roles.claims_for(viewer)
    mine = Q(claim__recording__in=roles.recordings_for(viewer)) | Q(claim__work__in=roles.works_for(viewer))
    disputes = (
        Dispute.objects.filter(mine, claim__in=claims, outcome=Dispute.Outcome.PENDING)
        .select_related("claim__recording", "claim__work", "claim__work_match", "disputant")
        .order_by("deadline", "pk")
    )
    statements = (
        roles.statements_for(viewer)
        .filter(run__status=RoyaltyRun.Status.DONE)
        .select_related("run", "party")
        .order_by("-run__period", "party__name", "currency")
    )
    return render(
        request,
        "rights/artist/portal.html",
        {
            "works": works,
            "recordings": [(r, states[r.pk]) for r in recordings],
            "claims_count": claims.count(),
            "recent_claims": claims.select_related("recording", "work", "work_match").order_by("-created_at", "-pk")[
                :10
            ],
            "claims_url": _url_or_empty("web:claims"),
            "disputes": disputes,
            "statements": [
                {
                    "statement": s,
                    "paid": from_minor(s.paid_minor, s.currency),
                    "url": _url_or_empty("web:statement", s.pk),
                }
                for s in statements
            ],
            "statements_url": _url_or_empty("web:statements"),
        },
    )


# --- registering works and recordings ----------------------------------------------------------------


def _live_check(form: forms.Form, name: str, kind: str) -> None:
    """Check the identifier as it is typed: htmx asks `web:validate-identifier` and shows its answer in
    the element the input is described by, where the server's own error appears without JavaScript."""
    field_id = f"id_{name}"
    described = f"{field_id}_check"
    if form.fields[name].help_text:
        described += f" {field_id}_helptext"
    form.fields[name].widget.attrs.update(
        {
            "hx-get": reverse("web:validate-identifier", args=[kind]),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": f"#{described.split()[0]}",
            "hx-swap": "innerHTML",
            "aria-describedby": described,
            "autocomplete": "off",
            "spellcheck": "false",
            "autocapitalize": "characters",
        }
    )


def _identifier_clean(kind: str, value: str) -> str:
    normalize, _, _ = IDENTIFIER_KINDS[kind]
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return normalize(value)
    except identifiers.IdentifierError as exc:
        raise forms.ValidationError(str(exc)) from None


class _ArtistForm(forms.Form):
    """A form acting for one of the user's artists: the choice is offered only to users with several."""

    def __init__(self, *args: Any, artists: QuerySet[Artist], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.artists = artists
        if artists.count() > 1:
            self.fields["artist"] = forms.ModelChoiceField(queryset=artists, label="As artist", empty_label=None)
            self.order_fields(["artist", *[f for f in self.fields if f != "artist"]])

    def chosen_artist(self) -> Artist:
        return self.cleaned_data.get("artist") or self.artists.get()


class WorkForm(_ArtistForm):
    title = forms.CharField(max_length=300)
    iswc = forms.CharField(
        label="ISWC",
        max_length=32,
        required=False,
        help_text="T-DDD.DDD.DDD-C, e.g. T-034.524.680-1. Leave it empty if your society has not assigned one yet.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _live_check(self, "iswc", "iswc")

    def clean_iswc(self) -> str:
        return _identifier_clean("iswc", self.cleaned_data["iswc"])


class RecordingForm(_ArtistForm):
    title = forms.CharField(max_length=300)
    isrc = forms.CharField(
        label="ISRC", max_length=32, help_text="12 characters: country, registrant, year, number; e.g. US-RC1-76-07839."
    )
    works = forms.ModelMultipleChoiceField(
        queryset=Work.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Works it records",
        help_text="Only your own works are offered.",
    )

    def __init__(self, *args: Any, works: QuerySet[Work], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["works"].queryset = works
        _live_check(self, "isrc", "isrc")

    def clean_isrc(self) -> str:
        return _identifier_clean("isrc", self.cleaned_data["isrc"])


def _my_artists(request: HttpRequest) -> QuerySet[Artist]:
    return Artist.objects.filter(pk__in=_as_artist(request).artists).order_by("name", "pk")


def _register(request: HttpRequest, form: _ArtistForm, create: Any, template: str, done: str) -> HttpResponse:
    """Validate the form, call the registration verb, show its refusal next to the field it concerns."""
    if request.method == "POST" and form.is_valid():
        try:
            created = create(form)
        except registration.RegistrationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, done.format(created))
            return redirect("web:artist")
    status = 400 if request.method == "POST" else 200
    return render(request, template, {"form": form}, status=status)


@role_required(roles.ARTIST)
@require_http_methods(["GET", "POST"])
def work_new(request: HttpRequest) -> HttpResponse:
    form = WorkForm(request.POST or None, artists=_my_artists(request))

    def create(form: WorkForm) -> Work:
        data = form.cleaned_data
        return registration.register_work(artist=form.chosen_artist(), title=data["title"], iswc=data["iswc"])

    return _register(request, form, create, "rights/artist/work_form.html", "Work registered: {}.")


@role_required(roles.ARTIST)
@require_http_methods(["GET", "POST"])
def recording_new(request: HttpRequest) -> HttpResponse:
    viewer = _as_artist(request)
    form = RecordingForm(
        request.POST or None, artists=_my_artists(request), works=roles.works_for(viewer).order_by("title", "pk")
    )

    def create(form: RecordingForm) -> Recording:
        data = form.cleaned_data
        return registration.register_recording(
            artist=form.chosen_artist(), title=data["title"], isrc=data["isrc"], works=data["works"]
        )

    return _register(request, form, create, "rights/artist/recording_form.html", "Recording registered: {}.")


@role_required()
@require_GET
def validate_identifier(request: HttpRequest, kind: str) -> HttpResponse:
    """A small fragment for htmx: 'valid: <display form>' or the rule the value breaks (empty: nothing).

    The value comes as `?value=`; htmx sends an input's value under the input's name, which for the
    registration forms is the kind itself, so that is read too.
    """
    if kind not in IDENTIFIER_KINDS:
        raise Http404("Unknown identifier kind.")
    normalize, display, name = IDENTIFIER_KINDS[kind]
    value = request.GET.get("value", request.GET.get(kind, "")).strip()
    context: dict[str, Any] = {"name": name, "value": value}
    if value:
        try:
            context["shown"] = display(normalize(value))
        except identifiers.IdentifierError as exc:
            context["error"] = str(exc)
    return render(request, "rights/artist/_identifier_check.html", context)


# --- reference audio ---------------------------------------------------------------------------------


class ReferenceForm(forms.Form):
    # Empty files are let through to the audio checks, whose message says what is wrong with the file.
    audio = forms.FileField(
        label="Reference audio file",
        allow_empty_file=True,
        help_text="WAV, FLAC, MP3, Ogg or M4A: the master as released, from the start.",
    )


def _my_recording(request: HttpRequest, recording_id: int) -> Recording:
    return get_object_or_404(roles.recordings_for(_as_artist(request)), pk=recording_id)


@role_required(roles.ARTIST)
@require_http_methods(["GET", "POST"])
def reference(request: HttpRequest, recording_id: int) -> HttpResponse:
    """Send reference audio for a recording: with JavaScript through XMLHttpRequest (a progress bar,
    then the status fragment); without it, a plain form post answered by this page."""
    recording = _my_recording(request, recording_id)
    form = ReferenceForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            sent = form.cleaned_data["audio"]
            try:
                upload = references.stage_reference(
                    recording,
                    sent.chunks(),
                    original_name=sent.name or "",
                    uploaded_by=request.user,
                    declared_size=sent.size,
                )
            except audio.AudioError as exc:
                form.add_error("audio", str(exc))
            else:
                upload.refresh_from_db()  # where tasks run in-process it is already fingerprinted
                if _is_xhr(request):
                    return _status_fragment(request, upload, status=201)
                messages.success(
                    request, f"{upload.original_name or 'The file'} was received: {references.describe(upload)}."
                )
                return redirect("web:artist-reference", recording_id=recording.pk)
        status = 400
        if _is_xhr(request):
            return render(request, "rights/artist/_upload_errors.html", {"form": form}, status=status)
    uploads = recording.reference_uploads.select_related("asset__fingerprint", "uploaded_by")[:20]
    assets = recording.reference_assets.select_related("fingerprint").order_by("-created_at")
    return render(
        request,
        "rights/artist/reference.html",
        {
            "recording": recording,
            "form": form,
            "uploads": [(u, references.describe(u)) for u in uploads],
            "assets": assets,
        },
        status=status,
    )


def _status_fragment(request: HttpRequest, upload: ReferenceUpload, status: int = 200) -> HttpResponse:
    return render(
        request,
        "rights/artist/_reference_status.html",
        {"upload": upload, "text": references.describe(upload)},
        status=status,
    )


@role_required(roles.ARTIST)
@require_GET
def reference_status(request: HttpRequest, upload_id: int) -> HttpResponse:
    """The status fragment htmx polls every 2 s until the upload is done or failed."""
    mine = ReferenceUpload.objects.filter(recording__in=roles.recordings_for(_as_artist(request)))
    upload = get_object_or_404(mine.select_related("asset__fingerprint"), pk=upload_id)
    return _status_fragment(request, upload)


# --- splits ------------------------------------------------------------------------------------------


@role_required(roles.ARTIST)
@require_GET
def split_list(request: HttpRequest) -> HttpResponse:
    viewer = _as_artist(request)
    rows = (
        roles.splits_for(viewer)
        .select_related("recording", "work")
        .prefetch_related(Prefetch("shares", queryset=SplitShare.objects.select_related("party")))
        .order_by("-created_at", "-pk")
    )
    return render(request, "rights/artist/splits.html", {"splits": rows})


def _split_parties(viewer: roles.Viewer) -> QuerySet[RightsHolder]:
    """Who the artist may name: their own parties, plus whoever already shares in a split of their music."""
    on_their_splits = SplitShare.objects.filter(
        split__in=Split.objects.filter(recording__in=roles.recordings_for(viewer))
        | Split.objects.filter(work__in=roles.works_for(viewer))
    ).values("party")
    return (
        (
            RightsHolder.objects.filter(pk__in=roles.parties_for(viewer).values("pk"))
            | RightsHolder.objects.filter(pk__in=on_their_splits)
        )
        .distinct()
        .order_by("name", "pk")
    )


class SplitForm(forms.Form):
    asset = forms.ChoiceField(
        label="Recording (master) or work (publishing)",
        help_text="A recording's split shares its master income; a work's, its publishing income.",
    )
    territories = forms.CharField(
        required=False,
        max_length=500,
        help_text="ISO country codes separated by commas, e.g. GB, FR. Empty: everywhere.",
    )
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Starts on")
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, recordings: QuerySet[Recording], works: QuerySet[Work], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recordings = {str(r.pk): r for r in recordings}
        self.works = {str(w.pk): w for w in works}
        self.fields["asset"].choices = [
            ("", "Choose…"),
            ("Recordings (master)", [(f"recording:{pk}", str(r)) for pk, r in self.recordings.items()]),
            ("Works (publishing)", [(f"work:{pk}", str(w)) for pk, w in self.works.items()]),
        ]

    def chosen(self) -> tuple[Recording | None, Work | None]:
        kind, _, pk = self.cleaned_data["asset"].partition(":")
        return (self.recordings[pk], None) if kind == "recording" else (None, self.works[pk])

    def territory_codes(self) -> list[str]:
        return [code for code in re.split(r"[\s,;]+", self.cleaned_data.get("territories", "")) if code]


@dataclass
class ShareRow:
    party: str = ""
    share: str = ""
    role: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.party or self.share or self.role)


def _posted_rows(data: Any) -> list[ShareRow]:
    parties, shares, row_roles = data.getlist("party"), data.getlist("share"), data.getlist("role")
    count = min(max(len(parties), len(shares), len(row_roles)), MAX_SPLIT_ROWS)

    def at(values: list[str], i: int) -> str:
        return values[i].strip() if i < len(values) else ""

    return [ShareRow(at(parties, i), at(shares, i), at(row_roles, i)) for i in range(count)]


def _shares(
    rows: list[ShareRow], parties: dict[str, RightsHolder]
) -> tuple[list[tuple[RightsHolder, str, str]], list[str]]:
    """The rows as (party, share, role) for rights.splits, and the problems of the rows themselves
    (which party, which number); the rules of a split as a whole are set_split's to state."""
    shares, problems = [], []
    for number, row in enumerate(rows, start=1):
        if row.is_empty:
            continue
        party = parties.get(row.party)
        if party is None:
            problems.append(
                f"Row {number}: choose a party." if not row.party else f"Row {number}: that party cannot be named here."
            )
            continue
        share = row.share.replace("%", "").strip()
        if not share:
            problems.append(f"Row {number}: give {party.name}'s share in percent.")
            continue
        shares.append((party, share, row.role[:100]))
    return shares, problems


def _total(rows: list[ShareRow]) -> Decimal | None:
    """The sum of the shares typed so far (None when one is not a number), shown beside the rows."""
    total = Decimal(0)
    for row in rows:
        if not row.share:
            continue
        try:
            total += Decimal(row.share.replace("%", "").strip())
        except InvalidOperation:
            return None
    return total


@role_required(roles.ARTIST)
@require_http_methods(["GET", "POST"])
def split_new(request: HttpRequest) -> HttpResponse:
    viewer = _as_artist(request)
    recordings = roles.recordings_for(viewer).order_by("title", "pk")
    works = roles.works_for(viewer).order_by("title", "pk")
    parties = list(_split_parties(viewer))
    by_id = {str(p.pk): p for p in parties}
    form = SplitForm(request.POST or None, recordings=recordings, works=works, initial=_initial_asset(request))
    rows = _posted_rows(request.POST) if request.method == "POST" else []
    problems: list[str] = []
    if request.method == "POST":
        shares, problems = _shares(rows, by_id)
        if len(request.POST.getlist("party")) > MAX_SPLIT_ROWS:
            problems.append(f"A split may name at most {MAX_SPLIT_ROWS} parties.")
        if form.is_valid() and not problems:
            recording, work = form.chosen()
            try:
                split = splits.set_split(
                    shares=shares,
                    recording=recording,
                    work=work,
                    territories=form.territory_codes(),
                    start_date=form.cleaned_data["start_date"],
                    note=form.cleaned_data["note"],
                    actor=request.user,
                )
            except splits.SplitError as exc:
                problems.append(str(exc))
            else:
                messages.success(request, f"Split saved: {split}.")
                return redirect("web:artist-splits")
    rows = [r for r in rows if not r.is_empty]
    rows += [ShareRow() for _ in range(max(SPLIT_ROWS - len(rows), 0))]
    total = _total(rows)
    return render(
        request,
        "rights/artist/split_form.html",
        {
            "form": form,
            "rows": rows,
            "parties": parties,
            "problems": problems,
            "total": total,
            "total_ok": total == splits.HUNDRED,
        },
        status=400 if request.method == "POST" else 200,
    )


def _initial_asset(request: HttpRequest) -> dict[str, str]:
    """`?recording=<id>` or `?work=<id>` preselects the asset (links from the portal)."""
    for kind in ("recording", "work"):
        if request.GET.get(kind, "").isdigit():
            return {"asset": f"{kind}:{request.GET[kind]}"}
    return {}


# --- AI-likeness consent ---------------------------------------------------------------------------


@role_required(roles.ARTIST)
@require_http_methods(["GET", "POST"])
def ai_consent(request: HttpRequest) -> HttpResponse:
    """Per artist the viewer is, and per AI use of their likeness: opted in or out, with a note. Posting
    one row changes that one consent (rights.registration.set_ai_consent, audited)."""
    viewer = _as_artist(request)
    mine = Artist.objects.filter(pk__in=viewer.artists).order_by("name", "pk")
    if request.method == "POST":
        if not request.POST.get("artist", "").isdigit():
            return HttpResponse("Say which artist the consent is for.", status=400, content_type="text/plain")
        artist = get_object_or_404(mine, pk=int(request.POST["artist"]))  # another artist's: 404, as elsewhere
        try:
            registration.set_ai_consent(
                artist=artist,
                use=request.POST.get("use", ""),
                opted_in=request.POST.get("opted_in") == "yes",
                note=request.POST.get("note", ""),
                by=request.user,
            )
        except registration.RegistrationError as exc:
            messages.error(request, str(exc))
            return redirect("web:artist-ai-consent")
        messages.success(request, "Saved. Licences follow your choice from now on.")
        return redirect("web:artist-ai-consent")
    consents = {(c.artist_id, c.use): c for c in ArtistAIConsent.objects.filter(artist__in=mine)}
    rows = [
        {"artist": artist, "use": use, "label": label, "consent": consents.get((artist.pk, use))}
        for artist in mine
        for use, label in AILikenessUse.choices
    ]
    return render(request, "rights/artist/ai_consent.html", {"rows": rows})
