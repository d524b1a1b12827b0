//! The journal as a consumer-contract record: headers with credentials redacted, body
//! summaries (multipart parts, icu parameters with `Data` as its size and hash, the start of
//! other bodies), and verification through `POST /__admin/requests/find` and `/count`.

use asr_mock::control::types::{Advance, RequestEntry, RequestMatcher, Since};
use asr_mock::{Config, MockServer};
use base64::Engine as _;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{fixture, TestApp, START_MS};

const TRANSCRIBE: &str = "/v1/audio/transcriptions";
const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn body_json(entry: &RequestEntry) -> Value {
    serde_json::to_value(entry.body.as_ref().expect("a body summary")).unwrap()
}

fn m() -> RequestMatcher {
    RequestMatcher::default()
}

impl TestApp {
    async fn find(&self, matcher: RequestMatcher) -> Vec<RequestEntry> {
        self.control.find(&matcher).await.unwrap().requests
    }

    async fn count(&self, matcher: RequestMatcher) -> usize {
        self.control.count(&matcher).await.unwrap()
    }

    /// POSTs a raw matcher body to find or count: status and JSON answer.
    async fn raw_matcher(&self, path: &str, body: &str) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn icu_post(&self, content_type: &str, body: String, headers: &[(&str, &str)]) -> Value {
        let mut req = self
            .http
            .post(self.url(SUBMIT))
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test]
async fn credentials_are_redacted_and_nothing_secret_is_kept() {
    let app = TestApp::start().await;
    let token = "pat_very_secret_token_wxyz";
    let form = Form::new().part(
        "file",
        Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav"),
    );
    let answer = app
        .transcribe_form(Some(&format!("Bearer {token}")), form)
        .await;
    assert_eq!(answer.code(), 0, "{:?}", answer.json);
    let signed = [
        ("Sign", "c2lnbmF0dXJlLW9mLXRoZS1ib2R5LXNlY3JldA=="),
        ("C-Secret", "AKIDsecretid00001234"),
        ("X-Api-Key", "key-material-9876"),
        ("C-Date", "2025-01-01 08:00:00"),
    ];
    let body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
                      "SourceType": 0, "Url": "http://127.0.0.1:9/a.wav"});
    app.icu_post("application/json", body.to_string(), &signed)
        .await;
    let journal = app.journal().await;
    let text = serde_json::to_string(&journal).unwrap();
    for secret in [token, signed[0].1, signed[1].1, signed[2].1] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(journal[0].headers["authorization"], "Bearer …wxyz");
    let icu = &journal[1].headers;
    assert_eq!(icu["sign"], "…dA==");
    assert_eq!(icu["c-secret"], "…1234");
    assert_eq!(icu["x-api-key"], "…9876");
    assert_eq!(icu["c-date"], "2025-01-01 08:00:00", "not a credential");
    assert_eq!(icu["content-type"], "application/json");
    // The redacted form is what a header matcher compares.
    let by_token = m().header("Authorization", "Bearer …wxyz");
    assert_eq!(app.count(by_token).await, 1);
    assert_eq!(app.count(m().header("authorization", token)).await, 0);
}

#[tokio::test]
async fn multipart_parts_are_summarised_with_size_and_hash() {
    let app = TestApp::start().await;
    let audio = fixture("speech-cmn-16k.wav");
    let form = Form::new().text("model", "whisper").part(
        "file",
        Part::bytes(audio.clone())
            .file_name("speech.wav")
            .mime_str("audio/wav")
            .unwrap(),
    );
    assert_eq!(
        app.transcribe_form(Some("Bearer pat_test"), form)
            .await
            .code(),
        0
    );
    // Refused before the body was read (no token): its parts are described all the same.
    let form = Form::new().part("file", Part::bytes(audio.clone()).file_name("x.wav"));
    let refused = app.transcribe_form(None, form).await;
    assert_eq!(refused.code(), 4100, "{:?}", refused.json);
    let journal = app.journal().await;
    assert_eq!(
        body_json(&journal[0]),
        json!({"kind": "multipart", "parts": [
            {"name": "model", "size": 7, "sha256": sha_hex(b"whisper")},
            {"name": "file", "filename": "speech.wav", "content_type": "audio/wav",
             "size": audio.len(), "sha256": sha_hex(&audio)},
        ]})
    );
    let parts = &body_json(&journal[1])["parts"];
    assert_eq!(parts[0]["size"], audio.len());
    assert_eq!(parts[0]["sha256"], sha_hex(&audio));
    assert_eq!(journal[1].code, Some(4100));
}

