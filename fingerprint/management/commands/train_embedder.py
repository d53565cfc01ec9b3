from __future__ import annotations

import shlex
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fingerprint import embedding, training


class ProgressBar:
    """A plain-text progress bar on a stream: redrawn in place on a terminal, one line every ~5 % (or
    30 s) otherwise, so log files stay readable."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.first: tuple[int, float] | None = None  # (step, time) of the first report: rates exclude decoding
        self.last_drawn = 0.0
        self.last_step = 0
        self.line_open = False  # an in-place line is drawn and not yet ended

    def __call__(self, step: int, steps: int, loss: float) -> None:
        now = time.monotonic()
        self.first = self.first or (step, now)
        every = 0.25 if self.interactive else 30.0
        milestone = max(1, steps // 20)
        if step < steps and now - self.last_drawn < every and step // milestone == self.last_step // milestone:
            return
        self.last_drawn, self.last_step = now, step
        elapsed = now - self.started
        rate = (step - self.first[0]) / (now - self.first[1]) if now > self.first[1] else 0.0
        eta = (steps - step) / rate if rate > 0 else 0.0
        filled = int(self.width * step / max(1, steps))
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] step {step}/{steps}  loss {loss:.3f}  "
            f"{rate:.2f} steps/s  elapsed {_clock(elapsed)}  eta {_clock(eta) if rate > 0 else '?'}"
        )
        plain = str  # progress is not an error: skip the stream's red error styling
        if self.interactive:
            self.stream.write("\r" + line, style_func=plain, ending="\n" if step >= steps else "")
            self.line_open = step < steps
        else:
            self.stream.write(line, style_func=plain)
        self.stream.flush()

    def finish(self) -> None:
        if self.line_open:  # training stopped early (time budget): end the in-place line
            self.stream.write("")
            self.line_open = False


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Command(BaseCommand):
    help = (
        "Train the neural fingerprint embedder (self-supervised, contrastive) on a folder of audio and save "
        "its weights with how they were made. See fingerprint/weights/README.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("audio_dir", help="folder of audio files (any supported format; searched recursively)")
        parser.add_argument("--out", default=str(embedding.DEFAULT_WEIGHTS), help="weights file to write")
        parser.add_argument("--steps", type=int, default=20000, help="optimiser steps (default 20000)")
        parser.add_argument("--batch-size", type=int, default=256, help="anchor/positive pairs per step (default 256)")
        parser.add_argument("--device", choices=["cpu", "cuda"], help="default: CONTENTID_DEVICE, else cuda if present")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-files", type=int, help="use a random subset of this many files")
        parser.add_argument("--time-budget", type=float, help="stop after this many seconds (decoding included)")
        parser.add_argument(
            "--init-from", help="continue from this earlier weights file instead of random weights (same architecture)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["steps"] < 1 or options["batch_size"] < 2:
            raise CommandError("--steps must be at least 1 and --batch-size at least 2 (the loss needs negatives)")
        bar = ProgressBar(self.stderr)
        try:
            summary = training.train(
                options["audio_dir"],
                options["out"],
                steps=options["steps"],
                batch_size=options["batch_size"],
                device=options["device"],
                seed=options["seed"],
                progress=bar,
                max_files=options["max_files"],
                time_budget_s=options["time_budget"],
                command=_command_line(options),
                log=self.stderr.write,
                init_from=options["init_from"],
            )
        except ValueError as exc:  # no usable audio, bad folder, unavailable device
            raise CommandError(str(exc)) from exc
        bar.finish()
        check = summary["self_check_top1"]
        self.stdout.write(
            f"Saved {summary['out_path']} ({summary['model_version']}, {summary['parameters']:,} parameters).\n"
            f"Trained {summary['steps']}/{summary['steps_planned']} steps of {summary['batch_size']} pairs on "
            f"{summary['files']} files ({summary['hours']:.2f} h) on {summary['device']} in "
            f"{_clock(summary['wall_time_s'])}.\n"
            f"Loss {summary['first_loss']} -> {summary['final_loss']}; in-batch top-1 of augmented positives "
            f"among {check['candidates']}: {check['before']:.1%} before, {check['after']:.1%} after."
        )


def _command_line(options: dict[str, Any]) -> str:
    """The command as typed when run from a shell; rebuilt from the options under call_command."""
    if "train_embedder" in sys.argv:
        return shlex.join(["python", *sys.argv])
    words = ["python", "manage.py", "train_embedder", options["audio_dir"]]
    for flag, key in (
        ("--out", "out"),
        ("--steps", "steps"),
        ("--batch-size", "batch_size"),
        ("--device", "device"),
        ("--seed", "seed"),
        ("--max-files", "max_files"),
        ("--time-budget", "time_budget"),
        ("--init-from", "init_from"),
    ):
        if options.get(key) is not None:
            words += [flag, str(options[key])]
    return shlex.join(words)
