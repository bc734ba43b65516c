//! Integration tests against the real Docker engine, over loopback. One binary, so the
//! server is linked once.

mod accounts;
mod actions;
mod alerts;
mod auto_updates;
mod cli;
mod common;
mod containers;
mod doors;
mod engine_outage;
mod engines;
mod forward_auth;
mod hardening;
mod live_lists;
mod objects;
mod pages;
mod pulls;
mod registry_logins;
mod remote_engines;
mod service_updates;
mod signin;
mod site_config;
mod soak;
mod stack_runs;
mod stack_updates;
mod stacks;
mod streams;
mod swarm;
mod swarm_stacks;
mod terminals;
mod trust_accounts;
mod trust_http;
mod trust_streams;
mod update_all;
mod updates;
mod updating;
