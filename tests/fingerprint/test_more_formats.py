"""Files as other systems write them: AIFF masters, raw ADTS AAC, WebM/Opus, MP3s that do not state their length,
stream segments (MPEG-TS as HLS serves it, MPEG-PS), legacy video containers (AVI, FLV, ASF/WMA), raw AC-3 and CAF."""

from __future__ import annotations

import io
from pathlib import Path

import av
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


# Container, the codec it carries here (the decoder's name), the least correlation with the original,
# and how far from its 8 s the decoded length may be (an encoder's priming samples, AAC's 2,112, are kept
# where the container does not say to trim them). After the music formats, what platforms and scraped
# sources also hold: stream segments, legacy video containers, raw AC-3 and CAF.
MUSIC_FORMATS = [("aiff", "pcm_s16be", 0.999, 0.1), ("aac", "aac", 0.95, 0.1), ("webm", "opus", 0.95, 0.1)]
BROADCAST_AND_LEGACY = [("mpegts", "aac", 0.95, 0.15), ("mpegps", "mp2", 0.9, 0.15), ("avi", "mp3float", 0.9, 0.15),
                        ("flv", "aac", 0.95, 0.15), ("asf", "wmav2", 0.9, 0.15), ("ac3", "ac3", 0.95, 0.15),
                        ("caf", "pcm_s16le", 0.999, 0.15)]  # fmt: skip


@pytest.mark.parametrize(("fmt", "codec", "least", "length_tolerance_s"), MUSIC_FORMATS + BROADCAST_AND_LEGACY)
def test_a_file_in_another_format_decodes_to_the_same_music(
    fmt: str, codec: str, least: float, length_tolerance_s: float, piece: np.ndarray, tmp_path: Path
) -> None:
    # Named .wav on purpose: the container is read from the bytes.
    path = tmp_path / "upload.wav"
    path.write_bytes(audio.encode(piece, test_audio.SR, fmt))
    original = test_audio.write(tmp_path / "original.wav", piece)

    assert audio.check_file(path, 1 << 30) == fmt
    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    reference = audio.decode(original, max_bytes=1 << 30, max_duration_s=60)
    assert decoded.info.format == fmt and decoded.info.codec == codec
    assert abs(decoded.duration_s - 8.0) < length_tolerance_s
    assert _best_correlation(decoded.samples, reference.samples) > least
    # The upload check refuses and accepts them as it does the others; whether or not the container
    # states a length, the limit holds (counted while decoding if not).
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


