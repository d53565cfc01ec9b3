"""Rerunnable evaluation: real music against the same music through simulated decoders, then degraded.

`eval_provenance` calls `evaluate` and prints `report`. Real excerpts come from the held-out
quarter of a corpus folder (simulation.is_held_out, never seen by training or calibration), or
from catalog.synth when no corpus is given. Each excerpt is decoded by a rotating set of
generators (simulation.TCONV_DECODERS at three artefact levels, latent-quantised codecs,
upsample+convolution, Griffin-Lim, phase vocoder); the real side is kept at its own rate and also
resampled to each generator's rate. Every item then goes through every degradation, and every
signal detector scores it. The decoders' weights are constructed (perfect-reconstruction lapped
transforms) and randomly perturbed, never trained.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from generation_audit import calibration, degradations, simulation

SIGNAL_DETECTORS = ("decoder_artifacts", "learned")
PITCH_DEGRADATIONS = {"pitch_+1st", "pitch_-0.5st"}
COMB_GENERATORS = ("tconv", "codec")  # generator labels whose decoders leave a comb by construction
TARGET_FPR = 0.005  # the calibrated score crosses 0.5 where at most this share of real items would


def generator_plan() -> list[tuple[str, Callable[[np.ndarray, int, int], simulation.Generated]]]:
    """The evaluation's generators, in the order they are dealt out to excerpts: (label, fn(x, rate, seed))."""
    plan: list[tuple[str, Callable[[np.ndarray, int, int], simulation.Generated]]] = []
    levels = list(simulation.ARTEFACT_LEVELS)
    for i in range(len(simulation.TCONV_DECODERS)):
        for level in levels:
            plan.append((f"tconv{i}_{level}", lambda x, r, s, i=i, lv=level: simulation.tconv(x, r, i, lv, s)))
    plan += [
        ("codec_24k", lambda x, r, s: simulation.tconv(x, r, 1, "medium", s, quantize=6)),
        ("codec_44k", lambda x, r, s: simulation.tconv(x, r, 0, "faint", s, quantize=12)),
        ("upconv_44k", lambda x, r, s: simulation.upsample_conv(x, r, 0, "medium", s)),
        ("upconv_24k", lambda x, r, s: simulation.upsample_conv(x, r, 1, "medium", s)),
        ("griffin_lim", lambda x, r, s: simulation.griffin_lim(x, r, 1024, 32, None, s)),
        ("griffin_lim_mel", lambda x, r, s: simulation.griffin_lim(x, r, 2048, 16, 128, s)),
        ("phase_vocoder_mel", lambda x, r, s: simulation.phase_vocoder(x, r, 1024, 80, s)),
    ]
    # Interleave so that any prefix of the plan spans families (tconv configs first, then the others).
    tconv = [p for p in plan if p[0].startswith("tconv")]
    other = [p for p in plan if not p[0].startswith("tconv")]
    mixed: list[tuple[str, Callable[[np.ndarray, int, int], simulation.Generated]]] = []
    while tconv or other:
        mixed.extend(tconv[:3])
        tconv = tconv[3:]
        if other:
            mixed.append(other.pop(0))
    return mixed


@dataclass
class EvalConfig:
    """What to evaluate and how much of it (defaults sized for ~15 minutes on 2 shared cores)."""

    corpus: Path | None = None
    max_files: int = 12
    clip_seconds: float = 20.0
    clips_per_file: int = 1
    generators_per_clip: int = 3
    degradations: tuple[str, ...] = tuple(degradations.DEGRADATIONS)
    detectors: tuple[str, ...] = SIGNAL_DETECTORS
    workers: int = 2
    seed: int = 0
    held_out: bool = True  # False: use the training split instead (the comb calibration fit)


@dataclass
class Row:
    """One detector's score on one item under one degradation."""

    clip: str
    side: str  # real | generated
    generator: str
    level: str
    rate: int
    degradation: str
    detector: str
    score: float
    statistic: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)


def _score(detector: str, samples: np.ndarray, rate: int) -> tuple[float, float]:
    from generation_audit.detectors import registry

    result = registry.load(detector).analyse(samples, rate)
    return result.score, float(result.evidence.get("comb_statistic", math.nan))


