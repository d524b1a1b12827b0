//! Starting simulators, driving their control API, and servers that misbehave on purpose.

use std::time::Duration;

use asr_mock::control::types::{
    Advance, GenerateQuery, Generated, Progress, RequestEntry, RequestsQuery, SettingsChange,
};
use asr_mock::MockServer;
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
    let by_polls = SettingsChange {
        progress: Some(Progress::Polls { per_status }),
        ..SettingsChange::default()
    };
    server
        .control()
        .set_icu_settings(by_polls)
        .await
        .expect("progress by polls");
    server
}

/// Moves the simulator's clock.
pub async fn advance(server: &MockServer, seconds: u64) {
    server
        .control()
        .advance_clock(Advance::ms(seconds * 1000))
        .await
        .expect("clock advanced");
}

/// A WAV of speech-like sound the simulator generates (and recognises as speech).
pub async fn speech_wav(server: &MockServer, seconds: u32) -> Vec<u8> {
    server
        .control()
        .generated_audio(
            Generated::Speechlike,
            GenerateQuery::seconds(seconds.into()),
        )
        .await
        .expect("generated audio")
        .to_vec()
}

/// Journal entries for requests to `path`.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<RequestEntry> {
    let journal = server
        .control()
        .requests(RequestsQuery { limit: Some(1000) })
        .await
        .expect("journal");
    journal
        .requests
        .into_iter()
        .filter(|e| e.path == path)
        .collect()
}

/// Callback bodies the simulator's built-in sink received, waiting (in real time, at most
/// 5 s) until there are at least `n`.
pub async fn sink_bodies(server: &MockServer, n: usize) -> Vec<String> {
    let control = server.control();
    for _ in 0..250 {
        let sink = control.sink().await.expect("sink");
        let bodies: Vec<String> = sink.received.into_iter().map(|r| r.body).collect();
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