@pytest.mark.parametrize("fmt", [f for f, *_ in BROADCAST_AND_LEGACY])
def test_a_cut_stream_segment_or_legacy_file_is_refused_or_decoded_as_far_as_it_goes(
    fmt: str, piece: np.ndarray, tmp_path: Path
) -> None:
    whole = audio.encode(piece, test_audio.SR, fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(whole[:600])  # the header and next to nothing of the audio
    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert refused.value.code in {"undecodable", "truncated", "too_short", "no_audio"}
    path.write_bytes(whole[: len(whole) // 2])
    try:
        decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    except audio.AudioError as error:
        assert error.code == "truncated"  # a container that states its length says it was cut
    else:
        assert 2.5 < decoded.duration_s < 5.5  # one that does not gives what it holds, never more


def _with_video(samples: np.ndarray, container_format: str, audio_codec: str) -> bytes:
    """`samples` (at test_audio.SR) muxed after a video stream of grey frames, as a platform's upload."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_format) as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream(audio_codec, rate=test_audio.SR, layout="mono")
        for i in range(int(len(samples) / test_audio.SR * 25)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame.reformat(format="yuv420p")))
        container.mux(video.encode(None))
        chunk = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
        chunk.sample_rate = test_audio.SR
        for frame in av.AudioResampler(format="fltp", layout="mono", rate=test_audio.SR).resample(chunk):
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    return buf.getvalue()


@pytest.mark.parametrize(("container_format", "fmt"), [("mpegts", "mpegts"), ("avi", "avi")])
def test_the_sound_of_a_video_is_what_is_decoded(
    container_format: str, fmt: str, piece: np.ndarray, tmp_path: Path
) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(_with_video(piece, container_format, "aac"))
    original = test_audio.write(tmp_path / "original.wav", piece)

    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    reference = audio.decode(original, max_bytes=1 << 30, max_duration_s=60)
    assert decoded.info.format == fmt and decoded.info.codec == "aac"
    assert _best_correlation(decoded.samples, reference.samples) > 0.95


def test_the_sniffer_tells_the_new_containers_from_their_neighbours() -> None:
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00AIFFCOMM") == "aiff"
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00AIFCFVER") == "aiff"
    assert audio.sniff_format(b"FORM\x00\x00\x10\x00ILBMBMHD") is None  # an IFF picture, not audio
    assert audio.sniff_format(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81") == "webm"
    assert audio.sniff_format(b"\xff\xf1\x50\x80") == "aac"  # ADTS, MPEG-4
    assert audio.sniff_format(b"\xff\xf9\x50\x80") == "aac"  # ADTS, MPEG-2
    assert audio.sniff_format(b"\xff\xfb\x90\x64") == "mp3"  # MPEG-1 layer III stays MP3
    packets = (b"\x47" + bytes(187)) * 3
    assert audio.sniff_format(packets) == "mpegts"
    assert audio.sniff_format((bytes(4) + b"\x47" + bytes(187)) * 3) == "mpegts"  # M2TS: a 4-byte timecode first
    assert audio.sniff_format(b"G" + bytes(400)) is None  # one 0x47 ("G") is only a letter
    assert audio.sniff_format(b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01\x01\x89") == "mpegps"
    assert audio.sniff_format(b"\x00\x00\x01\xb3\x14\x00\xf0\x13\xff\xff\xe0\x18") is None  # bare MPEG video
    assert audio.sniff_format(b"RIFF\x00\x10\x00\x00AVI LIST") == "avi"
    assert audio.sniff_format(b"RIFF\x00\x10\x00\x00WAVEfmt ") == "wav"
    assert audio.sniff_format(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00") == "flv"
    assert audio.sniff_format(bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")) == "asf"
    assert audio.sniff_format(b"\x0b\x77\x58\xe7\x54\x40\x43\xe1\x06\xf5\x75\xf0") == "ac3"
    assert audio.sniff_format(b"caff\x00\x01\x00\x00desc") == "caf"


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


def _compressed_wav(samples: np.ndarray, codec: str, rate: int) -> bytes:
    """`samples` (at test_audio.SR) as a WAV file in a compressed encoding, as ffmpeg writes it."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="wav") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        chunk = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
        chunk.sample_rate = test_audio.SR
        for frame in av.AudioResampler(format="s16", layout="mono", rate=rate).resample(chunk):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("codec", "rate"), [("adpcm_ima_wav", test_audio.SR), ("adpcm_ms", test_audio.SR), ("pcm_alaw", 8000)]
)
def test_a_compressed_wav_is_read_whole_by_its_stated_sample_count(
    codec: str, rate: int, piece: np.ndarray, tmp_path: Path
) -> None:
    # ffmpeg states 16,000 bytes/s for IMA ADPCM whatever the audio's real byte rate: read by that,
    # a whole file "declared" three times its length and was refused as truncated.
    whole = _compressed_wav(piece, codec, rate)
    path = tmp_path / "compressed.wav"
    path.write_bytes(whole)
    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert decoded.info.codec == codec
    assert abs(decoded.duration_s - 8.0) < 0.1
    # Cut short, it is still caught by what its fact chunk states.
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(audio.AudioError) as refused:
        audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert refused.value.code == "truncated"


def test_a_flac_behind_an_id3_tag_is_read_as_flac(piece: np.ndarray, tmp_path: Path) -> None:
    # Some taggers write an ID3v2 tag before the fLaC marker; the container is what follows it.
    flac = audio.encode(piece, test_audio.SR, "flac")
    frame = b"TIT2" + (7).to_bytes(4, "big") + b"\x00\x00" + b"\x00a title"[:7]
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, len(frame)]) + frame
    path = tmp_path / "tagged.flac"
    path.write_bytes(tag + flac)
    assert audio.check_file(path, 1 << 30) == "flac"
    decoded = audio.decode(path, max_bytes=1 << 30, max_duration_s=60)
    assert decoded.info.format == "flac" and abs(decoded.duration_s - 8.0) < 0.05
