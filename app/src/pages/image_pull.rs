//! Pulling an image from the images page: a form for `NAME[:TAG]`, then the pull's progress
//! from `/ws/images/pull`, a row per layer (waiting, downloading with bytes, extracting,
//! done) under an overall bar. Cancel (or leaving the page) closes the socket, and the
//! engine stops the pull once no one watches it.

use super::container_actions::ForOperators;
use crate::frames::{Frame, LayerPhase, PullProgress};
use crate::layout::page_engine;
use crate::live::use_live;
use crate::{Hydrated, format, urls};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// What a pull has said so far: each layer's last step, in the order they appeared.
#[derive(Clone, Debug, Default, PartialEq)]
struct Layers {
    order: Vec<String>,
    last: BTreeMap<String, PullProgress>,
    /// The last line about the whole pull.
    said: String,
}

impl Layers {
    fn apply(&mut self, progress: PullProgress) {
        match progress.layer.clone() {
            Some(layer) => {
                if !self.last.contains_key(&layer) {
                    self.order.push(layer.clone());
                }
                self.last.insert(layer, progress);
            }
            None => self.said = progress.status,
        }
    }

    /// Done layers over all, and bytes moved over bytes known, for the overall bar.
    fn overall(&self) -> (usize, usize, u64, u64) {
        let done = self
            .last
            .values()
            .filter(|p| p.phase() == LayerPhase::Done)
            .count();
        let (mut current, mut total) = (0, 0);
        for p in self.last.values() {
            if let Some(t) = p.total {
                total += t;
                current += p.current.unwrap_or(0).min(t);
            }
        }
        (done, self.last.len(), current, total)
    }
}

fn phase_name(phase: LayerPhase) -> &'static str {
    match phase {
        LayerPhase::Waiting => "waiting",
        LayerPhase::Downloading => "downloading",
        LayerPhase::Extracting => "extracting",
        LayerPhase::Done => "done",
    }
}

/// The form, and the pull it started; `after` reloads the list once a pull has ended.
#[component]
pub fn PullForm(after: Callback<()>) -> impl IntoView {
    let reference = RwSignal::new(String::new());
    let pulling = RwSignal::new(None::<String>);
    let hydrated = expect_context::<Hydrated>().0;
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let asked = reference.get_untracked().trim().to_string();
        if !asked.is_empty() {
            pulling.set(Some(asked));
        }
    };
    view! {
        <ForOperators>
            <form class="inline-form" on:submit=start aria-label="Pull an image">
                <input
                    type="text"
                    placeholder="NAME[:TAG]"
                    aria-label="Image to pull"
                    prop:value=reference
                    on:input=move |ev| reference.set(event_target_value(&ev))
                />
                <button type="submit" disabled=move || !hydrated.get() || pulling.get().is_some()>
                    "Pull"
                </button>
            </form>
            {move || {
                pulling
                    .get()
                    .map(|asked| {
                        view! {
                            <Pull
                                reference=asked
                                close=Callback::new(move |()| pulling.set(None))
                                after
                            />
                        }
                    })
            }}
        </ForOperators>
    }
}

/// One pull's progress while it is shown: its socket lives as long as this component.
#[component]
fn Pull(reference: String, close: Callback<()>, after: Callback<()>) -> impl IntoView {
    let on = page_engine().get_untracked();
    let path = urls::ws_image_pull(&on, &reference);
    let layers = RwSignal::new(Layers::default());
    let ended = RwSignal::new(None::<String>);
    let status = use_live(
        move || Some(path.clone()),
        move |frame| match frame {
            Frame::PullProgress(progress) => layers.update(|l| l.apply(progress)),
            Frame::End { reason, .. } => {
                ended.set(Some(reason));
                after.run(());
            }
            _ => {}
        },
    );
    let bar = move || {
        let (done, all, current, total) = layers.with(Layers::overall);
        let percent = match (total, all) {
            (0, 0) => 0.0,
            (0, _) => done as f64 * 100.0 / all as f64,
            _ => current as f64 * 100.0 / total as f64,
        };
        let percent = if ended.with(|e| e.as_deref().is_some_and(|r| r.starts_with("pulled"))) {
            100.0
        } else {
            percent
        };
        view! {
            <progress max="100" value=format!("{percent:.0}") aria-label="Pull progress"></progress>
            <span class="muted" data-testid="pull-overall">
                {format!(
                    "{done} of {all} layers · {} of {}",
                    format::bytes(current as i64),
                    format::bytes(total as i64),
                )}
            </span>
        }
    };
    let rows = move || {
        layers.with(|l| {
            l.order
                .iter()
                .filter_map(|id| l.last.get(id).map(|p| (id.clone(), p.clone())))
                .map(|(id, p)| {
                    let phase = phase_name(p.phase());
                    let bytes = match (p.current, p.total) {
                        (Some(c), Some(t)) => {
                            format!("{} / {}", format::bytes(c as i64), format::bytes(t as i64))
                        }
                        _ => String::new(),
                    };
                    view! {
                        <tr class="layer-row" data-layer=id.clone() data-phase=phase>
                            <td class="mono">{id.clone()}</td>
                            <td>{phase}</td>
                            <td>{p.status}</td>
                            <td>{bytes}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="card pull" data-testid="pull">
            <h3>"Pulling " <span class="mono">{reference.clone()}</span></h3>
            <div class="pull-bar">{bar}</div>
            <p class="muted" data-testid="pull-said">
                {move || {
                    ended
                        .get()
                        .unwrap_or_else(|| {
                            let said = layers.with(|l| l.said.clone());
                            if said.is_empty() { status.get().label() } else { said }
                        })
                }}
            </p>
            <table class="containers layers">
                <tbody>{rows}</tbody>
            </table>
            <button type="button" on:click=move |_| close.run(())>
                {move || if ended.get().is_some() { "Close" } else { "Cancel" }}
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(layer: &str, status: &str, current: Option<u64>, total: Option<u64>) -> PullProgress {
        PullProgress {
            layer: Some(layer.into()),
            status: status.into(),
            current,
            total,
        }
    }

    #[test]
    fn layers_keep_their_last_step_and_add_up() {
        let mut layers = Layers::default();
        layers.apply(step("a", "Waiting", None, None));
        layers.apply(step("b", "Downloading", Some(50), Some(100)));
        layers.apply(step("a", "Pull complete", None, None));
        layers.apply(PullProgress {
            layer: None,
            status: "Digest: sha256:00".into(),
            current: None,
            total: None,
        });
        assert_eq!(layers.order, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(layers.overall(), (1, 2, 50, 100));
        assert_eq!(layers.said, "Digest: sha256:00");
    }
}
