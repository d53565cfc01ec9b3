"""Every signal, fingerprint and matching parameter, with its unit and the reason for its value."""

from __future__ import annotations

from dataclasses import dataclass

# --- Decoding -----------------------------------------------------------------------------------
# All analysis runs on mono audio at this rate (Hz): 11.025 kHz keeps the 0-5.5 kHz band where
# melodic and rhythmic peaks survive phone bands, MP3 and noise, at a quarter of CD-rate cost.
ANALYSIS_SAMPLE_RATE = 11025
# Shorter than this (s) holds too few landmarks to identify anything reliably.
MIN_DURATION_S = 1.0
# Whole-file RMS below this (dBFS) is treated as silence: nothing to fingerprint. Low enough for an
# unnormalised quiet recording (music 45 dB down, at -65 dBFS, is identified as well as at full level;
# -60 refused it), high enough that 16-bit dither alone (about -98 dBFS) is still silence.
SILENCE_RMS_DBFS = -80.0
# A file whose decoded length falls short of its header's declared length by more than this (s)
# was cut off in transfer.
TRUNCATION_TOLERANCE_S = 0.25

# --- Spectral landmarks: pitch- and tempo-invariant peak triplets -------------------------------
ENGINE_VERSION = "triplet-1"
N_FFT = 1024  # samples at ANALYSIS_SAMPLE_RATE: 93 ms window, 10.8 Hz bins
HOP = 256  # samples: 23.2 ms per frame
FRAME_S = HOP / ANALYSIS_SAMPLE_RATE
# The log-frequency axis peaks are picked on (Hz): 130 Hz (C3) keeps bass notes out, where a 93 ms
# window cannot resolve semitones; 4.8 kHz stays under what codecs and phone bands leave.
LOG_FMIN_HZ = 130.0
LOG_FMAX_HZ = 4800.0
BANDS_PER_SEMITONE = 3  # log-frequency resolution: a pitch shift moves peaks by whole bands
PEAK_PITCH_NEIGHBOURHOOD_ST = 4.0  # semitones each side a peak must dominate (same at every pitch)
PEAK_TIME_NEIGHBOURHOOD = 5  # frames each side a peak must dominate (~116 ms)
PEAK_MIN_DB_ABOVE_MEDIAN = 6.0  # dB above the frame's median: ignore flat noise floors
PEAKS_PER_SECOND = 36  # density cap: strongest peaks kept per second of audio...
PEAK_BUDGET_BLOCK_S = 2.0  # ...counted per block of this many seconds, so quiet passages keep theirs
TRIPLET_TARGETS = 5  # later peaks considered per anchor; every pair of them forms a triplet (up to 6)
TARGETS_PER_INSTANT = 2  # targets taken from peaks within TRIPLET_MIN_GAP frames of each other
TARGET_MIN_DT = 1  # frames after the anchor where the target zone starts
TARGET_MAX_DT = 64  # frames (~1.5 s): the zone's end; slow, sparse music needs the reach
TARGET_MAX_DF_ST = 18.0  # semitones above or below the anchor
TRIPLET_MIN_GAP = 2  # frames between the two targets: a time ratio needs two distinct intervals
TRIPLET_MIN_SPAN = 4.0  # frames from anchor to last target: shorter spans give too coarse a ratio
# Hash quantisers. Steps are wide enough that peak-position jitter (about 0.1 semitone, 0.3 frame)
# rarely crosses a boundary; the query looks up both sides when it is within the margin of one.
HASH_DF_STEP_ST = 1.5  # semitones per pitch-difference bucket
HASH_DF_MARGIN = 0.2  # of a step: query jitter tolerance for pitch differences
HASH_RATIO_LEVELS = 16  # buckets for the time ratio (0..1)
HASH_RATIO_MARGIN = 0.35  # of a step: query jitter tolerance for the time ratio
HASH_PITCH_BAND_ST = 8.0  # semitones per coarse anchor-pitch band (context that adds 3 bits)
HASH_LOG_SPAN_STEP = 0.5  # natural-log units per coarse span band (a factor of 1.65)
# The transformations a query is searched under: pitch +-3 semitones and tempo/speed +-12 %
# (the peers survive none of these; wider ranges cost lookups and chance candidates).
MAX_PITCH_SHIFT_ST = 3.0
MAX_TEMPO_FACTOR = 1.12
# A query that nothing matches is first searched again within the covered range with denser query
# triplets: each anchor's TRIPLET_TARGETS nearest later peaks become this many (reference triplets
# are unchanged), so a reference triplet whose middle peak is masked in the query, or displaced by
# a noise peak, can still be formed from the anchor's further peaks (the classic asymmetric density
# of audfprint and Shazam). It finds noisy copies whose triplets the sparse query missed, and as many
# chance alignments: public out-of-catalogue queries reached 12-14 aligned triplets at 9 targets,
# over the 8 and 12 a match needs. So a match from this search stands only where the segment
# embeddings independently placed the query at the same reference and offset (matching.at_hint):
# every one of the 12 public copies it found was, and none of the 5 chance alignments. It must also
# be untransformed, as at a guided offset (matching._guided): in the replication screen, whose many
# windows give chance far more tries than a bench suite, the denser search put a host passage at a
# hint on a line at tempo 0.89 and 0.3 semitones down (17 triplets), a false positive. And it must
# score at least DENSE_MIN_SCORE, as many as a transformed match needs: on the calibration suite one
# chance alignment of 9 triplets also sat at a hint (an out-of-catalogue orchestral track against
# another of its composer's). Found: public suite 500 -> 507 of 532 (3 more, pitched or at tempo
# 0.98, had the transformed lines allowed), calibration suite 1502 -> 1512 of 1584, no
# out-of-catalogue answer on either (at 12 targets one public query fewer than at 9). Only unmatched
# queries pay for it: their median time went from 100 to 156 ms (calibration suite, one thread).
# The replication screen, whose windows mostly match nothing, pays the most: a median 1.2 s an
# output. Aligning only the hinted references, or only at the hints, was tried and changed answers:
# a reference aligned alone is no longer rescued at its hint by the guided count (a calibration copy
# lost), and guided counts alone let an out-of-catalogue query through at 28 on the calibration suite.
DENSE_TRIPLET_TARGETS = 9
DENSE_MIN_SCORE = 12.0
# In a stretch longer than this (s) the denser searches look up only the hinted references' postings,
# since only a match at a hint may stand: over 120 s those searches gathered 1.3 GB of postings for
# every reference when nothing in the stretch was catalogued. Shorter queries search every reference,
# as above: a hinted reference can then score at its hint through the guided count, which a
# reference ranked for alignment among the hinted ones alone does not get.
DENSE_HINTED_ONLY_MIN_S = 30.0
# When that denser search finds nothing the embeddings corroborate, it is run once more on denser
# peaks: local maxima over +-DENSE_PEAK_PITCH_NEIGHBOURHOOD_ST semitones and +-DENSE_PEAK_TIME_NEIGHBOURHOOD
# frames instead of 4 and 5, up to DENSE_PEAKS_PER_SECOND. Under speech or noise a reference peak is
# often no longer the largest in its query neighbourhood (a louder noise peak sits within 4 semitones or
# 116 ms of it) though it still stands out locally; a smaller neighbourhood keeps it. The same rules
# decide (corroborated_matches), except that the embeddings' placement must be firm: at least
# FIRM_HINT_MIN_SEGMENTS query segments, and FIRM_HINT_MIN_FRACTION of them, agree on it. More peaks
# give chance more alignments: at any hint, the calibration suite's 300 out-of-catalogue queries gave
# one answer (15.5 triplets over 1.1 s of a 3 s query, at a placement 2 of its 5 segments agreed on,
# no more than on another reference), while every copy found had 3 of 5 or more (3 s) and at least
# half of its segments. Found: public suite 503 -> 506 of 528 (babble 0 dB 13 -> 15, pink 0 dB
# 19 -> 20), calibration suite 1512 -> 1520 of 1584 (babble 0 dB 30 -> 36, 5 dB 57 -> 59), no new
# out-of-catalogue answer on either (this build of the public suite draws 4 of them from warzone2100-menu,
# whose catalogued "enhanced" version holds the same audio at the same times: answered before and after).
# Replacing the second pass's peaks by these instead of adding a third pass lost two copies the
# standard peaks find (public 504), and neighbourhoods of 4 frames x 3 semitones (503) or 3 frames x 2
# semitones (502) found fewer.
DENSE_PEAK_PITCH_NEIGHBOURHOOD_ST = 3.0
DENSE_PEAK_TIME_NEIGHBOURHOOD = 3
DENSE_PEAKS_PER_SECOND = 60
FIRM_HINT_MIN_SEGMENTS = 3
FIRM_HINT_MIN_FRACTION = 0.5
# A query that neither search matches is searched once more by the landmarks over a wider range
# of pitch and tempo (actions.decided_alignments): +4 semitone copies were found there (6 of 6 public 5 s
# queries, against 0 within the range), while searching every query this wide lost more noisy
# queries to chance candidates than it gained (calibration suite: 3 babble-0 dB and one 3 s pitch +2
# queries) and cost 10-15 % more query time. The wide search costs an unmatched query about 45 ms
# (62 -> 107 ms on the public out-of-catalogue queries, one thread); aligning fewer of its
# candidates saves little of that (4 instead of 12: 7 ms) and lost one of the six.
# Its tempo reaches 1.35 either way (was 1.16) for "sped-up" and "slowed" versions, the commonest
# edits of a song on short-video platforms: played 15-30 % faster or slower (speed: pitch and tempo
# together, up to +-5 semitones at 1.35) or time-stretched. On a suite of such queries (speed -25,
# -20, -15, +15, +20, +25, +30 %, 8 each of 3, 5 and 10 s) it found 126 of 168 against 56, 55 of
# the 56 at 10 s; the public and calibration suites gave the same answers to every query (no new
# out-of-catalogue answer in 300 + 48 + 48 + 48), and a wider pitch range (5.5) found no more.
WIDE_PITCH_SHIFT_ST = 5.0
WIDE_TEMPO_FACTOR = 1.35
# A match only the wide search finds must score at least this (fused score: aligned triplets plus
# weighted embedding evidence; the covered range asks 8 untransformed, 12 transformed). Chance has
# far more room to line up there: in the replication screen's windows it passed a +5.1 semitone
# alignment of 13 triplets and an untransformed one of 9. Pitched copies it exists for score 26-105
# (public 5 s queries at +4 semitones).
WIDE_MIN_SCORE = 20.0
# A query the wide search does not match either is searched once more at each of these speeds, played
# back at up/down of its own (resampled, as a record at another speed): the first search, landmarks and
# segment embeddings both, on the query slowed back from 25 % faster or sped back up from 20 % slower.
# The wide search reaches sped-up and slowed copies by landmarks alone, but on 3-5 s of them the
# landmarks rarely find enough, and the embedder (trained within +-2 semitones and +-10 %) cannot
# help: played back at the right speed the copy sits inside the covered range, where both engines
# work. Each speed covers the covered range around it (a query 11-40 % faster, 10-29 % slower). The
# residual of a pure speed change is as much pitch as tempo, at most 2 semitones, but searching only
# that (+-2 instead of +-3) lost 2 of 24 breadth-suite queries slowed 20 % with reverb for about 10 %
# less time. A match found so must score at least WIDE_MIN_SCORE (its look-elsewhere effect is the
# wide search's), and embeddings alone are not enough (their pitch and tempo could not be read from
# the audio, see actions.refine_transforms). On a suite of speed -25, -20, -15, +15, +20, +25 and
# +30 % queries (8 each of 3, 5 and 10 s) it found 163 of 168 against 126, with no new
# out-of-catalogue answer there or on the calibration suite (300); at the covered range's own floor
# (8 triplets) the calibration suite gave one (an out-of-catalogue track at exactly 8). Only queries
# nothing else matches pay, but they pay: an out-of-catalogue 3-10 s query took about 250 ms before
# and 350-430 ms with it (2 cores); the public suite's mean query time went from 64 to 82 ms.
SPEED_COMPENSATIONS = ((5, 4), (4, 5))


