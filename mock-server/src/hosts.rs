//! Host lists. [`HostAllowlist`]: which hosts the simulator may contact, the audio Urls it
//! downloads and the callback Urls it posts to. Without a list any host is allowed (local
//! work); a shared deployment should name its hosts (`--allow-hosts`) so the simulator cannot
//! be used to reach elsewhere. [`ControlHosts`]: which names the control API answers to in
//! `Host` (`--allowed-host`), against DNS rebinding.

/// Why an allowlist was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostsError {
    /// No host named.
    #[error("the host allowlist is empty: name at least one host")]
    Empty,
    /// A `--allowed-host` entry with a port: `Host` is matched by name only.
    #[error("{0:?}: name the host without a port (any port is accepted)")]
    WithPort(String),
    /// An entry that is not a host.
    #[error("{0:?} is not a host: write e.g. audio.example.com or 127.0.0.1:9000")]
    NotAHost(String),
}

/// A list of allowed hosts: `example.com` (that host, any port), `*.example.com` (its
/// subdomains), `host:port` (that port only); IP addresses and `localhost` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAllowlist(Vec<String>);

impl HostAllowlist {
    /// Parses a comma-separated list.
    pub fn parse(list: &str) -> Result<Self, HostsError> {
        let entries: Vec<String> = list
            .split(',')
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(HostsError::Empty);
        }
        for e in &entries {
            if e.contains('/') || e.contains(' ') {
                return Err(HostsError::NotAHost(e.clone()));
            }
        }
        Ok(HostAllowlist(entries))
    }

    /// Whether `url`'s host (and port) is on the list.
    pub fn allows(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str().map(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        }) else {
            return false;
        };
        let port = url.port_or_known_default();
        self.0.iter().any(|entry| {
            let (name, want_port) = split_port(entry);
            let port_ok = want_port.is_none_or(|p| Some(p) == port);
            let name_ok = match name.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => host == name,
            };
            name_ok && port_ok
        })
    }

    /// The entries, for messages.
    pub fn entries(&self) -> &[String] {
        &self.0
    }
}

/// The names the control API answers to in `Host`. A page that rebinds its own name to
/// 127.0.0.1 reaches the simulator with `Host: its.name`, so only names that cannot be
/// rebound by someone else are accepted: `localhost`, `*.localhost` and IP addresses (the
/// bound one included; a browser sends an IP only when the user typed it), plus the names
/// an operator lists. Like Jupyter's and Vite's allowed hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlHosts {
    /// Any `Host` (`--allowed-host all` or `*`): the check is off.
    Any,
    /// The names always accepted, plus these (lower case; `*.example.com` for its
    /// subdomains, `.example.com` for the name and its subdomains).
    Names(Vec<String>),
}

impl Default for ControlHosts {
    /// Loopback names and IP addresses only.
    fn default() -> Self {
        ControlHosts::Names(Vec::new())
    }
}

impl ControlHosts {
    /// Reads `--allowed-host` entries (each may be a comma-separated list); `all` or `*`
    /// anywhere turns the check off.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, HostsError> {
        let mut names = Vec::new();
        for entry in entries.iter().flat_map(|e| e.as_ref().split(',')) {
            let name = entry.trim().trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            if name == "all" || name == "*" {
                return Ok(ControlHosts::Any);
            }
            if name.contains(['/', ' ', '@', '?', '#']) {
                return Err(HostsError::NotAHost(name));
            }
            if !name.starts_with('[') && name.contains(':') {
                return Err(HostsError::WithPort(name));
            }
            names.push(name);
        }
        Ok(ControlHosts::Names(names))
    }

    /// Whether a request's `Host` header (`name`, `name:port`, `[v6]:port`) names this server.
    pub fn allows(&self, host_header: &str) -> bool {
        let names = match self {
            ControlHosts::Any => return true,
            ControlHosts::Names(names) => names,
        };
        match parse_host_header(host_header) {
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                name == "localhost"
                    || name.ends_with(".localhost")
                    || names.iter().any(|entry| name_matches(entry, name))
            }
            None => false,
        }
    }
}

