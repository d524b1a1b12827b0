#!/usr/bin/env bash
# Generates the audio fixtures that `asr_mock::audio` is tested against, and `expected.json`
# with what ffprobe says about each, so the tests need no ffprobe at run time.
#
# Run from the repository root: `bash scripts/make-audio-fixtures.sh`. Idempotent: it rebuilds
# every file from scratch each time. Needs espeak-ng, sox (with AMR-NB support), ffmpeg
# (with libmp3lame, libvorbis, libopus, libspeex), ffprobe, jq and python3:
#   apt-get install -y espeak-ng sox libsox-fmt-base ffmpeg jq python3
set -euo pipefail

out="mock-server/tests/fixtures/audio"
if [[ ! -d mock-server ]]; then
  echo "run this from the repository root" >&2
  exit 1
fi
for tool in espeak-ng sox ffmpeg ffprobe jq python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Strip metadata that changes between runs or ffmpeg versions, so re-runs give stable files.
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# No dither (it would put noise into the "silent" file) and fixed random seeds: repeatable output.
sx() { sox -R -D "$@"; }
quiet_meta=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# --- Speech sources: espeak-ng at its native 22.05 kHz, trimmed of its own silence, then padded
# so the speech starts and ends away from the file edges (the voiced-span tests rely on that).
espeak-ng -v cmn -s 200 -w "$work/cmn-raw.wav" "你好，天气很好。"
espeak-ng -v en -s 190 -w "$work/en-raw.wav" "Hello, the weather is nice."
trim_pad() {
  sx "$1" "$2" silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse pad 0.25 0.3
}
trim_pad "$work/cmn-raw.wav" "$work/cmn.wav"
trim_pad "$work/en-raw.wav" "$work/en.wav"

# --- WAV family.
sx "$work/cmn.wav" -r 16000 -c 1 -b 16 -e signed-integer "$out/speech-cmn-16k.wav"
sx "$work/en.wav" -r 16000 -c 1 -b 16 -e signed-integer "$out/speech-en-16k.wav"
sx -n -r 16000 -c 1 -b 16 -e signed-integer "$out/silence-2s-16k.wav" trim 0 2
# Left channel Mandarin, right channel English; -M pads the shorter one with silence.
sx -M "$work/cmn.wav" "$work/en.wav" -r 8000 -b 16 -e signed-integer "$out/speech-stereo-8k.wav"
ff -i "$out/speech-cmn-16k.wav" "${quiet_meta[@]}" -c:a pcm_s16le -rf64 always -f wav \
  "$out/speech-cmn-rf64.wav"

src="$out/speech-cmn-16k.wav"

# --- Compressed encodings of the same Mandarin speech.
ff -i "$src" "${quiet_meta[@]}" -c:a libmp3lame -b:a 32k "$out/speech-cmn.mp3"
# Constant bit rate, no ID3 tag and no Xing/Info frame: duration must come from counting frames.
ff -i "$src" "${quiet_meta[@]}" -c:a libmp3lame -b:a 24k -write_xing 0 -id3v2_version 0 \
  "$out/speech-cmn-cbr-noxing.mp3"
ff -i "$src" "${quiet_meta[@]}" -c:a libvorbis -q:a 0 "$out/speech-cmn.ogg"
ff -i "$src" "${quiet_meta[@]}" -c:a libopus -b:a 16k "$out/speech-cmn.opus"
ff -i "$src" "${quiet_meta[@]}" -c:a libspeex -f ogg "$out/speech-cmn.spx"
ff -i "$src" "${quiet_meta[@]}" -c:a flac "$out/speech-cmn.flac"
ff -i "$src" "${quiet_meta[@]}" -c:a flac -f ogg "$out/speech-cmn-flac.oga"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 32k -f ipod "$out/speech-cmn.m4a"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 32k -f mp4 "$out/speech-cmn.mp4"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 32k -f adts "$out/speech-cmn.aac"
ff -i "$src" "${quiet_meta[@]}" -c:a wmav2 -b:a 32k -f asf "$out/speech-cmn.wma"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 32k -f flv "$out/speech-cmn.flv"
ff -i "$src" -f s16le -c:a pcm_s16le "$out/speech-cmn.pcm"

# AMR-NB: ffmpeg here has no AMR encoder, sox does (through libopencore-amrnb).
sx "$src" -r 8000 -c 1 -t amr-nb "$out/speech-cmn.amr"
# 3GP with the AMR-NB stream copied in, as phones record it.
ff -i "$out/speech-cmn.amr" "${quiet_meta[@]}" -c:a copy -f 3gp "$out/speech-cmn.3gp"

