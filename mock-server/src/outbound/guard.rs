//! Keeps the data plane off the control API: a task's `Url` or `CallbackUrl` that points at
//! this simulator's own `/__admin/` would let anyone who can submit a task reset the state
//! or read the journals. Such requests are refused before they are sent; the two routes
//! the simulator's own traffic needs stay reachable: hosted audio for downloads, the sink
//! for callbacks.
//!
//! "Own" is decided on the URL as the `url` crate normalises it (dot segments resolved,
//! IPv4 in dotted form), with its path percent-decoded: a path under `/__admin/` on a port
//! the simulator listens on, at a host that is a loopback address, an unspecified address
//! (`0.0.0.0` and `[::]` reach this machine), the bound address or an address of a local
//! interface, or a name that resolves to one of those.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use url::{Host, Url};

use crate::routes;

/// How long a name's resolution may take before the check goes on without it (the request
/// then meets the same resolver); real time, like a socket timeout.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which kind of outbound request is checked; each may reach one control route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound {
    /// A task's audio `Url` (GET): hosted audio, `/__admin/audio/…`, is allowed.
    Download,
    /// A task's `CallbackUrl` (POST): the built-in sink, `/__admin/sink`, is allowed.
    Callback,
}

/// The check, shared by the downloader and the callback dispatcher. Cheap to clone; until
/// [`SelfGuard::arm`] gives it the bound address it refuses nothing (no port is ours yet).
#[derive(Debug, Clone, Default)]
pub struct SelfGuard {
    bound: Arc<RwLock<Option<SocketAddr>>>,
}

impl SelfGuard {
    /// Starts refusing requests to `addr`'s port (called once the listener is bound).
    pub fn arm(&self, addr: SocketAddr) {
        *self.bound.write() = Some(addr);
    }

    /// `Err(why)` when `url` reaches this simulator's control API on a route `kind` may not
    /// use. Resolves a host name only when the path and port already point at us.
    pub async fn check(&self, url: &str, kind: Outbound) -> Result<(), String> {
        let Some((url, bound)) = self.suspect(url, kind) else {
            return Ok(());
        };
        if let Some(Host::Domain(name)) = url.host() {
            let port = bound.port();
            let resolved =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port))).await;
            if let Ok(Ok(mut addrs)) = resolved {
                if addrs.any(|a| is_own_ip(a.ip(), bound)) {
                    return Err(refusal(&url, kind));
                }
            }
        }
        self.check_now(url.as_str(), kind)
    }

    /// The same check without resolving names (only `localhost` and `*.localhost` count as
    /// ours among names), for places that cannot wait, such as a redirect about to be
    /// followed.
    pub fn check_now(&self, url: &str, kind: Outbound) -> Result<(), String> {
        let Some((url, bound)) = self.suspect(url, kind) else {
            return Ok(());
        };
        let own = match url.host() {
            Some(Host::Domain(name)) => is_loopback_name(name),
            Some(Host::Ipv4(ip)) => is_own_ip(IpAddr::V4(ip), bound),
            Some(Host::Ipv6(ip)) => is_own_ip(IpAddr::V6(ip), bound),
            None => false,
        };
        if own {
            Err(refusal(&url, kind))
        } else {
            Ok(())
        }
    }

    /// The parsed URL and the bound address when `url` has a control path `kind` may not
    /// use on the port we listen on; `None` when it cannot be ours.
    fn suspect(&self, url: &str, kind: Outbound) -> Option<(Url, SocketAddr)> {
        let bound = (*self.bound.read())?;
        let url = Url::parse(url).ok()?;
        if url.port_or_known_default() != Some(bound.port()) {
            return None;
        }
        let path = decoded_path(&url);
        let under_admin =
            path == routes::ADMIN_PREFIX || path.starts_with(&format!("{}/", routes::ADMIN_PREFIX));
        (under_admin && !allowed_route(&path, kind)).then_some((url, bound))
    }
}

/// The path with percent-escapes decoded, dot segments resolved again, runs of `/` folded
/// and letters in lower case, repeated until stable: `/%5F%5Fadmin/reset`,
/// `/x/..%2F__admin/reset` and `//__ADMIN/reset` all read `/__admin/reset`. A server may
/// not route every such spelling to the control API, so refusing them all errs safe.
fn decoded_path(url: &Url) -> String {
    let mut path = url.path().to_owned();
    for _ in 0..4 {
        let decoded = percent_encoding::percent_decode_str(&path)
            .decode_utf8_lossy()
            .to_ascii_lowercase();
        let mut folded = String::with_capacity(decoded.len());
        for c in decoded.chars() {
            if !(c == '/' && folded.ends_with('/')) {
                folded.push(c);
            }
        }
        let next = Url::parse("http://h/")
            .and_then(|base| base.join(&folded.replace('?', "%3F").replace('#', "%23")))
            .map(|u| u.path().to_owned())
            .unwrap_or(folded);
        if next == path {
            break;
        }
        path = next;
    }
    path
}

/// The control route each kind of request may use.
fn allowed_route(path: &str, kind: Outbound) -> bool {
    match kind {
        Outbound::Callback => path == routes::admin::SINK,
        Outbound::Download => path
            .strip_prefix(routes::admin::AUDIO)
            .is_some_and(|rest| rest.starts_with('/')),
    }
}

