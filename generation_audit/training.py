"""Train the learned provenance detector on real music against the same music through simulated decoders.

`train_provenance DIR` calls `train`. Data: excerpts of the non-held-out files of DIR (the held-out
quarter is the evaluation's), each paired with itself through one random generator family
(simulation.random_generator), then both sides through the same random delivery path
(simulation.random_augmentation) so codecs, band limits and resampling carry no label. A tenth of
the training files is kept for validation, early reporting and Platt calibration of the logit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from generation_audit import calibration, degradations, networks, simulation

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = WEIGHTS_DIR / "learned.pt"
CARD_FILE = WEIGHTS_DIR / "learned.json"


@dataclass
class TrainConfig:
    """Sizes of one training run (CPU-friendly defaults: about 10-15 minutes on 2 shared cores)."""

    seconds_per_excerpt: float = 6.0
    excerpts_per_file: int = 3
    max_files: int = 0  # 0: every training file
    steps: int = 400
    batch: int = 32
    learning_rate: float = 2e-3
    seed: int = 0
    time_budget_s: float = 900.0  # stop data generation + training after this many seconds


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _clips(x: np.ndarray, rate: int) -> np.ndarray:
    return networks.clips_of(degradations.resample(x, rate, networks.MODEL_RATE), max_clips=64)


def build_dataset(
    files: list[Path], cfg: TrainConfig, rng: np.random.Generator, log: Callable[[str], None], deadline: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(clips, labels 0 real / 1 generated, generator name per clip) from real/generated pairs of `files`."""
    clips: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    names: list[str] = []
    for i, path in enumerate(files):
        if time.monotonic() > deadline:
            log(f"  data: time budget reached after {i} files")
            break
        pieces = (
            simulation.excerpts(path, cfg.seconds_per_excerpt, cfg.excerpts_per_file, rng)
            if path.exists()
            else simulation.synthetic_excerpts(i, cfg.seconds_per_excerpt, cfg.excerpts_per_file)
        )
        for x, rate in pieces:
            fake = simulation.random_generator(x, rate, rng)
            real, real_rate = simulation.real_at(x, rate, fake.sample_rate)
            for samples, srate, label, name in (
                (real, real_rate, 0, "real"),
                (fake.samples, fake.sample_rate, 1, fake.decoder),
            ):
                aug_rng = np.random.default_rng(int(rng.integers(1 << 30)))
                y, yrate = simulation.random_augmentation(samples, srate, aug_rng)
                c = _clips(y, yrate)
                clips.append(c)
                labels.append(np.full(len(c), label, dtype=np.float32))
                names.extend([name] * len(c))
        log(f"  data: {i + 1}/{len(files)} files, {sum(len(c) for c in clips)} clips")
    return np.concatenate(clips), np.concatenate(labels), names


def _predict(model: nn.Module, clips: np.ndarray, batch: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(clips), batch):
            out.append(model(torch.from_numpy(clips[start : start + batch])).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train(directory: Path, cfg: TrainConfig, command: str, log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Build the data from `directory`, train the CNN, calibrate it, and write WEIGHTS_FILE and CARD_FILE."""
    started = time.monotonic()
    deadline = started + cfg.time_budget_s
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    files = [f for f in simulation.list_audio(directory) if not simulation.is_held_out(f)]
    if cfg.max_files:
        files = [files[i] for i in np.sort(rng.permutation(len(files))[: cfg.max_files])]
    if not files:
        raise ValueError(f"no training audio under {directory}")
    val_files = files[:: max(2, len(files) // max(1, len(files) // 10))]
    train_files = [f for f in files if f not in val_files]
    log(f"training on {len(train_files)} files, validating on {len(val_files)} (held out of both: the eval's quarter)")
    data_deadline = started + 0.5 * cfg.time_budget_s  # at most half the budget on data
    x_train, y_train, _ = build_dataset(train_files, cfg, rng, log, data_deadline)
    x_val, y_val, val_names = build_dataset(val_files, cfg, rng, log, data_deadline + 0.1 * cfg.time_budget_s)
    log(f"data ready in {time.monotonic() - started:.0f} s: {len(x_train)} train clips, {len(x_val)} validation clips")

    model = networks.ProvenanceCNN()
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    steps_done = 0
    train_start = time.monotonic()
    for step in range(cfg.steps):
        # Progress counts steps or time, whichever runs out first, so the learning rate still anneals
        # to zero when a busy machine stops the run at its time budget.
        progress = max(step / cfg.steps, (time.monotonic() - train_start) / max(1.0, deadline - train_start))
        if progress >= 1.0:
            log(f"time budget reached at step {step}")
            break
        warm = min(1.0, progress / 0.05)
        for group in optimiser.param_groups:
            group["lr"] = cfg.learning_rate * warm * 0.5 * (1 + math.cos(math.pi * progress))
        model.train()
        idx = rng.integers(0, len(x_train), cfg.batch)
        batch = torch.from_numpy(x_train[idx])
        batch = batch * torch.from_numpy(rng.uniform(0.3, 1.0, (cfg.batch, 1)).astype(np.float32))  # level
        loss = loss_fn(model(batch), torch.from_numpy(y_train[idx]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        steps_done = step + 1
        if step % 25 == 0 or step == cfg.steps - 1:
            log(f"step {step + 1}/{cfg.steps} loss {loss.item():.4f} ({time.monotonic() - started:.0f} s)")

    logits = _predict(model, x_val)
    a, b = calibration.fit_logistic(logits, y_val, calibration.balanced_weights(y_val), l2=1e-3)
    val = {
        "clips": len(y_val),
        "accuracy": float(np.mean((logits > 0) == (y_val == 1))),
        "false_positive_rate": float(np.mean(logits[y_val == 0] > 0)),
        "auc": calibration.auc(logits, y_val),
        "recall_by_generator": {
            name: float(np.mean(logits[np.array(val_names) == name] > 0)) for name in sorted(set(val_names) - {"real"})
        },
    }
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS_FILE)
    card = {
        "model": "ProvenanceCNN",
        "weights_sha256": hashlib.sha256(WEIGHTS_FILE.read_bytes()).hexdigest(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": {
            "rate_hz": networks.MODEL_RATE,
            "clip_s": networks.CLIP_SECONDS,
            "n_fft": networks.N_FFT,
            "hop": networks.HOP,
        },
        "calibration": {"a": a, "b": b, "fitted_on": "validation clips, Platt scaling of the clip logit"},
        "command": command,
        "data": {
            "directory": str(directory),
            "train_files": len(train_files),
            "validation_files": len(val_files),
            "train_clips": len(y_train),
        },
        "config": asdict(cfg),
        "steps_done": steps_done,
        "seconds": round(time.monotonic() - started, 1),
        "threads": torch.get_num_threads(),
        "validation": val,
    }
    CARD_FILE.write_text(json.dumps(card, indent=2) + "\n")
    log(f"validation: accuracy {val['accuracy']:.3f}, FPR {val['false_positive_rate']:.3f}, AUC {val['auc']:.3f}")
    return card
