"""Forms of the platform settings pages."""

from __future__ import annotations

from typing import Any

from django import forms

from fingerprint.models import Platform, WebhookEndpoint
from fingerprint.platform_settings import WEBHOOK_URL_MAX_LENGTH, check_webhook_url
from fingerprint.serializers import WEBHOOK_EVENTS


class _PlatformChoiceMixin:
    """A `platform` field only when the user acts for several platforms; with one, it is that one."""

    fields: dict[str, forms.Field]

    def _limit_platforms(self, platforms: list[Platform]) -> None:
        self.platforms = platforms
        if len(platforms) > 1:
            self.fields["platform"].queryset = Platform.objects.filter(pk__in=[p.pk for p in platforms])
        else:
            del self.fields["platform"]

    def chosen_platform(self) -> Platform:
        cleaned: dict[str, Any] = self.cleaned_data  # type: ignore[attr-defined]
        return cleaned.get("platform") or self.platforms[0]


class TokenForm(_PlatformChoiceMixin, forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses this key, e.g. 'uploader-1': it names the token in this list."
    )
    platform = forms.ModelChoiceField(queryset=Platform.objects.none(), empty_label=None)

    def __init__(self, *args: Any, platforms: list[Platform], **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self._limit_platforms(platforms)


class WebhookForm(_PlatformChoiceMixin, forms.ModelForm):
    url = forms.CharField(
        label="URL",
        max_length=WEBHOOK_URL_MAX_LENGTH,
        validators=[check_webhook_url],
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/contentid-events"}),
        help_text="Where events are POSTed (http or https, a public address).",
    )
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to receive every event.",
    )
    platform = forms.ModelChoiceField(queryset=Platform.objects.none(), empty_label=None)

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "active"]

    def __init__(self, *args: Any, platforms: list[Platform], **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        if self.instance.pk:
            del self.fields["platform"]  # an endpoint stays with the platform it was made for
        else:
            self._limit_platforms(platforms)
            del self.fields["active"]  # a new endpoint starts active

    def clean_events(self) -> list[str]:
        return sorted(set(self.cleaned_data["events"]))  # stored like the API stores them

    def save(self, commit: bool = True) -> WebhookEndpoint:
        if not self.instance.pk:
            self.instance.platform = self.chosen_platform()
        return super().save(commit)
