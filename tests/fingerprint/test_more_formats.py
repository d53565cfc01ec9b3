"""Files as other systems write them: AIFF masters, raw ADTS AAC, WebM/Opus, MP3s that do not state their length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from catalog import synth
from fingerprint import audio, params
from tests import audio as test_audio

SR = params.ANALYSIS_SAMPLE_RATE


def _best_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation at the best lag (codecs add a delay of their own)."""
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    corr = signal.correlate(a, b, mode="full", method="fft")
    return float(np.abs(corr).max() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def piece() -> np.ndarray:
    return synth.compose(31, 8.0).samples


@pytest.mark.parametrize(("fmt", "codec", "least"), [("aiff", "pcm_s16be", 0.999), ("aac", "aac", 0.95),
                                                     ("webm", "opus", 0.95)])  # fmt: skip
def test_a_file_in_another_common_format_decodes_to_the_same_music(
    fmt: str, codec: str, least: float, piece: np.ndarray, tmp_path: Path
) -> None:
    # Named .wav on purpose: the container is read from the bytes.
    path = tmp_path / "upload.wav"
    path.write_bytes(audio.encode(piece, test_audio.SR, fmt))
    original = test_audio.write(tmp_path / "original.wav", piece)

    assert audio.check_file(path, 1 << 30) == fmt
    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    reference = audio.decode(original, max_bytes=1 << 30, max_duration_s=60)
    assert decoded.info.format == fmt and decoded.info.codec == codec
    assert abs(decoded.duration_s - 8.0) < 0.1
    assert _best_correlation(decoded.samples, reference.samples) > least
    # The upload check refuses and accepts them as it does the others.
    assert audio.validate(path, max_bytes=1 << 30, max_duration_s=60).format == fmt
    with pytest.raises(audio.AudioError) as refused:
        audio.validate(path, max_bytes=1 << 30, max_duration_s=4)
    assert refused.value.code == "too_long"


@pytest.mark.parametrize("fmt", ["aiff", "aac", "webm"])
def test_a_truncated_file_in_another_format_is_refused_or_decoded_as_far_as_it_goes(
    fmt: str, piece: np.ndarray, tmp_path: Path
) -> None:
    whole = audio.encode(piece, test_audio.SR, fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(whole[:64])  # the header and nothing of the audio
    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert refused.value.code in {"undecodable", "truncated", "too_short", "no_audio"}


def test_the_sniffer_tells_the_new_containers_from_their_neighbours() -> None:
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00AIFFCOMM") == "aiff"
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00AIFCFVER") == "aiff"
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00ILBMBMHD") is None  # an IFF picture, not audio
    assert audio.sniff_format(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81") == "webm"
    assert audio.sniff_format(b"\xff\xf1\x50\x80") == "aac"  # ADTS, MPEG-4
    assert audio.sniff_format(b"\xff\xf9\x50\x80") == "aac"  # ADTS, MPEG-2
    assert audio.sniff_format(b"\xff\xfb\x90\x64") == "mp3"  # MPEG-1 layer III stays MP3


# MPEG audio layer III bitrates (kbit/s) by header index, for MPEG-1 and for MPEG-2/2.5.
_KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
         False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}  # fmt: skip
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _without_length_header(mp3: bytes) -> bytes:
    """The MP3's audio frames without its ID3 tag and its Xing/Info header frame (the encoder's first
    frame), as files from older encoders, or cut and joined without rewriting it, come: nothing
    states the length."""
    start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(mp3[6:10])) if mp3[:3] == b"ID3" else 0
    header = mp3[start : start + 4]
    assert header[0] == 0xFF and (b"Xing" in mp3[start : start + 64] or b"Info" in mp3[start : start + 64])
    version = (header[1] >> 3) & 3
    mpeg1 = version == 3
    kbps = _KBPS[mpeg1][header[2] >> 4]
    rate = _RATES[version][(header[2] >> 2) & 3]
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + ((header[2] >> 1) & 1)
    return mp3[start + length :]


def test_a_variable_bitrate_mp3_that_does_not_state_its_length_is_not_called_truncated(
    piece: np.ndarray, tmp_path: Path
) -> None:
    # 2 s at 32 kbit/s then 6 s at 256 kbit/s: ffmpeg estimates the length from the first frame's
    # bitrate and the file size, about 6 x too long; before, that estimate made the file "truncated".
    cut = 2 * test_audio.SR
    joined = _without_length_header(audio.encode(piece[:cut], test_audio.SR, "mp3", bitrate=32_000))
    joined += _without_length_header(audio.encode(piece[cut:], test_audio.SR, "mp3", bitrate=256_000))
    path = tmp_path / "joined.mp3"
    path.write_bytes(joined)

    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert abs(decoded.duration_s - 8.0) < 0.2
    assert audio.validate(path, max_bytes=1 << 30, max_duration_s=60).format == "mp3"
    # Its length limit is still enforced, by counting what decodes.
    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=5)
    assert refused.value.code == "too_long"


