"""Decode any supported audio file to mono float32 at one analysis rate, with limits and clear errors.

The only module that talks to the decoder (PyAV's bundled ffmpeg libraries). The container is
sniffed from the first bytes, never trusted from the file name.
"""

from __future__ import annotations

import io
import logging
import math
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import soundfile
from scipy.signal import resample_poly

from fingerprint import params

logger = logging.getLogger(__name__)

# Containers we accept, by sniffed signature. M4A covers MP4/MOV (AAC, ALAC; with or without video),
# webm all Matroska. The last seven are what platforms and scraped sources also hold: broadcast and live
# stream segments (MPEG-TS, as HLS serves them, and MPEG-PS), legacy video (AVI, FLV, ASF/WMA), raw
# AC-3 / E-AC-3 (DVD and broadcast audio) and Apple's CAF. Of a file with video, the first audio
# stream is read.
SUPPORTED_FORMATS = ("wav", "aiff", "mp3", "flac", "ogg", "m4a", "aac", "webm", "mpegts", "mpegps", "avi", "flv",
                     "asf", "ac3", "caf")  # fmt: skip
# Bytes of a file's start the sniffer reads: three MPEG-TS packets of 188 bytes (192 in M2TS).
SNIFF_BYTES = 512
_TS_PACKET, _M2TS_PACKET = 188, 192
_ASF_HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


