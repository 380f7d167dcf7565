"""One image through a progressive codec: encode once, every rate point decoded from its byte prefix.

    src.png --encode_stream--> <image>.bin (the full stream) + {point: prefix bytes}
    <image>.bin[:bytes] -> <image>--<point>.bin --decode--> <image>--<point>.png     (each prefix alone)

``rdbench.run.code_cell`` calls :func:`code_stream` for each image of a progressive codec's one
``stream`` cell (``rdbench.codecs.base.ProgressiveCodec``); see ``rdbench.results`` for the records.
"""

from __future__ import annotations

import time
from pathlib import Path

from rdbench import atomic, images, results
from rdbench.codecs import CodecError, point_label


def code_stream(codec, src: Path, entry: dict, out_dir: Path, fingerprint: str) -> dict:
    """A progressive codec on one image: encode once, decode every point from its byte prefix alone.

    Writes ``<image>.bin`` (the full stream), ``<image>--<point>.bin`` (the prefix, cut here, so each
    point's file is by construction a prefix of the one encode) and ``<image>--<point>.png``."""
    name, width, height = entry["image"], entry["width"], entry["height"]
    stream = out_dir / f"{name}.bin"
    stream.unlink(missing_ok=True)
    codec.check_size(width, height)
    t0 = time.perf_counter()
    offsets = codec.encode_stream(src, stream)
    encode_s = time.perf_counter() - t0
    data = stream.read_bytes() if stream.is_file() else b""
    labels = [point_label(p) for p in codec.points()]
    if not data or list(offsets) != labels:
        raise CodecError(f"{codec.name} wrote {len(data)} bytes for {name} and offsets for {list(offsets)}, "
                         f"expected a stream and one offset per point ({', '.join(labels)})")
    sizes = [offsets[p] for p in labels]
    if sizes != sorted(sizes) or not 0 < sizes[0] <= sizes[-1] <= len(data):
        raise CodecError(f"{codec.name}: truncation offsets {sizes} of {name} must be non-decreasing, positive "
                         f"and at most the stream's {len(data)} bytes")
    records = []
    for label, size in zip(labels, sizes):
        prefix, recon = out_dir / f"{name}--{label}.bin", out_dir / f"{name}--{label}.png"
        recon.unlink(missing_ok=True)
        atomic.write_bytes(prefix, data[:size])
        t1 = time.perf_counter()
        codec.decode(prefix, recon)
        decode_s = time.perf_counter() - t1
        rec = images.read_png(recon)
        if rec.shape != (height, width, 3):
            raise CodecError(f"{codec.name} decoded {name} at {label} as {rec.shape[1]}x{rec.shape[0]}, "
                             f"expected {width}x{height}")
        records.append({"image": name, "point": label, "width": width, "height": height, "bytes": size,
                        "bpp": 8.0 * size / (width * height), "encode_s": encode_s, "decode_s": decode_s,
                        "encode_once": True, "stream_bytes": len(data), "recon": recon.name,
                        "source_sha256": entry["source_sha256"], "png_sha256": entry["png_sha256"],
                        "notes": entry["notes"]})
    chunk_offsets = codec.chunk_offsets(stream) if hasattr(codec, "chunk_offsets") else None
    done = {"image": name, "png_sha256": entry["png_sha256"], "fingerprint": fingerprint, "records": records,
            "truncations": {"stream_bytes": len(data), "points": dict(zip(labels, sizes)),
                            "chunk_offsets": chunk_offsets}}
    results.write_json(out_dir / f"{name}.json", done)
    return done