@dataclass(frozen=True)
class SearchRange:
    """The transformations a landmark search covers: pitch +-`pitch_st` semitones, tempo and speed
    between 1 / `tempo_factor` and `tempo_factor`."""

    pitch_st: float
    tempo_factor: float


COVERED = SearchRange(MAX_PITCH_SHIFT_ST, MAX_TEMPO_FACTOR)
WIDE = SearchRange(WIDE_PITCH_SHIFT_ST, WIDE_TEMPO_FACTOR)
PITCH_STORE_STEPS = 64  # stored anchor pitch resolution: 1/64 semitone (uint16)

# --- Landmark index and matching ----------------------------------------------------------------
INDEX_FORMAT_VERSION = 2
# A hash found in more reference postings than this is too common to discriminate; skipped.
MAX_POSTINGS_PER_HASH = 2000
# A lookup that would gather more postings than this drops its most common hashes, commonest first,
# until the rest fit (all query hashes with one posting count stand or fall together): matching
# holds 40-60 bytes a posting, and the engine's 2**20 hash values mean a catalogue k times larger
# gives every lookup about k times the postings (bench_identify --landmark-decoys). The commonest
# hashes say least about which recording it is. 6 M is above what any public or breadth query, or
# a long upload's first search of a 120 s stretch (about 45,000 a second), gathers today.
MAX_POSTINGS_PER_LOOKUP = 6_000_000
# References whose weighted hits at one coarse offset are among this many best are aligned in detail.
MAX_CANDIDATES = 12
# Those offsets are reference - query time in cells of this many seconds, counted in pairs of
# neighbours: a pair holds the drift of a 10 s query at MAX_TEMPO_FACTOR (1.2 s).
CANDIDATE_OFFSET_CELL_S = 2.0
# ...and, in a query longer than a window, those among the best few of any window (windows overlap
# by half): in a long upload a short catalogue passage has fewer hashes than long references' chance
# hits over the whole upload, but it dominates its own window.
CANDIDATE_WINDOW_S = 30.0
MAX_WINDOW_CANDIDATES = 4
MAX_TOTAL_CANDIDATES = 200  # however long the upload: each candidate costs one detailed alignment
# A query longer than this (s) is matched in stretches of this length overlapping by
# QUERY_CHUNK_OVERLAP_S, whose matches are then joined (matching.join_pieces): the landmark search
# holds every posting of its query at once, about 45,000 per second of audio, and a 23-minute
# upload took 8.1 GB and 42 s whole (a two-hour one, the upload limit, would not fit in memory).
# A match no longer than the overlap lies whole in one stretch.
QUERY_CHUNK_S = 120.0
QUERY_CHUNK_OVERLAP_S = 20.0
# A reference's postings spanning more of the query than this (s) are also aligned at the pitch most
# supported at their strongest offset (matching._align_one): in a 240 s upload, 10 s of a recording
# played 10 % fast lost its +1.65 semitones to the chance postings of the other 230 s, and 3 of 7
# such excerpts were found (bench_long_uploads). Queries of 3-10 s answer as before.
LOCAL_PITCH_MIN_SPAN_S = 30.0
# The tempo grid searched by alignment: reference time = tempo * query time + offset.
TEMPO_GRID_STEP = 0.004
# Offsets within this many frames of the fitted line count as aligned (timing jitter).
OFFSET_TOLERANCE_FRAMES = 1.5
# Aligned anchors must agree on the pitch shift within this many semitones.
PITCH_TOLERANCE_ST = 0.5
# Aligned landmarks further apart than this (s) belong to separate runs; a match reports its
# strongest run, so chance hits elsewhere in a long upload do not stretch its span.
MAX_RUN_GAP_S = 2.5
# A match's aligned triplets must spread over at least this much of the query (s).
MIN_MATCH_SPAN_S = 1.0
# A match needs at least this many time-aligned triplets...
MIN_ALIGNED_HASHES = 8
# ...or this many when the match is pitch-shifted or time-scaled (beyond the tolerances below):
# chance has the whole pitch/tempo search to line up in, not only the identity.
MIN_ALIGNED_TRANSFORMED = 12
IDENTITY_TEMPO_TOLERANCE = 0.01
IDENTITY_PITCH_TOLERANCE_ST = 0.15
# ...and this many aligned triplets per second of matched span, so long unrelated uploads that
# collect chance coincidences do not cross the absolute floor.
MIN_ALIGNED_PER_SECOND = 0.8
# A match mostly inside (this fraction of its span) a stronger match's span, scoring under this
# fraction of it, is an echo of a similar recording, not a second use (see matching.decide).
ECHO_MIN_OVERLAP = 0.5
ECHO_MAX_SCORE_RATIO = 0.25
# An embeddings-only match that another recording's embeddings-only match over the same stretch scores
# at least this fraction of is dropped, and so is its rival (matching.decide): the vectors found music
# that sounds like both. A breadth-suite query (3 s of a Wesnoth track slowed 20 % with reverb) was
# answered with one of two orchestral Wesnoth tracks at 11.5 against 11.0; the rule removes that wrong
# answer and changed no other on the public (576), calibration (1,884) and breadth (600) suites.
AMBIGUOUS_EMBEDDING_RATIO = 0.8
# Confidence = 1 - exp(-(aligned - MIN_ALIGNED_HASHES/2) / CONFIDENCE_SCALE): a monotone map
# from aligned counts to 0..1 (calibrated against measured false positives on the benchmark).
CONFIDENCE_SCALE = 10.0

