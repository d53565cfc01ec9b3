from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from generation_audit import training


class Command(BaseCommand):
    help = (
        "Train the learned AI-provenance detector on a folder of real music (paired with the same music "
        "through simulated decoders) and ship its weights to generation_audit/weights/. Progress on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = training.TrainConfig()
        parser.add_argument("directory", type=Path, help="Folder of real music (wav, flac, mp3, ogg, m4a).")
        parser.add_argument("--steps", type=int, default=defaults.steps)
        parser.add_argument("--batch", type=int, default=defaults.batch)
        parser.add_argument("--excerpts-per-file", type=int, default=defaults.excerpts_per_file)
        parser.add_argument("--seconds-per-excerpt", type=float, default=defaults.seconds_per_excerpt)
        parser.add_argument("--max-files", type=int, default=defaults.max_files, help="0: every training file.")
        parser.add_argument(
            "--time-budget", type=float, default=defaults.time_budget_s, help="Seconds, data + training."
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = training.TrainConfig(
            seconds_per_excerpt=options["seconds_per_excerpt"],
            excerpts_per_file=options["excerpts_per_file"],
            max_files=options["max_files"],
            steps=options["steps"],
            batch=options["batch"],
            seed=options["seed"],
            time_budget_s=options["time_budget"],
        )
        command = "python manage.py train_provenance " + " ".join(sys.argv[2:])
        card = training.train(options["directory"], cfg, command)
        self.stdout.write(
            json.dumps({k: card[k] for k in ("weights_sha256", "seconds", "steps_done", "validation")}, indent=2)
        )
