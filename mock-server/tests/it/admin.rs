//! The control API: health, reset, journal, fixtures, clock.

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use asr_mock::MockServer;

use crate::support::{fixture, TestApp, START_MS};

#[tokio::test]
async fn health_reports_seed_and_clock() {
    let app = TestApp::start().await;
    let health = app.admin_get("/__admin/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["seed"], 1);
    assert_eq!(health["now_ms"], START_MS);
}

#[tokio::test]
async fn a_fixture_registered_by_hash_or_audio_wins() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let generated = app.transcribe("a.wav", wav.clone()).await;
    assert_ne!(generated.text(), "你好呀");

    let sha = hex::encode(Sha256::digest(&wav));
    let (status, body) = app
        .admin_post(
            "/__admin/fixtures",
            json!({"sha256": sha, "text": "你好呀"}),
        )
        .await;
    assert_eq!((status, body["sha256"].as_str()), (201, Some(sha.as_str())));
    assert_eq!(app.transcribe("a.wav", wav.clone()).await.text(), "你好呀");

    let mp3 = fixture("speech-cmn.mp3");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&mp3);
    let (status, _) = app
        .admin_post(
            "/__admin/fixtures",
            json!({"audio_base64": b64, "text": "Hello there."}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.transcribe("b.mp3", mp3).await.text(), "Hello there.");

    let listed = app.admin_get("/__admin/fixtures").await;
    assert_eq!(listed["fixtures"].as_array().unwrap().len(), 2);

    // A reset forgets API fixtures: generated text is back.
    let (status, _) = app.admin_post("/__admin/reset", json!({})).await;
    assert_eq!(status, 200);
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
    for body in [
        json!({"text": "x"}),
        json!({"sha256": "abc", "text": "x"}),
        json!({"audio_base64": "!!!", "text": "x"}),
        json!({"sha256": "00", "audio_base64": "AA==", "text": "x"}),
    ] {
        let (status, answer) = app.admin_post("/__admin/fixtures", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
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
    let journal = app.admin_get("/__admin/requests?limit=10").await;
    let entries = journal["requests"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "control-API calls are not journaled: {journal}"
    );
    assert_eq!(entries[0]["path"], "/v1/audio/transcriptions");
    assert_eq!(entries[0]["provider"], "coze");
    assert_eq!(entries[0]["code"], 0);
    assert_eq!(entries[0]["id"].as_str(), ok.logid_header.as_deref());
    assert_eq!(entries[1]["code"], 4300);
    assert_eq!(entries[1]["status"], 400);
    assert_eq!(entries[1]["time_ms"], START_MS);

    let res = app
        .http
        .delete(app.url("/__admin/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(app.admin_get("/__admin/requests").await["requests"]
        .as_array()
        .unwrap()
        .is_empty());
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
    let entries = app.admin_get("/__admin/requests").await["requests"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        entries
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 4, 5]
    );
}

#[tokio::test]
async fn the_clock_can_be_read_moved_and_switched() {
    let app = TestApp::start().await;
    assert_eq!(
        app.admin_get("/__admin/clock").await["mode"]["mode"],
        "manual"
    );
    let (status, clock) = app
        .admin_post("/__admin/clock/advance", json!({"seconds": 90}))
        .await;
    assert_eq!(
        (status, clock["now_ms"].as_i64()),
        (200, Some(START_MS + 90_000))
    );
    assert_eq!(clock["now"], "2025-01-01T00:01:30.000Z");
    let (status, clock) = app
        .admin_post("/__admin/clock", json!({"now_ms": START_MS + 3_600_000}))
        .await;
    assert_eq!(
        (status, clock["now_ms"].as_i64()),
        (200, Some(START_MS + 3_600_000))
    );
    let (status, err) = app
        .admin_post("/__admin/clock", json!({"now_ms": START_MS}))
        .await;
    assert_eq!(status, 400, "backwards refused: {err}");
    let (status, clock) = app
        .admin_post("/__admin/clock", json!({"mode": "scaled", "factor": 60.0}))
        .await;
    assert_eq!((status, &clock["mode"]["mode"]), (200, &json!("scaled")));
    for bad in [
        json!({"mode": "fast"}),
        json!({"mode": "scaled"}),
        json!({"mode": "scaled", "factor": -1.0}),
    ] {
        let (status, _) = app.admin_post("/__admin/clock", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
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
    let config = asr_mock::Config {
        admin_token: Some("s3cret".into()),
        ..Default::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    let res = app
        .http
        .get(app.url("/__admin/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("admin token"));
    let res = app
        .http
        .get(app.url("/__admin/requests"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .http
        .get(app.url("/__admin/clock"))
        .header("X-Admin-Token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Health, hosted audio and the callback sink stay open for the simulator's own traffic.
    assert_eq!(
        app.http
            .get(app.url("/__admin/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .http
        .put(app.url("/__admin/audio/a.wav"))
        .bearer_auth("s3cret")
        .body(fixture("speech-cmn-16k.wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
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
    assert_eq!(
        app.http
            .get(app.url("/__admin/sink"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
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
    app.http
        .put(app.url("/__admin/audio/a.wav"))
        .body(fixture("speech-cmn-16k.wav"))
        .send()
        .await
        .unwrap();
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0,
        "Url": app.url("/__admin/audio/a.wav"), "CallbackUrl": app.url("/__admin/sink"),
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
    for _ in 0..100 {
        if !app.admin_get("/__admin/callbacks").await["attempts"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let attempts = app.admin_get("/__admin/callbacks").await;
    assert!(
        attempts["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("allowlist"),
        "{attempts}"
    );
    assert!(app.admin_get("/__admin/sink").await["received"]
        .as_array()
        .unwrap()
        .is_empty());
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