class AudioError(ValueError):
    """Audio that cannot be used, with a machine-readable `code` and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AudioInfo:
    """What the file says about itself: container, codec, native rate and channels, duration (s)."""

    format: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples in [-1, 1] at `sample_rate` Hz, plus the source file's own info."""

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def sniff_format(head: bytes) -> str | None:
    """Name the container from the file's first bytes (at least 12; SNIFF_BYTES to tell MPEG-TS), or None
    if it is not audio we read."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "m4a"
    # AIFF and AIFF-C: what studios and Apple tools export; labels deliver masters in it.
    if len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    # Matroska / WebM (EBML header): Opus or Vorbis audio as browsers record it and video sites serve it.
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return "mp3"  # an MPEG audio frame sync with a valid layer
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "aac"  # an ADTS frame sync (layer bits 00): raw AAC as phones and broadcast tools write it
    return _sniff_broadcast_or_legacy(head)


def _sniff_broadcast_or_legacy(head: bytes) -> str | None:
    """The stream, legacy and broadcast containers of SUPPORTED_FORMATS, or None."""
    # MPEG-TS: a sync byte opening each of the first three packets (a lone 0x47 is too common to trust).
    for first, size in ((0, _TS_PACKET), (4, _M2TS_PACKET)):
        if len(head) > first + 2 * size and all(head[first + k * size] == 0x47 for k in range(3)):
            return "mpegts"
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpegps"  # an MPEG program stream pack header (.mpg, .vob)
    if head[:3] == b"FLV" and len(head) >= 4 and head[3] == 1:
        return "flv"
    if head[:16] == _ASF_HEADER_GUID:
        return "asf"  # Windows Media (WMA / WMV)
    if head[:2] == b"\x0b\x77":
        return "ac3"  # an AC-3 or E-AC-3 sync frame
    if head[:4] == b"caff":
        return "caf"
    return None


def check_file(path: Path, max_bytes: int) -> str:
    """Refuse an empty, oversize or non-audio file (sniffed, not trusted by name); returns its container."""
    size = path.stat().st_size if path.is_file() else 0
    if size == 0:
        raise AudioError("empty", "The file is empty (0 bytes).")
    if size > max_bytes:
        raise AudioError("too_large", f"The file is {size} bytes; the limit is {max_bytes} bytes.")
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        fmt = sniff_format(head)
        if fmt == "mp3" and head[:3] == b"ID3":
            fmt = _behind_id3_tag(fh, head)
    if fmt is None:
        raise AudioError(
            "unsupported_format",
            "The content is not a supported audio format (WAV, AIFF, MP3, FLAC, Ogg Vorbis/Opus, M4A/MP4/MOV, "
            "ADTS AAC, WebM/Matroska, MPEG-TS/PS, AVI, FLV, WMA/ASF, AC-3, CAF), whatever its file name says.",
        )
    return fmt


def _behind_id3_tag(fh: BinaryIO, head: bytes) -> str:
    """The container behind a leading ID3v2 tag: taggers also put one before FLAC and raw AAC streams
    (read as what they are, so that FLAC gets its own reader and its stated length), else MP3."""
    if len(head) < 10:
        return "mp3"
    size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10])) + (10 if head[5] & 0x10 else 0)
    fh.seek(size)
    inner = sniff_format(fh.read(SNIFF_BYTES))
    return inner if inner in ("flac", "aac") else "mp3"


def _wav_declared_seconds(path: Path) -> float | None:
    """Duration the WAV header promises (ffmpeg trusts the file size): for PCM and float, the data
    chunk's size over the fmt chunk's byte rate; for a compressed encoding (ADPCM, GSM, A-law ...),
    the sample count its fact chunk states over the rate, since encoders write byte rates such
    files do not keep (ffmpeg's IMA ADPCM: 16,000 bytes/s for 44,100 bytes/s of audio, which made
    a whole file read as truncated to a third); None where the header does not say."""
    with path.open("rb") as fh:
        if fh.read(12)[:4] != b"RIFF":
            return None
        byte_rate = sample_rate = fact_samples = None
        encoding = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = fh.read(size + (size & 1))
                if len(fmt) >= 12:
                    encoding, _, sample_rate, byte_rate = struct.unpack("<HHII", fmt[:12])
                if encoding == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
                    encoding = struct.unpack("<H", fmt[24:26])[0]  # the sub-format GUID's leading tag
            elif chunk_id == b"fact":
                fact = fh.read(size + (size & 1))
                fact_samples = struct.unpack("<I", fact[:4])[0] if len(fact) >= 4 else None
            elif chunk_id == b"data":
                if encoding in _WAVE_PCM_ENCODINGS:
                    return size / byte_rate if byte_rate else None
                return fact_samples / sample_rate if fact_samples and sample_rate else None
            else:
                fh.seek(size + (size & 1), io.SEEK_CUR)


_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_WAVE_PCM_ENCODINGS = (1, 3)  # integer PCM, IEEE float


def _stated_seconds(
    path: Path, fmt: str, container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    """The length the file states (s), or None where it states none.

    Only a stated length can show that a file was cut short or bound its length before decoding.
    ffmpeg's own figure for MP3 and ADTS AAC is often an estimate from the file size and the first
    frame's bitrate: about 4 x too long for a VBR MP3 without a Xing header, and wrong for two MP3s
    joined end to end; for a cut file it shrinks with the file. So raw AAC states nothing, an MP3
    states what its Xing, Info or VBRI header counts, and the decoder counts the rest."""
    if fmt == "wav":
        return _wav_declared_seconds(path)
    if fmt in ("aac", "ac3", "mpegts", "mpegps"):
        return None  # raw frames and stream segments state no length: ffmpeg's figure is an estimate
    if fmt == "mp3":
        return _mp3_stated_seconds(path)
    return _declared_seconds(container, stream)


# MPEG audio sample rates by version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and rate index.
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_stated_seconds(path: Path) -> float | None:
    """Frames counted by the MP3's Xing/Info or VBRI header times samples per frame, over its rate."""
    with path.open("rb") as fh:
        head = fh.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # skip the ID3v2 tag: its size is synchsafe
            start = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(head[6:10]))
            start += 10 if head[5] & 0x10 else 0  # a footer
        fh.seek(start)
        data = fh.read(4096)
    sync = next((i for i in range(len(data) - 1) if data[i] == 0xFF and (data[i + 1] & 0xE0) == 0xE0), None)
    if sync is None or sync + 48 > len(data):
        return None
    version, rate_index = (data[sync + 1] >> 3) & 3, (data[sync + 2] >> 2) & 3
    if version not in _MPEG_RATES or rate_index == 3:
        return None
    mpeg1, mono = version == 3, data[sync + 3] & 0xC0 == 0xC0
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    at = sync + 4 + side_info
    frames = None
    if data[at : at + 4] in (b"Xing", b"Info") and data[at + 7] & 1:  # flags: frame count present
        frames = struct.unpack(">I", data[at + 8 : at + 12])[0]
    elif data[sync + 36 : sync + 40] == b"VBRI":
        frames = struct.unpack(">I", data[sync + 50 : sync + 54])[0] if sync + 54 <= len(data) else None
    if not frames:
        return None
    return frames * (1152 if mpeg1 else 576) / _MPEG_RATES[version][rate_index]


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


