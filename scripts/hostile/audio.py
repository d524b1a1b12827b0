"""Audio inputs: truncations and flips of every container's base file, and crafted headers."""

import struct

from common import *  # noqa: F401,F403 (the shared helpers)


# ---------------------------------------------------------------------------------------
# Generic mutations of every base file: truncations and bit flips.

TRUNCATE_AT = [1, 2, 3, 4, 7, 8, 11, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 60, 64, 100,
               128, 200, 256, 400, 512, 1024, 2048]


def mutations(stem, ext, data):
    d = f"audio/{stem}"
    cuts = sorted(set([n for n in TRUNCATE_AT if n < len(data)] +
                      [len(data) // 3, len(data) // 2, 2 * len(data) // 3, len(data) - 1]))
    for n in cuts:
        add(f"{d}/cut-{n:05}.{ext}", data[:n], "audio", f"{stem} cut after {n} of {len(data)} bytes")
    for i in range(2):
        b = bytearray(data)
        for _ in range(RNG.randint(1, 6)):
            j = RNG.randrange(min(len(b), 256))
            b[j] ^= 1 << RNG.randrange(8)
        add(f"{d}/flip-head-{i}.{ext}", bytes(b), "audio", f"{stem} with bits flipped in its first 256 bytes")
    for i in range(2):
        b = bytearray(data)
        for _ in range(max(1, len(b) // 400)):
            j = RNG.randrange(len(b))
            b[j] ^= 1 << RNG.randrange(8)
        add(f"{d}/flip-body-{i}.{ext}", bytes(b), "audio", f"{stem} with a bit flipped every ~400 bytes")
    b = bytearray(data)
    for j in range(len(b) // 2, len(b)):
        b[j] = 0
    add(f"{d}/zeroed-tail.{ext}", bytes(b), "audio", f"{stem} whose second half is zero bytes")
    add(f"{d}/doubled.{ext}", data + data, "audio", f"{stem} twice in a row")


def crafted(stem, name, data, note, via_url=True):
    add(f"audio/{stem}/{name}", data, "audio", note, via_url=via_url)


# ---------------------------------------------------------------------------------------
def wav_family():
    data = base("base.wav")
    mutations("wav", "wav", data)
    mutations("rf64", "wav", base("base-rf64.wav"))
    pcm = data[44:4044]  # a quarter second: crafted headers need little data
    ok = chunk(b"fmt ", fmt())
    c = lambda name, d, note, **k: crafted("wav", name, d, note, **k)
    c("data-size-max.wav", riff([ok, chunk(b"data", pcm, 0xFFFFFFFF)]), "data chunk declares 4 GiB")
    c("riff-size-max.wav", riff([ok, chunk(b"data", pcm)], size=0xFFFFFFFF), "RIFF size 4 GiB")
    c("riff-size-zero.wav", riff([ok, chunk(b"data", pcm)], size=0), "RIFF size 0")
    for name, f, note in [
        ("channels-0", fmt(ch=0, align=2), "zero channels"),
        ("rate-0", fmt(rate=0), "zero sample rate"),
        ("rate-max", fmt(rate=0xFFFFFFFF), "sample rate 4294967295"),
        ("bits-0", fmt(bits=0, align=2), "zero bits per sample"),
        ("bits-7", fmt(bits=7, align=1), "7 bits per sample"),
        ("bits-64", fmt(bits=64), "64-bit integer PCM"),
        ("bits-max", fmt(bits=0xFFFF, align=2), "65535 bits per sample"),
        ("align-0", fmt(align=0), "block align 0"),
        ("byterate-0", fmt(byterate=0), "byte rate 0"),
        ("channels-max", fmt(ch=0xFFFF, align=0xFFFF), "65535 channels"),
        ("float-16", fmt(tag=3), "IEEE float tag with 16-bit samples"),
        ("alaw", fmt(tag=6, bits=8), "A-law"),
        ("mulaw", fmt(tag=7, bits=8), "mu-law"),
        ("adpcm", fmt(tag=2, bits=4, align=256), "MS ADPCM without its extension"),
        ("tag-mp3", fmt(tag=0x55), "MPEG layer 3 tag over PCM bytes"),
        ("tag-unknown", fmt(tag=0x1234), "unknown format tag"),
        ("extensible-short", fmt(tag=0xFFFE, extra=le16(0)), "WAVE_FORMAT_EXTENSIBLE with no extension"),
        ("extensible-junk", fmt(tag=0xFFFE, extra=le16(22) + b"\xff" * 22), "extensible with a junk sub-format"),
        ("extensible-cb-max", fmt(tag=0xFFFE, extra=le16(0xFFFF)), "extension size 65535"),
    ]:
        c(f"{name}.wav", riff([chunk(b"fmt ", f), chunk(b"data", pcm)]), f"fmt: {note}")
    c("fmt-size-huge.wav", riff([chunk(b"fmt ", fmt(), 0xFFFFFFF0), chunk(b"data", pcm)]), "fmt chunk size near 4 GiB")
    c("fmt-size-2.wav", riff([chunk(b"fmt ", b"\x01\x00"), chunk(b"data", pcm)]), "fmt chunk of 2 bytes")
    c("no-fmt.wav", riff([chunk(b"data", pcm)]), "data without fmt")
    c("data-before-fmt.wav", riff([chunk(b"data", pcm), ok]), "data chunk before fmt")
    c("no-data.wav", riff([ok]), "fmt and no data")
    c("two-fmt.wav", riff([chunk(b"fmt ", fmt(rate=0)), ok, chunk(b"data", pcm)]), "two fmt chunks, the first with rate 0")
    c("list-size-max.wav", riff([chunk(b"LIST", b"INFO", 0xFFFFFFFF), ok, chunk(b"data", pcm)]), "LIST chunk of 4 GiB before fmt")
    c("odd-unpadded.wav", riff([ok, b"junk" + le32(3) + b"abc", chunk(b"data", pcm)]), "odd chunk without its pad byte")
    c("many-chunks.wav", riff([chunk(b"junk", b"")] * 6000 + [ok, chunk(b"data", pcm)]), "6000 empty chunks before fmt", via_url=False)
    c("data-odd.wav", riff([ok, chunk(b"data", pcm[:-1])]), "16-bit data of an odd length")
    c("stereo-1-byte.wav", riff([chunk(b"fmt ", fmt(ch=2)), chunk(b"data", b"\x01")]), "stereo with one data byte")
    c("bw64.wav", b"BW64" + riff([ok, chunk(b"data", pcm)])[4:], "BW64 magic over a RIFF layout")
    ds64 = lambda riff_size, data_size, table=0: chunk(b"ds64", le64(riff_size) + le64(data_size) + le64(0) + le32(table))
    c("rf64-no-ds64.wav", riff([ok, chunk(b"data", pcm, 0xFFFFFFFF)], magic=b"RF64", size=0xFFFFFFFF), "RF64 without ds64")
    c("rf64-data-max.wav", riff([ds64(0, 2**64 - 1), ok, chunk(b"data", pcm, 0xFFFFFFFF)], magic=b"RF64", size=0xFFFFFFFF), "RF64 whose ds64 data size is 2^64-1")
    c("rf64-table-max.wav", riff([ds64(len(pcm) + 80, len(pcm), 0xFFFFFFFF), ok, chunk(b"data", pcm, 0xFFFFFFFF)], magic=b"RF64", size=0xFFFFFFFF), "RF64 ds64 table count 2^32-1")
    c("rf64-ds64-short.wav", riff([chunk(b"ds64", b"\x01\x02"), ok, chunk(b"data", pcm, 0xFFFFFFFF)], magic=b"RF64", size=0xFFFFFFFF), "RF64 ds64 of 2 bytes")
    c("magic-only.wav", b"RIFF\x04\x00\x00\x00WAVE", "RIFF header and nothing else")


# ---------------------------------------------------------------------------------------
# MPEG audio (MP3) and ADTS (AAC)

def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def mpeg_family():
    mp3 = base("base.mp3")
    noxing = base("base-noxing.mp3")
    mutations("mp3", "mp3", mp3)
    mutations("mp3-noxing", "mp3", noxing)
    c = lambda name, d, note, **k: crafted("mp3", name, d, note, **k)
    c("id3-size-max.mp3", b"ID3\x04\x00\x00" + syncsafe(0x0FFFFFFF) + noxing, "ID3v2 tag declaring 256 MiB")
    c("id3-only.mp3", b"ID3\x04\x00\x00" + syncsafe(16) + b"\0" * 16, "an ID3v2 tag and no audio")
    c("id3-footer.mp3", b"ID3\x04\x00\x10" + syncsafe(0) + noxing, "ID3v2 with the footer flag and size 0")
    c("id3-chain.mp3", (b"ID3\x03\x00\x00" + syncsafe(0)) * 2000 + noxing, "2000 empty ID3v2 tags in a row", via_url=False)
    c("id3-bad-syncsafe.mp3", b"ID3\x04\x00\x00\xff\xff\xff\xff" + noxing, "ID3v2 size bytes with the high bit set")
    # The first frame of base.mp3 carries the Xing/Info tag: patch its counts.
    i = mp3.find(b"Xing")
    if i < 0:
        i = mp3.find(b"Info")
    if i >= 0:
        c("xing-frames-max.mp3", patch(mp3, i + 8, be32(0xFFFFFFFF)), "Xing frame count 2^32-1")
        c("xing-frames-0.mp3", patch(mp3, i + 8, be32(0)), "Xing frame count 0")
        c("xing-bytes-0.mp3", patch(mp3, i + 12, be32(0)), "Xing byte count 0")
        c("xing-flags-all.mp3", patch(mp3, i + 4, be32(0xFFFFFFFF)), "Xing with every flag set")
    hdr = noxing[:4]
    c("bitrate-bad.mp3", bytes([0xFF, 0xFB, 0xF0, 0x00]) * 500, "frame headers with bitrate index 15")
    c("free-format.mp3", bytes([0xFF, 0xFB, 0x00, 0x00]) * 500, "free-format frame headers")
    c("rate-reserved.mp3", bytes([0xFF, 0xFB, 0x9C, 0x00]) * 500, "frame headers with the reserved sample rate")
    c("layer-reserved.mp3", bytes([0xFF, 0xF9, 0x90, 0x00]) * 500, "frame headers with the reserved layer")
    c("mpeg25-min.mp3", (bytes([0xFF, 0xE3, 0x18, 0xC4]) + b"\0" * 68) * 300, "300 smallest MPEG-2.5 frames (22 s)")
    c("header-only-frames.mp3", hdr * 3000, "3000 copies of one frame header with no payload")
    vbri = bytearray(noxing[:1200])
    vbri[36:40] = b"VBRI"
    vbri[40:58] = be16(1) + be16(0) + be16(0) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be16(0xFFFF)
    c("vbri-max.mp3", bytes(vbri) + noxing[1200:], "VBRI header with 2^32-1 frames and a huge TOC")
    aac = base("base.aac")
    mutations("aac", "aac", aac)
    c = lambda name, d, note, **k: crafted("aac", name, d, note, **k)

    def adts(length, sr_index=11, chan=1, raw_blocks=0, protection_absent=1):
        h = 0xFFF << 44 | 0 << 43 | 0 << 41 | protection_absent << 40 | 1 << 38 | sr_index << 34
        h |= chan << 30 | (length & 0x1FFF) << 13 | 0x7FF << 2 | raw_blocks
        return h.to_bytes(7, "big")

    c("frame-length-0.aac", adts(0) * 400, "ADTS frames of length 0")
    c("frame-length-7.aac", adts(7) * 8000, "8000 header-only ADTS frames", via_url=False)
    c("frame-length-max.aac", adts(0x1FFF) + b"\0" * 100, "ADTS frame of 8191 bytes, cut short")
    c("sr-reserved.aac", (adts(20, sr_index=15) + b"\0" * 13) * 200, "ADTS sample rate index 15")
    c("sr-13.aac", (adts(20, sr_index=13) + b"\0" * 13) * 200, "ADTS sample rate index 13")
    c("channels-0.aac", (adts(20, chan=0) + b"\0" * 13) * 200, "ADTS channel configuration 0")
    c("raw-blocks-3.aac", (adts(20, raw_blocks=3) + b"\0" * 13) * 200, "ADTS with 4 raw blocks per frame")
    c("crc-present.aac", (adts(20, protection_absent=0) + b"\0" * 13) * 200, "ADTS with CRC and junk payload")


# ---------------------------------------------------------------------------------------
# Ogg (Vorbis, Opus, Speex, FLAC-in-Ogg)

def ogg_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(body, granule=0, serial=1, seq=0, flags=0, version=0, lacing=None):
    if lacing is None:
        lacing = []
        n = len(body)
        while n >= 255:
            lacing.append(255)
            n -= 255
        lacing.append(n)
    head = b"OggS" + bytes([version, flags]) + le64(granule) + le32(serial) + le32(seq) + le32(0)
    page = head + bytes([len(lacing)]) + bytes(lacing) + body
    return page[:22] + le32(ogg_crc(page)) + page[26:]


def opus_head(ch=1, pre_skip=312, rate=8000, family=0, extra=b""):
    return b"OpusHead\x01" + bytes([ch & 0xFF]) + le16(pre_skip) + le32(rate) + le16(0) + bytes([family]) + extra


def vorbis_id(ch=1, rate=8000, blocks=0xB8):
    return b"\x01vorbis" + le32(0) + bytes([ch]) + le32(rate) + le32(0) + le32(16000) + le32(0) + bytes([blocks, 1])


def streaminfo(rate=8000, ch=1, bps=16, total=0, minb=4096, maxb=4096):
    bits = (minb << 16 | maxb) << 48 | 0
    v = (rate & 0xFFFFF) << 44 | ((ch - 1) & 7) << 41 | ((bps - 1) & 31) << 36 | (total & (2**36 - 1))
    return be16(minb) + be16(maxb) + be24(0) + be24(0) + v.to_bytes(8, "big") + b"\0" * 16


def ogg_family():
    for stem, name, ext in [("ogg", "base.ogg", "ogg"), ("opus", "base.opus", "opus"),
                            ("spx", "base.spx", "spx"), ("flac-ogg", "base-flac.oga", "oga")]:
        mutations(stem, ext, base(name))
    c = lambda name, d, note, **k: crafted("ogg", name, d, note, **k)
    audio = lambda granule, serial=1, seq=2: ogg_page(b"\0" * 40, granule=granule, serial=serial, seq=seq)
    tags = ogg_page(b"OpusTags" + le32(0) + le32(0), seq=1)
    opus = lambda head, g=16000: ogg_page(head, flags=2) + tags + audio(g)
    c("opus-granule-max.opus", opus(opus_head(), 2**64 - 1), "Opus whose only granule is -1")
    c("opus-granule-2e63.opus", opus(opus_head(), 2**63), "Opus granule 2^63")
    c("opus-channels-0.opus", opus(opus_head(ch=0)), "OpusHead with 0 channels")
    c("opus-channels-255.opus", opus(opus_head(ch=255, family=255, extra=b"\x01\x01" + bytes(range(255)))), "OpusHead with 255 channels")
    c("opus-preskip-max.opus", opus(opus_head(pre_skip=0xFFFF), 100), "pre-skip larger than the granule")
    c("opus-rate-0.opus", opus(opus_head(rate=0)), "OpusHead input rate 0")
    c("opus-head-short.opus", opus(b"OpusHead\x01"), "OpusHead of 9 bytes")
    vorbis = lambda head, g=16000: ogg_page(head, flags=2) + ogg_page(b"\x03vorbis", seq=1) + audio(g)
    c("vorbis-rate-0.ogg", vorbis(vorbis_id(rate=0)), "Vorbis identification with rate 0")
    c("vorbis-channels-0.ogg", vorbis(vorbis_id(ch=0)), "Vorbis identification with 0 channels")
    c("vorbis-blocksize-bad.ogg", vorbis(vorbis_id(blocks=0xFF)), "Vorbis block sizes 2^15")
    c("vorbis-granule-max.ogg", vorbis(vorbis_id(), 2**63 - 1), "Vorbis granule 2^63-1")
    speex = lambda rate, ch: b"Speex   " + b"1.2".ljust(20, b"\0") + le32(1) + le32(80) + le32(rate) + le32(0) + le32(4) + le32(ch) + le32(0xFFFFFFFF) + le32(160) + le32(0) + le32(0) + le32(0)
    c("speex-rate-0.spx", ogg_page(speex(0, 1), flags=2) + audio(16000), "Speex header with rate 0")
    c("speex-channels-max.spx", ogg_page(speex(8000, 0xFFFFFFFF), flags=2) + audio(16000), "Speex header with 2^32-1 channels")
    flac_head = lambda info: b"\x7fFLAC\x01\x00\x00\x01fLaC" + b"\x00" + be24(34) + info
    c("flac-ogg-rate-0.oga", ogg_page(flac_head(streaminfo(rate=0)), flags=2) + audio(16000), "FLAC-in-Ogg STREAMINFO rate 0")
    c("flac-ogg-short.oga", ogg_page(b"\x7fFLAC\x01\x00\x00\x01fLaC\x00", flags=2) + audio(16000), "FLAC-in-Ogg mapping cut before STREAMINFO")
    c("unknown-codec.ogg", ogg_page(b"\x01abcdefgh", flags=2) + audio(16000), "Ogg stream of an unknown codec")
    c("version-1.ogg", ogg_page(vorbis_id(), flags=2, version=1) + audio(16000), "Ogg page version 1")
    c("lacing-overrun.ogg", ogg_page(vorbis_id(), flags=2) + ogg_page(b"\0" * 100, lacing=[255] * 255, seq=1), "page whose lacing promises 65025 bytes")
    c("empty-pages.opus", ogg_page(opus_head(), flags=2) + b"".join(ogg_page(b"", seq=i + 1, lacing=[]) for i in range(3000)), "3000 pages without segments", via_url=False)
    c("granule-backwards.opus", ogg_page(opus_head(), flags=2) + tags + audio(48000, seq=2) + audio(10, seq=3), "granules going backwards")
    c("two-streams.opus", ogg_page(opus_head(), flags=2) + ogg_page(opus_head(), flags=2, serial=2) + audio(16000) + audio(2**62, serial=2), "a second stream with a huge granule")
    c("only-bos.opus", ogg_page(opus_head(), flags=2), "an Opus head page and no audio")
    c("oggs-repeated.ogg", b"OggS" * 20000, "the capture pattern 20000 times", via_url=False)


# ---------------------------------------------------------------------------------------
# FLAC, including a decoding bomb

def crc8(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def utf8_num(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | n >> 6, 0x80 | n & 0x3F])
    if n < 0x10000:
        return bytes([0xE0 | n >> 12, 0x80 | n >> 6 & 0x3F, 0x80 | n & 0x3F])
    return bytes([0xF0 | n >> 18, 0x80 | n >> 12 & 0x3F, 0x80 | n >> 6 & 0x3F, 0x80 | n & 0x3F])


def flac_constant_frame(number, block=65536):
    """One fixed-blocksize frame of `block` samples, mono, 16-bit, all one constant value:
    12 bytes that decode to 8 s at 8 kHz."""
    head = b"\xff\xf8" + bytes([0x70, 0x08]) + utf8_num(number) + be16(block - 1)
    head += bytes([crc8(head)])
    body = head + b"\x00" + be16(0)  # constant subframe, sample value 0
    return body + be16(crc16(body))


def flac_family():
    flac = base("base.flac")
    mutations("flac", "flac", flac)
    c = lambda name, d, note, **k: crafted("flac", name, d, note, **k)
    block = lambda kind, body, last=False, size=None: bytes([(0x80 if last else 0) | kind]) + be24(len(body) if size is None else size) + body
    frames = flac[flac.find(b"\xff\xf8"):] if flac.find(b"\xff\xf8") > 0 else b""
    info = lambda **k: b"fLaC" + block(0, streaminfo(**k), last=True)
    c("rate-0.flac", info(rate=0) + frames, "STREAMINFO rate 0")
    c("total-max.flac", info(total=2**36 - 1) + frames, "STREAMINFO total samples 2^36-1")
    c("blocksize-0.flac", info(minb=0, maxb=0) + frames, "block sizes 0")
    c("blocksize-inverted.flac", info(minb=65535, maxb=16) + frames, "minimum block size above maximum")
    c("channels-8-bps-32.flac", info(ch=8, bps=32) + frames, "8 channels of 32-bit claimed over mono frames")
    c("streaminfo-len-0.flac", b"fLaC" + block(0, b"", last=True) + frames, "STREAMINFO of length 0")
    c("block-len-max.flac", b"fLaC" + block(0, streaminfo()) + block(1, b"", size=0xFFFFFF, last=True) + frames, "padding block declaring 16 MiB")
    c("padding-forever.flac", b"fLaC" + block(0, streaminfo()) + block(1, b"") * 10000, "10000 empty padding blocks and no last flag", via_url=False)
    c("no-streaminfo.flac", b"fLaC" + block(4, le32(0) + le32(0), last=True) + frames, "VORBIS_COMMENT first, no STREAMINFO")
    c("comment-count-max.flac", b"fLaC" + block(0, streaminfo()) + block(4, le32(0) + le32(0xFFFFFFFF), last=True) + frames, "Vorbis comment count 2^32-1")
    c("picture-len-max.flac", b"fLaC" + block(0, streaminfo()) + block(6, le32(3) + le32(0xFFFFFFFF), last=True) + frames, "PICTURE with a 4 GiB MIME string")
    c("no-frames.flac", info(), "metadata only, total samples 0")
    c("id3-then-flac.flac", b"ID3\x04\x00\x00" + syncsafe(10) + b"\0" * 10 + flac, "ID3v2 tag before fLaC")
    c("frames-garbage.flac", info() + bytes(RNG.randrange(256) for _ in range(4000)), "valid STREAMINFO, random frames")
    c("frames-sync-only.flac", info() + b"\xff\xf8" * 3000, "3000 frame sync codes and nothing else")
    # Decoding bombs: a few kilobytes that decode to hours; the header either leaves the total
    # unknown (0: only decoding can measure it) or states it.
    def bomb(frames_n, total):
        head = b"fLaC" + block(0, streaminfo(total=total, minb=65535, maxb=65535), last=True)
        return head + b"".join(flac_constant_frame(i, 65535) for i in range(frames_n))
    c("bomb-5h-unknown.flac", bomb(2300, 0), "2300 constant frames (27 KB) = 5.2 h at 8 kHz, total unknown")
    c("bomb-5h-declared.flac", bomb(2300, 2300 * 65535), "the same 5.2 h with the total declared")
    c("bomb-20h-unknown.flac", bomb(9000, 0), "9000 constant frames (108 KB) = 20 h, total unknown")
    c("bomb-5h-lying.flac", bomb(2300, 8000 * 2), "5.2 h of frames under a STREAMINFO that says 2 s")


# ---------------------------------------------------------------------------------------
# ISO BMFF (MP4, M4A, 3GP)

def box(kind, body=b"", size=None):
    return be32(8 + len(body) if size is None else size) + kind + body


def full(version=0, flags=0):
    return bytes([version]) + be24(flags)


def boxes(data, start=0, end=None, prefix=b""):
    """(path, offset) of every box, descending into the containers that matter."""
    end = len(data) if end is None else end
    pos = start
    out = []
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"mvex", b"edts"}
    while pos + 8 <= end:
        size = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        if size < 8 or pos + size > end:
            break
        path = prefix + b"/" + kind
        out.append((path, pos))
        if kind in containers:
            out += boxes(data, pos + 8, pos + size, path)
        elif kind == b"stsd":
            out += boxes(data, pos + 16, pos + size, path)
        pos += size
    return out


def mp4_family():
    m4a = base("base.m4a")
    mutations("m4a", "m4a", m4a)
    mutations("mp4", "mp4", base("base.mp4"))
    mutations("3gp", "3gp", base("base.3gp"))
    at = dict((p, o) for p, o in reversed(boxes(m4a)))
    c = lambda name, d, note, **k: crafted("mp4", name, d, note, **k)
    mvhd, mdhd = at[b"/moov/mvhd"], at[b"/moov/trak/mdia/mdhd"]
    c("mvhd-timescale-0.m4a", patch(m4a, mvhd + 20, be32(0)), "movie timescale 0")
    c("mdhd-timescale-0.m4a", patch(m4a, mdhd + 20, be32(0)), "audio track timescale 0")
    c("both-timescales-0.m4a", patch(patch(m4a, mvhd + 20, be32(0)), mdhd + 20, be32(0)), "movie and track timescales 0")
    c("mvhd-duration-max.m4a", patch(patch(m4a, mvhd + 20, be32(1)), mvhd + 24, be32(0xFFFFFFFE)), "movie of 2^32-2 seconds")
    c("mdhd-duration-0.m4a", patch(patch(m4a, mvhd + 24, be32(0)), mdhd + 24, be32(0)), "all durations 0")
    c("mdhd-version-9.m4a", patch(m4a, mdhd + 8, b"\x09"), "mdhd version 9")
    entry = at.get(b"/moov/trak/mdia/minf/stbl/stsd/mp4a")
    if entry:
        c("mp4a-channels-0.m4a", patch(m4a, entry + 24, be16(0)), "mp4a channel count 0")
        c("mp4a-rate-0.m4a", patch(m4a, entry + 32, be32(0)), "mp4a sample rate 0")
        c("mp4a-size-4.m4a", patch(m4a, entry, be32(4)), "mp4a sample entry of size 4")
    for name, table, offset, value, note in [
        ("stsz-count-max", b"stsz", 16, 0xFFFFFFFF, "stsz sample count 2^32-1"),
        ("stsz-uniform-max", b"stsz", 12, 0xFFFFFFFF, "every sample 4 GiB"),
        ("stts-count-max", b"stts", 12, 0xFFFFFFFF, "stts entry count 2^32-1"),
        ("stts-samples-max", b"stts", 16, 0xFFFFFFFF, "stts run of 2^32-1 samples"),
        ("stts-delta-0", b"stts", 20, 0, "stts sample delta 0"),
        ("stsc-count-max", b"stsc", 12, 0xFFFFFFFF, "stsc entry count 2^32-1"),
        ("stsc-first-chunk-0", b"stsc", 16, 0, "stsc first chunk 0"),
        ("stsc-per-chunk-max", b"stsc", 20, 0xFFFFFFFF, "2^32-1 samples per chunk"),
        ("stco-count-max", b"stco", 12, 0xFFFFFFFF, "stco entry count 2^32-1"),
        ("stco-offset-max", b"stco", 16, 0xFFFFFFFF, "chunk offset past the end"),
        ("stsd-count-max", b"stsd", 12, 0xFFFFFFFF, "stsd entry count 2^32-1"),
        ("stsd-count-0", b"stsd", 12, 0, "stsd entry count 0"),
    ]:
        o = at.get(b"/moov/trak/mdia/minf/stbl/" + table)
        if o is not None:
            c(f"{name}.m4a", patch(m4a, o + offset, be32(value)), note)
    esds = m4a.find(b"esds")
    if esds > 0:
        c("esds-lengths-forever.m4a", patch(m4a, esds + 9, b"\x80" * 12), "esds descriptor lengths that never end")
        c("esds-asc-bad.m4a", patch(m4a, esds + 30, b"\xff\xff"), "esds with a junk AudioSpecificConfig")
    moov = at[b"/moov"]
    moov_size = struct.unpack(">I", m4a[moov:moov + 4])[0]
    ftyp = m4a[:at[b"/ftyp"] + struct.unpack(">I", m4a[at[b"/ftyp"]:at[b"/ftyp"] + 4])[0]]
    moov_box = m4a[moov:moov + moov_size]
    c("largesize-0.m4a", ftyp + be32(1) + b"free" + be64(0) + moov_box, "box with size 1 and largesize 0")
    c("largesize-max.m4a", ftyp + be32(1) + b"free" + be64(2**64 - 1) + moov_box, "box with largesize 2^64-1")
    for n in range(1, 8):
        c(f"size-{n}.m4a", ftyp + be32(n) + b"free" + moov_box, f"box of declared size {n}")
    c("size-0-first.m4a", ftyp + box(b"mdat", size=0) + moov_box, "mdat of size 0 (to the end) before moov")
    c("moov-size-0.m4a", ftyp + be32(0) + moov_box[4:], "moov of size 0 (to the end)")
    c("many-free.m4a", ftyp + box(b"free") * 10000 + moov_box, "10000 empty boxes before moov", via_url=False)
    nest = b"moov"
    deep = box(b"mvhd", full() + b"\0" * 96)
    for _ in range(3000):
        deep = box(nest, deep)
    c("moov-nested-3000.mp4", ftyp + deep, "moov inside moov, 3000 deep", via_url=False)
    deep = b""
    for _ in range(3000):
        deep = box(b"udta", box(b"meta", full() + deep))
    c("udta-meta-nested.m4a", ftyp + moov_box[:8] + deep + moov_box[8:], "udta/meta nested 3000 deep inside moov", via_url=False)
    c("ftyp-only.m4a", ftyp, "ftyp and nothing else")
    c("moov-first.mp4", box(b"moov", box(b"mvhd", full() + b"\0" * 96)), "file starting with an empty moov")
    c("moov-twice.m4a", ftyp + moov_box + moov_box, "two moov boxes")
    trak = at[b"/moov/trak"]
    trak_box = m4a[trak:trak + struct.unpack(">I", m4a[trak:trak + 4])[0]]
    c("trak-50.m4a", ftyp + box(b"moov", moov_box[8:] + trak_box * 50) + m4a[moov + moov_size:], "50 audio tracks", via_url=False)
    hdlr = at.get(b"/moov/trak/mdia/hdlr")
    if hdlr is not None:
        c("hdlr-vide.m4a", patch(m4a, hdlr + 16, b"vide"), "the only track says video")
    mehd = box(b"mvex", box(b"mehd", full(1) + be64(2**64 - 1)))
    c("mehd-max.m4a", patch(ftyp + box(b"moov", moov_box[8:] + mehd), len(ftyp) + 8 + (mvhd - moov) - 8 + 24, be32(0)) + m4a[moov + moov_size:], "fragment duration 2^64-1, movie duration 0")
    g = base("base.3gp")
    gat = dict((p, o) for p, o in reversed(boxes(g)))
    samr = gat.get(b"/moov/trak/mdia/minf/stbl/stsd/samr")
    if samr is not None:
        c("samr-rate-0.3gp", patch(g, samr + 32, be32(0)), "AMR sample entry with rate 0")
        c("samr-damr-short.3gp", patch(g, samr + 36, be32(9)), "damr box cut to 1 byte")


# ---------------------------------------------------------------------------------------
# AMR, ASF (WMA), FLV, headerless PCM, and bytes of no known container

def misc_family():
    amr = base("base.amr")
    mutations("amr", "amr", amr)
    c = lambda stem, name, d, note, **k: crafted(stem, name, d, note, **k)
    c("amr", "magic-only.amr", b"#!AMR\n", "AMR magic and no frames")
    c("amr", "reserved-types.amr", b"#!AMR\n" + bytes([(t << 3) | 4 for t in range(9, 15)]) * 300, "reserved AMR-NB frame types")
    c("amr", "no-data-50k.amr", b"#!AMR\n" + b"\x7c" * 50000, "50000 NO_DATA frames (1000 s)", via_url=False)
    c("amr", "multichannel.amr", b"#!AMR_MC1.0\n" + be32(0xFFFFFFFF) + amr[6:], "multichannel AMR with 2^32-1 channels")
    c("amr", "wb-magic-nb-frames.amr", b"#!AMR-WB\n" + amr[6:], "AMR-WB magic over AMR-NB frames")
    c("amr", "wb-lost.amr", b"#!AMR-WB\n" + b"\x74" * 4000, "4000 AMR-WB SPEECH_LOST frames")
    c("amr", "frame-cut.amr", b"#!AMR\n" + b"\x3c" + b"\0" * 10, "a 12.2k frame cut short")
    wma = base("base.wma")
    mutations("wma", "wma", wma)
    guid_hdr = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
    fileprops = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
    streamprops = bytes.fromhex("9107dcb7b7a9cf118ee600c00c205365")
    audio_media = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")

    def asf(objs, size=None, count=None):
        body = b"".join(objs)
        n = len(objs) if count is None else count
        return guid_hdr + le64(30 + len(body) if size is None else size) + le32(n) + b"\x01\x02" + body

    def obj(guid, body, size=None):
        return guid + le64(24 + len(body) if size is None else size) + body

    fp = lambda play, preroll, flags=2, file_size=0: obj(fileprops, b"\0" * 16 + le64(file_size) + le64(0) + le64(1) + le64(play) + le64(play) + le64(preroll) + le32(flags) + le32(0) + le32(0) + le32(0))
    sp = lambda ch, rate: obj(streamprops, audio_media + b"\0" * 16 + le64(0) + le32(18) + le32(0) + le16(1) + le32(0) + le16(0x161) + le16(ch) + le32(rate) + le32(2000) + le16(64) + le16(16) + le16(0))
    c("wma", "play-max.wma", asf([fp(2**64 - 1, 0), sp(1, 8000)]), "play duration 2^64-1")
    c("wma", "preroll-max.wma", asf([fp(10**7, 2**64 - 1), sp(1, 8000)]), "preroll larger than the duration")
    c("wma", "channels-0.wma", asf([fp(10**7, 0), sp(0, 8000)]), "audio stream with 0 channels")
    c("wma", "rate-0.wma", asf([fp(10**7, 0), sp(1, 0)]), "audio stream with rate 0")
    c("wma", "header-size-max.wma", asf([fp(10**7, 0), sp(1, 8000)], size=2**64 - 1), "header object of 2^64-1 bytes")
    c("wma", "header-size-0.wma", asf([fp(10**7, 0), sp(1, 8000)], size=0), "header object of size 0")
    c("wma", "object-size-0.wma", asf([obj(fileprops, b"", size=0), sp(1, 8000)]), "header sub-object of size 0")
    c("wma", "object-count-max.wma", asf([fp(10**7, 0), sp(1, 8000)], count=0xFFFFFFFF), "2^32-1 header sub-objects claimed")
    c("wma", "file-size-max.wma", asf([fp(10**7, 0, file_size=2**64 - 1), sp(1, 8000)]), "file size 2^64-1")
    c("wma", "props-short.wma", asf([obj(fileprops, b"\0" * 20), sp(1, 8000)]), "file properties cut to 20 bytes")
    c("wma", "guid-only.wma", guid_hdr, "the ASF header GUID alone")

    flv = base("base.flv")
    mutations("flv", "flv", flv)
    mutations("flv-mp3", "flv", base("base-mp3.flv"))
    head = lambda offset=9: b"FLV\x01\x04" + be32(offset) + be32(0)
    tag = lambda kind, data, ts=0, size=None: bytes([kind]) + be24(len(data) if size is None else size) + be24(ts & 0xFFFFFF) + bytes([ts >> 24 & 0xFF]) + be24(0) + data + be32(11 + len(data))
    amf_num = lambda key, v: be16(len(key)) + key + b"\x00" + struct.pack(">d", v)
    meta = lambda props: tag(18, b"\x02" + be16(10) + b"onMetaData" + b"\x08" + be32(len(props)) + b"".join(props) + b"\x00\x00\x09")
    aac_cfg = lambda cfg: tag(8, b"\xaf\x00" + cfg)
    aac_frame = lambda ts: tag(8, b"\xaf\x01" + b"\x21\x00" * 8, ts)
    audio = b"".join(aac_frame(i * 128) for i in range(10))
    for name, v, note in [("nan", float("nan"), "NaN"), ("inf", float("inf"), "infinity"),
                          ("neg", -1.0, "-1"), ("huge", 1e308, "1e308"), ("2e64", 2.0**64, "2^64")]:
        c("flv", f"meta-duration-{name}.flv", head() + meta([amf_num(b"duration", v), amf_num(b"audiosamplerate", v), amf_num(b"audiochannels", v)]) + aac_cfg(b"\x15\x88") + audio, f"onMetaData duration, rate and channels {note}")
    c("flv", "offset-max.flv", head(0xFFFFFFFF) + audio, "data offset 2^32-1")
    c("flv", "offset-0.flv", head(0) + audio, "data offset 0")
    c("flv", "tag-size-max.flv", head() + tag(8, b"\xaf\x01", size=0xFFFFFF), "audio tag of 16 MiB, cut short")
    c("flv", "tags-empty.flv", head() + tag(8, b"") * 3000, "3000 empty audio tags")
    c("flv", "ts-ext-max.flv", head() + aac_cfg(b"\x15\x88") + aac_frame(0xFFFFFFFF), "timestamp 2^32-1 ms")
    c("flv", "asc-rate-escape-0.flv", head() + aac_cfg(b"\x17\x80\x00\x00\x08") + audio, "AudioSpecificConfig with explicit rate 0")
    c("flv", "asc-channels-0.flv", head() + aac_cfg(b"\x15\x80") + audio, "AudioSpecificConfig with channel config 0")
    c("flv", "asc-empty.flv", head() + aac_cfg(b"") + audio, "AAC sequence header without config")
    c("flv", "mp3-junk.flv", head() + tag(8, b"\x2e" + b"\xff\xfb\xf0\x00" * 4) * 50, "MP3 tags with bad frame headers")
    c("flv", "speex.flv", head() + tag(8, b"\xb6" + b"\0" * 20) * 50, "Speex tags")
    strict = b"\x0a" + be32(0xFFFFFFFF) + b"\x05" * 4000
    c("flv", "amf-strict-array-max.flv", head() + tag(18, b"\x02" + be16(10) + b"onMetaData" + b"\x08" + be32(1) + be16(1) + b"x" + strict) + audio, "onMetaData with a strict array of 2^32-1 entries")
    c("flv", "amf-nested.flv", head() + tag(18, b"\x02" + be16(10) + b"onMetaData" + b"\x03" + (be16(1) + b"x" + b"\x03") * 5000) + audio, "onMetaData objects nested 5000 deep")
    c("flv", "amf-long-string.flv", head() + tag(18, b"\x02" + be16(10) + b"onMetaData" + b"\x08" + be32(1) + be16(1) + b"x" + b"\x0c" + be32(0xFFFFFFFF)) + audio, "AMF long string of 4 GiB")

    pcm = base("base.pcm")
    c("pcm", "one-byte.pcm", b"\x01", "a single byte of PCM")
    c("pcm", "odd.pcm", pcm[:-1], "16-bit PCM of an odd length")
    c("pcm", "ff.raw", b"\xff" * 4000, "4000 bytes of FF (looks like MPEG sync)")
    c("pcm", "fffb.pcm", b"\xff\xfb\x90\x64" * 1000, "PCM that spells MP3 frame headers")
    c("pcm", "riff-named.pcm", b"RIFF" + pcm[:2000], "PCM starting with RIFF but no WAVE")
    c("pcm", "speech.PCM", pcm, "well-formed PCM, upper-case extension")
    c("pcm", "path.pcm", pcm[:3000], "PCM (uploaded with a plain name)")
    c("none", "empty.wav", b"", "zero bytes")
    c("none", "zeros.bin", b"\0" * 4096, "4 KiB of zeros")
    c("none", "random.wav", bytes(RNG.randrange(256) for _ in range(4096)), "4 KiB of random bytes named .wav")
    c("none", "text.mp3", b"Hello, this is not audio.\n" * 20, "text named .mp3")
    for magic, note in [(b"RIFF\0\0\0\0WAVE", "WAV"), (b"fLaC", "FLAC"), (b"OggS", "Ogg"), (b"#!AMR", "AMR"),
                        (b"#!AMR-WB", "AMR-WB"), (guid_hdr, "ASF"), (b"FLV\x01", "FLV"),
                        (b"\0\0\0\x18ftypM4A ", "M4A"), (b"\0\0\0\x08moov", "MP4 moov"), (b"ID3", "ID3")]:
        name = "magic-" + note.lower().replace(" ", "-").replace("-wb", "wb") + ".bin"
        c("none", name, magic, f"{note} magic bytes alone")
        c("none", "magic-pad-" + name[6:], magic + b"\0" * 64, f"{note} magic bytes and 64 zeros")


