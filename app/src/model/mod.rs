//! Serde types shared by the server and the browser: what the JSON API returns and what
//! server-rendered pages hand to the hydrating client. One file per domain; everything is
//! re-exported here, so callers name `app::model::X` whatever file `X` lives in.

mod accounts;
mod actions;
mod alerts;
mod containers;
mod engines;
mod error;
mod health;
mod registries;
mod stacks;
mod swarm;
mod updates;

pub use accounts::*;
pub use actions::*;
pub use alerts::*;
pub use containers::*;
pub use engines::*;
pub use error::*;
pub use health::*;
pub use registries::*;
pub use stacks::*;
pub use swarm::*;
pub use updates::*;

// Here rather than in a domain's file: users, tokens and engines all name themselves by it.
/// A name as Berth names its own things (users, tokens, engines): 1 to 64 of `a-z`, `0-9`,
/// `.`, `_` and `-`, so it is safe in a path, a label and a log line as it is.
pub fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}
