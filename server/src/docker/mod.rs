//! Docker access, apart from HTTP: the supervised engine connection (`engine`) and the
//! mapping of bollard's types to the shared model (`mapping`). Routes, sockets and
//! upstreams use these; nothing here knows a route.

pub mod engine;
pub mod mapping;
