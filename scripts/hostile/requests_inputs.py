"""Request inputs: multipart bodies for Coze, JSON, form and query inputs for icu and the
control API, and raw HTTP requests."""

import base64
import json
from urllib.parse import quote

from common import *  # noqa: F401,F403 (the shared helpers)


# ---------------------------------------------------------------------------------------
# Multipart bodies for Coze

def multipart_family():
    wav = tiny_wav()
    part = lambda b, name=b"file", filename=b"a.wav", ct=b"audio/wav", data=wav, extra=b"": (
        b"--" + b + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\"" +
        (b"; filename=\"" + filename + b"\"" if filename is not None else b"") + b"\r\n" +
        (b"Content-Type: " + ct + b"\r\n" if ct is not None else b"") + extra + b"\r\n" + data + b"\r\n")
    end = lambda b: b"--" + b + b"--\r\n"
    ok = lambda b=b"XyZ": part(b) + end(b)
    mp = "multipart/form-data; boundary=XyZ"

    def m(name, body, note, ct=mp):
        add(f"multipart/{name}.bin", body, "multipart", note, content_type=ct, paths=[COZE])

    m("valid", ok(), "a well-formed upload (the control case)")
    m("no-boundary-param", ok(), "Content-Type without a boundary", ct="multipart/form-data")
    m("empty-boundary", ok(), "boundary=\"\"", ct='multipart/form-data; boundary=""')
    m("boundary-mismatch", ok(b"Other"), "body uses another boundary")
    long_b = b"b" * 300
    m("boundary-300", ok(long_b), "a 300-character boundary", ct="multipart/form-data; boundary=" + "b" * 300)
    m("boundary-quoted", ok(b"a b\"c"), "quoted boundary with a quote inside", ct='multipart/form-data; boundary="a b\\"c"')
    m("no-close", part(b"XyZ"), "no closing boundary")
    m("empty-body", b"", "an empty body")
    m("only-close", end(b"XyZ"), "the closing boundary alone")
    m("lf-only", ok().replace(b"\r\n", b"\n"), "LF line endings")
    m("endless-headers", b"--XyZ\r\n" + b"X-Filler: " + b"a" * 70 + b"\r\n" * 1 + (b"X-Filler: aaaa\r\n" * 5000), "5000 part headers that never end")
    m("header-line-100k", b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + b"a" * 100_000 + b"\"\r\n\r\n" + wav + b"\r\n--XyZ--\r\n", "a 100 KB Content-Disposition line")
    m("two-files", part(b"XyZ") + part(b"XyZ", filename=b"b.wav") + end(b"XyZ"), "two file parts")
    m("no-filename", part(b"XyZ", filename=None) + end(b"XyZ"), "file part without a filename")
    m("empty-filename", part(b"XyZ", filename=b"") + end(b"XyZ"), "filename=\"\"")
    m("path-filename", part(b"XyZ", filename=b"../../etc/passwd/..\\..\\a.wav") + end(b"XyZ"), "path traversal in the filename")
    m("long-filename", part(b"XyZ", filename=b"x" * 10000 + b".wav") + end(b"XyZ"), "a 10000-character filename")
    m("utf8-bad-filename", part(b"XyZ", filename=b"\xff\xfe\xc3(.wav") + end(b"XyZ"), "filename with invalid UTF-8")
    m("utf8-bad-name", part(b"XyZ", name=b"fi\xffle") + end(b"XyZ"), "part name with invalid UTF-8")
    m("name-case", part(b"XyZ", name=b"File") + end(b"XyZ"), "part named File")
    m("no-disposition", b"--XyZ\r\nContent-Type: audio/wav\r\n\r\n" + wav + b"\r\n--XyZ--\r\n", "part without Content-Disposition")
    m("disposition-junk", b"--XyZ\r\nContent-Disposition: ;;;==;\"\r\n\r\n" + wav + b"\r\n--XyZ--\r\n", "Content-Disposition of punctuation")
    m("part-ct-multipart", part(b"XyZ", ct=b"multipart/form-data") + end(b"XyZ"), "part Content-Type multipart/form-data (as the Java SDK sends)")
    m("part-ct-junk", part(b"XyZ", ct=b"\x01\x02;;=") + end(b"XyZ"), "part Content-Type of control bytes")
    m("part-base64", part(b"XyZ", extra=b"Content-Transfer-Encoding: base64\r\n", data=base64.b64encode(wav)) + end(b"XyZ"), "part with Content-Transfer-Encoding: base64")
    m("fields-2k", b"".join(part(b"XyZ", name=b"f%d" % i, filename=None, ct=None, data=b"v") for i in range(2000)) + ok(), "2000 small fields before the file")
    m("preamble-epilogue", b"preamble " * 1000 + b"\r\n" + ok() + b"epilogue " * 1000, "9 KB of preamble and epilogue")
    m("nested", part(b"XyZ", ct=b"multipart/mixed; boundary=In", data=b"--In\r\n\r\nx\r\n--In--") + end(b"XyZ"), "a nested multipart/mixed")
    m("file-empty", part(b"XyZ", data=b"") + end(b"XyZ"), "an empty file part")
    m("file-not-audio", part(b"XyZ", data=b"{\"json\": true}") + end(b"XyZ"), "a JSON document as the file")
    m("boundary-in-data", part(b"XyZ", data=b"--XyZ\r\n" + wav) + end(b"XyZ"), "boundary text at the start of the data")
    m("nul-bytes", ok().replace(b"form-data", b"form\0data"), "NUL inside the disposition")
    for ct, note in [("text/plain", "text/plain"), ("application/json", "application/json"),
                     ("multipart/mixed; boundary=XyZ", "multipart/mixed"),
                     ("application/x-www-form-urlencoded", "a form type"),
                     ("multipart/form-data; boundary=XyZ; boundary=Other", "two boundary parameters"),
                     ("MULTIPART/FORM-DATA; BOUNDARY=XyZ", "upper case"),
                     ("multipart/form-data; boundary=XyZ; charset=\xff", "a non-ASCII parameter")]:
        m("ct-" + "".join(ch if ch.isalnum() else "-" for ch in note)[:30].strip("-").lower(), ok(), f"the valid body sent as {note}", ct=ct)



