//! TLS for the whole port: HTTP and the streaming WebSocket over rustls, with a generated
//! self-signed certificate (its PEM written for clients to trust) or a given PEM pair.

use std::sync::Arc;
use std::time::Duration;

use asr_mock::{Config, MockServer};
use futures_util::StreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::support::fixture;

async fn start(config: Config) -> MockServer {
    MockServer::builder()
        .config(config)
        .manual_clock(None)
        .start()
        .await
        .expect("the simulator starts")
}

/// An HTTPS client trusting only `pem`.
fn https(pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap())
        .build()
        .unwrap()
}

/// Transcribes the speech fixture over `client`; returns the status and text.
async fn transcribe(client: &reqwest::Client, base: &str) -> (u16, String) {
    let part = reqwest::multipart::Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav");
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = client
        .post(format!("{base}/v1/audio/transcriptions"))
        .bearer_auth("pat_tls")
        .multipart(form)
        .send()
        .await
        .expect("an answer over TLS");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    (
        status,
        body["data"]["text"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_self_signed_port_serves_https_and_wss_for_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let cert_out = dir.path().join("cert.pem");
    let server = start(Config {
        tls_self_signed: Some(cert_out.clone()),
        ..Config::default()
    })
    .await;
    let base = server.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = std::fs::read(&cert_out).expect("the certificate's PEM is written");
    let (status, text) = transcribe(&https(&pem), &base).await;
    assert_eq!(status, 200);
    assert!(!text.is_empty());
    // The same port by the name `localhost`.
    let by_name = base.replace("127.0.0.1", "localhost");
    assert_eq!(transcribe(&https(&pem), &by_name).await.0, 200);
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::get(base.replace("https://", "http://") + "/__admin/health").await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // wss:// through a rustls client trusting only the written certificate, by `localhost`.
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&cert_out).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .expect("the TLS handshake");
    let url = format!(
        "wss://localhost:{}/v1/audio/transcriptions",
        server.addr().port()
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", "Bearer pat_tls".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("the WebSocket handshake over TLS");
    assert_eq!(response.status(), 101);
    let first = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(text) = first else {
        panic!("{first:?}")
    };
    assert!(text.as_str().contains("transcriptions.created"), "{text}");
}

#[tokio::test]
async fn a_given_certificate_and_key_serve_https() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let server = start(Config {
        tls_cert: Some(cert),
        tls_key: Some(key.clone()),
        ..Config::default()
    })
    .await;
    let pem = certified.cert.pem();
    assert_eq!(
        transcribe(&https(pem.as_bytes()), &server.base_url())
            .await
            .0,
        200
    );

    // A key file without a key refuses to start, naming the file.
    std::fs::write(&key, "not a key").unwrap();
    let broken = MockServer::builder()
        .config(Config {
            tls_cert: Some(dir.path().join("c.pem")),
            tls_key: Some(key),
            ..Config::default()
        })
        .start()
        .await;
    let err = broken.expect_err("a broken key is refused").to_string();
    assert!(err.starts_with("tls: ") && err.contains("k.pem"), "{err}");
}
