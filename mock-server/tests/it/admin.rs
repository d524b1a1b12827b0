//! The control API: health, reset, journal, fixtures, clock.

use serde_json::json;
use sha2::{Digest, Sha256};

use asr_mock::control::types::{Advance, CallbacksQuery, ClockChange, NewFixture, RequestsQuery};
use asr_mock::control::types::{ClockMode, Provider};
use asr_mock::control::Control;
use asr_mock::MockServer;

use crate::support::{fixture, TestApp, START_MS};

#[tokio::test]
async fn health_reports_seed_and_clock() {
    let app = TestApp::start().await;
    let health = app.control.health().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.seed, 1);
    assert_eq!(health.now_ms, START_MS);
}

#[tokio::test]
async fn a_fixture_registered_by_hash_or_audio_wins() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let generated = app.transcribe("a.wav", wav.clone()).await;
    assert_ne!(generated.text(), "你好呀");

    let sha = hex::encode(Sha256::digest(&wav));
    let added = app
        .control
        .add_fixture(&NewFixture::by_sha256(&sha, "你好呀"))
        .await
        .expect("201 Created");
    assert_eq!(added.sha256, sha);
    assert_eq!(app.transcribe("a.wav", wav.clone()).await.text(), "你好呀");

    let mp3 = fixture("speech-cmn.mp3");
    app.control
        .add_fixture(&NewFixture::by_audio(&mp3, "Hello there."))
        .await
        .expect("201 Created");
    assert_eq!(app.transcribe("b.mp3", mp3).await.text(), "Hello there.");

    let listed = app.control.fixtures().await.unwrap();
    assert_eq!(listed.fixtures.len(), 2);

    // A reset forgets API fixtures: generated text is back.
    assert!(app.control.reset().await.unwrap().reset);
    assert_eq!(app.transcribe("a.wav", wav).await.text(), generated.text());
}

#[tokio::test]
async fn fixtures_load_from_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::support::fixtures_dir().join("speech-en-16k.wav"),
        dir.path().join("hello.wav"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hello.toml"),
        "audio = \"hello.wav\"\ntext = \"Hello, world.\"\n",
    )
    .unwrap();
    let app = TestApp::with(
        MockServer::builder()
            .manual_clock(Some(START_MS))
            .fixtures_dir(dir.path()),
    )
    .await;
    let answer = app.transcribe("x.wav", fixture("speech-en-16k.wav")).await;
    assert_eq!(answer.text(), "Hello, world.");
}

#[tokio::test]
async fn a_broken_fixtures_folder_stops_start_up_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "text = \"x\"\nsha256 = 12\n").unwrap();
    let err = MockServer::builder()
        .fixtures_dir(dir.path())
        .start()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bad.toml"), "{msg}");
}

