//! The only code that makes requests: downloading a task's audio and delivering callbacks.
//! Both honour `--allow-hosts`; neither knows which provider asked.
//! What both share (the User-Agent, how errors and durations are worded) lives here, so
//! neither imports the other.

pub mod callbacks;
pub mod download;
pub mod guard;

use std::error::Error as StdError;
use std::time::Duration;

/// The User-Agent of every request the simulator sends, so receivers can tell it from the
/// real provider in their logs.
pub const USER_AGENT: &str = concat!(
    "asr-mock/",
    env!("CARGO_PKG_VERSION"),
    " (speech-recognition API simulator)"
);

/// The innermost error in a chain: the one that says what actually went wrong.
pub(crate) fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A duration in whole ms, saturating (a `Duration` can exceed `u64` ms).
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// "60 s" for whole seconds, else "1500 ms": short enough for an ErrorMsg.
pub(crate) fn describe_duration(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}
