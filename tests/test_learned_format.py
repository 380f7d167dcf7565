"""The learned-codec bitstream format (rdbench.models.format): round trips and strict parsing."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from rdbench.models import format as fmt
from rdbench.models.format import FormatError, LearnedBitstream

FP = bytes(range(8))


def _bitstream(strings, shape=(12, 8), model="bmshj2018-hyperprior", point=3, width=768, height=512):
    return LearnedBitstream(model=model, point=point, fingerprint=FP, width=width, height=height,
                            shape=shape, strings=strings)


def _random_tree(rng: random.Random, leaf, depth: int = 0):
    if depth >= 4 or rng.random() < 0.35:
        return leaf(rng)
    return [_random_tree(rng, leaf, depth + 1) for _ in range(rng.choice([0, 1, 1, 2, 3, 12]))]


def _random_bytes(rng: random.Random) -> bytes:
    n = rng.choice([0, 1, 2, 63, 64, 127, 128, 300, 16383, 16384, 70000])
    return rng.randbytes(n)


def _random_int(rng: random.Random) -> int:
    return rng.choice([0, 1, 63, 64, 127, 128, 2 ** 20, 2 ** 62 - 1, rng.randrange(10 ** 6)])


def test_round_trip_random_trees():
    """Property: parse(serialise(b)) == b for random nestings, empty lists, empty and large streams."""
    rng = random.Random(1234)
    for case in range(150):
        bs = LearnedBitstream(model=rng.choice(["treenet", "x", "m" * 255]), point=rng.randrange(0, 300),
                              fingerprint=rng.randbytes(8), width=rng.randrange(1, 70000),
                              height=rng.randrange(1, 70000), shape=_random_tree(rng, _random_int),
                              strings=_random_tree(rng, _random_bytes))
        data = bs.to_bytes()
        back = LearnedBitstream.from_bytes(data)
        assert back == bs, f"case {case}"
        assert back.to_bytes() == data  # canonical: one encoding per content


def test_compressai_layout_and_overhead():
    """CompressAI's list-of-lists and torch.Size-like tuples come back as lists; the header is tens of bytes."""
    y, z = bytes(range(256)) * 40, b"\x01\x02" * 100
    bs = _bitstream([[y], [z]], shape=(12, 8))
    back = LearnedBitstream.from_bytes(bs.to_bytes())
    assert back.strings == [[y], [z]] and back.shape == [12, 8]
    assert back.payload_bytes == len(y) + len(z)
    assert 40 <= back.overhead_bytes <= 60  # magic, version, name, point, fingerprint, size, shape, lengths, CRC
    # TreeNet: 12 streams of one batch item each, still a few tens of bytes of framing
    tree = _bitstream([[bytes(8)] for _ in range(12)], model="treenet", shape=(8, 12))
    assert tree.overhead_bytes <= 60


def test_large_stream_and_large_numbers():
    big = random.Random(0).randbytes(5_000_000)
    bs = _bitstream([[big], [b""]], shape=[2 ** 40, 0], width=2 ** 31, height=1)
    back = LearnedBitstream.from_bytes(bs.to_bytes())
    assert back.strings[0][0] == big and back.shape == [2 ** 40, 0] and back.width == 2 ** 31


