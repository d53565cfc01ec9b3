"""Every signal, fingerprint and matching parameter, with its unit and the reason for its value."""

from __future__ import annotations

# --- Decoding -----------------------------------------------------------------------------------
# All analysis runs on mono audio at this rate (Hz): 11.025 kHz keeps the 0-5.5 kHz band where
# melodic and rhythmic peaks survive phone bands, MP3 and noise, at a quarter of CD-rate cost.
ANALYSIS_SAMPLE_RATE = 11025
# Shorter than this (s) holds too few landmarks to identify anything reliably.
MIN_DURATION_S = 1.0
# Whole-file RMS below this (dBFS) is treated as silence: nothing to fingerprint.
SILENCE_RMS_DBFS = -60.0
# A file whose decoded length falls short of its header's declared length by more than this (s)
# was cut off in transfer.
TRUNCATION_TOLERANCE_S = 0.25

# --- Spectral landmarks (Wang 2003 style constellation pairs) -----------------------------------
ENGINE_VERSION = "landmark-1"
N_FFT = 1024  # samples at ANALYSIS_SAMPLE_RATE: 93 ms window, 10.8 Hz bins
HOP = 256  # samples: 23.2 ms per frame
FRAME_S = HOP / ANALYSIS_SAMPLE_RATE
MIN_BIN = 3  # skip DC and rumble under ~30 Hz
MAX_BIN = 480  # ~5.2 kHz: above that codecs and phone bands remove most energy
PEAK_FREQ_NEIGHBOURHOOD = 15  # bins each side a peak must dominate (~160 Hz)
PEAK_TIME_NEIGHBOURHOOD = 7  # frames each side a peak must dominate (~160 ms)
PEAK_MIN_DB_ABOVE_MEDIAN = 6.0  # dB above the frame's median: ignore flat noise floors
PEAKS_PER_SECOND = 30  # density cap: strongest peaks kept per second of audio
FAN_OUT = 8  # pairs formed per anchor peak
TARGET_MIN_DT = 1  # frames after the anchor where the target zone starts
TARGET_MAX_DT = 63  # frames (~1.5 s): the zone's end; 6 bits in the hash
TARGET_MAX_DF = 127  # bins above or below the anchor; 8 bits in the hash

# --- Landmark index and matching ----------------------------------------------------------------
INDEX_FORMAT_VERSION = 1
# A hash found in more reference postings than this is too common to discriminate; skipped.
MAX_POSTINGS_PER_HASH = 2000
# Offsets within this many frames of each other count as one alignment (timing jitter).
OFFSET_TOLERANCE_FRAMES = 1
# Aligned landmarks further apart than this (s) belong to separate runs; a match reports its
# strongest run, so chance hits elsewhere in a long upload do not stretch its span.
MAX_RUN_GAP_S = 2.5
# A match needs at least this many time-aligned landmark pairs...
MIN_ALIGNED_HASHES = 20
# ...and this many aligned pairs per second of query audio, so long unrelated uploads that
# collect chance coincidences do not cross the absolute floor.
MIN_ALIGNED_PER_SECOND = 0.8
# Confidence = 1 - exp(-(aligned - MIN_ALIGNED_HASHES/2) / CONFIDENCE_SCALE): a monotone map
# from aligned-pair counts to 0..1 (calibrated against measured false positives in the engine).
CONFIDENCE_SCALE = 15.0
