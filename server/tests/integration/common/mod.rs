//! Test harness: a Berth server in-process on a loopback port, and containers on the real
//! engine that are removed when their guard drops, even when the test panics. One file per
//! fixture: `server`, `docker`, `engines` (private engines and sshd), `ws`, `process`,
//! `postgres`, `data_dir`, `receiver` (a webhook's), `mail` (an SMTP server), `proxy` (nginx, a forward-auth endpoint), `oidc` (an OpenID
//! provider); `json` looks into the API's answers.

mod data_dir;
mod docker;
mod engines;
mod json;
mod mail;
mod oidc;
mod postgres;
mod process;
mod proxy;
mod receiver;
mod server;
mod ws;

pub use data_dir::*;
pub use docker::*;
pub use engines::*;
pub use json::*;
pub use mail::*;
pub use oidc::*;
pub use postgres::*;
pub use process::*;
pub use proxy::*;
pub use receiver::*;
pub use server::*;
pub use ws::*;

pub const TEST_IMAGE: &str = "berth-test/busybox:latest";

/// Held by the test that floods the engine and by the tests whose 2 s settling windows are
/// part of what they check (issue 3), so the flood never starves those windows on 2 cores.
pub static LOAD_SENSITIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
