//! An engine's containers as its list stream keeps them (`/ws/…/containers`): a snapshot,
//! then each change Docker's events report. The container list, the dashboard's counts and
//! the project pages read this instead of asking the server again; the socket lives and
//! dies with the component that asked (see [`crate::live`]).

use crate::{
    frames::{Frame, LiveContainers},
    live::{LiveStatus, use_live},
    model::ContainerSummary,
    urls::{self, On},
};
use leptos::prelude::*;

/// What a page holds of an engine's list: `None` until the first snapshot (the server-
/// rendered list stands in until then), and how the stream is doing.
#[derive(Clone, Copy)]
pub struct LiveList {
    held: RwSignal<Option<LiveContainers>>,
    pub status: ReadSignal<LiveStatus>,
}

impl LiveList {
    /// The engine's containers sorted by name, once the stream has sent them.
    pub fn containers(&self) -> Option<Vec<ContainerSummary>> {
        self.held
            .with(|held| held.as_ref().map(LiveContainers::sorted))
    }

    /// Like [`LiveList::containers`], else `initial` (what the page was rendered with).
    pub fn or(&self, initial: &[ContainerSummary]) -> Vec<ContainerSummary> {
        self.containers().unwrap_or_else(|| initial.to_vec())
    }
}

/// Follows the list of the engine `on` names while the calling component lives; a new
/// engine starts from nothing again.
pub fn use_live_containers(on: impl Fn() -> On + Send + Sync + 'static) -> LiveList {
    let held = RwSignal::new(None::<LiveContainers>);
    let status = use_live(
        move || {
            let on = on();
            // Another engine's changes never land on this one's list.
            held.set(None);
            Some(urls::ws_containers(&on))
        },
        move |frame| {
            held.maybe_update(|held| match (held.as_mut(), frame) {
                (_, snapshot @ Frame::Containers { .. }) => {
                    let mut fresh = LiveContainers::default();
                    fresh.apply(snapshot);
                    *held = Some(fresh);
                    true
                }
                // Changes before the first snapshot are in it.
                (Some(list), change) => list.apply(change),
                (None, _) => false,
            })
        },
    );
    LiveList { held, status }
}