def test_write_read_file_atomic(tmp_path: Path):
    bs = _bitstream([[b"abc"], [b"de"]])
    size = fmt.write(tmp_path / "a.rdlc", bs)
    assert size == (tmp_path / "a.rdlc").stat().st_size == len(bs.to_bytes())
    assert fmt.read(tmp_path / "a.rdlc") == LearnedBitstream.from_bytes(bs.to_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["a.rdlc"]  # no temp file left behind


def test_every_truncation_is_an_error():
    data = _bitstream([[b"hello world" * 3], [b"z" * 20]]).to_bytes()
    for n in range(len(data)):
        with pytest.raises(FormatError):
            LearnedBitstream.from_bytes(data[:n])
    with pytest.raises(FormatError, match="truncated"):
        LearnedBitstream.from_bytes(data[:-1])


def test_every_corrupted_byte_is_an_error():
    """An entropy decoder accepts garbage silently; the format must not: any changed byte is caught."""
    data = _bitstream([[b"hello world" * 3], [b"z" * 20]]).to_bytes()
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= flip
            with pytest.raises(FormatError):
                LearnedBitstream.from_bytes(bytes(bad))


def test_specific_errors_name_the_problem(tmp_path: Path):
    data = _bitstream([[b"payload"]]).to_bytes()
    with pytest.raises(FormatError, match="magic"):
        LearnedBitstream.from_bytes(b"\x89PNG" + data[4:])
    with pytest.raises(FormatError, match="version 2 is not supported"):
        LearnedBitstream.from_bytes(data[:4] + b"\x02" + data[5:])
    with pytest.raises(FormatError, match="trailing garbage"):
        LearnedBitstream.from_bytes(data + b"\x00")
    mid = bytearray(data)
    mid[len(data) // 2] ^= 0x10
    with pytest.raises(FormatError, match="CRC-32 mismatch"):
        LearnedBitstream.from_bytes(bytes(mid))
    (tmp_path / "x.rdlc").write_bytes(data[:10])
    with pytest.raises(FormatError, match="x.rdlc"):  # the file is named
        fmt.read(tmp_path / "x.rdlc")


def _with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def _header(name=b"m") -> bytes:
    return fmt.MAGIC + bytes([fmt.VERSION, len(name)]) + name + b"\x01" + FP + b"\x08\x08"


def test_lengths_that_overrun_and_malformed_varints():
    # shape [] then strings: a list of 1 stream claiming 1000 bytes, 3 present
    body = _header() + b"\x01" + b"\x03" + bytes([0xD0, 0x0F]) + b"abc"
    with pytest.raises(FormatError, match="overruns"):
        LearnedBitstream.from_bytes(_with_crc(body))
    # a list claiming 100 children in a few bytes
    with pytest.raises(FormatError, match="overruns"):
        LearnedBitstream.from_bytes(_with_crc(_header() + b"\x01" + bytes([0xC9, 0x01]) + b"\x00"))
    # over-long varint for the point (0x81 0x00 encodes 1 in two bytes)
    over = fmt.MAGIC + bytes([fmt.VERSION, 1]) + b"m" + b"\x81\x00" + FP + b"\x08\x08\x01\x01"
    with pytest.raises(FormatError, match="over-long"):
        LearnedBitstream.from_bytes(_with_crc(over))
    # a varint longer than 9 bytes
    with pytest.raises(FormatError, match="longer than"):
        LearnedBitstream.from_bytes(_with_crc(_header()[:-2] + b"\xff" * 12))
    # nesting deeper than the limit
    deep = _header() + b"\x01" + b"\x03" * (fmt.MAX_DEPTH + 2) + b"\x00"
    with pytest.raises(FormatError, match="deeper"):
        LearnedBitstream.from_bytes(_with_crc(deep))


def test_invalid_content_is_refused_when_writing():
    with pytest.raises(FormatError, match="byte strings"):
        _bitstream([["not bytes"]]).to_bytes()
    with pytest.raises(FormatError, match="non-negative"):
        _bitstream([[b""]], shape=(-1, 4)).to_bytes()
    nested: list = [b"x"]
    for _ in range(fmt.MAX_DEPTH + 1):
        nested = [nested]
    with pytest.raises(FormatError, match="deeper"):
        _bitstream(nested).to_bytes()
    with pytest.raises(FormatError, match="printable ASCII"):
        _bitstream([], model="tréenet")
    with pytest.raises(FormatError, match="model index"):
        _bitstream([], point=-1)
    with pytest.raises(FormatError, match="at least 1x1"):
        _bitstream([], width=0)


def test_no_pickle_in_the_learned_codec_path():
    """The format, the codec and the weight loader never unpickle (the import command is the one exception)."""
    import rdbench.codecs.learned
    import rdbench.models.weights

    for module in (fmt, rdbench.codecs.learned, rdbench.models.weights):
        source = Path(module.__file__).read_text()
        assert "import pickle" not in source and "torch.load(" not in source, module.__name__
