//! Who may call provider A. By default any non-empty bearer token is accepted (local work
//! needs no credentials); with a tokens file only the listed tokens are, each with its own
//! permissions, so the "unknown token" (4100) and "missing permission" (4101) paths can be
//! reproduced.
//!
//! File format (TOML):
//! ```toml
//! [[tokens]]
//! token = "pat_dev"
//! permissions = ["createTranscription"]
//!
//! [[tokens]]
//! token = "pat_readonly"
//! permissions = []        # authenticates, but transcription answers 4101
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::{from_toml, read_settings_file, SettingsFileError};

/// The permission Coze requires for `POST /v1/audio/transcriptions`.
pub const CREATE_TRANSCRIPTION: &str = "createTranscription";

/// What a bearer token may do.
#[derive(Debug, Clone)]
pub enum TokenPolicy {
    /// Any non-empty token has every permission.
    AnyToken,
    /// Only these tokens, each with its permissions.
    Listed(HashMap<String, Vec<String>>),
}

/// The outcome of checking a request's token for one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The token is known and holds the permission.
    Allowed,
    /// No token, a malformed header, or a token nobody issued.
    Unauthenticated,
    /// A known token without the permission.
    Forbidden,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    #[serde(default)]
    permissions: Vec<String>,
}

impl TokenPolicy {
    /// Reads a tokens file; the error names the file, the line and the reason.
    pub fn load(path: &Path) -> Result<Self, SettingsFileError> {
        read_settings_file(path, "tokens file", Self::parse)
    }

    /// Parses the TOML text of a tokens file; the error reads `line N: reason`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: TokensFile = from_toml(text)?;
        let mut map = HashMap::new();
        for entry in file.tokens {
            if entry.token.trim().is_empty() {
                return Err("a token entry has an empty `token`".into());
            }
            map.insert(entry.token, entry.permissions);
        }
        Ok(TokenPolicy::Listed(map))
    }

    /// Checks an `Authorization` header value for `permission`.
    pub fn check(&self, authorization: Option<&str>, permission: &str) -> AuthOutcome {
        let Some(token) = authorization.and_then(bearer_token) else {
            return AuthOutcome::Unauthenticated;
        };
        match self {
            TokenPolicy::AnyToken => AuthOutcome::Allowed,
            TokenPolicy::Listed(map) => match map.get(token) {
                None => AuthOutcome::Unauthenticated,
                Some(perms) if perms.iter().any(|p| p == permission) => AuthOutcome::Allowed,
                Some(_) => AuthOutcome::Forbidden,
            },
        }
    }
}

/// Extracts the token of `Bearer <token>` (scheme case-insensitive, as HTTP says).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_token_needs_a_well_formed_bearer() {
        let p = TokenPolicy::AnyToken;
        assert_eq!(
            p.check(Some("Bearer pat_x"), CREATE_TRANSCRIPTION),
            AuthOutcome::Allowed
        );
        assert_eq!(
            p.check(Some("bearer pat_x"), CREATE_TRANSCRIPTION),
            AuthOutcome::Allowed
        );
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic abc"),
            Some("pat_x"),
        ] {
            assert_eq!(
                p.check(bad, CREATE_TRANSCRIPTION),
                AuthOutcome::Unauthenticated,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn listed_tokens_have_their_permissions() {
        let p = TokenPolicy::parse(
            "[[tokens]]\ntoken = \"pat_ok\"\npermissions = [\"createTranscription\"]\n\
             [[tokens]]\ntoken = \"pat_ro\"\n",
        )
        .unwrap();
        assert_eq!(
            p.check(Some("Bearer pat_ok"), CREATE_TRANSCRIPTION),
            AuthOutcome::Allowed
        );
        assert_eq!(
            p.check(Some("Bearer pat_ro"), CREATE_TRANSCRIPTION),
            AuthOutcome::Forbidden
        );
        assert_eq!(
            p.check(Some("Bearer pat_other"), CREATE_TRANSCRIPTION),
            AuthOutcome::Unauthenticated
        );
    }

    #[test]
    fn broken_files_name_the_line() {
        let err = TokenPolicy::parse("[[tokens]]\ntoken = \"a\"\npermisions = []\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = TokenPolicy::parse("[[tokens]]\ntoken = \"\"\n").unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }
}
