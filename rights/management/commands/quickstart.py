from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from catalog.models import Label
from rights import demo, demo_people


class Command(BaseCommand):
    help = (
        "Set up the database, run the demo end to end (register, identify, claim), create an admin "
        "login and serve the web UI."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Where to serve the web UI.")
        parser.add_argument("--no-serve", action="store_true", help="Stop after the demo instead of serving.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        self.stdout.write(
            f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
            f"tasks: {'in-process' if settings.CELERY_TASK_ALWAYS_EAGER else 'Celery workers'}\n"
        )
        call_command("migrate", interactive=False, verbosity=0)
        demo.run(log=self.stdout.write)
        label = Label.objects.get(name=demo.DEMO_LABEL)
        logins = demo_people.set_up_people(label)
        demo_people.run_demo_royalties(label, log=self.stdout.write)
        # By command name: rights does not import generation_audit (which builds on rights).
        call_command("demo_ai_services", stdout=self.stdout)

        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@localhost"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)  # a fresh password every run, printed once below
        user.save()
        host, _, port = options["addr"].rpartition(":")
        site = f"http://{host or '127.0.0.1'}:{port}"
        lines = [f"\nWeb UI: {site}/  (log in as any of these; passwords are new on every run)"]
        for role, (username, secret) in logins.items():
            lines.append(f"  {role:<12} login: {username:<9} password: {secret}")
        lines.append(f"  {'admin':<12} login: {'admin':<9} password: {password}   (everything, and {site}/admin/)")
        lines.append("Label staff clear the potential claims in the review queue (j/k to move, a approve, r release).")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
        if not options["no_serve"]:
            call_command("runserver", options["addr"], use_reloader=False)