/// `localhost` and its subdomains, which resolvers answer with loopback addresses.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether connecting to `ip` on our port reaches this machine.
fn is_own_ip(ip: IpAddr, bound: SocketAddr) -> bool {
    let ip = ip.to_canonical();
    if ip.is_loopback() || ip.is_unspecified() || ip == bound.ip().to_canonical() {
        return true;
    }
    if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.iter().any(|i| i.ip().to_canonical() == ip))
        .unwrap_or(false)
}

/// The journal's and the task's reason.
fn refusal(url: &Url, kind: Outbound) -> String {
    let open = match kind {
        Outbound::Download => "hosted audio (/__admin/audio/…)",
        Outbound::Callback => "the callback sink (/__admin/sink)",
    };
    format!(
        "{url} is the simulator's own control API ({}); of it, only {open} may be reached from a task",
        decoded_path(url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(port: u16) -> SelfGuard {
        let guard = SelfGuard::default();
        guard.arm(SocketAddr::from(([127, 0, 0, 1], port)));
        guard
    }

    #[test]
    fn paths_are_read_as_a_server_might() {
        for (url, path) in [
            ("http://h/__admin/reset", "/__admin/reset"),
            ("http://h/x/../__admin/reset", "/__admin/reset"),
            ("http://h/%5F%5Fadmin/reset", "/__admin/reset"),
            ("http://h/%5f%5fAdmin/Reset", "/__admin/reset"),
            ("http://h/x/..%2F__admin/reset", "/__admin/reset"),
            ("http://h/x/%2e%2e/__admin/reset", "/__admin/reset"),
            ("http://h//__admin//reset", "/__admin/reset"),
            ("http://h/%255F%255Fadmin/reset", "/__admin/reset"),
            ("http://h/audio/a.wav?x=1", "/audio/a.wav"),
        ] {
            assert_eq!(decoded_path(&Url::parse(url).unwrap()), path, "{url}");
        }
    }

    #[test]
    fn own_control_routes_are_refused_and_the_open_ones_kept() {
        let guard = armed(8080);
        for url in [
            "http://127.0.0.1:8080/__admin/reset",
            "http://127.0.0.2:8080/__admin/reset",
            "http://localhost:8080/x/../__admin/reset",
            "http://app.localhost:8080/__admin/requests",
            "http://[::1]:8080/%5F%5Fadmin/reset",
            "http://[::ffff:127.0.0.1]:8080/__admin/reset",
            "http://0.0.0.0:8080/__admin",
            "http://2130706433:8080/__admin/reset",
            "http://0x7f.1:8080/__admin/reset",
        ] {
            let why = guard.check_now(url, Outbound::Download).unwrap_err();
            assert!(why.contains("control API"), "{url}: {why}");
            assert!(guard.check_now(url, Outbound::Callback).is_err(), "{url}");
        }
        let sink = "http://127.0.0.1:8080/__admin/sink";
        assert!(guard.check_now(sink, Outbound::Callback).is_ok());
        assert!(guard.check_now(sink, Outbound::Download).is_err());
        let sink_by_detour = "http://127.0.0.1:8080/__admin/audio/../sink";
        assert!(guard.check_now(sink_by_detour, Outbound::Download).is_err());
        let audio = "http://localhost:8080/__admin/audio/call.wav";
        assert!(guard.check_now(audio, Outbound::Download).is_ok());
        assert!(
            guard.check_now(audio, Outbound::Callback).is_err(),
            "a callback would overwrite the file"
        );
        for other in [
            "http://127.0.0.1:8081/__admin/reset",
            "http://127.0.0.1:8080/openapi/asr/searchResult",
            "http://127.0.0.1:8080/__adminx",
            "http://192.0.2.1:8080/__admin/reset",
            "http://audio.example:8080/__admin/reset",
            "not a url",
        ] {
            assert!(
                guard.check_now(other, Outbound::Callback).is_ok(),
                "{other}"
            );
        }
        // Port 80 is the default of http.
        assert!(armed(80)
            .check_now("http://localhost/__admin/reset", Outbound::Callback)
            .is_err());
    }

    #[test]
    fn an_unarmed_guard_refuses_nothing() {
        let guard = SelfGuard::default();
        assert!(guard
            .check_now("http://127.0.0.1:8080/__admin/reset", Outbound::Callback)
            .is_ok());
    }

    #[test]
    fn local_interfaces_and_the_bound_address_count_as_own() {
        let guard = SelfGuard::default();
        guard.arm(SocketAddr::from(([0, 0, 0, 0], 8080)));
        let bound = SocketAddr::from(([192, 0, 2, 7], 8080));
        assert!(is_own_ip(bound.ip(), bound));
        if let Some(local) = if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .find(|i| !i.ip().is_loopback())
        {
            let url = format!("http://{}/__admin/reset", SocketAddr::new(local.ip(), 8080));
            assert!(guard.check_now(&url, Outbound::Callback).is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_us_are_refused() {
        let guard = armed(8080);
        // `localhost` resolves locally (the hosts file): no network needed.
        assert!(guard
            .check("http://localhost:8080/__admin/reset", Outbound::Callback)
            .await
            .is_err());
        assert!(guard
            .check("http://localhost:8080/__admin/sink", Outbound::Callback)
            .await
            .is_ok());
        assert!(guard
            .check("http://127.0.0.1:8080/__admin/reset", Outbound::Download)
            .await
            .is_err());
    }
}