#[tokio::test]
async fn icu_parameters_keep_data_as_its_decoded_size_and_hash() {
    let app = TestApp::start().await;
    let audio = fixture("speech-cmn-16k.wav");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
    let json_body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
                           "SourceType": 1, "Data": b64});
    let answer = app
        .icu_post("application/json", json_body.to_string(), &[])
        .await;
    assert_eq!(answer["code"], 0, "{answer}");
    let form = format!(
        "EngineModelType=16k_zh&ChannelNum=1&ResTextFormat=0&SourceType=1&Data={}",
        percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
    );
    let answer = app
        .icu_post("application/x-www-form-urlencoded", form, &[])
        .await;
    assert_eq!(answer["code"], 0, "{answer}");
    // Data that is not base64 is refused: it is kept as its length, never its text.
    let bad = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
                     "SourceType": 1, "Data": "not base64!"});
    app.icu_post("application/json", bad.to_string(), &[]).await;
    let journal = app.journal().await;
    let data = json!({"size": audio.len(), "sha256": sha_hex(&audio)});
    let json_params = &body_json(&journal[0])["params"];
    assert_eq!(json_params["Data"], data);
    assert_eq!(json_params["ChannelNum"], 1, "JSON keeps its types");
    let form_params = &body_json(&journal[1])["params"];
    assert_eq!(form_params["Data"], data);
    assert_eq!(form_params["ChannelNum"], "1", "a form's values are text");
    assert_eq!(
        body_json(&journal[2])["params"]["Data"],
        json!({"chars": 11})
    );
    for entry in &journal {
        let cost = serde_json::to_string(entry).unwrap().len();
        assert!(cost < 4096, "an entry of {cost} bytes");
    }
}

#[tokio::test]
async fn other_bodies_keep_only_their_start() {
    let app = TestApp::start().await;
    let big = format!("{{\"audio\": \"{}\"}}", "z".repeat(5000));
    let res = app
        .http
        .post(app.url(TRANSCRIBE))
        .bearer_auth("pat_test")
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Broken JSON to icu: not parameters, so its start.
    app.icu_post("application/json", "{\"EngineModelType\": ".into(), &[])
        .await;
    let journal = app.journal().await;
    let coze = body_json(&journal[0]);
    assert_eq!(coze["kind"], "text");
    assert_eq!(coze["size"], big.len());
    assert_eq!(coze["truncated"], true);
    assert_eq!(coze["text"].as_str().unwrap(), &big[..1024]);
    assert_eq!(
        body_json(&journal[1]),
        json!({"kind": "text", "text": "{\"EngineModelType\": ", "size": 20})
    );
}