WAV_PROBE_BYTES = 32768  # covers any WAV header (fmt, LIST/INFO and bext chunks before the data)


def decode(
    path: str | Path,
    sample_rate: int = params.ANALYSIS_SAMPLE_RATE,
    *,
    max_bytes: int,
    max_duration_s: float,
    min_duration_s: float = params.MIN_DURATION_S,
) -> DecodedAudio:
    """Decode `path` to mono float32 at `sample_rate` Hz, refusing anything unusable with an AudioError.

    Refused: empty, oversize (bytes), not audio, undecodable, truncated (shorter than its header
    declares), longer than `max_duration_s`, shorter than `min_duration_s`, or silent.
    """
    path = Path(path)
    fmt = check_file(path, max_bytes)
    read = _read_with_libsndfile(path, fmt, sample_rate, max_duration_s) if fmt in ("wav", "flac") else None
    samples, info, declared = read or _read_with_ffmpeg(path, fmt, sample_rate, max_duration_s)
    decoded_s = len(samples) / sample_rate
    # einsum accumulates in float64 through a small buffer: no float64 copy of the whole file.
    energy = float(np.einsum("i,i->", samples, samples, dtype=np.float64))
    _refuse_unusable(fmt, declared, decoded_s, energy, len(samples), min_duration_s)
    info = AudioInfo(info.format, info.codec, info.sample_rate, info.channels, round(decoded_s, 3))
    return DecodedAudio(samples=samples, sample_rate=sample_rate, info=info)


def _read_with_ffmpeg(
    path: Path, fmt: str, sample_rate: int, max_duration_s: float
) -> tuple[np.ndarray, AudioInfo, float | None]:
    """Samples, the file's info and its declared duration (s), by PyAV's ffmpeg, for every format."""
    # A WAV header states everything the decoder needs; ffmpeg's default probe would still read and
    # decode up to 5 MB to guess stream parameters (~14 ms per short query, most of its decoding).
    options = {"probesize": str(WAV_PROBE_BYTES)} if fmt == "wav" else None
    try:
        container = av.open(str(path), mode="r", options=options)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError("undecodable", f"The {fmt.upper()} file cannot be opened: {exc}.") from exc
    with container:
        if not container.streams.audio:
            raise AudioError("no_audio", f"The {fmt.upper()} file holds no audio stream.")
        stream = container.streams.audio[0]
        declared = _stated_seconds(path, fmt, container, stream)
        if declared is not None and declared > max_duration_s:
            raise AudioError("too_long", f"The audio lasts {declared:.0f} s; the limit is {max_duration_s:.0f} s.")
        info = AudioInfo(
            format=fmt,
            codec=stream.codec_context.name,
            sample_rate=stream.codec_context.sample_rate or 0,
            channels=stream.codec_context.channels or 0,
            duration_s=declared or 0.0,
        )
        samples = _decode_stream(container, stream, sample_rate, max_duration_s, fmt)
    return samples, info, declared


# PCM as libsndfile reads it -> (the numpy dtype asked of it, the sample format ffmpeg's decoder
# gives the same PCM): the resampler then sees the very samples it would from ffmpeg.
_LIBSNDFILE_PCM = {"PCM_16": ("int16", "s16"), "PCM_24": ("int32", "s32"), "PCM_32": ("int32", "s32"),
                   "FLOAT": ("float32", "flt")}  # fmt: skip
_LIBSNDFILE_BLOCK = 1 << 16  # frames per block: 1.5 s at 44.1 kHz


