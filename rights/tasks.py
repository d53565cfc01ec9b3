"""Thin, idempotent tasks: they take ids (or nothing) and call rights' plain functions."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from rights import actions, disputes, runs


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def claim_scan_matches(scan_id: int) -> None:
    """Make claims for one scan's matches; safe to run twice."""
    actions.claim_scan_matches(scan_id)


@shared_task
def claim_unclaimed_matches() -> int:
    """Periodic sweep for matches whose claim task was lost."""
    return actions.claim_unclaimed_matches()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def enforce_claim_timers() -> int:
    """Periodic: expire unreviewed potential claims, release unanswered disputes and appeals, reinstate
    upheld disputes nobody appealed. Idempotent: each claim is handled once."""
    return disputes.enforce_timers().total


@shared_task
def run_royalties(period: str, model: str = "revenue") -> int:
    """A royalty run for one month (YYYY-MM); returns the run's id."""
    return runs.run_royalties(period, model).pk
