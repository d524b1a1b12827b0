//! Properties: the `Result` text round-trips, parsers never panic, local validation agrees
//! with the simulator's, and the signature matches an independent computation.

use std::collections::BTreeMap;

use asr_client::icu::{
    format_result, parse_callback, parse_result, sign, Engine, Segment, Source, SubmitRequest,
};
use asr_mock::testing::{parse_submit, RawParams};
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = Segment> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<u32>()),
        // Any text without a line break, spaces at either end included.
        "[^\n]{0,40}",
    )
        .prop_map(|(start_ms, end_ms, speaker, text)| Segment {
            start_ms,
            end_ms,
            speaker,
            text,
        })
}

/// Realistic segments: times under 10 h, ordered, Chinese and ASCII text.
fn realistic_segments() -> impl Strategy<Value = Vec<Segment>> {
    proptest::collection::vec(
        (
            0u64..36_000_000,
            0u64..60_000,
            proptest::option::of(0u32..10),
            "[一-龥a-z，。？ ]{1,20}",
        ),
        0..20,
    )
    .prop_map(|parts| {
        let mut at = 0;
        parts
            .into_iter()
            .map(|(gap, len, speaker, text)| {
                let start_ms = at + gap % 5000;
                at = start_ms + len;
                Segment {
                    start_ms,
                    end_ms: at,
                    speaker,
                    text,
                }
            })
            .collect()
    })
}

const URLS: [&str; 10] = [
    "https://example.com/a.wav",
    "http://127.0.0.1:9/a",
    "HTTP://Example.com/a b",
    "ftp://example.com/a.wav",
    "example.com/a.wav",
    "http:///a.wav",
    "http://[::1/a",
    "http://example.com:99999/",
    "",
    "https://例子.测试/音频.wav",
];

fn request() -> impl Strategy<Value = SubmitRequest> {
    let engine = proptest::sample::select(Engine::ALL.to_vec());
    let source = prop_oneof![
        proptest::sample::select(URLS.to_vec()).prop_map(|u| Source::Url(u.to_owned())),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Source::Data),
    ];
    let callback = proptest::option::of(proptest::sample::select(URLS.to_vec()));
    (
        engine,
        source,
        (0u8..4, 0u8..4, any::<bool>(), 0u8..13),
        callback,
        (0u8..4, 0u8..4, 0u8..5, 0u8..4),
    )
        .prop_map(
            |(engine, source, (channels, format, diarize, speakers), callback, filters)| {
                let mut r = SubmitRequest::new(engine, source);
                r.channel_num = channels;
                r.res_text_format = format;
                r.speaker_diarization = diarize;
                r.speaker_number = speakers;
                r.callback_url = callback.map(str::to_owned);
                (
                    r.filter_dirty,
                    r.filter_modal,
                    r.convert_num_mode,
                    r.filter_punc,
                ) = filters;
                r
            },
        )
}

proptest! {
    #[test]
    fn result_text_round_trips(segments in proptest::collection::vec(segment(), 0..12)) {
        let text = format_result(&segments);
        prop_assert_eq!(parse_result(&text), Ok(segments));
    }

    #[test]
    fn realistic_result_text_round_trips(segments in realistic_segments()) {
        let text = format_result(&segments);
        prop_assert!(text.lines().all(|l| l.contains("]  ")));
        prop_assert_eq!(parse_result(&text), Ok(segments));
    }

    #[test]
    fn parse_result_never_panics(text in "(\\[[0-9:.,\\]x -]{0,30}  ?[^\n]{0,5}\n?){0,4}") {
        let _ = parse_result(&text);
    }

    #[test]
    fn parse_result_never_panics_on_any_string(text in any::<String>()) {
        let _ = parse_result(&text);
    }

    #[test]
    fn parse_callback_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_callback(&body);
    }

    #[test]
    fn parse_callback_never_panics_on_form_like_bodies(
        body in "((code|requestId|appid|projectid|audioTime|resultDetail|text)=[0-9a-z%+.\\[\\]{}\"-]{0,12}&?){0,8}"
    ) {
        let _ = parse_callback(body.as_bytes());
    }

    /// What the client refuses locally the simulator refuses too, naming the same field;
    /// what it sends is accepted.
    #[test]
    fn local_validation_agrees_with_the_simulator(req in request()) {
        let body = serde_json::to_vec(&req.to_params()).unwrap_or_default();
        let server = RawParams::from_body(Some("application/json;charset=utf-8"), &body)
            .and_then(|raw| parse_submit(&raw));
        match (req.validate(), server) {
            (Ok(()), Ok(_)) => {}
            (Err(local), Err(remote)) => prop_assert!(
                remote.reason.starts_with(&format!("{} ", local.field))
                    || remote.reason.contains(&format!(" {} ", local.field)),
                "client {local} / server {remote}"
            ),
            (local, remote) => prop_assert!(false, "client {local:?} / server {remote:?}"),
        }
    }
}

#[test]
fn data_size_limit_agrees_with_the_simulator() {
    for len in [5 * 1024 * 1024 - 1, 5 * 1024 * 1024] {
        let req = SubmitRequest::new(Engine::Zh16k, Source::Data(vec![0xff; len]));
        let body = serde_json::to_vec(&req.to_params()).unwrap_or_default();
        let server = RawParams::from_body(Some("application/json"), &body)
            .and_then(|raw| parse_submit(&raw));
        assert_eq!(req.validate().is_ok(), server.is_ok(), "{len} bytes");
    }
}

#[test]
fn sign_matches_an_independent_computation() {
    // python3 -c "import hmac,hashlib,base64; p={...,'cSecretId':'AKIDexample',
    //   'cDate':'2025-01-01 08:00:00'}; s='&'.join(f'{k}={v}' for k,v in sorted(p.items()) if v);
    //   print(base64.b64encode(hmac.new(b'secret-key',s.encode(),hashlib.sha1).hexdigest().encode()).decode())"
    let params = BTreeMap::from([
        ("ChannelNum".to_owned(), "1".to_owned()),
        ("EngineModelType".to_owned(), "16k_zh".to_owned()),
        (
            "Url".to_owned(),
            "https://example.com/a b.wav?x=1&y=2".to_owned(),
        ),
        ("CallbackUrl".to_owned(), String::new()),
    ]);
    assert_eq!(
        sign(&params, "AKIDexample", "secret-key", "2025-01-01 08:00:00"),
        "ZWIyYzM5ZGFjYTE3ZGU0OWNmYjFkNjViM2VkMGQwNzIxMzNkMGJiNQ=="
    );
    let query = BTreeMap::from([("TaskId".to_owned(), "4000048858".to_owned())]);
    assert_eq!(
        sign(&query, "AKIDexample", "secret-key", "2025-01-01 08:00:00"),
        "Njc5ZGY3NDkyM2FkNWEzMWFjNzQ5MGNhODM1MjYzMjI2NzY2MDU5Mw=="
    );
}
