#!/usr/bin/env python3
"""make_keys.py N [SEED]: writes N API keys in the documented format (docs/KEY_FORMAT.md) as COPY
text rows `id<TAB>key` (ids 1..N): ik_user_<lookup:16>_<secret:43><crc:6>, where crc is
the CRC-32 (IEEE) of everything before it in 6 base62 digits. The benchmark
stores their SHA-256 with pgcrypto's digest(), so a million keys load in
seconds instead of a million generate_user_key() calls. Bench data only:
the secrets come from a seeded PRNG."""
import random
import sys
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_fixed(value, width):
    digits = []
    for _ in range(width):
        digits.append(ALPHABET[value % 62])
        value //= 62
    return "".join(reversed(digits))


def main():
    n = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(20261126 * 1000 + seed)
    out = sys.stdout
    for i in range(1, n + 1):
        lookup = "".join(rng.choices(ALPHABET, k=16))
        secret = "".join(rng.choices(ALPHABET, k=43))
        body = "ik_user_" + lookup + "_" + secret
        out.write(f"{i}\t{body}{base62_fixed(zlib.crc32(body.encode()), 6)}\n")


if __name__ == "__main__":
    main()
