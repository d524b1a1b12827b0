//! The client against the simulator (in-process, `127.0.0.1:0`, manual clock), plus
//! properties and hostile answers from tiny hand-made servers. One binary, one module per
//! concern.

mod callbacks;
mod coze;
mod coze_stream;
mod hostile;
mod icu;
mod props;
#[cfg(feature = "receiver")]
mod receiver;
mod support;
