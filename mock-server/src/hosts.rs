//! Which hosts the simulator may contact: the audio Urls it downloads and the callback Urls it
//! posts to. Without a list any host is allowed (local work); a shared deployment should
//! name its hosts (`--allow-hosts`) so the simulator cannot be used to reach elsewhere.

/// Why an allowlist was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostsError {
    /// No host named.
    #[error("the host allowlist is empty: name at least one host")]
    Empty,
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
}