def _read_with_libsndfile(
    path: Path, fmt: str, sample_rate: int, max_duration_s: float
) -> tuple[np.ndarray, AudioInfo, float | None] | None:
    """WAV and FLAC PCM in one or two channels, read by libsndfile in large blocks and resampled by the
    same resampler as `_read_with_ffmpeg`: the same samples, bit for bit, in under half the time (ffmpeg
    hands over WAV in 4,096-sample frames, each a round trip through Python). None for anything else,
    and for a file libsndfile cannot read to its end: ffmpeg then decides, with its own message."""
    try:
        with soundfile.SoundFile(str(path)) as source:
            pcm = _LIBSNDFILE_PCM.get(source.subtype)
            if pcm is None or source.channels not in (1, 2):
                return None
            if fmt == "wav":
                declared = _wav_declared_seconds(path)
            else:  # a FLAC stream of unknown length reports none, or a nonsense count
                declared = source.frames / source.samplerate if 0 < source.frames < 1 << 62 else None
            if declared is not None and declared > max_duration_s:
                raise AudioError("too_long", f"The audio lasts {declared:.0f} s; the limit is {max_duration_s:.0f} s.")
            info = AudioInfo(fmt, _codec_name(fmt, source.subtype), source.samplerate, source.channels, declared or 0.0)
            layout = "mono" if source.channels == 1 else "stereo"

            def frames() -> Iterator[av.AudioFrame]:
                for block in source.blocks(blocksize=_LIBSNDFILE_BLOCK, dtype=pcm[0], always_2d=True):
                    frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format=pcm[1], layout=layout)
                    frame.sample_rate = source.samplerate
                    yield frame

            chunks = _resampled(frames(), sample_rate, max_duration_s)
    except AudioError:
        raise
    except (soundfile.LibsndfileError, RuntimeError, ValueError, av.error.FFmpegError):
        return None
    return (_joined(chunks), info, declared) if chunks else None


def _codec_name(fmt: str, subtype: str) -> str:
    """ffmpeg's name for the codec of a WAV or FLAC file libsndfile describes by `subtype`."""
    return "flac" if fmt == "flac" else _WAV_CODECS.get(subtype, subtype.lower())


_WAV_CODECS = {"PCM_16": "pcm_s16le", "PCM_24": "pcm_s24le", "PCM_32": "pcm_s32le", "PCM_U8": "pcm_u8",
               "FLOAT": "pcm_f32le", "DOUBLE": "pcm_f64le"}  # fmt: skip


def validate(
    path: str | Path,
    *,
    max_bytes: int,
    max_duration_s: float,
    min_duration_s: float = params.MIN_DURATION_S,
) -> AudioInfo:
    """Refuse unusable audio exactly as `decode` does, as cheaply as possible (the API answers an upload
    only after this): WAV and FLAC are read by libsndfile at their native rate, in blocks, with no
    resampling (a 2 s WAV in under 1 ms instead of ~20 ms); anything else, or a file libsndfile cannot
    read, goes through the full `decode`."""
    path = Path(path)
    fmt = check_file(path, max_bytes)
    if fmt in ("wav", "flac"):
        try:
            return _validate_with_libsndfile(path, fmt, max_duration_s, min_duration_s)
        except (soundfile.LibsndfileError, RuntimeError, ValueError):
            pass  # unusual encodings and damaged files: the full decoder decides, with its own message
    return decode(path, max_bytes=max_bytes, max_duration_s=max_duration_s, min_duration_s=min_duration_s).info


def _refuse_unusable(
    fmt: str, declared: float | None, decoded_s: float, energy: float, n_samples: int, min_duration_s: float
) -> None:
    """AudioError for decoded audio that falls short of its stated length, is too short or is silent
    (`energy`: the sum of squared mono samples, `n_samples` of them)."""
    if declared is not None and decoded_s < declared - params.TRUNCATION_TOLERANCE_S:
        raise AudioError(
            "truncated",
            f"The {fmt.upper()} file is truncated: its header declares {declared:.2f} s "
            f"but only {decoded_s:.2f} s could be decoded.",
        )
    if decoded_s < min_duration_s:
        raise AudioError("too_short", f"The audio lasts {decoded_s:.2f} s; at least {min_duration_s:.1f} s is needed.")
    if n_samples == 0 or math.sqrt(energy / n_samples) <= 10 ** (params.SILENCE_RMS_DBFS / 20):
        raise AudioError("silent", "The audio is silent: there is nothing to identify.")


