//! Docker access, apart from HTTP: the supervised engine connection (`engine`), how it is
//! reached (`dial`: unix, TCP, TLS, SSH), the mapping of bollard's types to the shared
//! model (`mapping`), and a swarm's nodes, services and tasks (`swarm`). Routes, sockets and
//! upstreams use these; nothing here knows a route.

pub mod dial;
pub mod engine;
pub mod mapping;
pub mod swarm;
