"""Hash values in ICSE: cryptographic digests (exact) and 64-bit perceptual hashes.

Stored as lower-case hex, the way every forensic tool prints them; `0x` and spaces, and
upper case, are tolerated on the way in.
"""

from __future__ import annotations

import re

from loaders.normalise import FieldError

HEX = re.compile(r"[0-9a-f]*")


class HexDigest:
    """A hex value of a fixed number of bits (sha256: 256, md5: 128, phash: 64)."""

    def __init__(self, name: str, bits: int) -> None:
        self.name = name
        self.bits = bits
        self.length = bits // 4

    def __call__(self, value: str) -> str:
        text = value.strip().replace(" ", "")
        if text[:2] in ("0x", "0X"):
            text = text[2:]
        text = text.lower() if text.isascii() else text
        if not HEX.fullmatch(text):
            raise FieldError(f"{value!r} is not hexadecimal (0-9, a-f)")
        if len(text) != self.length:
            raise FieldError(
                f"{value!r} has {len(text)} hex digits; a {self.name} has {self.length}"
            )
        return text

    def __repr__(self) -> str:
        return f"HexDigest({self.name!r}, {self.bits})"


sha256 = HexDigest("SHA-256", 256)
md5 = HexDigest("MD5", 128)
phash = HexDigest("64-bit perceptual hash", 64)
