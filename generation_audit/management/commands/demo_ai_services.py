"""`manage.py demo_ai_services`: the AI-services part of the demo (run by quickstart after `demo`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from generation_audit import demo, demo_imitation


class Command(BaseCommand):
    help = (
        "Set up a licensed demo generation service and the built-in recommender, and call them; then profile "
        "three demo artists and report AI-generated uploads in their style."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        demo.run(log=self.stdout.write)
        demo_imitation.run(log=self.stdout.write)
