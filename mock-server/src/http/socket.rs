//! The connection's socket as hyper sees it, with one difference: hyper's own answer to a
//! head it cannot parse (an empty 400, 414 or 431) is held back instead of sent, so that
//! the connection task can write the application's rendering of it instead (see
//! `refusal.rs`).
//!
//! A head is hyper's own when its status is one of those three and the application has no
//! answer with that status waiting to be written: the service counts its own (see
//! [`ConnectionControl::app_error_head`]). Everything else passes straight through.
//!
//! The socket also keeps the request line of the request being read (the first line read
//! after the last answer), because hyper drops a head it has parsed before it finds a bad
//! header in it, and the answer's envelope depends on the path. The cost on the hot path is a
//! look at the first bytes of each write and a copy of each request line into a buffer the
//! connection reuses.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most of a request line kept.
const MAX_LINE: usize = 8 * 1024;
use super::tls::Io;

use super::control::ConnectionControl;

/// A connection (plain or TLS) that holds back hyper's automatic error answers.
#[derive(Debug)]
pub struct Socket {
    stream: Io,
    control: ConnectionControl,
    /// The status of the automatic answer held back, once there is one.
    held: Option<u16>,
    /// The request line being read (up to [`MAX_LINE`] bytes, without its line end).
    line: Vec<u8>,
    /// Whether reads still go into `line`: from an answer until the line's end.
    capturing: bool,
}

impl Socket {
    pub fn new(stream: Io, control: ConnectionControl) -> Self {
        Socket {
            stream,
            control,
            held: None,
            line: Vec::new(),
            capturing: true,
        }
    }

    /// The request line read after the last answer (possibly cut short).
    pub fn request_line(&self) -> &[u8] {
        &self.line
    }

    /// Keeps what a read brought of the request line.
    fn capture(&mut self, read: &[u8]) {
        // Blank lines before a request are allowed and skipped.
        let read = if self.line.is_empty() {
            let start = read.iter().position(|b| *b != b'\r' && *b != b'\n');
            &read[start.unwrap_or(read.len())..]
        } else {
            read
        };
        let room = MAX_LINE - self.line.len();
        let read = &read[..read.len().min(room)];
        match read.iter().position(|b| *b == b'\n') {
            Some(end) => {
                self.line.extend_from_slice(&read[..end]);
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                self.capturing = false;
            }
            None => {
                self.line.extend_from_slice(read);
                self.capturing = self.line.len() < MAX_LINE;
            }
        }
    }

    /// An answer is being written: the next line read starts the next request.
    fn answering(&mut self) {
        if !self.capturing {
            self.line.clear();
            self.capturing = true;
        }
    }

    /// The status of hyper's automatic answer, if it tried to send one.
    pub fn held(&self) -> Option<u16> {
        self.held
    }

    pub fn into_stream(self) -> Io {
        self.stream
    }

    /// Whether `head` starts hyper's own error answer (and is then held back).
    fn holds(&mut self, head: &[u8]) -> bool {
        if self.held.is_some() {
            // Nothing is meant to follow an automatic answer; keep it all back.
            return true;
        }
        let Some(status) = error_status(head) else {
            return false;
        };
        if self.control.take_app_error_head() {
            return false;
        }
        self.held = Some(status);
        true
    }
}

/// The status of a response head starting `buf`, if it is 400, 414 or 431.
fn error_status(buf: &[u8]) -> Option<u16> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    match rest.get(..4)? {
        b"400 " => Some(400),
        b"414 " => Some(414),
        b"431 " => Some(431),
        _ => None,
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if self.capturing && buf.filled().len() > before {
            self.capture(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.holds(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        self.answering();
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        if self.holds(first) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        self.answering();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.held.is_some() {
            // The connection task still has an answer to write.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_statuses_hyper_uses_are_recognised() {
        assert_eq!(error_status(b"HTTP/1.1 414 URI Too Long\r\n"), Some(414));
        assert_eq!(error_status(b"HTTP/1.1 431 Request"), Some(431));
        assert_eq!(error_status(b"HTTP/1.0 400 Bad Request"), Some(400));
        assert_eq!(error_status(b"HTTP/1.1 404 Not Found"), None);
        assert_eq!(error_status(b"HTTP/1.1 4000"), None);
        assert_eq!(error_status(b"HTTP/1.1 40"), None);
        assert_eq!(error_status(b"{\"code\":400}"), None);
    }
}
