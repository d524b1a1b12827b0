//! Request bodies read as streams, with a way to discard what is left.
//!
//! When a handler refuses a request before reading all of its body (a bad token, a file over
//! the limit), closing the connection on a client that is still uploading makes many HTTP
//! clients (Node's axios among them) report a broken pipe instead of the answer. So the
//! handler reads and throws away the rest of the body, up to a bound, before answering.
//!
//! It also keeps the body's first [`PREFIX_BYTES`], for the journal's summary of a body the
//! handler could not parse (never more: an upload is not kept twice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, BodyDataStream};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::Mutex;

/// How much of the start of a body [`DrainableBody::prefix`] keeps.
pub const PREFIX_BYTES: usize = 1024;

/// A request body that can be handed to a parser as a stream and drained afterwards.
#[derive(Debug, Clone)]
pub struct DrainableBody {
    inner: Arc<Mutex<BodyDataStream>>,
    seen: Arc<AtomicU64>,
    prefix: Arc<parking_lot::Mutex<Vec<u8>>>,
}

impl DrainableBody {
    /// Wraps a request body.
    pub fn new(body: Body) -> Self {
        DrainableBody {
            inner: Arc::new(Mutex::new(body.into_data_stream())),
            seen: Arc::new(AtomicU64::new(0)),
            prefix: Arc::default(),
        }
    }

    /// Counts a chunk read and keeps what the prefix still has room for.
    fn saw(&self, chunk: &[u8]) {
        let before = self.seen.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if before < PREFIX_BYTES as u64 {
            let mut prefix = self.prefix.lock();
            let room = PREFIX_BYTES.saturating_sub(prefix.len());
            prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
    }

    /// The body's first bytes read so far, at most [`PREFIX_BYTES`].
    pub fn prefix(&self) -> Vec<u8> {
        self.prefix.lock().clone()
    }

    /// The body's chunks, for a parser that wants to own a `'static` stream.
    pub fn stream(&self) -> impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static {
        futures_util::stream::unfold(self.clone(), |body| async move {
            let item = body.inner.lock().await.next().await;
            if let Some(Ok(chunk)) = &item {
                body.saw(chunk);
            }
            item.map(|item| (item, body))
        })
    }

    /// Bytes read so far, by the parser and by draining.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// Reads and discards the rest of the body, stopping once `limit` bytes in all have been
    /// read (a larger body is cut off: its client may then see the connection close).
    pub async fn drain(&self, limit: u64) {
        let mut stream = self.inner.lock().await;
        while self.seen() <= limit {
            match stream.next().await {
                Some(Ok(chunk)) => self.saw(&chunk),
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: usize, size: usize) -> Body {
        let parts = (0..chunks).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![0u8; size])));
        Body::from_stream(futures_util::stream::iter(parts))
    }

    #[tokio::test]
    async fn drain_reads_the_rest_up_to_the_limit() {
        let body = DrainableBody::new(body_of(10, 100));
        let mut s = Box::pin(body.stream());
        s.next().await.unwrap().unwrap();
        drop(s);
        assert_eq!(body.seen(), 100);
        body.drain(10_000).await;
        assert_eq!(body.seen(), 1000);

        let body = DrainableBody::new(body_of(10, 100));
        body.drain(250).await;
        assert_eq!(body.seen(), 300, "stops at the first chunk past the limit");

        let body = DrainableBody::new(body_of(30, 100));
        body.drain(10_000).await;
        assert_eq!(body.prefix().len(), PREFIX_BYTES, "only the start is kept");
    }
}
