from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from generation_audit import actions


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_provenance(asset_id: int) -> int:
    """Run the provenance detectors on one asset by id; safe to run twice (returns the run id)."""
    return actions.run_provenance(asset_id).pk


@shared_task
def sweep_provenance() -> int:
    """Queue provenance for identified uploads that have no run yet (a lost hand-off), and send back
    to review any claim that slipped past a recent generated verdict; beat, hourly."""
    asset_ids = actions.uploads_without_provenance()
    for asset_id in asset_ids:
        run_provenance.delay(asset_id)
    actions.reroute_recent_verdicts()
    return len(asset_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def audit_generated_output(output_id: int) -> str:
    """Audit one generated output by id (replication screen, marks, attribution); idempotent."""
    from generation_audit import output_audit  # imports the fingerprint engine

    return output_audit.audit_output(output_id).audit_status
