"""AI provenance in claim routing, both ways round.

Claims and provenance are both queued once a scan is identified, so either may finish first:

- claims made after the run finished ask `review_reasons` (settings.RIGHTS_PROVENANCE_HOOK, which
  rights.actions consults for every new claim) and start as potential with the reason;
- claims made before it are sent back by `route_existing_claims`, which run_provenance calls when
  the run finishes, through rights.actions.flag_claims_for_review (audited, idempotent).

Both write the same reason text, so a claim never lists one verdict twice.
"""

from __future__ import annotations

from typing import Any

from generation_audit import verdict as verdicts
from generation_audit.models import ProvenanceRun
from rights import actions as rights_actions

# rights.actions prefixes the hook's reasons with this; rights.review files them under "AI provenance".
PREFIX = "AI-provenance finding: "


def latest_finished_run(asset_id: int) -> ProvenanceRun | None:
    """The asset's most recent finished provenance run, whatever its detector versions."""
    return ProvenanceRun.objects.done().filter(asset_id=asset_id).order_by("-created_at", "-pk").first()


def run_reasons(run: ProvenanceRun) -> list[str]:
    """Why the run's audio should be reviewed: a verdict of generated, or a strong finding of it; [] when neither.

    The verdict is recomputed from the findings (the run stores its flag and score, not the
    reasons; a run from before verdicts existed stores neither)."""
    findings = list(run.findings.all())
    verdict = verdicts.combine(findings)
    strong = [f for f in findings if verdicts.is_strong_ai_finding(f)]
    if not verdict.ai_generated and not strong:
        return []
    evidence = "; ".join(verdict.reasons) or ", ".join(f"{f.detector} {f.label} ({f.strength})" for f in strong)
    said = "AI-generated" if verdict.ai_generated else "not AI-generated overall, but a strong finding says so"
    return [f"{said} (score {verdict.score:.2f}, {verdict.version}): {evidence}"]


def review_reasons(match: Any) -> list[str]:
    """RIGHTS_PROVENANCE_HOOK: review reasons for a fingerprint Match from its upload's latest finished run."""
    run = latest_finished_run(match.scan.asset_id)
    return run_reasons(run) if run is not None else []


def route_existing_claims(run: ProvenanceRun) -> list[Any]:
    """Send the claims already made on the run's asset back to review when the run says generated."""
    return [
        claim
        for reason in run_reasons(run)
        for claim in rights_actions.flag_claims_for_review(run.asset_id, PREFIX + reason)
    ]
