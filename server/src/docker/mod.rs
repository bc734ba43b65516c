//! Docker access, apart from HTTP: the supervised engine connection (`engine`), where it
//! listens (`endpoint`: `DOCKER_HOST`'s grammar), how it is reached (`dial`: unix, TCP,
//! TLS, SSH), the mapping of bollard's types to the shared
//! model (`mapping`), a swarm's nodes, services and tasks (`swarm`), and an engine's images,
//! volumes, networks and disk usage (`images`, `volumes`, `networks`, `disk`), and `path`,
//! the check and encoding every value gets before it goes into a Docker API path;
//! `raw_logs`, log streams read straight from the engine's socket; `name`, what Berth calls
//! an engine. Routes, sockets and upstreams use these; nothing here knows a route.

pub mod dial;
pub mod disk;
pub mod endpoint;
pub mod engine;
pub mod exec;
pub mod images;
pub mod mapping;
pub mod networks;
pub mod own;
pub mod path;
pub mod raw_logs;
pub mod swarm;
pub mod swarm_changes;
pub mod swarm_objects;
pub mod volumes;

mod name;
pub use name::{EngineName, LOCAL};
