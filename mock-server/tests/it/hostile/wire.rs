//! The wire side of the hostile corpus test: answers read from reqwest or from a raw
//! connection, and the envelope each owner of a path answers in.

use std::net::SocketAddr;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{MAX_BODY, REQUEST_BOUND};

/// An answer, however it was read.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn show(&self) -> String {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]);
        format!("HTTP {} {body:?}", self.status)
    }
}

pub(crate) async fn read_reply(res: reqwest::Response) -> Result<Reply, String> {
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("HTTP {status}: body cut off: {e}"))?;
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(format!("HTTP {status}: body over {MAX_BODY} bytes"));
        }
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Writes `bytes` to a fresh connection (while reading, so an early answer is not lost to a
/// reset) and reads the first final answer (1xx answers are skipped).
pub(crate) async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Result<Reply, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut rd, mut wr) = stream.into_split();
    let request = bytes.to_vec();
    let writer = tokio::spawn(async move {
        // The server may answer and close before reading everything: that is allowed.
        let _ = wr.write_all(&request).await;
        // Keep the write half open until the answer is read (closing it is no signal of
        // the end of a request in HTTP/1.1).
        tokio::time::sleep(REQUEST_BOUND * 2).await;
        drop(wr);
    });
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let result = loop {
        match parse_response(&buf) {
            // 101 is final: the connection has left HTTP.
            Ok(Some((reply, used))) if reply.status < 200 && reply.status != 101 => {
                buf.drain(..used);
                continue;
            }
            Ok(Some((reply, _))) => break Ok(reply),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        match rd.read(&mut chunk).await {
            Ok(0) => break finish_at_eof(&buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => {
                break Err(format!("connection failed with no answer: {e}"))
            }
            Err(_) => break finish_at_eof(&buf),
        }
        if buf.len() > MAX_BODY {
            break Err("answer over the size bound".into());
        }
    };
    writer.abort();
    result
}

/// The answer when the server closed: a head whose body runs to the close, or nothing.
fn finish_at_eof(buf: &[u8]) -> Result<Reply, String> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Err(if buf.is_empty() {
            "connection closed with no answer".into()
        } else {
            format!(
                "connection closed mid-answer: {:?}",
                String::from_utf8_lossy(buf)
            )
        });
    };
    let mut reply = parse_head(&buf[..end])?;
    if reply.header("content-length").is_some() || is_chunked(&reply) {
        return Err(format!("connection closed mid-body: {}", reply.show()));
    }
    reply.body = buf[end + 4..].to_vec();
    Ok(reply)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_chunked(reply: &Reply) -> bool {
    reply
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
}

fn parse_head(head: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next(), parts.next());
    let status = match (version, code.and_then(|c| c.parse::<u16>().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code,
        _ => return Err(format!("not an HTTP answer: {status_line:?}")),
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: Vec::new(),
    })
}

/// A complete answer at the start of `buf` and the bytes it used, or `None` for more.
fn parse_response(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let mut reply = parse_head(&buf[..end])?;
    let body = &buf[end + 4..];
    if reply.status < 200 || reply.status == 204 || reply.status == 304 {
        return Ok(Some((reply, end + 4)));
    }
    if is_chunked(&reply) {
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            let Some(line_end) = find(&body[pos..], b"\r\n") else {
                return Ok(None);
            };
            let size_text = String::from_utf8_lossy(&body[pos..pos + line_end]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            let data = pos + line_end + 2;
            if size == 0 {
                let Some(trailer_end) = find(&body[data..], b"\r\n") else {
                    return Ok(None);
                };
                reply.body = out;
                return Ok(Some((reply, end + 4 + data + trailer_end + 2)));
            }
            if body.len() < data + size + 2 {
                return Ok(None);
            }
            out.extend_from_slice(&body[data..data + size]);
            pos = data + size + 2;
        }
    }
    if let Some(len) = reply.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len}"))?;
        if body.len() < len {
            return Ok(None);
        }
        reply.body = body[..len].to_vec();
        return Ok(Some((reply, end + 4 + len)));
    }
    Ok(None) // the body runs until the server closes
}

/// The path a raw request names, if its request line can be read.
pub(crate) fn raw_path(bytes: &[u8]) -> Option<String> {
    let line_end = find(bytes, b"\r\n").or_else(|| find(bytes, b"\n"))?;
    let line = std::str::from_utf8(&bytes[..line_end]).ok()?;
    let target = line.split(' ').nth(1)?;
    let target = match target.strip_prefix("http://") {
        Some(rest) => &rest[rest.find('/')?..],
        None => target,
    };
    target
        .starts_with('/')
        .then(|| target.split('?').next().unwrap().to_owned())
}

fn json_of(reply: &Reply) -> Result<Value, String> {
    let ct = reply.header("content-type").unwrap_or_default();
    if !ct.starts_with("application/json") {
        return Err(format!("content type {ct:?}, not JSON: {}", reply.show()));
    }
    serde_json::from_slice(&reply.body)
        .map_err(|e| format!("body is not JSON ({e}): {}", reply.show()))
}

/// Some envelope: the providers' `code` and `msg`, or the control API's `error`.
pub(crate) fn any_envelope(reply: &Reply) -> Result<Value, String> {
    let v = json_of(reply)?;
    let coded = v["code"].as_i64().is_some_and(|c| c != 0) && v["msg"].is_string();
    if coded || v["error"].is_string() {
        Ok(v)
    } else {
        Err(format!("no error envelope: {}", reply.show()))
    }
}

pub(crate) fn coze_envelope(reply: &Reply) -> Result<Value, String> {
    let v = json_of(reply)?;
    let code = v["code"]
        .as_i64()
        .ok_or_else(|| format!("no code: {}", reply.show()))?;
    if !v["msg"].is_string() {
        return Err(format!("no msg: {}", reply.show()));
    }
    let logid = v["detail"]["logid"].as_str();
    if logid.is_none() || logid != reply.header("x-tt-logid") {
        return Err(format!(
            "logid missing or not the header's: {}",
            reply.show()
        ));
    }
    let ok = if code == 0 {
        reply.status == 200 && v["data"]["text"].is_string()
    } else {
        (400..500).contains(&reply.status)
    };
    ok.then_some(v)
        .ok_or_else(|| format!("code and status disagree: {}", reply.show()))
}

pub(crate) fn icu_envelope(reply: &Reply) -> Result<Value, String> {
    let v = json_of(reply)?;
    let code = v["code"]
        .as_i64()
        .ok_or_else(|| format!("no code: {}", reply.show()))?;
    if !v["msg"].is_string() {
        return Err(format!("no msg: {}", reply.show()));
    }
    if code != 0 && (v["success"] != json!(false) || !v["data"].is_null()) {
        return Err(format!(
            "error without success=false, data=null: {}",
            reply.show()
        ));
    }
    Ok(v)
}

pub(crate) fn admin_envelope(reply: &Reply) -> Result<Value, String> {
    if reply.status >= 400 {
        return any_envelope(reply);
    }
    match reply.header("content-type") {
        Some(ct) if ct.starts_with("application/json") => json_of(reply),
        _ => Ok(Value::Null), // generated audio, 204
    }
}
