"""Detector registry: name -> module path, imported on first use, so web workers start fast."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

from generation_audit.detectors.base import ERROR, NOT_APPLICABLE, DetectorResult

logger = logging.getLogger(__name__)

# Order is the order findings are listed in. Each module defines NAME, VERSION and detect(path).
DETECTORS: dict[str, str] = {
    "c2pa_manifest": "generation_audit.detectors.c2pa_manifest",
    "metadata_tags": "generation_audit.detectors.metadata_tags",
    "decoder_artifacts": "generation_audit.detectors.decoder_artifacts",
    "learned": "generation_audit.detectors.learned",
}


class DetectorShapeError(TypeError):
    """A registered module does not have the detector shape."""


def load(name: str) -> ModuleType:
    """Import (once) and return the detector module registered under `name`."""
    module = importlib.import_module(DETECTORS[name])
    for attribute in ("NAME", "VERSION", "detect"):
        if not hasattr(module, attribute):
            raise DetectorShapeError(f"detector module {module.__name__} has no {attribute}")
    if module.NAME != name:
        raise DetectorShapeError(f"detector module {module.__name__} calls itself {module.NAME!r}, not {name!r}")
    return module


def is_loaded(name: str) -> bool:
    """Whether the detector's module has been imported in this process (the registry is lazy)."""
    return DETECTORS[name] in sys.modules


def versions(names: list[str] | None = None) -> dict[str, str]:
    """Current VERSION of each detector (importing them)."""
    return {name: load(name).VERSION for name in names or DETECTORS}


def run_one(name: str, path: Path) -> DetectorResult:
    """Run one detector; an exception becomes an ERROR finding, so one broken detector never hides the others."""
    module = load(name)
    try:
        return module.detect(Path(path))
    except Exception as exc:  # any failure is reported as a finding, with its message
        logger.exception("detector %s failed on %s", name, path)
        label = NOT_APPLICABLE if getattr(exc, "code", None) else ERROR
        return DetectorResult(name, module.VERSION, 0.0, label, "", {"error": f"{type(exc).__name__}: {exc}"})


def run_all(path: str | Path, names: list[str] | None = None) -> list[DetectorResult]:
    """Every registered detector (or those in `names`) on the file at `path`, in registry order."""
    return [run_one(name, Path(path)) for name in names or DETECTORS]
