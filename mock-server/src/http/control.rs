//! What a connection's task and the requests it serves tell each other: a fault may ask for
//! the connection to be dropped unanswered; the request body reports whether it was read to
//! its end (an answer that leaves an upload unread must say `Connection: close`); and the
//! socket learns which 4xx heads are the application's, so that hyper's own empty error
//! answers can be recognised and replaced (see `socket.rs`).
//!
//! One `Arc` per connection, shared by every request on it: nothing here allocates per request.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::{Interval, MissedTickBehavior};

/// How a connection is to end without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A clean FIN: the client sees an empty reply.
    Close,
    /// SO_LINGER 0, then close: the client sees "connection reset by peer".
    Reset,
}

const NOT_ENDING: u8 = 0;
const CLOSING: u8 = 1;
const RESETTING: u8 = 2;

/// Where the body of the request being served stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// No body, or read to its end.
    Done,
    /// Not read to its end (yet).
    Open,
    /// Cut off because it arrived too slowly.
    TimedOut,
}

const BODY_DONE: u8 = 0;
const BODY_OPEN: u8 = 1;
const BODY_TIMED_OUT: u8 = 2;

#[derive(Debug, Default)]
struct ControlInner {
    /// `NOT_ENDING`, `CLOSING` or `RESETTING`; the first request wins.
    ending: AtomicU8,
    /// Wakes the connection task; `notify_one` keeps a permit, so no wake-up is lost.
    wake: Notify,
    /// `BODY_DONE`, `BODY_OPEN` or `BODY_TIMED_OUT`, for the request being served.
    body: AtomicU8,
    /// After the connection closes, read and discard what the client still sends (bounded),
    /// so that closing on an unread upload is a FIN the client can read the answer before,
    /// not a reset that may destroy it.
    linger: AtomicBool,
    /// Application answers with a status hyper also uses for its own empty error answers
    /// (400, 414, 431) whose head the socket has not written yet.
    app_error_heads: AtomicU32,
    /// The body timer, kept between requests so a keep-alive connection allocates it once.
    timer: Mutex<Option<Interval>>,
}

/// Handed to every request as an extension; a fault uses it to end the connection.
///
/// Once `close` or `reset` is called, the request's answer is never written: the connection
/// is dropped as soon as the connection task notices, whatever the handler returns.
#[derive(Debug, Clone, Default)]
pub struct ConnectionControl {
    inner: Arc<ControlInner>,
}

impl ConnectionControl {
    /// A control with no connection behind it (for tests that call a router directly): the
    /// request is only recorded, see [`ConnectionControl::ending`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the connection without answering (clean FIN: the client sees an empty reply).
    pub fn close(&self) {
        self.request(CLOSING);
    }

    /// Drops the connection with SO_LINGER 0 (the client sees "connection reset by peer").
    pub fn reset(&self) {
        self.request(RESETTING);
    }

    /// How the connection was asked to end, if it was.
    pub fn ending(&self) -> Option<Ending> {
        match self.inner.ending.load(Ordering::Acquire) {
            CLOSING => Some(Ending::Close),
            RESETTING => Some(Ending::Reset),
            _ => None,
        }
    }

    fn request(&self, how: u8) {
        // First call wins: a later `close` must not soften an earlier `reset`.
        let _ = self.inner.ending.compare_exchange(
            NOT_ENDING,
            how,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.inner.wake.notify_one();
    }

    /// Resolves once `close` or `reset` has been called.
    pub(super) async fn ended(&self) -> Ending {
        loop {
            if let Some(how) = self.ending() {
                return how;
            }
            self.inner.wake.notified().await;
        }
    }

    /// Where the current request's body stands.
    pub fn body_state(&self) -> BodyState {
        match self.inner.body.load(Ordering::Acquire) {
            BODY_OPEN => BodyState::Open,
            BODY_TIMED_OUT => BodyState::TimedOut,
            _ => BodyState::Done,
        }
    }

    /// Whether the current request's body was cut off for arriving too slowly.
    pub fn body_timed_out(&self) -> bool {
        self.body_state() == BodyState::TimedOut
    }

    pub(super) fn set_body(&self, state: BodyState) {
        let value = match state {
            BodyState::Done => BODY_DONE,
            BodyState::Open => BODY_OPEN,
            BodyState::TimedOut => BODY_TIMED_OUT,
        };
        self.inner.body.store(value, Ordering::Release);
    }

    /// Marks the body read to its end, unless it already timed out.
    pub(super) fn body_done(&self) {
        let _ = self.inner.body.compare_exchange(
            BODY_OPEN,
            BODY_DONE,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    pub(super) fn set_linger(&self) {
        self.inner.linger.store(true, Ordering::Relaxed);
    }

    pub(super) fn lingers(&self) -> bool {
        self.inner.linger.load(Ordering::Relaxed)
    }

    /// The application answered with 400, 414 or 431: its head is not hyper's own.
    pub(super) fn app_error_head(&self) {
        self.inner.app_error_heads.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes one application error head, if one is waiting to be written.
    pub(super) fn take_app_error_head(&self) -> bool {
        self.inner
            .app_error_heads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// A body timer ticking every `period` from now: the connection's own if it has one.
    pub(super) fn take_timer(&self, period: Duration) -> Interval {
        match self.inner.timer.lock().take() {
            Some(mut timer) if timer.period() == period => {
                timer.reset();
                timer
            }
            _ => {
                let mut timer = tokio::time::interval(period);
                timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
                // The first tick of a new interval is immediate; one period from now instead.
                timer.reset();
                timer
            }
        }
    }

    /// Keeps a body timer for the connection's next body.
    pub(super) fn put_timer(&self, timer: Interval) {
        *self.inner.timer.lock() = Some(timer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_ending_wins() {
        let control = ConnectionControl::new();
        assert_eq!(control.ending(), None);
        control.reset();
        control.close();
        assert_eq!(control.ending(), Some(Ending::Reset));
    }

    #[test]
    fn a_timed_out_body_stays_timed_out() {
        let control = ConnectionControl::new();
        assert_eq!(control.body_state(), BodyState::Done);
        control.set_body(BodyState::Open);
        control.body_done();
        assert_eq!(control.body_state(), BodyState::Done);
        control.set_body(BodyState::TimedOut);
        control.body_done();
        assert!(control.body_timed_out());
    }

    #[test]
    fn app_error_heads_are_counted_down() {
        let control = ConnectionControl::new();
        assert!(!control.take_app_error_head());
        control.app_error_head();
        assert!(control.take_app_error_head());
        assert!(!control.take_app_error_head());
    }
}
