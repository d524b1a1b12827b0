//! The only code that makes requests: downloading a task's audio and delivering callbacks.
//! Both honour `--allow-hosts`; neither knows which provider asked.

pub mod callbacks;
pub mod download;