/// Whether `name` (lower case) matches an allowed-host entry.
fn name_matches(entry: &str, name: &str) -> bool {
    if let Some(suffix) = entry.strip_prefix("*.") {
        name.ends_with(&format!(".{suffix}"))
    } else if let Some(suffix) = entry.strip_prefix('.') {
        name == suffix || name.ends_with(entry)
    } else {
        name == entry
    }
}

/// The host of a `Host` header, normalised as a browser would write it (lower case, IPv4 in
/// dotted form); `None` for anything that is not a bare authority.
pub fn parse_host_header(value: &str) -> Option<url::Host<String>> {
    if value.is_empty() || value.contains(['/', '@', '?', '#', '\\', ' ']) {
        return None;
    }
    let url = url::Url::parse(&format!("http://{value}/")).ok()?;
    url.host().map(|h| h.to_owned())
}

/// `host:port` → (host, Some(port)); IPv6 in brackets keeps its colons.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once("]:") {
            Some((host, port)) => (host, port.parse().ok()),
            None => (rest.trim_end_matches(']'), None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn hosts_subdomains_and_ports() {
        let list =
            HostAllowlist::parse("audio.example.com, *.cdn.net,127.0.0.1:9000,[::1]").unwrap();
        assert!(list.allows(&url("https://audio.example.com/a.wav")));
        assert!(list.allows(&url("http://AUDIO.example.com:8080/a.wav")));
        assert!(!list.allows(&url("http://example.com/a.wav")));
        assert!(list.allows(&url("http://x.cdn.net/a")));
        assert!(!list.allows(&url("http://cdn.net/a")));
        assert!(list.allows(&url("http://127.0.0.1:9000/cb")));
        assert!(!list.allows(&url("http://127.0.0.1:9001/cb")));
        assert!(list.allows(&url("http://[::1]:5/cb")));
        assert!(HostAllowlist::parse(" , ").is_err());
        assert!(HostAllowlist::parse("http://x/").is_err());
    }

    #[test]
    fn control_hosts_accept_loopback_names_and_ips_by_default() {
        let hosts = ControlHosts::default();
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "app.localhost:1",
            "127.0.0.1:8080",
            "127.0.0.2",
            "[::1]:8080",
            "10.1.2.3:80",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "evil@127.0.0.1",
            "127.0.0.1/x",
            "",
            "a b",
        ] {
            assert!(!hosts.allows(refused), "{refused:?}");
        }
    }

    #[test]
    fn control_hosts_take_names_subdomains_and_all() {
        let hosts =
            ControlHosts::parse(&["sim.example,*.test.example", " .corp.example "]).unwrap();
        assert!(hosts.allows("sim.example:8080"));
        assert!(hosts.allows("SIM.example"));
        assert!(!hosts.allows("x.sim.example"));
        assert!(hosts.allows("a.test.example"));
        assert!(!hosts.allows("test.example"));
        assert!(hosts.allows("corp.example"));
        assert!(hosts.allows("b.corp.example"));
        assert!(!hosts.allows("notcorp.example"));
        assert!(!hosts.allows("evil.example"));
        for off in [&["all"][..], &["x.example", "*"][..]] {
            assert_eq!(ControlHosts::parse(off).unwrap(), ControlHosts::Any);
        }
        assert!(ControlHosts::Any.allows("evil.example"));
        assert_eq!(
            ControlHosts::parse(&["sim.example:8080"]),
            Err(HostsError::WithPort("sim.example:8080".into()))
        );
        assert!(ControlHosts::parse(&["http://x"]).is_err());
        assert_eq!(
            ControlHosts::parse::<&str>(&[]).unwrap(),
            ControlHosts::default()
        );
    }
}
