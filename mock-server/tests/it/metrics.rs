//! `GET /__admin/metrics`: the text parses with an independent Prometheus text-format parser
//! (the `prometheus-parse` crate), and every family moves by exactly what the requests did.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prometheus_parse::{Scrape, Value};
use serde_json::{json, Value as Json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{fixture, TestApp};

/// One parsed scrape.
struct Metrics(Scrape);

impl Metrics {
    /// The sample of `metric` whose labels are exactly `labels`, as a number (0 when the
    /// series does not exist yet, as for a counter never incremented).
    fn value(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<_> = self
            .0
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| {
                labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                    && s.labels.len() == labels.len()
            })
            .collect();
        assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
        match found.first().map(|s| &s.value) {
            None => 0.0,
            Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
            Some(other) => panic!("{metric}: {other:?}"),
        }
    }

    /// The kind the parser read for `metric`'s first sample.
    fn kind(&self, metric: &str) -> &'static str {
        let sample = self.0.samples.iter().find(|s| s.metric == metric);
        match sample.map(|s| &s.value) {
            Some(Value::Counter(_)) => "counter",
            Some(Value::Gauge(_)) => "gauge",
            Some(Value::Histogram(_)) => "histogram",
            Some(Value::Summary(_)) => "summary",
            Some(Value::Untyped(_)) => "untyped",
            None => panic!("no {metric} in the scrape"),
        }
    }

    /// The `+Inf` bucket of a latency histogram series.
    fn latency_count(&self, provider: &str, endpoint: &str) -> f64 {
        let series = self.0.samples.iter().find(|s| {
            s.metric == "asr_mock_request_duration_seconds"
                && s.labels.get("provider") == Some(provider)
                && s.labels.get("endpoint") == Some(endpoint)
        });
        match series.map(|s| &s.value) {
            Some(Value::Histogram(buckets)) => {
                let inf = buckets.iter().find(|b| b.less_than.is_infinite());
                let inf = inf.expect("a +Inf bucket").count;
                let counted = ("provider", provider);
                let count = self.value(
                    "asr_mock_request_duration_seconds_count",
                    &[counted, ("endpoint", endpoint)],
                );
                assert_eq!(inf, count, "+Inf bucket and _count agree");
                count
            }
            None => 0.0,
            Some(other) => panic!("{other:?}"),
        }
    }
}