def _evaluate_clip(task: tuple[str, np.ndarray, int, list[int], EvalConfig]) -> list[Row]:
    """Every item of one excerpt (real controls and generated versions) under every degradation and detector."""
    import torch

    torch.set_num_threads(1)
    name, x, rate, plan_indices, cfg = task
    plan = generator_plan()
    items: list[tuple[str, str, str, np.ndarray, int]] = [
        ("real", "real_native", "-", *simulation.real_at(x, rate, rate))
    ]
    rates_done = {rate}
    for index in plan_indices:
        label, make = plan[index]
        fake = make(x, rate, cfg.seed + index)
        items.append(("generated", label, fake.level, fake.samples, fake.sample_rate))
        if fake.sample_rate not in rates_done:
            rates_done.add(fake.sample_rate)
            items.append(("real", f"real_{fake.sample_rate}", "-", *simulation.real_at(x, rate, fake.sample_rate)))
    rows: list[Row] = []
    for side, generator, level, samples, srate in items:
        for deg in cfg.degradations:
            y, yrate = degradations.DEGRADATIONS[deg](samples, srate)
            for detector in cfg.detectors:
                score, statistic = _score(detector, y, yrate)
                rows.append(Row(name, side, generator, level, srate, deg, detector, score, statistic))
    return rows


def _tasks(cfg: EvalConfig) -> list[tuple[str, np.ndarray, int, list[int], EvalConfig]]:
    rng = np.random.default_rng(cfg.seed)
    files = simulation.list_audio(cfg.corpus) if cfg.corpus else []
    files = [f for f in files if simulation.is_held_out(f) == cfg.held_out]
    if cfg.max_files and len(files) > cfg.max_files:
        files = [files[i] for i in np.linspace(0, len(files) - 1, cfg.max_files).astype(int)]
    excerpts: list[tuple[str, np.ndarray, int]] = []
    if files:
        for f in files:
            pieces = simulation.excerpts(f, cfg.clip_seconds, cfg.clips_per_file, rng)
            excerpts += [(f"{f.stem}#{k}", x, r) for k, (x, r) in enumerate(pieces)]
    else:
        count = (cfg.max_files or 4) * cfg.clips_per_file
        excerpts = [
            (f"synth{k}", x, r) for k, (x, r) in enumerate(simulation.synthetic_excerpts(7, cfg.clip_seconds, count))
        ]
    n_plan = len(generator_plan())
    tasks = []
    for k, (name, x, r) in enumerate(excerpts):
        indices = [(k * cfg.generators_per_clip + j) % n_plan for j in range(cfg.generators_per_clip)]
        tasks.append((name, x, r, indices, cfg))
    return tasks


def whole_file_statistics(cfg: EvalConfig, log: Callable[[str], None] = lambda m: None) -> dict[str, float]:
    """The comb statistic of each of cfg's real files as the deployed detector reads it: the file as
    delivered, its first decoder_artifacts.MAX_SECONDS (an upload is a whole track, not a 20 s excerpt)."""
    from generation_audit import native_audio
    from generation_audit.detectors import decoder_artifacts

    if cfg.corpus is None:
        return {}
    files = [f for f in simulation.list_audio(cfg.corpus) if simulation.is_held_out(f) == cfg.held_out]
    if cfg.max_files and len(files) > cfg.max_files:
        files = [files[i] for i in np.linspace(0, len(files) - 1, cfg.max_files).astype(int)]
    found = {}
    for i, path in enumerate(files):
        decoded = native_audio.load(path, max_seconds=decoder_artifacts.MAX_SECONDS)
        _, statistic = _score("decoder_artifacts", decoded.samples, decoded.sample_rate)
        found[path.stem] = statistic
        log(f"  whole file {i + 1}/{len(files)}: {path.stem} {statistic:.2f}")
    return found


def whole_file_report(statistics: dict[str, float]) -> str:
    """False positives of the comb on real files read whole, as uploads are: every file over the decision point."""
    from generation_audit.detectors import decoder_artifacts

    over = {stem: v for stem, v in statistics.items() if decoder_artifacts.probability(v) >= 0.5}
    lines = [
        f"\n== decoder_artifacts on whole real files (first {decoder_artifacts.MAX_SECONDS:.0f} s, as uploaded) ==",
        f"  false positives: {len(over)} of {len(statistics)}; largest statistic "
        f"{max(statistics.values(), default=math.nan):.2f}",
    ]
    lines += [f"    {stem}: statistic {v:.2f}" for stem, v in sorted(over.items())]
    return "\n".join(lines)