def _validate_with_libsndfile(path: Path, fmt: str, max_duration_s: float, min_duration_s: float) -> AudioInfo:
    info = soundfile.info(str(path))
    declared = _wav_declared_seconds(path) if fmt == "wav" else info.frames / info.samplerate
    if declared is not None and declared > max_duration_s:
        raise AudioError("too_long", f"The audio lasts {declared:.0f} s; the limit is {max_duration_s:.0f} s.")
    frames = 0
    energy = 0.0
    for block in soundfile.blocks(str(path), blocksize=1 << 16, dtype="float32", always_2d=True):
        frames += len(block)
        energy += float(np.square(block.mean(axis=1), dtype=np.float64).sum())
    decoded_s = frames / info.samplerate
    _refuse_unusable(fmt, declared, decoded_s, energy, frames, min_duration_s)
    return AudioInfo(fmt, _codec_name(fmt, info.subtype), info.samplerate, info.channels, round(decoded_s, 3))


# Packets the decoder may reject before a file counts as corrupt: real files carry a few (two MP3s
# joined end to end put the second one's ID3 tag mid-stream; a damaged frame in a long recording),
# and ffmpeg's own player skips them. Beyond this many and this share, the file is damaged, not
# merely imperfect. A file cut short still fails its stated length (the "truncated" check).
MAX_BAD_PACKETS = 8
MAX_BAD_PACKET_SHARE = 0.01


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    sample_rate: int,
    max_duration_s: float,
    fmt: str,
) -> np.ndarray:
    bad = [0]
    try:
        chunks = _resampled(tolerant_frames(container, stream, fmt, bad), sample_rate, max_duration_s)
    except av.error.FFmpegError as exc:
        raise AudioError("undecodable", f"The {fmt.upper()} file is corrupt and cannot be decoded: {exc}.") from exc
    if not chunks:
        raise AudioError("undecodable", f"The {fmt.upper()} file holds no decodable audio.")
    if bad[0]:
        logger.warning("%s: skipped %d undecodable %s packet(s)", container.name, bad[0], fmt.upper())
    return _joined(chunks)


def tolerant_frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, fmt: str, bad: list[int] | None = None
) -> Iterator[av.AudioFrame]:
    """The stream's decoded frames, skipping packets the decoder rejects as invalid data (counted in
    bad[0]) up to MAX_BAD_PACKETS and MAX_BAD_PACKET_SHARE of the packets so far; AudioError past them.
    Errors of the container itself (it cannot be read on) still end the decoding."""
    bad = [0] if bad is None else bad
    packets = 0
    for packet in container.demux(stream):
        packets += 1
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            bad[0] += 1
            if bad[0] > MAX_BAD_PACKETS or bad[0] > max(1.0, MAX_BAD_PACKET_SHARE * packets):
                raise AudioError(
                    "undecodable",
                    f"The {fmt.upper()} file is corrupt and cannot be decoded: {bad[0]} of its first {packets} "
                    f"packets are damaged ({exc}).",
                ) from exc
            continue
        yield from frames


