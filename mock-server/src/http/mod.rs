//! HTTP plumbing under the routes: our own accept loop (so a fault can drop a connection,
//! and so the process is guarded against slow and excess clients), answer transformations
//! for faults, request bodies that can be drained or must keep a pace, and the refusals the
//! connection layer answers on the application's behalf.

pub mod body;
pub mod control;
pub mod faults;
pub mod refusal;
pub mod serve;
pub mod slow_body;
pub mod socket;
pub mod tls;
