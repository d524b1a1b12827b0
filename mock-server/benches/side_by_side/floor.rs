//! The floor: bare axum routes answering the same fixed bodies as the simulator, the least
//! any server could do for these requests; in-process and as a child process.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SUBMIT_FLOOR_ANSWER: &str = r#"{"msg":"操作成功","code":0,"data":{"TaskId":1}}"#;

/// The floor as a process: this executable, serving the floor router until killed.
pub(crate) fn floor_server_child() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("floor listening on http://{addr}");
        let app = floor_router(Bytes::new(), Bytes::new());
        let listener = listener.tap_io(|s| {
            let _ = s.set_nodelay(true);
        });
        // Bounded: the parent kills it long before.
        let _ = tokio::time::timeout(Duration::from_secs(60), async {
            axum::serve(listener, app).await
        })
        .await;
        Ok(())
    })
}

pub(crate) fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Bare routes with fixed answers: the least any server could do for these requests.
fn floor_router(search_body: Bytes, upload_body: Bytes) -> Router {
    Router::new()
        .route(
            "/__admin/health",
            get(|| async { json_response(Bytes::from_static(br#"{"status":"ok"}"#)) }),
        )
        .route(
            "/openapi/asr/searchResult",
            get(move || {
                let body = search_body.clone();
                async move { json_response(body) }
            }),
        )
        .route("/openapi/asr/voiceToText", post(floor_submit))
        .route(
            "/v1/audio/transcriptions",
            post(move |headers: HeaderMap, body: Body| {
                let answer = upload_body.clone();
                floor_upload(headers, body, answer)
            }),
        )
}

/// Reads and parses the JSON body, answers a fixed TaskId.
async fn floor_submit(axum::Json(_body): axum::Json<Value>) -> Response {
    json_response(Bytes::from_static(SUBMIT_FLOOR_ANSWER.as_bytes()))
}

/// Reads the whole multipart body, answers fixed JSON.
async fn floor_upload(headers: HeaderMap, body: Body, answer: Bytes) -> Response {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return (StatusCode::BAD_REQUEST, "no multipart boundary").into_response();
    };
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut bytes = 0usize;
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => bytes += chunk.len(),
                    Ok(None) => break,
                    Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                }
            },
            Ok(None) => break,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }
    if bytes == 0 {
        return (StatusCode::BAD_REQUEST, "empty upload").into_response();
    }
    json_response(answer)
}

pub(crate) async fn start_floor(
    search_body: Bytes,
    upload_body: Bytes,
) -> Result<(SocketAddr, JoinHandle<()>), String> {
    serve_router(floor_router(search_body, upload_body)).await
}
/// Serves `app` on a free loopback port (TCP_NODELAY, like the simulator's accept loop).
pub(crate) async fn serve_router(app: Router) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let listener = listener.tap_io(|s| {
        let _ = s.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}
