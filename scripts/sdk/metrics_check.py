#!/usr/bin/env python3
"""Parses a simulator's /__admin/metrics with the Prometheus project's official Python
client parser (prometheus_client.parser.text_string_to_metric_families), after the official
SDKs used that simulator, and checks that the counters saw their traffic and move.

Usage: metrics_check.py BASE_URL

Prints one `PASS metrics ...` or `FAIL metrics ...` line per check and exits non-zero if any
check failed.
"""

import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
results = []  # (ok, name, detail)


def check(name, ok, detail=""):
    results.append((bool(ok), name, detail))


def scrape(base):
    """Returns {family name: family} and the content type."""
    with urllib.request.urlopen(base + "/__admin/metrics", timeout=10) as res:
        content_type = res.headers.get("Content-Type")
        text = res.read().decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return families, content_type


def value(families, family, sample, **labels):
    """The value of the sample named `sample` of `family` whose labels include `labels`
    (summed when several match; 0 when none does)."""
    f = families.get(family)
    if f is None:
        return 0.0
    return sum(
        s.value
        for s in f.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def upload_without_token(base, scenario):
    """One Coze transcription with no token (401 / 4100), under `scenario` if given."""
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    req = urllib.request.Request(
        base + "/v1/audio/transcriptions", data=b"", method="POST", headers=headers
    )
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        return e.code
    return 200


def main():
    base = sys.argv[1].rstrip("/")
    families, content_type = scrape(base)
    check("content type is the text format 0.0.4", content_type == CONTENT_TYPE, content_type)
    kinds = {
        "asr_mock_requests": "counter",
        "asr_mock_request_duration_seconds": "histogram",
        "asr_mock_icu_tasks": "gauge",
        "asr_mock_callback_attempts": "counter",
        "asr_mock_downloads": "counter",
        "asr_mock_download_bytes": "counter",
        "asr_mock_stream_sessions_opened": "counter",
        "asr_mock_stream_sessions_active": "gauge",
        "asr_mock_stream_sessions_ended": "counter",
        "process_resident_memory_bytes": "gauge",
    }
    for name, kind in kinds.items():
        got = families[name].type if name in families else None
        check(f"family {name} parses as a {kind}", got == kind, f"got {got}")

    ok_uploads = value(
        families, "asr_mock_requests", "asr_mock_requests_total",
        provider="coze", endpoint="transcribe", status="200", code="0",
    )
    check("the SDKs' transcriptions were counted", ok_uploads > 0, f"{ok_uploads}")
    refused = value(
        families, "asr_mock_requests", "asr_mock_requests_total",
        provider="coze", endpoint="transcribe", code="4100",
    )
    check("the SDKs' bad tokens were counted as 4100", refused > 0, f"{refused}")
    streams = value(families, "asr_mock_stream_sessions_opened", "asr_mock_stream_sessions_opened_total")
    check("the JS SDK's streaming sessions were counted", streams > 0, f"{streams}")
    all_transcribe = value(
        families, "asr_mock_requests", "asr_mock_requests_total",
        provider="coze", endpoint="transcribe",
    )
    observed = value(
        families, "asr_mock_request_duration_seconds", "asr_mock_request_duration_seconds_count",
        provider="coze", endpoint="transcribe",
    )
    check(
        "every counted transcription has a latency observation",
        observed == all_transcribe,
        f"{observed} observations, {all_transcribe} requests",
    )
    rss = value(families, "process_resident_memory_bytes", "process_resident_memory_bytes")
    check("resident memory is reported", rss > 1_000_000, f"{rss}")

    status = upload_without_token(base, scenario=None)
    after, _ = scrape(base)
    moved = value(
        after, "asr_mock_requests", "asr_mock_requests_total",
        provider="coze", endpoint="transcribe", status="401", code="4100",
    ) - value(
        families, "asr_mock_requests", "asr_mock_requests_total",
        provider="coze", endpoint="transcribe", status="401", code="4100",
    )
    check("one more 401/4100 moves its counter by exactly 1", status == 401 and moved == 1, f"HTTP {status}, moved {moved}")

    # A scenario fault: its counter appears and counts exactly one.
    status = upload_without_token(base, scenario="coze-invalid-token")
    faults, _ = scrape(base)
    fired = value(
        faults, "asr_mock_scenario_faults", "asr_mock_scenario_faults_total",
        scenario="coze-invalid-token", action="status",
    )
    kind = faults["asr_mock_scenario_faults"].type if "asr_mock_scenario_faults" in faults else None
    check("a scenario fault is counted once, as a counter", status == 401 and fired == 1 and kind == "counter", f"HTTP {status}, {fired}, {kind}")

    # The SDKs' sessions have all ended (the last may still be closing: wait a little).
    for _ in range(50):
        active = value(after, "asr_mock_stream_sessions_active", "asr_mock_stream_sessions_active")
        if active == 0:
            break
        time.sleep(0.1)
        after, _ = scrape(base)
    check("no streaming session is left open", active == 0, f"{active}")

    failed = 0
    for ok, name, detail in results:
        print(f"{'PASS' if ok else 'FAIL'} metrics {name}" + ("" if ok else f" ({detail})"))
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
