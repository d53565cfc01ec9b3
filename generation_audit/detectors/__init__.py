"""AI-provenance detectors: one module each, same shape (NAME, VERSION, detect(path) -> DetectorResult).

Loaded lazily through `registry`, so importing this package costs nothing (no torch, no c2pa).
"""
