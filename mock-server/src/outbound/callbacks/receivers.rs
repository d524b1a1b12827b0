//! Fair shares between receivers: each receiver (scheme, host and port) may have only a few
//! attempts in flight, besides the global bound, so one receiver that never answers holds
//! at most its own share of the permits and never delays another's callbacks.
//!
//! A delivery holds its receiver's [`Lane`] from start to end; the lane's entry leaves the
//! map when the receiver's last delivery ends, so the map holds only receivers with
//! deliveries unfinished (bounded by the dispatcher's queue).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};

/// Attempts in flight to one receiver at once, by default.
pub(super) const DEFAULT_PER_RECEIVER: usize = 4;

type Lanes = Arc<Mutex<HashMap<String, Arc<Semaphore>>>>;

/// The receivers with deliveries under way, each with its own permits.
#[derive(Debug)]
pub(super) struct Receivers {
    limit: AtomicUsize,
    lanes: Lanes,
}

/// One delivery's hold on its receiver's permits.
#[derive(Debug)]
pub(super) struct Lane {
    key: String,
    permits: Arc<Semaphore>,
    lanes: Lanes,
}

/// What an attempt holds while it is on the wire: its receiver's permit and a global one.
#[derive(Debug)]
pub(super) struct Permits<'a> {
    _receiver: SemaphorePermit<'a>,
    _global: SemaphorePermit<'a>,
}

impl Receivers {
    pub(super) fn new(limit: usize) -> Self {
        Receivers {
            limit: AtomicUsize::new(limit.clamp(1, Semaphore::MAX_PERMITS)),
            lanes: Lanes::default(),
        }
    }

    /// Changes the share of receivers that have no delivery under way yet.
    pub(super) fn set_limit(&self, limit: usize) {
        self.limit
            .store(limit.clamp(1, Semaphore::MAX_PERMITS), Ordering::Relaxed);
    }

    /// The lane of `url`'s receiver, made if it has no delivery under way.
    pub(super) fn lane(&self, url: &str) -> Lane {
        let key = receiver_key(url);
        let limit = self.limit.load(Ordering::Relaxed);
        let permits = Arc::clone(
            self.lanes
                .lock()
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(limit))),
        );
        Lane {
            key,
            permits,
            lanes: Arc::clone(&self.lanes),
        }
    }

    /// How many receivers have deliveries under way.
    pub(super) fn len(&self) -> usize {
        self.lanes.lock().len()
    }
}

impl Lane {
    /// This receiver's permits.
    pub(super) fn semaphore(&self) -> &Semaphore {
        &self.permits
    }

    /// Waits for a permit of this receiver, then for a global one (in that order, so a
    /// delivery waiting for a busy receiver holds none of the global permits).
    pub(super) async fn acquire<'a>(
        &'a self,
        global: &'a Semaphore,
    ) -> Result<Permits<'a>, AcquireError> {
        let receiver = self.permits.acquire().await?;
        let global = global.acquire().await?;
        Ok(Permits::new(receiver, global))
    }
}

impl<'a> Permits<'a> {
    pub(super) fn new(receiver: SemaphorePermit<'a>, global: SemaphorePermit<'a>) -> Self {
        Permits {
            _receiver: receiver,
            _global: global,
        }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let mut lanes = self.lanes.lock();
        // Lanes are cloned and dropped only under this lock: two references (the map's and
        // this one) mean no other delivery to this receiver is under way.
        if Arc::strong_count(&self.permits) == 2 {
            lanes.remove(&self.key);
        }
    }
}

/// `scheme://host:port` of a URL (the port made explicit), or the URL itself when it does
/// not parse (its attempts fail at once anyway).
fn receiver_key(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_is_its_scheme_host_and_port() {
        assert_eq!(
            receiver_key("http://A.example/cb?x=1"),
            "http://a.example:80"
        );
        assert_eq!(
            receiver_key("https://a.example:8443/x"),
            "https://a.example:8443"
        );
        assert_ne!(
            receiver_key("http://127.0.0.1:9000/a"),
            receiver_key("http://127.0.0.1:9001/a")
        );
        assert_eq!(receiver_key("not a url"), "not a url");
    }

    #[test]
    fn a_lane_leaves_the_map_with_its_last_delivery() {
        let receivers = Receivers::new(2);
        let a1 = receivers.lane("http://a.example/1");
        let a2 = receivers.lane("http://a.example/2");
        let b = receivers.lane("http://b.example/");
        assert_eq!(receivers.len(), 2);
        assert!(
            std::ptr::eq(a1.semaphore(), a2.semaphore()),
            "one share per receiver"
        );
        assert_eq!(a1.semaphore().available_permits(), 2);
        drop(a1);
        assert_eq!(receivers.len(), 2, "a2 still delivers to a.example");
        drop((a2, b));
        assert_eq!(receivers.len(), 0);
    }
}