class PolarityGuard:
    """Undoes a polarity-inverted channel before the mono downmix.

    Every reader here mixes stereo to mono as (L + R) / sqrt(2). A stereo file whose right channel is
    the left one inverted (R = -L: a known way to slip a track past fingerprinting, and what a wiring
    fault or a "wide stereo" trick leaves) sums to silence, and the upload was refused as silent. A
    guarded reader hands its frames through this, which compares the energies of one frame's L + R and
    L - R every CHECK_S of audio (sooner after a silent or ambiguous frame) and, once the difference holds
    DOMINANCE times the energy of the sum, passes frames on with the right channel inverted back,
    until a checked frame's sum dominates as much again. Ordinary stereo keeps most of its energy in
    the sum (a recording's side signal sits 10-20 dB under its mid), and wide, uncorrelated channels
    hold the two alike, so neither switches: their frames pass untouched and decode exactly as before.
    Mono and multichannel frames always pass untouched."""

    CHECK_S = 1.0  # s of audio between checks (one frame's samples read a second)
    DOMINANCE = 4.0  # 6 dB: how much the other mix must hold before the guard switches
    AUDIBLE_ENERGY = 1e-8  # per sample (-80 dBFS): near-silence (a codec's priming) decides nothing

    def __init__(self) -> None:
        self.inverted = False
        self._since_check = math.inf  # s of audio since the last deciding check

    def __call__(self, frame: av.AudioFrame) -> av.AudioFrame:
        if frame.layout.nb_channels != 2:
            return frame
        self._since_check += frame.samples / (frame.sample_rate or 1)
        due = self._since_check >= self.CHECK_S
        if not (due or self.inverted):
            return frame
        data = frame.to_ndarray()
        left, right = (data[0], data[1]) if frame.format.is_planar else (data[0, 0::2], data[0, 1::2])
        if due:
            # A confident check waits CHECK_S for the next; an ambiguous one (wide stereo, a codec's
            # priming frame) a quarter of that, and a silent one none.
            self._since_check = self._check(left.astype(np.float32), right.astype(np.float32))
        if not self.inverted:
            return frame
        if np.issubdtype(data.dtype, np.integer):  # -(-32768) does not fit an int16: clip first
            np.maximum(right, np.iinfo(data.dtype).min + 1, out=right)
        np.negative(right, out=right)  # a view into `data`
        flipped = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
        flipped.sample_rate = frame.sample_rate
        return flipped

    def _check(self, left: np.ndarray, right: np.ndarray) -> float:
        """Set `inverted` from one frame's channels when one mix dominates; returns how much of CHECK_S
        counts as already waited (0 after a confident check)."""
        both, other = float(np.dot(left + right, left + right)), float(np.dot(left - right, left - right))
        if max(both, other) <= self.AUDIBLE_ENERGY * len(left):
            return math.inf
        if other > self.DOMINANCE * both:
            self.inverted = True
        elif both > self.DOMINANCE * other:
            self.inverted = False
        else:
            return 0.75 * self.CHECK_S
        return 0.0


def _resampled(frames: Iterable[av.AudioFrame], sample_rate: int, max_duration_s: float) -> list[np.ndarray]:
    """Decoded frames as mono float32 chunks at `sample_rate`; AudioError once past `max_duration_s`."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    total = 0
    limit = int(max_duration_s * sample_rate) + sample_rate
    guard = PolarityGuard()
    for frame in frames:
        frame.pts = None  # let the resampler count samples itself; broken timestamps must not matter
        for out in resampler.resample(guard(frame)):
            chunks.append(out.to_ndarray().reshape(-1))
            total += len(chunks[-1])
        if total > limit:
            raise AudioError("too_long", f"The audio lasts over {max_duration_s:.0f} s, the limit.")
    chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    return chunks


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    return np.clip(samples, -1.0, 1.0, out=samples)  # in place: concatenate made a fresh array


def decode_span(path: str | Path, start_s: float, length_s: float, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of [start_s, start_s + length_s) of a stored, already validated file.

    Seeks to the key frame before `start_s` and stops decoding after the span, so showing 20 s of a
    two-hour upload decodes about 20 s, not two hours. Files whose frames carry no timestamps are
    read from the start (still stopping after the span). Aligned to the sample for WAV, FLAC, Ogg and
    M4A, with lossy decoders settling in the first ~0.1 s after the seek; MP3 lands within a frame
    (~50 ms) of the start. Good for pictures and listening, not for fingerprints (those decode whole).
    Raises AudioError for unreadable files.
    """
    start_s, wanted = max(0.0, start_s), max(0, round(length_s * sample_rate))
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise AudioError("no_audio", "The file holds no audio stream.")
            stream = container.streams.audio[0]
            seeked = False
            if start_s > 0:
                try:  # an offset in AV_TIME_BASE units when no stream is named
                    container.seek(int(start_s * av.time_base), backward=True, any_frame=False)
                    seeked = True
                except av.error.FFmpegError:
                    pass
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            guard = PolarityGuard()
            chunks: list[np.ndarray] = []
            first_s: float | None = None
            total = 0
            for frame in container.decode(stream):
                at = frame.time
                if first_s is None:
                    if at is None:
                        if seeked:  # no timestamps to place the seek: start again from the beginning
                            return decode_span_from_start(path, start_s, length_s, sample_rate)
                        at = 0.0
                    elif at + frame.samples / (frame.sample_rate or sample_rate) <= start_s:
                        continue  # before the span (the seek lands on an earlier key frame)
                    first_s = at
                frame.pts = None
                for out in resampler.resample(guard(frame)):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total >= wanted + (start_s - first_s) * sample_rate:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise AudioError("undecodable", f"The file cannot be decoded: {exc}.") from exc
    if not chunks or first_s is None:
        return np.zeros(0, dtype=np.float32)
    skip = max(0, round((start_s - first_s) * sample_rate))
    return np.clip(np.concatenate(chunks)[skip : skip + wanted].astype(np.float32, copy=False), -1.0, 1.0)


