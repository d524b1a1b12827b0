//! icu's size limits, in one place so the parameter checks, the error messages and the body
//! reader agree (and `error.rs` need not import from `params`).

/// Decoded `Data` must be under this (5 MB) [seed].
pub const MAX_DATA_BYTES: usize = 5 * 1024 * 1024;
/// `Url` and `CallbackUrl` must be under this many bytes [seed, tencent].
pub const MAX_URL_BYTES: usize = 2048;
/// Largest submit body the handler reads: the base64 of a 5 MB `Data`, tripled because a form
/// may percent-encode every character (`/` as `%2F`: audio with long runs of 0xFF bytes is
/// all `/`), plus 64 KiB for the other fields. Bodies whose `Data` is just at the limit still
/// fit, so they get the precise `ErrorVoicedataTooLong` message from the parameter checks.
pub const MAX_SUBMIT_BODY: usize = 3 * (MAX_DATA_BYTES.div_ceil(3) * 4) + 64 * 1024;
