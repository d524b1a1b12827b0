//! Runs third-party decoders behind `catch_unwind`, quietly.
//!
//! Symphonia is fed untrusted bytes and does panic on some (its AAC decoder indexes out of
//! bounds on some damaged frames, Symphonia issue #424). A caught panic costs the speech
//! spans, not the request; but the default panic hook would still print the panic (and a
//! backtrace under `RUST_BACKTRACE`) for every such request. So a hook is installed once,
//! wrapping whatever hook was there: a panic on a thread inside [`guarded`] becomes one
//! warning line, and every other panic goes to the previous hook unchanged.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`guarded`]: a panic here is expected and caught.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the quiet hook the first time a guard runs.
static HOOK: Once = Once::new();

/// Runs `f`; a panic inside it is logged as one warning line and gives `None`.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    HOOK.call_once(install);
    let outer = GUARDED.replace(true);
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.set(outer);
    result.ok()
}

/// Wraps the current hook. Called once, never while panicking (`set_hook` would panic then).
fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if GUARDED.get() {
            warn(info);
        } else {
            previous(info);
        }
    }));
}

/// The one line a caught decoder panic leaves.
fn warn(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let place = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::warn!(
        target: "asr_mock::audio",
        "an audio decoder panicked on this file and was stopped (speech is assumed throughout): {} at {place}",
        message.replace('\n', " "),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_is_caught_and_the_guard_is_left_clean() {
        let got: Option<u32> = guarded(|| panic!("decoder bug"));
        assert_eq!(got, None);
        assert!(!GUARDED.get(), "the flag is reset after a caught panic");
        assert_eq!(guarded(|| 7), Some(7));
        // Nested guards keep the outer one's flag.
        let nested = guarded(|| {
            let inner: Option<()> = guarded(|| panic!("inner"));
            (inner, GUARDED.get())
        });
        assert_eq!(nested, Some((None, true)));
        assert!(!GUARDED.get());
    }

    /// Set in the copy of this test binary that [`a_caught_panic_prints_one_line_and_no_backtrace`]
    /// runs, where the hook is installed fresh and stderr is not captured.
    const CHILD: &str = "ASR_MOCK_GUARD_TEST_CHILD";

    #[test]
    fn a_caught_panic_prints_one_line_and_no_backtrace() {
        if std::env::var_os(CHILD).is_some() {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .finish();
            let _quiet = tracing::subscriber::set_default(subscriber);
            for _ in 0..3 {
                let _: Option<()> = guarded(|| panic!("decoder bug\nsecond line"));
            }
            // A panic outside the guard still reaches the previous (default) hook.
            let _ = std::thread::spawn(|| panic!("not a decoder")).join();
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "audio::guard::tests::a_caught_panic_prints_one_line_and_no_backtrace",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("decoder bug"))
            .collect();
        assert_eq!(warnings.len(), 3, "one line per caught panic: {stderr}");
        for line in warnings {
            assert!(line.contains("WARN"), "{line}");
            assert!(line.contains("decoder bug second line"), "{line}");
            assert!(line.contains("guard.rs:"), "names where: {line}");
        }
        // The default report ("thread … panicked at …") only for the unguarded panic.
        assert_eq!(stderr.matches("panicked at").count(), 1, "{stderr}");
        assert!(stderr.contains("not a decoder"), "{stderr}");
        assert_eq!(
            stderr.matches("stack backtrace").count(),
            1,
            "only the unguarded panic has a backtrace: {stderr}"
        );
    }
}
