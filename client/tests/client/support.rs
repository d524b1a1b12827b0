//! Starting simulators, driving their control API, and servers that misbehave on purpose.

use std::time::Duration;

use asr_mock::MockServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A simulator on a free port with a manual clock: time moves only when a test says so.
pub async fn mock() -> MockServer {
    MockServer::builder()
        .manual_clock(None)
        .start()
        .await
        .expect("the simulator starts")
}

/// The simulator with icu tasks advancing by polls: `per_status` polls see `waiting`, as
/// many `doing`, then the outcome.
pub async fn mock_by_polls(per_status: u32) -> MockServer {
    let server = mock().await;
    admin_post(
        &server,
        "/__admin/icu/settings",
        serde_json::json!({"progress": "polls", "polls_per_status": per_status}),
    )
    .await;
    server
}

pub async fn admin_post(server: &MockServer, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control API reachable");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap_or(Value::Null)
}

pub async fn admin_get(server: &MockServer, path: &str) -> Value {
    reqwest::get(format!("{}{path}", server.base_url()))
        .await
        .expect("control API reachable")
        .json()
        .await
        .expect("control API answers JSON")
}

/// Moves the simulator's clock.
pub async fn advance(server: &MockServer, seconds: u64) {
    admin_post(
        server,
        "/__admin/clock/advance",
        serde_json::json!({ "seconds": seconds }),
    )
    .await;
}

/// A WAV of speech-like sound the simulator generates (and recognises as speech).
pub async fn speech_wav(server: &MockServer, seconds: u32) -> Vec<u8> {
    let answer = reqwest::get(format!(
        "{}/__admin/audio/generated/speechlike.wav?seconds={seconds}",
        server.base_url()
    ))
    .await
    .expect("generated audio");
    assert!(answer.status().is_success());
    answer.bytes().await.expect("audio body").to_vec()
}

/// Journal entries for requests to `path`.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Value> {
    let journal = admin_get(server, "/__admin/requests?limit=1000").await;
    let entries = match &journal {
        Value::Array(a) => a.clone(),
        other => other
            .get("requests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    entries
        .into_iter()
        .filter(|e| e.get("path").and_then(Value::as_str) == Some(path))
        .collect()
}

/// Callback bodies the simulator's built-in sink received, waiting (in real time, at most
/// 5 s) until there are at least `n`.
pub async fn sink_bodies(server: &MockServer, n: usize) -> Vec<String> {
    for _ in 0..250 {
        let sink = admin_get(server, "/__admin/sink").await;
        let bodies: Vec<String> = sink
            .get("received")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("body").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if bodies.len() >= n {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sink did not receive {n} callback(s)");
}

/// A server that answers every connection with `response` (raw HTTP bytes) once it has
/// read the request head, then closes. Returns its base URL.
pub async fn canned(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                read_request(&mut socket).await;
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// An HTTP/1.1 answer with this status, content type and body.
pub fn http_response(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A server that accepts connections, reads, and never answers.
pub async fn silent() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A base URL nothing listens on.
pub async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Reads the request: its head, then the body by Content-Length (or until 200 ms of
/// silence), so the answer does not race the upload.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if let Some(head_end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length {
                if seen.len() >= head_end + 4 + length {
                    return;
                }
            }
        }
        let read = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await;
        match read {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
}