def decode_span_from_start(path: str | Path, start_s: float, length_s: float, sample_rate: int) -> np.ndarray:
    """decode_span for files without frame timestamps: counts samples from the beginning instead."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    guard = PolarityGuard()
    skip, wanted = round(max(0.0, start_s) * sample_rate), round(length_s * sample_rate)
    chunks: list[np.ndarray] = []
    total = 0
    with av.open(str(path), mode="r") as container:
        for frame in container.decode(container.streams.audio[0]):
            frame.pts = None
            for out in resampler.resample(guard(frame)):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                total += len(chunk)
            if total >= skip + wanted:
                break
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.clip(np.concatenate(chunks)[skip : skip + wanted].astype(np.float32, copy=False), -1.0, 1.0)


# Encoders for the formats we write (demo queries, test fixtures): container name, codec, rate.
_ENCODERS = {
    "wav": ("wav", "pcm_s16le", None),
    "flac": ("flac", "flac", None),
    "mp3": ("mp3", "libmp3lame", None),
    "ogg": ("ogg", "libopus", 48000),
    "m4a": ("ipod", "aac", None),
    "aiff": ("aiff", "pcm_s16be", None),
    "aac": ("adts", "aac", None),
    "webm": ("webm", "libopus", 48000),
    "mpegts": ("mpegts", "aac", None),
    "mpegps": ("vob", "mp2", 48000),
    "avi": ("avi", "libmp3lame", None),
    "flv": ("flv", "aac", 44100),
    "asf": ("asf", "wmav2", None),
    "ac3": ("ac3", "ac3", 48000),
    "caf": ("caf", "pcm_s16le", None),
}


def encode(samples: np.ndarray, sample_rate: int, fmt: str, bitrate: int | None = None) -> bytes:
    """Encode mono float32 `samples` at `sample_rate` Hz as `fmt` (wav, flac, mp3, ogg/Opus, m4a/AAC, aiff,
    aac as ADTS, webm/Opus, mpegts/AAC, mpegps/MP2, avi/MP3, flv/AAC, asf/WMA, ac3, caf/PCM)."""
    if fmt not in _ENCODERS:
        raise ValueError(f"cannot encode {fmt!r}; choose one of {sorted(_ENCODERS)}")
    container_name, codec, codec_rate = _ENCODERS[fmt]
    rate = codec_rate or sample_rate
    buf = io.BytesIO()
    # bitexact: no random Ogg serial numbers or version tags, so the same samples give the same bytes.
    with av.open(buf, mode="w", format=container_name, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        if bitrate or codec == "wmav2":
            stream.bit_rate = bitrate or 128_000  # the WMA encoder has no default rate and refuses to open
        frame = av.AudioFrame.from_ndarray(
            np.clip(samples, -1, 1).astype(np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = sample_rate
        if codec_rate and codec_rate != sample_rate:
            frames = av.AudioResampler(format="flt", layout="mono", rate=codec_rate).resample(frame)
        else:
            frames = [frame]
        for f in frames:
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def played_at(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    """Mono `samples` resampled by `up`/`down` and read at their own rate: played `down`/`up` times as
    fast, pitch and tempo together (a record at another speed); float32."""
    return resample_poly(samples, up, down).astype(np.float32)
