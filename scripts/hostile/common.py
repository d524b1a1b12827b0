"""What every part of the corpus generator shares: where files go, the manifest, the seeded
random source, byte packing, and a tiny WAV builder."""

import os
import random
import struct
import sys

BASE, OUT = sys.argv[1], sys.argv[2]
RNG = random.Random(20261129)
MANIFEST = []

COZE = "/v1/audio/transcriptions"
SUBMIT = "/openapi/asr/voiceToText"
QUERY = "/openapi/asr/searchResult"
JSON_PATHS = [SUBMIT, QUERY, "/__admin/fixtures", "/__admin/scenarios/activate",
              "/__admin/icu/settings", "/__admin/tasks/1/transition", "/__admin/clock/advance",
              "/__admin/clock"]
FORM_PATHS = [SUBMIT, QUERY]
QUERY_PATHS = [QUERY, "/__admin/tasks", "/__admin/requests", "/__admin/callbacks"]


def add(rel, data, kind, note, **extra):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    entry = {"file": rel, "kind": kind, "note": note}
    entry.update(extra)
    MANIFEST.append(entry)


def base(name):
    with open(os.path.join(BASE, name), "rb") as f:
        return f.read()


le16 = lambda v: struct.pack("<H", v & 0xFFFF)
le32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
le64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
be16 = lambda v: struct.pack(">H", v & 0xFFFF)
be24 = lambda v: struct.pack(">I", v & 0xFFFFFF)[1:]
be32 = lambda v: struct.pack(">I", v & 0xFFFFFFFF)
be64 = lambda v: struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)


def patch(data, offset, new):
    return data[:offset] + new + data[offset + len(new):]



# WAV

def riff(chunks, magic=b"RIFF", size=None):
    body = b"WAVE" + b"".join(chunks)
    return magic + le32(len(body) if size is None else size) + body


def chunk(kind, body, size=None):
    pad = b"\0" if len(body) % 2 else b""
    return kind + le32(len(body) if size is None else size) + body + pad


def fmt(tag=1, ch=1, rate=8000, bits=16, align=None, byterate=None, extra=b""):
    align = ch * bits // 8 if align is None else align
    byterate = rate * align if byterate is None else byterate
    return le16(tag) + le16(ch) + le32(rate) + le32(byterate) + le16(align) + le16(bits) + extra



def tiny_wav(rate=1000, seconds=1.5):
    n = int(rate * seconds)
    body = bytes(128 + (40 if (i // 20) % 2 else -40) for i in range(n))
    return riff([chunk(b"fmt ", fmt(rate=rate, bits=8)), chunk(b"data", body)])