def evaluate(cfg: EvalConfig, log: Callable[[str], None] = lambda m: None) -> list[Row]:
    """Score every item; rows in a deterministic order."""
    tasks = _tasks(cfg)
    log(f"{len(tasks)} excerpts of {cfg.clip_seconds:.0f} s, {cfg.generators_per_clip} generators each")
    rows: list[Row] = []
    started = time.monotonic()
    if cfg.workers > 1:
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            for i, clip_rows in enumerate(pool.map(_evaluate_clip, tasks)):
                rows += clip_rows
                log(f"  {i + 1}/{len(tasks)} excerpts ({time.monotonic() - started:.0f} s)")
    else:
        for i, task in enumerate(tasks):
            rows += _evaluate_clip(task)
            log(f"  {i + 1}/{len(tasks)} excerpts ({time.monotonic() - started:.0f} s)")
    return rows


def metrics(rows: list[Row], threshold: float = 0.5) -> dict[str, float]:
    """n, accuracy, false-positive rate, true-positive rate and AUC of `rows` (score >= threshold: generated)."""
    scores = np.array([r.score for r in rows])
    labels = np.array([r.side == "generated" for r in rows], dtype=float)
    predicted = scores >= threshold
    real, gen = labels == 0, labels == 1
    return {
        "n_real": int(real.sum()),
        "n_gen": int(gen.sum()),
        "accuracy": float(np.mean(predicted == (labels == 1))) if len(rows) else math.nan,
        "fpr": float(np.mean(predicted[real])) if real.any() else math.nan,
        "tpr": float(np.mean(predicted[gen])) if gen.any() else math.nan,
        "auc": calibration.auc(scores, labels),
    }


def _fmt(m: dict[str, float]) -> str:
    return (
        f"{m['n_real']:6d} {m['n_gen']:6d} {m['accuracy'] * 100:7.2f} {m['fpr'] * 100:7.2f} "
        f"{m['tpr'] * 100:7.2f} {m['auc']:7.4f}"
    )


def _table(rows: list[Row], degradation_names: list[str], title: str) -> list[str]:
    lines = [
        f"  {title}",
        f"  {'degradation':20s} {'n_real':>6s} {'n_gen':>6s} {'acc':>7s} {'FPR':>7s} {'TPR':>7s} {'AUC':>7s}",
    ]
    for deg in degradation_names:
        lines.append(f"  {deg:20s} " + _fmt(metrics([r for r in rows if r.degradation == deg])))
    pooled = [r for r in rows if r.degradation not in PITCH_DEGRADATIONS]
    lines.append(f"  {'all but pitch':20s} " + _fmt(metrics(pooled)))
    return lines


def _counts(rows: list[Row], key: Callable[[Row], str], title: str) -> list[str]:
    lines = [f"  {title}"]
    for value in sorted({key(r) for r in rows}):
        hits = [r.score >= 0.5 for r in rows if key(r) == value]
        lines.append(f"    {value:28s} {sum(hits):4d}/{len(hits):<4d}")
    return lines


def verdict_rows(rows: list[Row]) -> list[Row]:
    """Rows of the deployed decision: the comb and learned scores of each item combined by
    generation_audit.verdict, as run_provenance combines them (there are no manifests or tags here)."""
    from generation_audit import verdict
    from generation_audit.detectors.base import AI_GENERATED, MODERATE, NO_EVIDENCE, STRONG

    strengths = {"decoder_artifacts": STRONG, "learned": MODERATE}
    items: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        if row.detector in strengths:
            key = (row.clip, row.side, row.generator, row.level, row.rate, row.degradation)
            items.setdefault(key, []).append(row)
    out = []
    for key, found in items.items():
        findings = [
            SimpleNamespace(
                detector=r.detector,
                score=r.score,
                label=AI_GENERATED if r.score >= 0.5 else NO_EVIDENCE,
                strength=strengths[r.detector],
                evidence={},
            )
            for r in found
        ]
        out.append(Row(*key, detector="verdict", score=verdict.combine(findings).score))
    return out


