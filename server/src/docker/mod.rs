//! Docker access, apart from HTTP: the supervised engine connection (`engine`), how it is
//! reached (`dial`: unix, TCP, TLS, SSH), the mapping of bollard's types to the shared
//! model (`mapping`), a swarm's nodes, services and tasks (`swarm`), and an engine's images,
//! volumes, networks and disk usage (`images`, `volumes`, `networks`, `disk`), and `path`,
//! the check and encoding every value gets before it goes into a Docker API path. Routes,
//! sockets and upstreams use these; nothing here knows a route.

pub mod dial;
pub mod disk;
pub mod engine;
pub mod exec;
pub mod images;
pub mod mapping;
pub mod networks;
pub mod path;
pub mod swarm;
pub mod volumes;