# --- Fusion of landmark and embedding evidence --------------------------------------------------
# Neighbours searched per query segment in the vector index.
EMBED_SEARCH_K = 10
# A reference segment votes for a query segment only when at least this similar (cosine).
EMBED_MIN_SIMILARITY = 0.75
# Embedding evidence counts only when at least this many query segments, and this fraction of all
# of them, agree on one reference and offset: similar-sounding music agrees in places (a synthetic
# piece in a registered artist's sound: up to 45 % of its segments), the same recording for most of
# the query.
EMBED_MIN_SEGMENTS = 3
EMBED_MIN_FRACTION = 0.5
# Query segments agreeing on one offset count this much each toward a landmark-scale score:
# fused score = landmark triplets aligned + EMBED_SEGMENT_WEIGHT * summed segment similarity.
# Similarity, fraction and weight are chosen for the shipped embedder by `calibrate_fusion` on a
# calibration suite of its own (make_queries.py --per-cell 24 --ooc-per-length 100 --seed 7: 1,584
# in-catalogue and 300 out-of-catalogue queries, other held-out tracks than the public suite's):
# the most correct answers with no out-of-catalogue answer, a wrong-recording rate under 1 %, the
# settings one step either side in fraction and weight as safe, and no lower a fraction or
# similarity than synthetic sound-alikes need (fusion_calibration.STYLE_ALIKE_MIN_FRACTION and
# _SIMILARITY). With the 2026-12-07 weights 0.75 / 0.5 / 3.5 finds 93.1 % (0.65 / 0.5 / 3.0 would
# find 96.1 % with no out-of-catalogue answer, but reports one synthetic piece as another).
EMBED_SEGMENT_WEIGHT = 3.5
# Offsets from the two engines within this (s) describe the same alignment.
FUSION_OFFSET_TOLERANCE_S = 1.0
# Fewer agreeing segments than EMBED_MIN_FRACTION still count when the landmarks' alignment with
# the same reference puts it at the same offset (FUSION_OFFSET_TOLERANCE_S) on an untransformed
# line: two engines that share no features agreeing on one reference and one offset by chance is
# rare, and noise transforms nothing, while music that only sounds alike lines up under some pitch
# shift or tempo. Noise drowns both engines' evidence at once, so at 0-5 dB SNR a true copy often
# keeps a few triplets and a third of its segments, neither enough alone. The landmark side needs
# this share of the triplets a match of its own needs (Alignment.needed: 8 untransformed): at a
# guided offset (GUIDED_WINDOW_S) other references on the public suite kept 3 such triplets at
# most, true copies under 0-5 dB noise mostly 9-31. The fused score must still pass the landmark
# match rule (matching.Alignment.is_match).
EMBED_CORROBORATED_MIN_SEGMENTS = 2
EMBED_CORROBORATING_SHARE = 0.75
# The references the segment embeddings place best (this many, each with at least
# EMBED_CORROBORATED_MIN_SEGMENTS agreeing segments counted at GUIDED_HINT_MIN_SIMILARITY) are also
# aligned by landmarks within GUIDED_WINDOW_S (at tempo 1) of the embeddings' offset
# (matching._guided). On the public suite a true copy under 0-5 dB noise kept 9-31 aligned
# triplets there while unranked or aligned by chance elsewhere; other references at such a hint
# kept 3 at most on an untransformed line. A hint is only a place to look, so it may come from
# weaker neighbours than evidence does: at 0.6 and 8 hints the calibration suite found 94.8 %
# (0.75 and 4: 94.1 %; none: 93.1 %) with no new wrong or out-of-catalogue answer, and 0.5 with 12
# added one query more on the public suite.
GUIDED_HINTS = 8
GUIDED_HINT_MIN_SIMILARITY = 0.6
GUIDED_WINDOW_S = 1.0
# Embedding evidence at another offset than the landmarks' best alignment with the same reference
# replaces it only when this fraction of the query's segments agree (and it scores more): a
# pitch-shifted or noisy copy keeps a few chance triplets elsewhere in its reference (a -2 semitone
# query: 14 of 18 segments at 190 s, one triplet at 21 s), music that only sounds alike agrees on
# up to 45 % (fusion_calibration.STYLE_ALIKE_MIN_FRACTION).
EMBED_OVERRULE_FRACTION = 0.6

