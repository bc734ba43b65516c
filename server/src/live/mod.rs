//! What is live: [`hub`], one per watched resource, owns its single upstream and fans its
//! frames out to every consumer (sockets, Berth's own readers); [`upstream`], what feeds a
//! hub. Nothing here knows HTTP: the sockets that read hubs are in `http::ws`.

pub mod hub;
pub mod upstream;
