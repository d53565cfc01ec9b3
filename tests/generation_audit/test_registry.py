from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from generation_audit.detectors import registry
from generation_audit.detectors.base import ERROR, DetectorResult

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_registry_loads_no_detector_and_no_heavy_library() -> None:
    # A fresh interpreter: other tests in this process have already imported the detectors.
    script = (
        "import json, sys\n"
        "from generation_audit.detectors import registry\n"
        "before = {n: registry.is_loaded(n) for n in registry.DETECTORS}\n"
        "heavy_before = [m for m in ('torch', 'c2pa') if m in sys.modules]\n"
        "registry.load('metadata_tags')\n"
        "after = {n: registry.is_loaded(n) for n in registry.DETECTORS}\n"
        "print(json.dumps([before, heavy_before, after, 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    before, heavy_before, after, torch_after = json.loads(out.stdout)

    assert not any(before.values())
    assert heavy_before == []
    assert after == {name: name == "metadata_tags" for name in registry.DETECTORS}
    assert torch_after is False


def test_every_registered_module_has_the_detector_shape() -> None:
    for name in registry.DETECTORS:
        module = registry.load(name)
        assert module.NAME == name
        assert isinstance(module.VERSION, str) and module.VERSION
        assert callable(module.detect)


def test_a_failing_detector_becomes_an_error_finding_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def explode(path: Path) -> DetectorResult:
        raise RuntimeError("boom")

    broken = SimpleNamespace(NAME="broken", VERSION="0", detect=explode)
    fine = SimpleNamespace(
        NAME="fine", VERSION="1", detect=lambda path: DetectorResult("fine", "1", 0.1, "no_evidence", "weak")
    )
    monkeypatch.setattr(registry, "DETECTORS", {"broken": "x.broken", "fine": "x.fine"})
    monkeypatch.setattr(registry.importlib, "import_module", {"x.broken": broken, "x.fine": fine}.__getitem__)

    results = registry.run_all(tmp_path / "any.wav")

    assert [r.detector for r in results] == ["broken", "fine"]
    assert results[0].label == ERROR
    assert "boom" in results[0].evidence["error"]
    assert results[1].score == 0.1