# --- Neural embeddings ---------------------------------------------------------------------------
# Learned fingerprints (NAFP style, Chang et al. 2021): one vector per short overlapping patch.
# A patch spans this much audio (s): long enough to hold a melodic/rhythmic gesture, short enough
# that a 5 s query still yields several patches to align.
EMBED_PATCH_S = 1.0
# Patches start every EMBED_HOP_S (s), rounded to the nearest STFT frame so that overlapping
# patches share one spectrogram: a query lands at most a quarter patch from a reference patch,
# which training covers with a +/-0.25 s random shift.
EMBED_HOP_S = 0.5
# Query patches start this often (s), more densely than reference patches: with both at EMBED_HOP_S
# every query patch sits the same distance (up to a quarter patch) from its reference patch, and a
# short query whose start falls between two reference patches is matched only by poorly aligned
# patches. At 0.1 s some query patch in every EMBED_HOP_S slot lies within 0.05 s of a reference
# patch; each slot votes once, with its best patch (matching.segment_alignments), so scores keep
# the reference hop's scale. Costs 5x the query's (small) embedding work; references are unchanged.
EMBED_QUERY_HOP_S = 0.1
# ...for queries up to this long (s). A longer upload already has many slots to agree, and would pay
# five times the embedding and search work (an hour: ~30 s more CPU); it uses the reference hop.
DENSE_QUERY_MAX_S = 60.0
# STFT of the embedding front end (samples at ANALYSIS_SAMPLE_RATE): 93 ms Hann window, 23.2 ms
# hop. Kept separate from N_FFT/HOP so landmark tuning cannot silently change trained embeddings.
EMBED_N_FFT = 1024
EMBED_HOP = 256
# STFT frames per patch, the whole frames that fit EMBED_PATCH_S: 40, i.e. (40 - 1) * 256 + 1024
# = 11008 samples, 0.998 s at 11.025 kHz.
EMBED_N_FRAMES = round((EMBED_PATCH_S * ANALYSIS_SAMPLE_RATE - EMBED_N_FFT) / EMBED_HOP) + 1
# Log-frequency bands: triangular bands every 1/3 semitone, so a pitch shift of k semitones moves
# the patch by 3k bands (pitch augmentation and pitch-tolerant matching become band shifts).
EMBED_BANDS_PER_OCTAVE = 36
# Lowest band centre (Hz): below ~180 Hz a 10.8 Hz STFT bin is wider than a semitone, so bands
# there only interpolate between bins; and bass is what phone speakers and rooms lose first.
EMBED_FMIN_HZ = 150.0
# 5 octaves of bands: centres from 150 Hz to 4.7 kHz (top band's centre; EMBED_FMAX_HZ is the
# next centre, the top band's upper edge), inside the band that MP3, Opus and phones keep.
EMBED_N_BANDS = 180
EMBED_FMAX_HZ = EMBED_FMIN_HZ * 2 ** (EMBED_N_BANDS / EMBED_BANDS_PER_OCTAVE)  # 4800 Hz
# Per-patch dynamic range (dB): band levels more than this below the patch's loudest band are
# clamped, so noise floors and digital silence do not dominate the per-patch normalisation.
EMBED_DB_RANGE = 80.0
# Embedding size (float32 values): 64 x 4 bytes x 2 patches/s = 1.8 MB per hour of reference
# audio, well under the 10 MB/hour index budget (128 would still fit, at twice the memory and
# search cost).
EMBEDDING_DIM = 64

