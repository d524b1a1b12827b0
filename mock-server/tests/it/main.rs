//! Integration tests over real sockets: every test starts its own simulator on
//! `127.0.0.1:0` and talks to it with reqwest (or raw TCP where HTTP clients hide details).

mod admin;
mod coze;
mod fixtures_check;
mod hardening_audio;
mod hardening_control;
mod hardening_durable;
mod hardening_http;
mod hardening_outbound;
mod hardening_stores;
mod hostile;
mod icu;
mod journal_find;
mod layers;
mod metrics;
mod openapi;
mod persist;
mod proxy;
mod robust;
mod scenarios;
mod support;
mod tls;
mod ui;
mod ws;