#[tokio::test]
async fn bad_fixture_requests_get_a_clear_error() {
    let app = TestApp::start().await;
    let fixture = |sha256: Option<&str>, audio_base64: Option<&str>| NewFixture {
        sha256: sha256.map(str::to_owned),
        audio_base64: audio_base64.map(str::to_owned),
        text: "x".into(),
        sentences: None,
        icu: None,
    };
    for body in [
        fixture(None, None),
        fixture(Some("abc"), None),
        fixture(None, Some("!!!")),
        fixture(Some("00"), Some("AA==")),
    ] {
        let err = app.control.add_fixture(&body).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{body:?}");
        assert!(err.message().is_some_and(|e| !e.is_empty()), "{err}");
    }
    let res = app
        .http
        .post(app.url("/__admin/fixtures"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn the_journal_records_provider_answers() {
    let app = TestApp::start().await;
    let ok = app.transcribe("a.wav", fixture("speech-cmn-16k.wav")).await;
    app.transcribe("e.wav", Vec::new()).await;
    let entries = app
        .control
        .requests(RequestsQuery { limit: Some(10) })
        .await
        .unwrap()
        .requests;
    assert_eq!(
        entries.len(),
        2,
        "control-API calls are not journaled: {entries:?}"
    );
    assert_eq!(entries[0].path, "/v1/audio/transcriptions");
    assert_eq!(entries[0].provider, Some(Provider::Coze));
    assert_eq!(entries[0].code, Some(0));
    assert_eq!(entries[0].id.as_deref(), ok.logid_header.as_deref());
    assert_eq!(entries[1].code, Some(4300));
    assert_eq!(entries[1].status, 400);
    assert_eq!(entries[1].time_ms, START_MS);

    app.control.clear_requests().await.expect("204 No Content");
    assert!(app.journal().await.is_empty());
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let config = asr_mock::Config {
        journal_size: 3,
        ..Default::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    for _ in 0..5 {
        app.transcribe("e.wav", Vec::new()).await;
    }
    let entries = app.journal().await;
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
}

#[tokio::test]
async fn the_clock_can_be_read_moved_and_switched() {
    let app = TestApp::start().await;
    assert_eq!(app.control.clock().await.unwrap().mode, ClockMode::Manual);
    let clock = app
        .control
        .advance_clock(Advance::seconds(90.0))
        .await
        .unwrap();
    assert_eq!(clock.now_ms, START_MS + 90_000);
    assert_eq!(clock.now, "2025-01-01T00:01:30.000Z");
    let to = |now_ms| ClockChange {
        now_ms: Some(now_ms),
        ..ClockChange::default()
    };
    let clock = app.control.set_clock(to(START_MS + 3_600_000)).await;
    assert_eq!(clock.unwrap().now_ms, START_MS + 3_600_000);
    let err = app.control.set_clock(to(START_MS)).await.unwrap_err();
    assert_eq!(
        err.status().map(|s| s.as_u16()),
        Some(400),
        "backwards refused: {err}"
    );
    let scaled = ClockChange {
        mode: Some(ClockMode::Scaled { factor: 60.0 }),
        ..ClockChange::default()
    };
    let clock = app.control.set_clock(scaled).await.unwrap();
    assert!(matches!(clock.mode, ClockMode::Scaled { .. }), "{clock:?}");
    let backwards_speed = ClockChange {
        mode: Some(ClockMode::Scaled { factor: -1.0 }),
        ..ClockChange::default()
    };
    let err = app.control.set_clock(backwards_speed).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    // Raw bodies: modes the typed request cannot even express.
    for bad in [json!({"mode": "fast"}), json!({"mode": "scaled"})] {
        let res = app
            .http
            .post(app.url("/__admin/clock"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn unknown_paths_get_json_404s() {
    let app = TestApp::start().await;
    for path in ["/__admin/nothing", "/nowhere"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(path), "{body}");
    }
}

#[tokio::test]
async fn an_admin_token_guards_the_control_api_but_not_the_data_plane() {
    let app = TestApp::with_admin_token("s3cret").await;
    let anonymous = Control::new(app.server.base_url());
    let err = anonymous
        .requests(RequestsQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.message().unwrap().contains("admin token"), "{err}");
    // The server's own client carries the token as a bearer token.
    app.control
        .requests(RequestsQuery::default())
        .await
        .expect("200 with the token");
    let res = app
        .http
        .get(app.url("/__admin/clock"))
        .header("X-Admin-Token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Health, hosted audio and the callback sink stay open for the simulator's own traffic.
    anonymous.health().await.expect("health needs no token");
    app.control
        .upload_audio("a.wav", fixture("speech-cmn-16k.wav"))
        .await
        .expect("201 Created");
    assert_eq!(
        app.http
            .get(app.url("/__admin/audio/a.wav"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .post(app.url("/__admin/sink"))
            .body("code=0")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let err = anonymous.sink().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn an_allowlist_limits_downloads_and_callbacks() {
    let config = asr_mock::Config {
        allow_hosts: Some("audio.invalid".into()),
        ..Default::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    app.control
        .upload_audio("a.wav", fixture("speech-cmn-16k.wav"))
        .await
        .unwrap();
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0,
        "Url": app.control.audio_url("a.wav"), "CallbackUrl": app.url("/__admin/sink"),
    });
    let res = app
        .http
        .post(app.url("/openapi/asr/voiceToText"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = res.json().await.unwrap();
    let id = answer["data"]["TaskId"].as_u64().unwrap();
    let mut done = serde_json::Value::Null;
    for _ in 0..100 {
        app.server
            .clock()
            .advance(std::time::Duration::from_secs(3600));
        let res = app
            .http
            .get(app.url(&format!("/openapi/asr/searchResult?TaskId={id}")))
            .send()
            .await
            .unwrap();
        done = res.json().await.unwrap();
        if done["data"]["Status"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        done["data"]["ErrorMsg"]
            .as_str()
            .unwrap()
            .contains("allowlist"),
        "{done}"
    );
    let all = CallbacksQuery::default();
    for _ in 0..100 {
        if !app
            .control
            .callbacks(all)
            .await
            .unwrap()
            .attempts
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let attempts = app.control.callbacks(all).await.unwrap().attempts;
    assert!(
        attempts[0].error.as_deref().unwrap().contains("allowlist"),
        "{attempts:?}"
    );
    assert!(app.control.sink().await.unwrap().received.is_empty());
    let err = MockServer::builder()
        .config(asr_mock::Config {
            allow_hosts: Some(" , ".into()),
            ..Default::default()
        })
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allow-hosts"));
}

#[tokio::test]
async fn a_wrong_method_on_a_control_path_is_a_json_405() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::POST, "/__admin/health"),
        (reqwest::Method::DELETE, "/__admin/clock/advance"),
        (reqwest::Method::PUT, "/__admin/reset"),
    ] {
        let res = http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let body: serde_json::Value = res.json().await.expect("a JSON body");
        let error = body["error"].as_str().expect("an error message");
        assert!(
            error.contains(path) && error.contains(method.as_str()),
            "{error}"
        );
    }
}