async fn scrape(app: &TestApp) -> Metrics {
    let res = app
        .http
        .get(app.url("/__admin/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    Metrics(Scrape::parse(lines).expect("the text parses"))
}

/// Waits (real time, bounded) until `done` holds of a fresh scrape.
async fn scrape_until(app: &TestApp, done: impl Fn(&Metrics) -> bool) -> Metrics {
    for _ in 0..400 {
        let m = scrape(app).await;
        if done(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the metrics never reached the expected values");
}

async fn upload(app: &TestApp, auth: Option<&str>, scenario: Option<&str>) -> Json {
    let part = reqwest::multipart::Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav");
    let form = reqwest::multipart::Form::new().part("file", part);
    let mut req = app
        .http
        .post(app.url("/v1/audio/transcriptions"))
        .multipart(form);
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    if let Some(name) = scenario {
        req = req.header("X-Mock-Scenario", name);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn submit(app: &TestApp, audio: Json) -> u64 {
    let mut body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0});
    for (k, v) in audio.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.submit_ok(&body).await
}

#[tokio::test]
async fn counters_move_by_exactly_what_the_requests_did() {
    let app = TestApp::start().await;
    let before = scrape(&app).await;
    assert_eq!(before.kind("process_resident_memory_bytes"), "gauge");
    assert!(before.value("process_resident_memory_bytes", &[]) > 1e6);
    assert_eq!(
        before.kind("asr_mock_stream_sessions_opened_total"),
        "counter"
    );
    assert_eq!(
        before.value("asr_mock_stream_sessions_opened_total", &[]),
        0.0
    );

    // Coze: two transcriptions, a missing token (4100) and a scenario's 4100.
    for _ in 0..2 {
        assert_eq!(upload(&app, Some("Bearer pat_test"), None).await["code"], 0);
    }
    assert_eq!(upload(&app, None, None).await["code"], 4100);
    let scripted = upload(&app, Some("Bearer pat_test"), Some("coze-invalid-token")).await;
    assert_eq!(scripted["code"], 4100);

    // icu: an inline task calling back the built-in sink, a Url task downloaded from the
    // simulator's own audio host, three polls.
    let wav = fixture("speech-cmn-16k.wav");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &wav);
    let sink = app.url("/__admin/sink");
    let inline = submit(
        &app,
        json!({"SourceType": 1, "Data": b64, "CallbackUrl": sink}),
    )
    .await;
    app.control
        .upload_audio("call.wav", wav.clone())
        .await
        .expect("hosted");
    let url = app.control.audio_url("call.wav");
    let hosted = submit(&app, json!({"SourceType": 0, "Url": url})).await;
    let m = scrape_until(&app, |m| {
        m.value("asr_mock_downloads_total", &[("outcome", "ok")]) == 1.0
    })
    .await;
    assert_eq!(
        m.value("asr_mock_download_bytes_total", &[]),
        wav.len() as f64
    );
    assert_eq!(m.value("asr_mock_icu_tasks", &[("status", "success")]), 0.0);
    for id in [inline, hosted, inline] {
        assert_eq!(app.poll(id).await["code"], 0);
    }
    // Both tasks end; the inline one calls back.
    app.server.clock().advance(Duration::from_secs(3600));
    let m = scrape_until(&app, |m| {
        m.value("asr_mock_icu_tasks", &[("status", "success")]) == 2.0
            && m.value(
                "asr_mock_callback_attempts_total",
                &[("outcome", "acknowledged")],
            ) == 1.0
    })
    .await;
    assert_eq!(m.value("asr_mock_icu_tasks", &[("status", "waiting")]), 0.0);

    // A streaming session the client ends.
    let ws_url = app
        .url("/v1/audio/transcriptions")
        .replace("http://", "ws://");
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url)
            .unwrap();
    let auth = "Bearer pat_test".parse().unwrap();
    request.headers_mut().insert("Authorization", auth);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let created = ws.next().await.unwrap().unwrap();
    assert!(
        created.to_text().unwrap().contains("created"),
        "{created:?}"
    );
    let open = scrape(&app).await;
    assert_eq!(open.value("asr_mock_stream_sessions_active", &[]), 1.0);
    ws.send(Message::Close(None)).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}

    let after = scrape_until(&app, |m| {
        m.value("asr_mock_stream_sessions_active", &[]) == 0.0
            && m.value(
                "asr_mock_stream_sessions_ended_total",
                &[("ended_by", "client")],
            ) == 1.0
    })
    .await;
    let requests = |provider, endpoint, status, code| {
        let labels = [
            ("provider", provider),
            ("endpoint", endpoint),
            ("status", status),
            ("code", code),
        ];
        after.value("asr_mock_requests_total", &labels)
    };
    assert_eq!(after.kind("asr_mock_requests_total"), "counter");
    assert_eq!(requests("coze", "transcribe", "200", "0"), 2.0);
    assert_eq!(requests("coze", "transcribe", "401", "4100"), 2.0);
    assert_eq!(requests("icu", "submit", "200", "0"), 2.0);
    assert_eq!(requests("icu", "query", "200", "0"), 3.0);
    assert_eq!(requests("coze", "stream", "101", ""), 1.0);
    assert_eq!(after.kind("asr_mock_request_duration_seconds"), "histogram");
    assert_eq!(after.latency_count("coze", "transcribe"), 4.0);
    assert_eq!(after.latency_count("icu", "submit"), 2.0);
    assert_eq!(after.latency_count("icu", "query"), 3.0);
    let fault = [("scenario", "coze-invalid-token"), ("action", "status")];
    assert_eq!(after.value("asr_mock_scenario_faults_total", &fault), 1.0);
    assert_eq!(
        after.value("asr_mock_stream_sessions_opened_total", &[]),
        1.0
    );
    for outcome in ["rejected", "failed", "not_sent"] {
        let labels = [("outcome", outcome)];
        assert_eq!(
            after.value("asr_mock_callback_attempts_total", &labels),
            0.0
        );
    }
    // The control API's own requests (scrapes, uploads, the sink) are not counted.
    let all: f64 = after
        .0
        .samples
        .iter()
        .filter(|s| s.metric == "asr_mock_requests_total")
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(all, 10.0);
}

#[tokio::test]
async fn failed_downloads_count_by_reason() {
    let app = TestApp::start().await;
    // A Url the simulator's host does not have: a 404.
    let missing = app.control.audio_url("missing.wav");
    submit(&app, json!({"SourceType": 0, "Url": missing})).await;
    let m = scrape_until(&app, |m| {
        m.value("asr_mock_downloads_total", &[("outcome", "status")]) == 1.0
    })
    .await;
    assert_eq!(
        m.value("asr_mock_downloads_total", &[("outcome", "ok")]),
        0.0
    );
    assert_eq!(m.value("asr_mock_download_bytes_total", &[]), 0.0);
}

#[tokio::test]
async fn the_admin_token_guards_the_metrics_too() {
    let app = TestApp::with_admin_token("s3cret").await;
    let url = app.url("/__admin/metrics");
    let refused = app.http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let res = app
        .http
        .get(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "process_resident_memory_bytes"));
}