/// Five requests a minute apart on the manual clock: coze ok, coze refused (no token),
/// coze under the coze-invalid-token scenario, icu submit, icu query.
async fn traffic(app: &TestApp) -> u64 {
    let wav = fixture("speech-cmn-16k.wav");
    let minute = || app.control.advance_clock(Advance::seconds(60.0));
    app.transcribe("a.wav", wav.clone()).await;
    minute().await.unwrap();
    let form = Form::new().part("file", Part::bytes(wav.clone()).file_name("b.wav"));
    app.transcribe_form(None, form).await;
    minute().await.unwrap();
    let form = Form::new().part("file", Part::bytes(wav.clone()).file_name("c.wav"));
    let res = app
        .http
        .post(app.url(TRANSCRIBE))
        .bearer_auth("pat_scenario_user")
        .header("X-Mock-Scenario", "coze-invalid-token")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    minute().await.unwrap();
    let body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
                      "SourceType": 0, "Url": "http://127.0.0.1:9/a.wav"});
    let answer = app
        .icu_post("application/json", body.to_string(), &[])
        .await;
    let task_id = answer["data"]["TaskId"].as_u64().expect("a task");
    minute().await.unwrap();
    let res = app
        .http
        .get(app.url(&format!("{QUERY}?TaskId={task_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    task_id
}

fn paths(found: &[RequestEntry]) -> Vec<(String, u64)> {
    found.iter().map(|e| (e.path.clone(), e.seq)).collect()
}

#[tokio::test]
async fn every_matcher_field_selects_what_it_names() {
    let app = TestApp::start().await;
    let task_id = traffic(&app).await;
    let seqs = |found: Vec<RequestEntry>| found.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(app.find(m()).await), [1, 2, 3, 4, 5]);
    let coze = RequestMatcher {
        provider: Some(asr_mock::control::types::Provider::Coze),
        ..m()
    };
    assert_eq!(seqs(app.find(coze).await), [1, 2, 3]);
    let get = RequestMatcher {
        method: Some("get".into()),
        ..m()
    };
    assert_eq!(seqs(app.find(get).await), [5]);
    let exact = RequestMatcher {
        path: Some(SUBMIT.into()),
        ..m()
    };
    assert_eq!(seqs(app.find(exact).await), [4]);
    let pattern = RequestMatcher {
        path_pattern: Some("/openapi/asr/.*".into()),
        ..m()
    };
    assert_eq!(seqs(app.find(pattern).await), [4, 5]);
    let partial = RequestMatcher {
        path_pattern: Some("/openapi".into()),
        ..m()
    };
    assert_eq!(app.count(partial).await, 0, "the whole path must match");
    assert_eq!(
        seqs(
            app.find(m().header("X-MOCK-SCENARIO", "coze-invalid-token"))
                .await
        ),
        [3]
    );
    assert_eq!(
        seqs(app.find(m().header("authorization", "Bearer …user")).await),
        [3]
    );
    let by_query = m().parameter("TaskId", task_id.to_string());
    assert_eq!(seqs(app.find(by_query).await), [5]);
    // Body parameters too: a JSON number matches its text.
    assert_eq!(seqs(app.find(m().parameter("ChannelNum", "1")).await), [4]);
    let unauthorized = RequestMatcher {
        status: Some(401),
        ..m()
    };
    assert_eq!(seqs(app.find(unauthorized).await), [2, 3]);
    let code = RequestMatcher {
        code: Some(4100),
        ..m()
    };
    assert_eq!(seqs(app.find(code).await), [2, 3]);
    let scenario = RequestMatcher {
        scenario: Some("coze-invalid-token".into()),
        ..m()
    };
    assert_eq!(seqs(app.find(scenario).await), [3]);
    // `since` is inclusive, in epoch ms or RFC 3339 on the simulator's clock.
    let since_ms = RequestMatcher {
        since: Some(Since::Ms(START_MS + 3 * 60_000)),
        ..m()
    };
    assert_eq!(seqs(app.find(since_ms).await), [4, 5]);
    let since_text = RequestMatcher {
        since: Some(Since::Text("2025-01-01T08:01:00+08:00".into())),
        ..m()
    };
    assert_eq!(seqs(app.find(since_text).await), [2, 3, 4, 5]);
    // Fields combine; limit keeps the newest.
    let both = RequestMatcher {
        provider: Some(asr_mock::control::types::Provider::Coze),
        code: Some(4100),
        limit: Some(1),
        ..m()
    };
    assert_eq!(
        paths(&app.find(both.clone()).await),
        [(TRANSCRIBE.into(), 3)]
    );
    assert_eq!(app.count(both).await, 2, "count ignores limit");
    let none = RequestMatcher {
        method: Some("PUT".into()),
        ..m()
    };
    assert_eq!(app.count(none).await, 0);
    // An empty body is the empty matcher.
    let (status, answer) = app.raw_matcher("/__admin/requests/count", "").await;
    assert_eq!((status, answer), (200, json!({"count": 5})));
}

#[tokio::test]
async fn bad_matchers_are_400_naming_the_field() {
    let app = TestApp::start().await;
    for (body, field) in [
        (r#"{"status": "teapot"}"#, "status"),
        (r#"{"status": 42}"#, "status"),
        (r#"{"code": 1.5}"#, "code"),
        (r#"{"provider": "aws"}"#, "provider"),
        (r#"{"pathPattern": "(unclosed"}"#, "pathPattern"),
        (r#"{"since": "last tuesday"}"#, "since"),
        (r#"{"header": ["authorization"]}"#, "header"),
        (r#"{"parameter": {"TaskId": 7}}"#, "parameter"),
        (r#"{"limit": 0}"#, "limit"),
        (r#"{"urlPath": "/v1"}"#, "urlPath"),
        (r#"[1, 2]"#, "object"),
        (r#"{"method": "#, "JSON"),
    ] {
        for path in ["/__admin/requests/find", "/__admin/requests/count"] {
            let (status, answer) = app.raw_matcher(path, body).await;
            assert_eq!(status, 400, "{path} {body}: {answer}");
            let error = answer["error"].as_str().expect("an error message");
            assert!(error.contains(field), "{body}: {error}");
        }
    }
    // The typed client sees the same 400.
    let bad = RequestMatcher {
        path_pattern: Some("[".into()),
        ..m()
    };
    let err = app.control.find(&bad).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.message().unwrap().contains("pathPattern"));
    // Other media types are refused like every control route's.
    let res = app
        .http
        .post(app.url("/__admin/requests/find"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn headers_and_bodies_count_against_the_journal_byte_budget() {
    let config = Config {
        journal_max_bytes: 64 * 1024,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    let long = "h".repeat(3000);
    for i in 0..60 {
        let res = app
            .http
            .post(app.url(TRANSCRIBE))
            .bearer_auth("pat_test")
            .header("x-padding-a", &long)
            .header("x-padding-b", &long)
            .header("x-index", i.to_string())
            .body("y".repeat(4000))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
    let kept = app.find(m()).await;
    // Each entry costs over 4 KiB (headers cut to 4 KiB, 1 KiB of body): at most 16 fit.
    assert!(kept.len() > 3 && kept.len() <= 16, "{}", kept.len());
    let newest = kept.last().unwrap();
    assert_eq!(
        newest.headers.get("x-index").map(String::as_str),
        Some("59")
    );
    assert!(newest.truncated, "the headers were cut");
    let header_bytes: usize = newest.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(header_bytes <= 4096, "{header_bytes}");
}
