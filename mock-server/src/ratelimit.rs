//! Request-rate limits on the simulator clock: at most `limit` requests in any window of
//! `window_ms`, as the providers enforce (icu: submit 20/s, query 50/s). A manual clock
//! makes the limit exact and repeatable: 21 submits at one instant, the 21st is refused.

use std::collections::VecDeque;

use parking_lot::Mutex;

/// A sliding-window counter.
#[derive(Debug)]
pub struct RateLimiter {
    inner: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    /// Requests per window; 0 switches the limit off.
    limit: u32,
    window_ms: i64,
    /// Times of the admitted requests still inside the window (at most `limit` of them).
    hits: VecDeque<i64>,
}

impl RateLimiter {
    /// At most `limit` requests per `window_ms` (0 = unlimited).
    pub fn new(limit: u32, window_ms: i64) -> Self {
        RateLimiter {
            inner: Mutex::new(Window {
                limit,
                window_ms: window_ms.max(1),
                hits: VecDeque::new(),
            }),
        }
    }

    /// Admits a request at `now_ms`, or refuses it when the window is full.
    pub fn try_acquire(&self, now_ms: i64) -> bool {
        let mut w = self.inner.lock();
        if w.limit == 0 {
            return true;
        }
        while w.hits.front().is_some_and(|&t| t + w.window_ms <= now_ms) {
            w.hits.pop_front();
        }
        if w.hits.len() >= w.limit as usize {
            return false;
        }
        w.hits.push_back(now_ms);
        true
    }

    /// Changes the limit (0 = off) and forgets past requests.
    pub fn set_limit(&self, limit: u32) {
        let mut w = self.inner.lock();
        w.limit = limit;
        w.hits.clear();
    }

    /// The current limit (0 = off).
    pub fn limit(&self) -> u32 {
        self.inner.lock().limit
    }

    /// Forgets past requests.
    pub fn clear(&self) {
        self.inner.lock().hits.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_limit_per_window_then_recovers() {
        let rl = RateLimiter::new(3, 1000);
        assert!(rl.try_acquire(0));
        assert!(rl.try_acquire(500));
        assert!(rl.try_acquire(500));
        assert!(!rl.try_acquire(999));
        assert!(rl.try_acquire(1000), "the first hit left the window");
        assert!(!rl.try_acquire(1000), "the two at 500 are still inside it");
        assert!(rl.try_acquire(1500));
    }

    #[test]
    fn zero_means_off() {
        let rl = RateLimiter::new(0, 1000);
        assert!((0..10_000).all(|_| rl.try_acquire(0)));
        rl.set_limit(1);
        assert!(rl.try_acquire(0));
        assert!(!rl.try_acquire(0));
    }
}
