"""Annex B framing and a real VVC sequence parameter set for the VTM stand-ins.

The SPS follows H.266 7.3.2.4 up to the conformance window (the fields rdbench reads); the picture
itself goes in a stand-in NAL unit (type 19, IDR_N_LP) whose payload is NOT VVC.
"""

import struct
import zlib

import numpy as np

SPS_NUT, PAYLOAD_NUT = 15, 19


class BitWriter:
    def __init__(self):
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() - 1, 0)
        self.u(code.bit_length(), code)

    def rbsp(self) -> bytes:
        """Append rbsp_trailing_bits (a 1, then zeros to the byte boundary)."""
        self.u(1, 1)
        self.bits += [0] * (-len(self.bits) % 8)
        return np.packbits(np.array(self.bits, dtype=np.uint8)).tobytes()


def nal(nal_type: int, rbsp: bytes) -> bytes:
    """Start code + 2-byte NAL header (layer 0, temporal id 0) + rbsp with emulation prevention."""
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return b"\x00\x00\x00\x01" + bytes([0, (nal_type << 3) | 1]) + bytes(out)


def unescape(payload: bytes) -> bytes:
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


def sps(width: int, height: int, conf: tuple[int, int, int, int] | None, chroma_format_idc: int = 3) -> bytes:
    """SPS NAL of a Main 4:4:4 10 still picture: coded size WxH, conformance window (l, r, t, b)."""
    w = BitWriter()
    w.u(4, 0)  # sps_seq_parameter_set_id
    w.u(4, 0)  # sps_video_parameter_set_id
    w.u(3, 0)  # sps_max_sublayers_minus1
    w.u(2, chroma_format_idc)
    w.u(2, 2)  # sps_log2_ctu_size_minus5 (128)
    w.u(1, 1)  # sps_ptl_dpb_hrd_params_present_flag
    w.u(7, 33)  # general_profile_idc (Main 10 4:4:4)
    w.u(1, 0)  # general_tier_flag
    w.u(8, 51)  # general_level_idc
    w.u(1, 1)  # ptl_frame_only_constraint_flag
    w.u(1, 0)  # ptl_multilayer_enabled_flag
    w.u(1, 1)  # gci_present_flag
    w.u(1, 1)  # gci_intra_only_constraint_flag
    w.u(70, 0)  # the other 70 constraint flags / fields
    w.u(8, 3)  # gci_num_additional_bits
    w.u(3, 0)
    w.bits += [0] * (-len(w.bits) % 8)  # gci_alignment_zero_bit
    w.u(8, 0)  # ptl_num_sub_profiles
    w.u(1, 0)  # sps_gdr_enabled_flag
    w.u(1, 0)  # sps_ref_pic_resampling_enabled_flag
    w.ue(width)
    w.ue(height)
    w.u(1, conf is not None)
    for offset in conf or ():
        w.ue(offset)
    w.u(8, 0xA5)  # more SPS fields would follow here
    return nal(SPS_NUT, w.rbsp())


def payload(planes: np.ndarray, width: int, height: int, step: float) -> bytes:
    """Quantised 10-bit planes (3, H', W'), zlib-compressed; header: cropped W, H and the step."""
    q = np.rint(planes.astype(np.float64) / step).astype(np.int32)
    residual = np.diff(q, axis=2, prepend=0).astype(np.int16)
    body = struct.pack("<IIIId", planes.shape[2], planes.shape[1], width, height, step)
    return nal(PAYLOAD_NUT, body + zlib.compress(residual.tobytes(), 9))


def read_payload(stream: bytes) -> np.ndarray:
    """Inverse of :func:`payload`: the cropped 10-bit planes (3, H, W) as uint16."""
    marker = b"\x00\x00\x01" + bytes([0, (PAYLOAD_NUT << 3) | 1])
    at = stream.find(marker)
    if at < 0:
        raise ValueError("no picture NAL unit")
    data = unescape(stream[at + len(marker):])
    pw, ph, width, height, step = struct.unpack("<IIIId", data[:24])
    residual = np.frombuffer(zlib.decompress(data[24:]), dtype=np.int16).reshape(3, ph, pw)
    planes = np.cumsum(residual.astype(np.int32), axis=2) * step
    return np.clip(np.rint(planes), 0, 1023).astype(np.uint16)[:, :height, :width]
