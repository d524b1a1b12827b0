#!/usr/bin/env python3
"""Writes the hostile corpus: `gen_corpus.py BASE_DIR OUT_DIR`.

BASE_DIR holds the well-formed base files that make-hostile-corpus.sh encoded (base.wav,
base.mp3, ...). OUT_DIR receives one file per input and `manifest.json`, which says for
each file how it is sent (its `kind`), where (`paths`), with which `content_type`, and why
it is there (`note`). Everything is deterministic: one seeded generator, no clock.

Kinds (the test knows one transport per kind):
  audio      uploaded to Coze as the `file` part (named as the file) and submitted to icu as
             inline Data; `via_url` adds an icu task that downloads it from the simulator
  multipart  POSTed as is to each path with `content_type`
  json/form  POSTed as is to each path with `content_type`
  query      GET each path with `?` and the file's bytes
  http       written as is to a fresh TCP connection
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from audio import flac_family, misc_family, mp4_family, mpeg_family, ogg_family, wav_family  # noqa: E402
from common import MANIFEST, OUT  # noqa: E402
from requests_inputs import (form_family, http_family, json_family, multipart_family,  # noqa: E402
                             query_family)


def main():
    wav_family()
    mpeg_family()
    ogg_family()
    flac_family()
    mp4_family()
    misc_family()
    multipart_family()
    json_family()
    form_family()
    query_family()
    http_family()
    files = sorted(MANIFEST, key=lambda e: e["file"])
    names = [e["file"] for e in files]
    assert len(names) == len(set(names)), "duplicate corpus file names"
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        f.write('{"version": 1, "generator": "scripts/make-hostile-corpus.sh", "inputs": [\n')
        f.write(",\n".join(json.dumps(e, ensure_ascii=False) for e in files))
        f.write("\n]}\n")
    print(f"wrote {len(files)} inputs to {OUT}/manifest.json")


main()
