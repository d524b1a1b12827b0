//! Request bodies that must keep arriving. A client that sends its headers and then one byte
//! every few seconds would otherwise hold its connection (and a file descriptor) for as long
//! as it likes; enough of them starve everyone else.
//!
//! The rule is a pace: in every window of [`BodyPace::window`] while a body is being read, at
//! least [`BodyPace::min_bytes`] of it must arrive, else the body ends with [`BodyTimeout`]
//! and the connection is marked so the answer says `Connection: close`. The window's timer
//! starts only when a read has to wait, and a keep-alive connection reuses its timer, so a
//! request without a body, or whose body is already there, costs no timer and no allocation.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Interval;

use super::control::{BodyState, ConnectionControl};

/// How fast a request body must arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    /// The length of one window (real time: it guards the process, not the simulation).
    pub window: Duration,
    /// Bytes that must arrive in each window (at least 1).
    pub min_bytes: u64,
}

impl BodyPace {
    /// A pace from settings: `timeout` per window and a minimum rate in bytes per second;
    /// `None` when `timeout` is zero (no limit).
    pub fn new(timeout: Duration, min_bytes_per_sec: u64) -> Option<Self> {
        if timeout.is_zero() {
            return None;
        }
        let per_window = (u128::from(min_bytes_per_sec) * timeout.as_millis() / 1000)
            .try_into()
            .unwrap_or(u64::MAX);
        Some(BodyPace {
            window: timeout,
            min_bytes: per_window.max(1),
        })
    }
}

/// The error a body ends with when it arrives too slowly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body arrived too slowly: fewer than {min_bytes} bytes in {window:?}")]
pub struct BodyTimeout {
    /// The window's length.
    pub window: Duration,
    /// What had to arrive in it.
    pub min_bytes: u64,
}

/// A request body under a [`BodyPace`], reporting to its connection how far it was read.
#[derive(Debug)]
pub struct GuardedBody {
    inner: Incoming,
    /// `None` for a body that is empty from the start (nothing to watch or report).
    control: Option<ConnectionControl>,
    pace: Option<BodyPace>,
    timer: Option<Interval>,
    /// Bytes arrived in the current window.
    in_window: u64,
    /// Ended with an error; later polls see the end.
    failed: bool,
}

impl GuardedBody {
    /// Wraps a request body; an empty one is passed through untouched.
    pub fn new(inner: Incoming, control: &ConnectionControl, pace: Option<BodyPace>) -> Self {
        let control = if inner.is_end_stream() {
            control.set_body(BodyState::Done);
            None
        } else {
            control.set_body(BodyState::Open);
            Some(control.clone())
        };
        GuardedBody {
            inner,
            control,
            pace,
            timer: None,
            in_window: 0,
            failed: false,
        }
    }

    /// The body was read to its end: tell the connection and give the timer back.
    fn finish(&mut self) {
        if let Some(control) = &self.control {
            control.body_done();
            if let Some(timer) = self.timer.take() {
                control.put_timer(timer);
            }
        }
    }

    /// A read has to wait: make sure the window's timer runs, and end the body if a window
    /// closed with too little in it.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let (Some(pace), Some(control)) = (self.pace, &self.control) else {
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| control.take_timer(pace.window));
        while timer.poll_tick(cx).is_ready() {
            if self.in_window < pace.min_bytes {
                control.set_body(BodyState::TimedOut);
                self.failed = true;
                if let Some(timer) = self.timer.take() {
                    control.put_timer(timer);
                }
                let err = BodyTimeout {
                    window: pace.window,
                    min_bytes: pace.min_bytes,
                };
                return Poll::Ready(Some(Err(Box::new(err))));
            }
            self.in_window = 0;
        }
        Poll::Pending
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.in_window = this.in_window.saturating_add(data.len() as u64);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.failed = true;
                Poll::Ready(Some(Err(Box::new(err))))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => this.wait(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for GuardedBody {
    fn drop(&mut self) {
        if let (Some(control), Some(timer)) = (&self.control, self.timer.take()) {
            control.put_timer(timer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_comes_from_a_timeout_and_a_rate() {
        assert_eq!(BodyPace::new(Duration::ZERO, 1024), None);
        let pace = BodyPace::new(Duration::from_secs(30), 1024).unwrap();
        assert_eq!(pace.min_bytes, 30 * 1024);
        let pace = BodyPace::new(Duration::from_millis(100), 0).unwrap();
        assert_eq!(pace.min_bytes, 1, "at least one byte per window");
        let pace = BodyPace::new(Duration::from_secs(u64::MAX / 1000), u64::MAX).unwrap();
        assert_eq!(pace.min_bytes, u64::MAX, "no overflow");
    }
}