def report(rows: list[Row], cfg: EvalConfig) -> str:
    """The printed evaluation: per detector, per degradation, then recall per generator and artefact
    level; then the combined verdict (generation_audit.verdict) when both signal detectors ran."""
    lines = []
    degradation_names = [d for d in cfg.degradations if any(r.degradation == d for r in rows)]
    detectors = list(cfg.detectors)
    if {"decoder_artifacts", "learned"} <= set(detectors):
        rows = rows + verdict_rows(rows)
        detectors.append("verdict")
    for detector in detectors:
        mine = [r for r in rows if r.detector == detector]
        if not mine:
            continue
        comb_side = [r for r in mine if r.side == "real" or r.generator.startswith(COMB_GENERATORS)]
        pooled = [r for r in mine if r.degradation not in PITCH_DEGRADATIONS]
        lines.append(f"\n== {detector} ==  (score >= 0.5 means generated; accuracy, FPR, TPR in %)")
        lines += _table(
            comb_side, degradation_names, "real vs transposed-convolution decoders (incl. latent-quantised):"
        )
        lines += _table(mine, degradation_names, "real vs every generator family:")
        clean = [r for r in mine if r.degradation == "none" and r.side == "generated"]
        lines += _counts(clean, lambda r: r.generator, "recall by generator, undegraded:")
        lines += _counts(
            [r for r in pooled if r.side == "real"],
            lambda r: r.generator,
            "false positives by real delivery rate, all but pitch:",
        )
        tconv = [r for r in pooled if r.side == "generated" and r.generator.startswith("tconv")]
        lines += _counts(tconv, lambda r: r.level, "transposed-conv recall by artefact level, all but pitch:")
    return "\n".join(lines)


def fit_comb_calibration(rows: list[Row], whole_files: dict[str, float] | None = None) -> dict[str, Any]:
    """Logistic P(generated | comb statistic) on log1p(statistic), anchored to a false-positive budget.

    Fit on real items against transposed-convolution and codec items (the decoders that leave a
    comb; Griffin-Lim and vocoders are the learned detector's), pitch shifts left out since they
    move the comb off the grid. The slope comes from a class-balanced fit; the intercept is then
    moved so that the score crosses 0.5 at the (1 - TARGET_FPR) quantile of a Gumbel law fitted to
    each real excerpt's largest statistic over all its deliveries and degradations. Items of one
    excerpt are strongly correlated (one looped synth line or codec periodicity lifts them all), so
    the budget is set per excerpt, and the statistic, a maximum over spacings, has an extreme-value
    tail. `whole_files` (file stem -> statistic over the whole file, see whole_file_statistics) joins
    each file's excerpt: a file's largest statistic is over its excerpt's deliveries and the whole
    file as uploaded. The score is the posterior under the (stated) prior odds that this operating
    point implies.
    """
    use = [r for r in rows if r.detector == "decoder_artifacts" and r.degradation not in PITCH_DEGRADATIONS]
    use = [
        r for r in use if not math.isnan(r.statistic) and (r.side == "real" or r.generator.startswith(COMB_GENERATORS))
    ]
    x = np.log1p(np.maximum(np.array([r.statistic for r in use]), 0.0))
    y = np.array([r.side == "generated" for r in use], dtype=float)
    a, b_balanced = calibration.fit_logistic(x, y, calibration.balanced_weights(y))
    per_excerpt: dict[str, float] = {}
    for r in use:
        if r.side == "real":
            per_excerpt[r.clip] = max(per_excerpt.get(r.clip, -math.inf), r.statistic)
    for stem, statistic in (whole_files or {}).items():
        clip = next((c for c in per_excerpt if c.split("#")[0] == stem), f"{stem}#whole")
        per_excerpt[clip] = max(per_excerpt.get(clip, -math.inf), statistic)
    maxima = np.array(list(per_excerpt.values()))
    decision = calibration.gumbel_quantile(maxima, 1 - TARGET_FPR)
    anchor = math.log1p(max(decision, 0.0))
    b = -a * anchor
    return {
        "feature": "log1p(max(statistic, 0))",
        "coef": a,
        "intercept": b,
        "decision_statistic": round(float(decision), 3),
        "prior_odds_generated": round(float(np.exp(b - b_balanced)), 5),
        "balanced_intercept": b_balanced,
        "real_excerpt_maxima": sorted(round(float(v), 3) for v in maxima),
        "fitted_on": (
            f"{int((y == 0).sum())} real items from {len(maxima)} excerpts and {int((y == 1).sum())} transposed-conv/"
            f"codec items, training-split files, all degradations but pitch shifts"
            + (f", and {len(whole_files)} of the files whole (first 180 s)" if whole_files else "")
            + f"; slope from a class-balanced logistic fit; 0.5 placed at the {1 - TARGET_FPR:.1%} quantile of a "
            "Gumbel fit to each file's largest real statistic"
        ),
    }