def test_an_mp3_that_states_its_length_and_is_cut_short_is_still_truncated(piece: np.ndarray, tmp_path: Path) -> None:
    whole = audio.encode(piece, test_audio.SR, "mp3", bitrate=128_000)
    path = tmp_path / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert refused.value.code == "truncated"


def test_two_mp3s_joined_end_to_end_decode_whole(piece: np.ndarray, tmp_path: Path) -> None:
    # `cat a.mp3 b.mp3`: the second file's ID3 tag sits mid-stream, where the decoder rejects it as
    # one bad packet, and the first file's header counts only its own frames.
    first = audio.encode(piece[: 3 * test_audio.SR], test_audio.SR, "mp3", bitrate=128_000)
    second = audio.encode(piece[3 * test_audio.SR :], test_audio.SR, "mp3", bitrate=128_000)
    path = tmp_path / "joined.mp3"
    path.write_bytes(first + second)

    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert abs(decoded.duration_s - 8.0) < 0.2


def test_an_mp3_damaged_throughout_is_refused_as_corrupt(piece: np.ndarray, tmp_path: Path) -> None:
    whole = bytearray(audio.encode(piece, test_audio.SR, "mp3", bitrate=128_000))
    rng = np.random.default_rng(0)
    for at in range(2000, len(whole) - 64, 700):  # garbage over most frames
        whole[at : at + 48] = rng.integers(0, 256, 48, dtype=np.uint8).tobytes()
    path = tmp_path / "damaged.mp3"
    path.write_bytes(bytes(whole))

    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert refused.value.code in {"undecodable", "truncated"}


def test_a_quiet_unnormalised_recording_is_not_refused_as_silence(piece: np.ndarray, tmp_path: Path) -> None:
    level_db = 20 * np.log10(np.sqrt(np.mean(piece**2)))
    quiet = piece * 10 ** ((-68 - level_db) / 20)  # -68 dBFS RMS, written at 16 bits
    path = test_audio.write(tmp_path / "quiet.wav", quiet)

    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert abs(20 * np.log10(np.sqrt(np.mean(decoded.samples**2))) + 68) < 1.5
    assert audio.validate(path, max_bytes=1 << 30, max_duration_s=60).format == "wav"


def test_dither_alone_is_still_silence(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lsb = 1 / 32768
    dither = (rng.uniform(-lsb, lsb, 8 * test_audio.SR) + rng.uniform(-lsb, lsb, 8 * test_audio.SR)).astype(np.float32)
    path = test_audio.write(tmp_path / "dither.wav", dither)

    for check in (audio.decode, audio.validate):
        with pytest.raises(audio.AudioError) as refused:
            check(path, max_bytes=1 << 30, max_duration_s=60)
        assert refused.value.code == "silent"