# AMR-WB: no encoder is packaged (sox is built without AMR-WB encoding, ffmpeg without
# libvo-amrwbenc), so this file is synthetic: the AMR-WB storage header and 100 mode-8
# (23.85 kbit/s) frames with a seeded pseudo-random payload. It decodes to noise, not speech,
# but its container, frame structure and duration (2 s) are exactly those of a real file.
python3 - "$out/synthetic-wb.amr" <<'PY'
import sys
state = 0x2545F491
def byte():
    global state
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state & 0xFF
data = bytearray(b"#!AMR-WB\n")
for _ in range(100):
    data.append((8 << 3) | 0x04)  # frame type 8, quality bit set
    data.extend(byte() for _ in range(60))
open(sys.argv[1], "wb").write(bytes(data))
PY

# --- Error cases.
head -c 30 "$out/speech-cmn-16k.wav" >"$out/truncated-header.wav"
# ffmpeg writes `moov` at the end, so the first half of an m4a has `ftyp` and part of `mdat`.
m4a_size=$(stat -c %s "$out/speech-cmn.m4a")
head -c $((m4a_size / 2)) "$out/speech-cmn.m4a" >"$out/truncated-moov.m4a"
printf 'This is a plain text file, not audio.\nIt is used to test rejection of non-audio uploads.\n' \
  >"$out/not-audio.txt"
python3 - "$out/not-audio.png" <<'PY'
import struct, sys, zlib
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
pixels = b"".join(b"\x00" + b"".join(bytes(((x * 16) & 0xFF, (y * 16) & 0xFF, 128)) for x in range(16)) for y in range(16))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY

# --- expected.json: ffprobe's view of every file.
# Duration: the container's duration, except for elementary streams without a duration field
# (ADTS AAC, AMR, MP3 without Xing/Info) where ffprobe only estimates from the bit rate; for
# those the end of the last packet (pts + duration) is the exact figure ffmpeg decodes to.
probe_json() {
  local file="$1" format="$2" mode="$3"
  local extra=()
  if [[ "$format" == pcm ]]; then
    extra=(-f s16le -ar 16000 -ac 1)
  fi
  local info duration_s
  info=$(ffprobe -v error "${extra[@]}" -select_streams a:0 \
    -show_entries stream=channels,sample_rate:format=duration -of json "$file")
  if [[ "$mode" == packets ]]; then
    duration_s=$(ffprobe -v error "${extra[@]}" -select_streams a:0 \
      -show_entries packet=pts_time,duration_time -of csv=p=0 "$file" |
      awk -F, 'NF >= 2 && $1 != "N/A" { end = $1 + $2 } END { printf "%.6f", end }')
  else
    duration_s=$(jq -r '.format.duration' <<<"$info")
  fi
  jq -n --arg format "$format" --argjson info "$info" --arg d "$duration_s" '{
      format: $format,
      duration_ms: (($d | tonumber) * 1000 | round),
      channels: $info.streams[0].channels,
      sample_rate: ($info.streams[0].sample_rate | tonumber)
    }'
}

entries=()
add() { # file expected-format [packets]
  local name="$1" format="$2" mode="${3:-container}"
  entries+=("$(jq -n --arg name "$name" --argjson v "$(probe_json "$out/$name" "$format" "$mode")" \
    '{($name): $v}')")
}
add_error() { # file error-kind
  entries+=("$(jq -n --arg name "$1" --arg error "$2" '{($name): {error: $error}}')")
}

add speech-cmn-16k.wav wav
add speech-en-16k.wav wav
add silence-2s-16k.wav wav
add speech-stereo-8k.wav wav
add speech-cmn-rf64.wav wav
add speech-cmn.mp3 mp3
add speech-cmn-cbr-noxing.mp3 mp3 packets
add speech-cmn.ogg ogg
add speech-cmn.opus opus
add speech-cmn.spx spx
add speech-cmn.flac flac
add speech-cmn-flac.oga flac
add speech-cmn.m4a m4a
add speech-cmn.mp4 mp4
add speech-cmn.3gp 3gp
add speech-cmn.aac aac packets
add speech-cmn.amr amr packets
add synthetic-wb.amr amr-wb packets
add speech-cmn.wma wma
add speech-cmn.flv flv
add speech-cmn.pcm pcm
add_error truncated-header.wav corrupt
add_error truncated-moov.m4a corrupt
add_error not-audio.txt unrecognized
add_error not-audio.png unrecognized

printf '%s\n' "${entries[@]}" | jq -s 'add' >"$out/expected.json"
echo "wrote $(jq 'length' "$out/expected.json") entries to $out/expected.json"