# ---------------------------------------------------------------------------------------
# JSON, form and query inputs for icu (and the control API's JSON endpoints)

def json_family():
    data = base64.b64encode(tiny_wav()).decode()
    valid = {"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1, "Data": data}
    j = lambda name, body, note, paths=JSON_PATHS, ct="application/json": add(
        f"json/{name}.json", body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode(),
        "json", note, paths=paths, content_type=ct)
    with_ = lambda **kw: {**valid, **kw}
    j("valid", valid, "a well-formed submit (the control case)", paths=[SUBMIT])
    j("deep-array", b"[" * 20000 + b"]" * 20000, "arrays nested 20000 deep")
    j("deep-object", b'{"a":' * 20000 + b"1" + b"}" * 20000, "objects nested 20000 deep")
    j("deep-unclosed", b"[" * 50000, "50000 unclosed brackets")
    j("deep-in-field", b'{"EngineModelType":' + b"[" * 5000 + b"]" * 5000 + b"}", "a field nested 5000 deep")
    for name, v in [("num-1e400", b"1e400"), ("num-2e64", b"18446744073709551616"), ("num-neg-2e63", b"-9223372036854775809"),
                    ("num-long", b"1" * 10000), ("num-frac", b"1.5"), ("num-exp", b"1e0"), ("num-neg-zero", b"-0")]:
        j(name, b'{"EngineModelType":"16k_zh","ChannelNum":' + v + b',"ResTextFormat":' + v + b',"SourceType":1,"TaskId":' + v + b',"SpeakerNumber":' + v + b',"Data":"' + data.encode() + b'","seconds":' + v + b',"ms":' + v + b"}", f"number {v[:20].decode()} in every numeric field")
    for field in ["EngineModelType", "ChannelNum", "ResTextFormat", "SourceType", "Data", "Url", "CallbackUrl", "SpeakerDiarization", "FilterPunc", "TaskId"]:
        for kind, v in [("array", [1]), ("object", {"a": 1}), ("bool", True), ("null", None), ("float", 1.25)]:
            j(f"type-{field}-{kind}", with_(**{field: v}), f"{field} as a {kind}", paths=[SUBMIT, QUERY])
    j("strings-everywhere", {k: str(v) if k != "Data" else v for k, v in valid.items()}, "every value as a string (as the public client sends)", paths=[SUBMIT])
    j("num-strings-bad", with_(ChannelNum="1 ", ResTextFormat="+0", SourceType="0x1"), "numeric strings with space, plus sign, hex", paths=[SUBMIT])
    j("invalid-utf8", b'{"EngineModelType":"16k_\xff\xfe","ChannelNum":1,"ResTextFormat":0,"SourceType":1,"Data":"' + data.encode() + b'"}', "invalid UTF-8 inside a string")
    j("invalid-utf8-key", b'{"\xc3(":1,"TaskId":1}', "invalid UTF-8 in a key")
    j("lone-surrogate", b'{"EngineModelType":"\\ud800","TaskId":"\\udfff"}', "lone surrogate escapes")
    j("nul-escape", b'{"EngineModelType":"16k_zh\\u0000","TaskId":"1\\u0000"}', "NUL escapes")
    j("bom", b"\xef\xbb\xbf" + json.dumps(valid).encode(), "a UTF-8 byte order mark first")
    j("utf16", json.dumps(valid).encode("utf-16"), "UTF-16 with a BOM")
    j("trailing-garbage", json.dumps(valid).encode() + b"garbage", "garbage after the object")
    j("two-objects", json.dumps(valid).encode() * 2, "two objects back to back")
    for name, body in [("empty", b""), ("null", b"null"), ("array", b"[1,2]"), ("string", b'"x"'), ("number", b"1"),
                       ("true", b"true"), ("ws", b" \t\r\n" * 100), ("unterminated", b'{"TaskId":"'), ("comma", b'{"TaskId":1,}'),
                       ("single-quotes", b"{'TaskId':1}"), ("nan", b'{"TaskId":NaN,"seconds":NaN}'), ("infinity", b'{"seconds":Infinity}'),
                       ("comment", b'{"TaskId":1 /* c */}')]:
        j(f"doc-{name}", body, f"a JSON document that is {name}")
    j("dup-keys", b'{"EngineModelType":"16k_zh","EngineModelType":"8k_zh","ChannelNum":1,"ChannelNum":2,"ResTextFormat":0,"SourceType":1,"SourceType":0,"Data":"' + data.encode() + b'","TaskId":1,"TaskId":"x"}', "duplicate keys with conflicting values")
    j("keys-5k", {**{f"k{i}": i for i in range(5000)}, **valid}, "5000 unknown keys", paths=[SUBMIT, QUERY])
    j("key-64k", {("K" * 65536): 1, **valid}, "a 64 KiB key", paths=[SUBMIT, QUERY])
    j("string-100k", with_(CallbackUrl="http://x/" + "a" * 100_000), "a 100 KB CallbackUrl", paths=[SUBMIT])
    for name, url, note in [("url-no-scheme", "example.com/a.wav", "Url without a scheme"), ("url-file", "file:///etc/passwd", "a file: Url"),
                            ("url-ipv6-open", "http://[::1/a.wav", "an unclosed IPv6 literal"), ("url-port-max", "http://127.0.0.1:99999/a", "port 99999"),
                            ("url-userinfo", "http://u:p@127.0.0.1:1/a", "credentials in the Url"), ("url-2049", "http://h/" + "a" * 2040, "a 2049-byte Url"),
                            ("url-ctl", "http://h/\r\nX: y", "CR LF in the Url"), ("url-unicode", "http://例え.テスト/音声.wav", "a Unicode host"),
                            ("url-javascript", "javascript:alert(1)", "a javascript: Url"), ("url-empty-host", "http:///a.wav", "an empty host")]:
        j(name, with_(SourceType=0, Url=url, Data=None), note, paths=[SUBMIT])
        j("cb-" + name, with_(CallbackUrl=url), "CallbackUrl: " + note, paths=[SUBMIT])
    for name, d, note in [("data-newlines", "\n".join(data[i:i + 76] for i in range(0, len(data), 76)), "Data with newlines (Python encodebytes)"),
                          ("data-urlsafe", data.replace("+", "-").replace("/", "_"), "URL-safe base64"),
                          ("data-no-pad", data.rstrip("="), "base64 without padding"),
                          ("data-pad-middle", data[:8] + "==" + data[8:], "padding in the middle"),
                          ("data-spaces", data.replace("A", " "), "spaces for some letters"),
                          ("data-one-char", "A", "a single base64 character"),
                          ("data-pad-only", "====", "padding only"),
                          ("data-not-audio", base64.b64encode(b"hello world, no audio").decode(), "base64 of text"),
                          ("data-unicode", "数据", "non-ASCII Data")]:
        j(name, with_(Data=d), note, paths=[SUBMIT])
    for name, body, note in [("clock-advance-1e308", {"seconds": 1e308}, "advance 1e308 s"),
                             ("clock-advance-neg", {"seconds": -5}, "advance -5 s"),
                             ("clock-advance-ms-max", {"ms": 2**63 - 1}, "advance i64::MAX ms"),
                             ("clock-advance-ms-2e64", {"ms": 2**64}, "advance 2^64 ms"),
                             ("clock-advance-both", {"seconds": 1, "ms": 1}, "seconds and ms together"),
                             ("clock-advance-tiny", {"seconds": 1e-300}, "advance 1e-300 s")]:
        j(name, body, "control API: " + note, paths=["/__admin/clock/advance"])
    for name, body, note in [("clock-set-min", {"now_ms": -2**63}, "now_ms i64::MIN"),
                             ("clock-set-max", {"now_ms": 2**63 - 1}, "now_ms i64::MAX"),
                             ("clock-factor-0", {"mode": "scaled", "factor": 0}, "scaled with factor 0"),
                             ("clock-factor-neg", {"mode": "scaled", "factor": -1}, "scaled with factor -1"),
                             ("clock-factor-huge", {"mode": "scaled", "factor": 1e308}, "scaled with factor 1e308"),
                             ("clock-mode-bad", {"mode": "sideways"}, "an unknown mode")]:
        j(name, body, "control API: " + note, paths=["/__admin/clock"])
    j("transition-bad", {"status": "failed", "code": 2**64, "message": "x" * 10000}, "control API: transition with code 2^64 and a 10 KB message", paths=["/__admin/tasks/1/transition", "/__admin/tasks/18446744073709551615/transition"])
    j("fixture-bad", {"audio_base64": "!!!", "text": "x", "sha256": "zz"}, "control API: fixture with bad base64 and hash", paths=["/__admin/fixtures"])
    j("settings-bad", {"progress": "polls", "polls_per_status": 2**40, "submit_rate": -1, "query_rate": 1e300}, "control API: icu settings out of range", paths=["/__admin/icu/settings"])
    j("activate-bad", {"name": "x" * 10000, "token": "\u0000"}, "control API: activate an unknown 10 KB name", paths=["/__admin/scenarios/activate", "/__admin/scenarios/deactivate"])
    j("wrong-ct-json", valid, "a valid submit body sent as text/plain", paths=[SUBMIT, QUERY], ct="text/plain")
    j("json-charset-junk", valid, "application/json with a junk charset", paths=[SUBMIT], ct="application/json; charset=ebcdic; x=\"")


def form_family():
    data = base64.b64encode(tiny_wav()).decode()
    f = lambda name, body, note, ct="application/x-www-form-urlencoded": add(
        f"form/{name}.txt", body, "form", note, paths=FORM_PATHS, content_type=ct)
    ok = "EngineModelType=16k_zh&ChannelNum=1&ResTextFormat=0&SourceType=1&Data=" + quote(data, safe="")
    f("valid", ok.encode(), "a well-formed form submit (the control case)")
    f("data-raw-plus", ok.replace(quote(data, safe=""), data).encode(), "Data not percent-encoded: '+' reads as space")
    f("pct-bad", b"EngineModelType=%zz&ChannelNum=%&ResTextFormat=%4&TaskId=%G1", "malformed percent escapes")
    f("pct-utf8-bad", b"EngineModelType=%C3%28&ChannelNum=%FF&TaskId=%80", "escapes that decode to invalid UTF-8")
    f("raw-utf8-bad", b"EngineModelType=\xff\xfe&TaskId=\xc3", "raw invalid UTF-8 bytes")
    f("pct-nul", b"EngineModelType=16k_zh%00&TaskId=1%00", "escaped NUL")
    f("only-separators", b"&&&&====&&&=&=", "separators only")
    f("pairs-10k", b"&".join(b"k%d=v" % i for i in range(10000)) + b"&" + ok.encode(), "10000 unknown pairs")
    f("dup", (ok + "&ChannelNum=2&ChannelNum=x&SourceType=0&TaskId=1&TaskId=2").encode(), "duplicate names, conflicting values")
    f("name-only", b"EngineModelType&ChannelNum&ResTextFormat&SourceType&TaskId", "names without values")
    f("value-100k", b"CallbackUrl=" + b"a" * 100_000 + b"&" + ok.encode(), "a 100 KB value")
    f("nums-huge", b"EngineModelType=16k_zh&ChannelNum=99999999999999999999999&ResTextFormat=-99999999999999999999&SourceType=1e1&TaskId=18446744073709551616", "numbers past u64 and i64")
    f("json-as-form", json.dumps({"TaskId": 1}).encode(), "a JSON body sent as a form")
    f("form-no-ct", ok.encode(), "a form without Content-Type", ct="")
    f("form-ct-params", ok.encode(), "form type with odd parameters", ct="application/x-www-form-urlencoded; charset=latin1; boundary=x")


def query_family():
    q = lambda name, body, note, paths=QUERY_PATHS: add(f"query/{name}.txt", body, "query", note, paths=paths)
    for name, body, note in [
        ("empty", b"", "an empty query"), ("taskid-empty", b"TaskId=", "TaskId empty"),
        ("taskid-abc", b"TaskId=abc", "TaskId not a number"), ("taskid-neg", b"TaskId=-1", "TaskId -1"),
        ("taskid-2e64", b"TaskId=18446744073709551616", "TaskId 2^64"), ("taskid-max", b"TaskId=18446744073709551615", "TaskId 2^64-1"),
        ("taskid-zero-pad", b"TaskId=" + b"0" * 5000 + b"1", "TaskId with 5000 leading zeros"),
        ("taskid-exp", b"TaskId=1e3", "TaskId 1e3"), ("taskid-hex", b"TaskId=0x10", "TaskId in hex"),
        ("taskid-space", b"TaskId=%201", "TaskId with a leading space"), ("taskid-plus", b"TaskId=+1", "TaskId +1"),
        ("taskid-dup", b"TaskId=1&TaskId=2&TaskId=x", "TaskId three times"), ("taskid-utf8", b"TaskId=%FF%FE", "TaskId of invalid UTF-8"),
        ("taskid-unicode", "TaskId=１２３".encode(), "TaskId in full-width digits"), ("pct-bad", b"TaskId=%&%%=%zz", "malformed escapes"),
        ("limit-huge", b"limit=18446744073709551616&status=success", "limit 2^64"), ("limit-neg", b"limit=-1&status=nope", "limit -1, unknown status"),
        ("task-id-huge", b"task_id=99999999999999999999999", "task_id past u64"), ("long-8k", b"TaskId=1&pad=" + b"a" * 8000, "an 8 KB query"),
        ("pairs-2k", b"&".join(b"k%d=%d" % (i, i) for i in range(2000)), "2000 pairs"),
    ]:
        q(name, body, note)
    gen = ["/__admin/audio/generated/speechlike.wav", "/__admin/audio/generated/silence.wav"]
    for name, body, note in [
        ("gen-nan", b"seconds=NaN", "seconds NaN"), ("gen-inf", b"seconds=inf", "seconds infinity"),
        ("gen-neg", b"seconds=-1", "seconds -1"), ("gen-1e300", b"seconds=1e300", "seconds 1e300"),
        ("gen-huge", b"seconds=18000&rate=48000&channels=2", "5 h of 48 kHz stereo (over the limit)"),
        ("gen-rate-max", b"seconds=1&rate=4294967296&channels=65536", "rate 2^32, 65536 channels"),
        ("gen-rate-0", b"seconds=1&rate=0&channels=0", "rate and channels 0"), ("gen-missing", b"", "no seconds"),
        ("gen-text", b"seconds=ten", "seconds not a number"), ("gen-small", b"seconds=0.5", "half a second (the control case)"),
    ]:
        q(name, body, note, paths=gen)


# ---------------------------------------------------------------------------------------
# Raw HTTP requests, written to the socket as they are

def http_family():
    h = lambda name, body, note: add(f"http/{name}.http", body, "http", note)
    req = lambda line, headers=b"Host: x\r\n", body=b"": line + b"\r\n" + headers + b"\r\n" + body
    for prefix, name in [(b"/v1/audio/transcriptions", "coze"), (b"/openapi/asr/searchResult", "icu"), (b"/__admin/health", "admin"), (b"/", "root")]:
        h(f"uri-66k-{name}", req(b"GET " + prefix + b"?" + b"a" * 66_000 + b" HTTP/1.1"), f"a 66 KB request target under {prefix.decode()}")
        if name == "coze":
            h(f"header-420k-{name}", req(b"POST " + prefix + b" HTTP/1.1", b"Host: x\r\nX-Big: " + b"a" * 420_000 + b"\r\n"), f"a 420 KB header line under {prefix.decode()}")
        h(f"headers-many-{name}", req(b"POST " + prefix + b" HTTP/1.1", b"Host: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(2000))), f"2000 headers under {prefix.decode()}")
        h(f"cl-bad-{name}", req(b"POST " + prefix + b" HTTP/1.1", b"Host: x\r\nContent-Length: abc\r\n"), f"Content-Length: abc under {prefix.decode()}")
        h(f"chunk-bad-{name}", req(b"POST " + prefix + b" HTTP/1.1", b"Host: x\r\nTransfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"), f"a chunk size that is not hex under {prefix.decode()}")
        h(f"chunk-overflow-{name}", req(b"POST " + prefix + b" HTTP/1.1", b"Host: x\r\nTransfer-Encoding: chunked\r\n", b"1ffffffffffffffff\r\nabc\r\n0\r\n\r\n"), f"a chunk size past 2^64 under {prefix.decode()}")
    h("garbage-line", b"GARBAGE\r\n\r\n", "a request line of one word")
    h("binary", bytes(RNG.randrange(256) for _ in range(2000)), "2000 random bytes")
    h("tls-hello", bytes.fromhex("16030100a5010000a10303") + bytes(32) + b"\x00\x00\x02\x00\x2f\x01\x00\x00\x76" + bytes(0x76), "a TLS ClientHello")
    h("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"), "the HTTP/2 connection preface")
    h("http09", b"GET /\r\n\r\n", "an HTTP/0.9 request line")
    h("version-bad", req(b"GET / HTTP/9.9"), "HTTP/9.9")
    h("method-long", req(b"X" * 5000 + b" /v1/audio/transcriptions HTTP/1.1"), "a 5000-character method")
    h("method-unknown", req(b"BREW /openapi/asr/voiceToText HTTP/1.1"), "an unknown method on submit")
    h("options-star", req(b"OPTIONS * HTTP/1.1"), "OPTIONS *")
    h("connect", req(b"CONNECT 127.0.0.1:1 HTTP/1.1"), "CONNECT")
    h("absolute-form", req(b"GET http://evil.example/__admin/health HTTP/1.1"), "an absolute-form target")
    h("obs-fold", req(b"POST /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nX-A: a\r\n  folded\r\n"), "an obsolete folded header")
    h("header-nonascii", req(b"POST /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nAuthorization: Bearer \xff\xfe\r\n"), "non-ASCII bytes in Authorization")
    h("header-no-colon", req(b"GET / HTTP/1.1", b"Host: x\r\nNoColonHere\r\n"), "a header line without a colon")
    h("cl-and-te", req(b"POST /openapi/asr/voiceToText HTTP/1.1", b"Host: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), "Content-Length and chunked together")
    h("cl-two", req(b"POST /openapi/asr/voiceToText HTTP/1.1", b"Host: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n", b"{}"), "two different Content-Lengths")
    h("cl-huge", req(b"POST /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nAuthorization: Bearer pat\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: 99999999999999999999\r\n"), "Content-Length past u64")
    h("cl-16m-coze", req(b"POST /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nAuthorization: Bearer pat\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: 16000000\r\n"), "a declared 16 MB upload (over 15 MB), no body")
    h("cl-16m-icu", req(b"POST /openapi/asr/voiceToText HTTP/1.1", b"Host: x\r\nContent-Type: application/json\r\nContent-Length: 16000000\r\n"), "a declared 16 MB submit, no body")
    h("path-nul", req(b"GET /openapi/asr/searchResult%00?TaskId=1 HTTP/1.1"), "an escaped NUL in the path")
    h("path-dotdot", req(b"GET /v1/../__admin/health HTTP/1.1"), "dot segments into the control API")
    h("path-double-slash", req(b"POST //v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nContent-Length: 0\r\n"), "a doubled leading slash (trailing-slash base URL)")
    h("path-prefix", req(b"POST /api/v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nContent-Length: 0\r\n"), "a base URL with a path prefix")
    h("path-encoded", req(b"GET /%6F%70%65%6E%61%70%69/asr/searchResult?TaskId=1 HTTP/1.1"), "a percent-encoded provider path")
    h("expect-continue", req(b"POST /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\nAuthorization: Bearer pat\r\nContent-Type: multipart/form-data; boundary=X\r\n", b"0123456789"), "Expect: 100-continue")
    h("expect-junk", req(b"POST /openapi/asr/voiceToText HTTP/1.1", b"Host: x\r\nExpect: teapot\r\nContent-Length: 2\r\n", b"{}"), "an unknown Expect")
    h("no-host", b"GET /openapi/asr/searchResult?TaskId=1 HTTP/1.1\r\n\r\n", "no Host header")
    h("host-junk", req(b"GET /__admin/health HTTP/1.1", b"Host: \x01\x02:-1\r\n"), "a Host of control bytes")
    h("pipelined-junk", req(b"GET /__admin/health HTTP/1.1") + b"JUNK\r\n\r\n", "a good request then junk on the same connection")
    h("lf-only", b"GET /__admin/health HTTP/1.1\nHost: x\n\n", "LF-only line endings")
    h("upgrade-ws", req(b"GET /v1/audio/transcriptions HTTP/1.1", b"Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), "a WebSocket upgrade on the Coze path")


