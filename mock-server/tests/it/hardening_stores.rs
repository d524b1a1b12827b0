//! The open stores stay within their byte budgets over real sockets: the callback sink
//! (anyone can post to it) and the request journal (long query strings fill it).

use asr_mock::control::types::RequestsQuery;
use asr_mock::{Config, MockServer};

use crate::support::{TestApp, START_MS};

const MIB: usize = 1024 * 1024;

async fn with_budgets(sink_max_bytes: usize, journal_max_bytes: usize) -> TestApp {
    let config = Config {
        sink_max_bytes,
        journal_max_bytes,
        ..Config::default()
    };
    TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await
}

#[tokio::test]
async fn the_sink_stays_within_its_byte_budget_oldest_first() {
    let app = with_budgets(4 * MIB, 16 * MIB).await;
    // Twelve 1 MiB bodies, each starting with its number, into a 4 MiB budget.
    for i in 0..12u8 {
        let mut body = format!("callback-{i:02}:").into_bytes();
        body.resize(MIB, b'a' + i);
        let res = app
            .http
            .post(app.url("/__admin/sink"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let ack: serde_json::Value = res.json().await.unwrap();
        assert_eq!(ack, serde_json::json!({"code": 0, "message": "success"}));
    }
    let log = app.control.sink().await.expect("the log reads back");
    assert_eq!(log.max_bytes, 4 * MIB as u64);
    assert!(
        log.bytes <= log.max_bytes,
        "{} > {}",
        log.bytes,
        log.max_bytes
    );
    let kept: Vec<&str> = log.received.iter().map(|r| &r.body[..12]).collect();
    assert_eq!(
        kept,
        ["callback-09:", "callback-10:", "callback-11:"],
        "the newest are kept, oldest first"
    );
    assert_eq!(log.dropped, 9);
    assert!(log.received.iter().all(|r| r.body.len() == MIB));
    assert!(log.received.iter().all(|r| r.truncated_from.is_none()));

    // A body larger than the whole budget is kept cut, and says so.
    let res = app
        .http
        .post(app.url("/__admin/sink"))
        .body(vec![b'z'; 5 * MIB])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let log = app.control.sink().await.unwrap();
    assert!(log.bytes <= log.max_bytes);
    let last = log.received.last().unwrap();
    assert_eq!(last.truncated_from, Some(5 * MIB as u64));
    assert!(last.body.len() < 4 * MIB);

    app.control.clear_sink().await.unwrap();
    let log = app.control.sink().await.unwrap();
    assert!(log.received.is_empty());
    assert_eq!((log.bytes, log.dropped), (0, 0));
}

#[tokio::test]
async fn a_sink_body_over_the_request_limit_gets_a_json_413() {
    let app = TestApp::start().await;
    let res = app
        .http
        .post(app.url("/__admin/sink"))
        .body(vec![b'x'; 21 * MIB])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(!body["error"].as_str().unwrap().is_empty(), "{body}");
}

#[tokio::test]
async fn the_journal_cuts_long_queries_and_keeps_a_byte_budget() {
    let app = with_budgets(4 * MIB, 256 * 1024).await;
    let long = "x".repeat(60 * 1024);
    for i in 0..120 {
        let url = app.url(&format!("/openapi/asr/searchResult?TaskId={i}&pad={long}"));
        let res = app.http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let all = RequestsQuery {
        limit: Some(10_000),
    };
    let entries = app.control.requests(all).await.unwrap().requests;
    // About 4 KiB an entry in a 256 KiB budget: the newest few dozen are kept.
    assert!(
        entries.len() > 20 && entries.len() < 120,
        "{} entries",
        entries.len()
    );
    let newest = entries.last().unwrap();
    assert_eq!(newest.seq, 120);
    assert!(newest
        .query
        .as_deref()
        .unwrap()
        .starts_with("TaskId=119&pad=xxx"));
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..=120).collect::<Vec<_>>(),
        "the oldest went first"
    );
    for entry in &entries {
        let query = entry.query.as_deref().unwrap();
        assert!(entry.truncated, "{}", entry.seq);
        assert!(
            query.len() <= 4096 && query.ends_with('…'),
            "{}",
            query.len()
        );
    }
    let total: usize = entries
        .iter()
        .map(|e| e.query.as_ref().unwrap().len())
        .sum();
    assert!(total <= 256 * 1024, "{total}");

    // A short query is kept whole and not marked.
    app.http
        .get(app.url("/openapi/asr/searchResult?TaskId=1"))
        .send()
        .await
        .unwrap();
    let entry = app.journal().await.pop().unwrap();
    assert_eq!(entry.query.as_deref(), Some("TaskId=1"));
    assert!(!entry.truncated);
}
