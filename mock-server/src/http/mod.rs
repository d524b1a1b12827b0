//! HTTP plumbing under the routes: our own accept loop (so a fault can drop a connection),
//! answer transformations for faults, and request bodies that can be drained.

pub mod body;
pub mod faults;
pub mod serve;
pub mod tls;