# --- Vector index (FAISS) -----------------------------------------------------------------------
# Bumped whenever the files of a vector-index generation change shape; a mismatch asks for a rebuild.
VECTOR_INDEX_FORMAT_VERSION = 1
# A faiss id packs (reference id << VECTOR_ID_SEGMENT_BITS) | segment index into one non-negative
# int64: 20 bits hold 1,048,576 segments per reference (145 h at 2 segments/s, far past the 2 h
# upload cap) and leave 43 bits (8.8e12) for reference ids.
VECTOR_ID_SEGMENT_BITS = 20
# Layout thresholds (vectors). Below this, exact search (flat inner product): n * dim multiply-adds
# per query (12.8 M at 200k x 64, a few ms on one core), no training, exact scores. Above it that
# cost grows linearly with the catalogue, so an inverted file (IVF) scans only nprobe of its lists.
VECTOR_IVF_MIN_VECTORS = 200_000
# IVF with 8-bit scalar-quantised codes from here: float32 codes take 4 * dim bytes a vector
# (0.5 GB at 2M x 64); SQ8 takes dim bytes, 4x less, for a few points of recall@10 (bench_scale:
# 0.97 at 5M) and no loss on near-duplicate queries. Every write rewrites the index file, so
# bytes are also write time.
VECTOR_SQ8_MIN_VECTORS = 2_000_000
# IVF-PQ from here (50M vectors ~ 6,900 h of audio): dim / VECTOR_PQ_DIMS_PER_CODE bytes a vector,
# 40 B with its id against SQ8's 72 B at dim 64 (2.0 vs 3.6 GB at 50M), so 200M+ still fits one
# host or GPU. It costs recall and buys no speed: on bench_scale at 20M, PQ gave recall@10 0.79
# at 23 ms a query against SQ8's 0.96 at 9 ms (the source segment in the top 10 for both: 0.999);
# so it waits until memory forces it. HNSW was not taken: it cannot remove vectors (catalogues
# take references down) and its graph costs more memory per vector than the SQ8 codes themselves.
VECTOR_PQ_MIN_VECTORS = 50_000_000
# nlist = n / this, clamped to the two limits below: lists of a fixed length, so each list probed costs
# the same whatever the catalogue's size. (With sqrt(n) lists and sqrt(nlist) probed, a query scanned
# n ** 0.75 vectors: bench_scale measured 6.5x the 1M latency at 20M.) 1,000 keeps the 1,000 lists a
# 1M index always had. The coarse quantizer stays exact (flat): assigning vectors to 20,000 lists
# costs more (adding 20M took 628 s here, 101 s with an HNSW quantizer), but the HNSW quantizer put
# vectors in the wrong list (at faiss' default search depth while adding) often enough that the source
# segment fell out of the top 10 for 1.5 % of queries (0.3 % exact, both probing 68 lists), and a flat
# quantizer is what the GPU index wants. Adding one recording (480 vectors) stays a few milliseconds.
VECTOR_VECTORS_PER_LIST = 1000
VECTOR_MIN_NLIST = 16  # lists: fewer is no longer worth an inverted file
VECTOR_MAX_NLIST = 65536  # lists (65M vectors): past this lists grow again, and so does search time
# nprobe = this * nlist ** (1/3), clamped: 32 of 1,000 lists at 1M vectors, 87 of 20,000 at 20M, so the
# vectors scanned grow as n ** (1/3) (2.7x from 1M to 20M) while the probed fraction shrinks. On
# bench_scale's 20M vectors (SQ8, 20,000 lists) probing 68 / 96 lists gave recall@10 0.94 / 0.95 and the
# source segment in the top 10 for 99.7 / 99.9 % of queries, at 0.87 / 1.06 ms (batch 1). It is a
# search-time setting: a change here applies when an index is next loaded, with no rebuild.
VECTOR_NPROBE_PER_NLIST_CUBE_ROOT = 3.2
VECTOR_MIN_NPROBE = 8
VECTOR_MAX_NPROBE = 256  # also well under the GPU kernels' limit of 2048
# From this many lists the coarse centroids are trained in two levels (index._two_level_centroids):
# sqrt(nlist) clusters, then each split in proportion to its size. Flat k-means costs
# sample * nlist * dim per iteration, 3e12 flops at 20,000 lists (about 10 minutes on 2 cores);
# two levels took 2 s at 5,000 lists and 9 s at 20,000.
VECTOR_TWO_LEVEL_MIN_NLIST = 2048
# Training sample (vectors per list): faiss' k-means warns under 39 and gains little past ~64;
# the sample, not the catalogue, sets training time.
VECTOR_TRAIN_POINTS_PER_LIST = 64
VECTOR_TRAIN_SEED = 20240601  # the sample is drawn reproducibly, so rebuilds are repeatable
# Product quantiser: 8-bit codes (256 centroids per sub-vector, the GPU-supported size), one code
# per 2 dimensions (dim / 2 bytes): in a 500k-vector trial, 4 dimensions per code ranked the
# source segment first for 58 % of queries, against 99.6 % at 2.
VECTOR_PQ_BITS = 8
VECTOR_PQ_DIMS_PER_CODE = 2
# A trained IVF layout is re-trained when the vector count has grown or shrunk by this factor
# since training: its nlist no longer suits n, and list lengths drift from the centroids' sizes.
VECTOR_RETRAIN_FACTOR = 4.0
# Drop to a smaller layout only once the count is below the threshold divided by this: a catalogue
# hovering at a boundary must not rebuild on every add and remove.
VECTOR_LAYOUT_HYSTERESIS = 2.0
# Vectors added per faiss call while building (65536 x 64 float32 = 16 MB): bounds memory.
VECTOR_ADD_BATCH = 65536
