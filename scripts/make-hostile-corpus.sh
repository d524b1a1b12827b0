#!/usr/bin/env bash
# Generates the hostile corpus that `mock-server/tests/it/hostile.rs` runs against the
# simulator: crafted, truncated and bit-flipped files of every audio container it sniffs,
# malformed multipart bodies, JSON, form bodies, query strings and raw HTTP requests, with a
# manifest (`manifest.json`) saying how each one is sent.
#
# Run from the repository root: `bash scripts/make-hostile-corpus.sh`. Idempotent: it deletes
# and rebuilds the corpus; the same tool versions give the same bytes (fixed seeds, bit-exact
# encoders). Needs espeak-ng, sox (with AMR-NB support), ffmpeg (with libmp3lame, libvorbis,
# libopus, libspeex) and python3:
#   apt-get install -y espeak-ng sox libsox-fmt-all ffmpeg python3
set -euo pipefail

out="mock-server/tests/hostile"
if [[ ! -d mock-server ]]; then
  echo "run this from the repository root" >&2
  exit 1
fi
for tool in espeak-ng sox ffmpeg python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
sx() { sox -R -D "$@"; }
quiet_meta=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# One short spoken source (about 1.4 s, 8 kHz mono): every container's base file encodes it,
# so truncations and flips of each stay a few kilobytes.
espeak-ng -v cmn -s 220 -w "$work/raw.wav" "你好"
sx "$work/raw.wav" "$work/src.wav" silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse \
  pad 0.3 0.3 rate 8000 channels 1
sx "$work/src.wav" -b 16 -e signed-integer "$work/base.wav"
src="$work/base.wav"
b="$work/base"
ff -i "$src" "${quiet_meta[@]}" -c:a pcm_s16le -rf64 always -f wav "$b-rf64.wav"
ff -i "$src" "${quiet_meta[@]}" -c:a libmp3lame -b:a 16k "$b.mp3"
ff -i "$src" "${quiet_meta[@]}" -c:a libmp3lame -b:a 16k -write_xing 0 -id3v2_version 0 "$b-noxing.mp3"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 16k -f adts "$b.aac"
ff -i "$src" "${quiet_meta[@]}" -c:a libvorbis -q:a 0 "$b.ogg"
ff -i "$src" "${quiet_meta[@]}" -c:a libopus -b:a 12k "$b.opus"
ff -i "$src" "${quiet_meta[@]}" -c:a libspeex -f ogg "$b.spx"
ff -i "$src" "${quiet_meta[@]}" -c:a flac "$b.flac"
ff -i "$src" "${quiet_meta[@]}" -c:a flac -f ogg "$b-flac.oga"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 16k -f ipod "$b.m4a"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 16k -f mp4 "$b.mp4"
ff -i "$src" "${quiet_meta[@]}" -c:a wmav2 -b:a 24k -f asf "$b.wma"
ff -i "$src" "${quiet_meta[@]}" -c:a aac -b:a 16k -f flv "$b.flv"
ff -i "$src" "${quiet_meta[@]}" -c:a libmp3lame -b:a 16k -ar 11025 -f flv "$b-mp3.flv"
ff -i "$src" -f s16le -c:a pcm_s16le "$b.pcm"
sx "$src" -t amr-nb "$b.amr"
ff -i "$b.amr" "${quiet_meta[@]}" -c:a copy -f 3gp "$b.3gp"

rm -rf "$out"
mkdir -p "$out"
python3 -B "$(dirname "$0")/hostile/gen_corpus.py" "$work" "$out"
echo "corpus: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
