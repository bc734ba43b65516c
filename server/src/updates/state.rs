//! What the checks of one engine found, kept in memory: what each running container runs,
//! and the registry's last answer for each tag they run, with when its digest was first
//! seen (that first sight is kept in the database too: [`super::seen`]). Everything is
//! keyed by what runs now: a check replaces the containers, and answers no running
//! container needs go with them, so it never grows with the containers or images ever seen.

use super::{name::ImageName, policy::Rules, seen::Seen};
use app::model::{ContainerSummary, ImageUpdate, PolicySource, UpdatePolicy, UpdateState};
use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};
use tokio::sync::watch;

/// The first wait after a failed question; it doubles with each failure in a row.
const RETRY_FIRST: Duration = Duration::from_secs(60);
const RETRY_MOST: Duration = Duration::from_secs(6 * 3600);

/// A running container as a check saw it.
#[derive(Clone, Debug)]
pub struct Running {
    /// The reference it was made from, fully named where it is one.
    pub image: String,
    /// That reference, parsed (`None`: it was made from an image id).
    pub name: Option<ImageName>,
    /// The registry digests of the image it runs, for its repository (none: built or
    /// imported here).
    pub digests: Vec<String>,
    /// Its name, compose project and `berth.update` label: what its policy depends on.
    pub container: String,
    pub project: Option<String>,
    pub label: Option<String>,
}

impl Running {
    /// Its update policy under `rules`, and where that comes from.
    pub fn policy(&self, rules: &Rules) -> (UpdatePolicy, PolicySource) {
        rules.resolve(
            &self.container,
            self.project.as_deref(),
            self.label.as_deref(),
        )
    }
}

impl Running {
    /// The tag to ask the registry about; `None` when there is nothing to compare (no
    /// registry digest) or nothing can change (pinned by digest).
    pub fn askable(&self) -> Option<String> {
        let name = self.name.as_ref()?;
        (name.digest.is_none() && !self.digests.is_empty()).then(|| name.tagged())
    }
}

/// A swarm service as its spec names its image: the tag, and the digest the spec pins
/// (its `digests`, none when the service was made with `--no-resolve-image`).
#[derive(Clone, Debug)]
pub struct SwarmImage {
    pub id: String,
    /// Its `container` is the service's name, its `project` its stack.
    pub running: Running,
}

/// Why a question got no digest, and how long before it is asked again when the registry
/// said so.
#[derive(Clone, Debug)]
pub struct Asked {
    error: String,
    after: Option<Duration>,
}

impl Asked {
    pub fn failed(error: String) -> Self {
        Self { error, after: None }
    }

    pub fn later(error: String, after: Duration) -> Self {
        Self {
            error,
            after: Some(after),
        }
    }
}

/// The registry's last answer for a tag.
#[derive(Clone, Debug, Default)]
struct Answer {
    digest: Option<String>,
    /// When `digest` was first seen.
    seen: Option<Seen>,
    checked: i64,
    error: Option<String>,
    next_try: Option<i64>,
    failures: u32,
}

#[derive(Default)]
struct Inner {
    running: HashMap<String, Running>,
    /// The swarm tasks' containers among those running: their services are updated.
    tasks: HashSet<String>,
    answers: HashMap<String, Answer>,
    last_check: Option<i64>,
}

/// One engine's findings, and whether a check of it runs now.
pub struct EngineState {
    inner: Mutex<Inner>,
    /// The scope of the check that runs now, if one does.
    pub checking: watch::Sender<Option<super::Scope>>,
}

impl Default for EngineState {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            checking: watch::Sender::new(None),
        }
    }
}

impl EngineState {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The containers running now (`tasks`: swarm tasks' among them), and the services;
    /// what only gone ones needed is forgotten.
    pub fn replace_running(
        &self,
        running: HashMap<String, Running>,
        tasks: HashSet<String>,
        services: &[SwarmImage],
    ) {
        let mut inner = self.inner();
        let tags: HashSet<String> = running
            .values()
            .chain(services.iter().map(|s| &s.running))
            .filter_map(Running::askable)
            .collect();
        inner.running = running;
        inner.tasks = tasks;
        inner.answers.retain(|tag, _| tags.contains(tag));
    }

    /// The tags whose last question failed and may be asked again at `now`.
    pub fn due_for_retry(&self, now: i64) -> HashSet<String> {
        self.inner()
            .answers
            .iter()
            .filter(|(_, a)| a.next_try.is_some_and(|t| t <= now))
            .map(|(tag, _)| tag.clone())
            .collect()
    }

    /// The earliest time a failed tag is to be asked again (unix ms).
    pub fn next_retry(&self) -> Option<i64> {
        self.inner()
            .answers
            .values()
            .filter_map(|a| a.next_try)
            .min()
    }

    /// When `digest` was first seen as `tag`'s, as this engine's checks know it.
    pub fn seen(&self, tag: &str, digest: &str) -> Option<Seen> {
        let inner = self.inner();
        let answer = inner.answers.get(tag)?;
        (answer.digest.as_deref() == Some(digest))
            .then_some(answer.seen)
            .flatten()
    }

    /// The registry's answer for `tag` at `now`, with when its digest was first seen
    /// (`None`: the database could not say; then this engine's memory, or now).
    pub fn answer(&self, tag: &str, answer: Result<String, Asked>, seen: Option<Seen>, now: i64) {
        let known = match &answer {
            Ok(digest) => self.seen(tag, digest),
            Err(_) => None,
        };
        let mut inner = self.inner();
        match answer {
            Ok(digest) => {
                let seen = seen.or(known).unwrap_or(Seen {
                    first: now,
                    created: None,
                });
                inner.answers.insert(
                    tag.to_string(),
                    Answer {
                        digest: Some(digest),
                        seen: Some(seen),
                        checked: now,
                        ..Answer::default()
                    },
                );
            }
            Err(asked) => {
                let previous = inner.answers.remove(tag).unwrap_or_default();
                let failures = previous.failures + 1;
                let backoff = asked.after.unwrap_or_else(|| {
                    RETRY_FIRST
                        .saturating_mul(1 << (failures - 1).min(16))
                        .min(RETRY_MOST)
                });
                inner.answers.insert(
                    tag.to_string(),
                    Answer {
                        digest: previous.digest,
                        seen: previous.seen,
                        checked: now,
                        error: Some(asked.error),
                        next_try: Some(now + backoff.as_millis() as i64),
                        failures,
                    },
                );
            }
        }
    }

    /// A check ended at `now`.
    pub fn checked(&self, now: i64) {
        self.inner().last_check = Some(now);
    }

    pub fn last_check(&self) -> Option<i64> {
        self.inner().last_check
    }

    /// Whether some answer holds a digest: only then can a container have an update.
    pub fn has_answers(&self) -> bool {
        self.inner().answers.values().any(|a| a.digest.is_some())
    }

    /// Each running container of `list` (the engine's list now), with what the checks
    /// found for it and its policy under `rules` (its label as the last check read it), by
    /// name. A container whose policy is `off` is excluded, whatever was found.
    pub fn view(&self, list: &[ContainerSummary], rules: &Rules) -> Vec<ImageUpdate> {
        let inner = self.inner();
        let mut updates: Vec<ImageUpdate> = list
            .iter()
            .filter(|c| c.state == "running" && !inner.tasks.contains(&c.id))
            .map(|c| {
                let mut update = ImageUpdate {
                    container_id: c.id.clone(),
                    container: c.name.clone(),
                    image: c.image.clone(),
                    ..ImageUpdate::default()
                };
                let running = inner.running.get(&c.id);
                if let Some(running) = running {
                    inner.fill(&mut update, running);
                }
                let policy = match running {
                    Some(running) => running.policy(rules),
                    None => rules.resolve(&c.name, c.project.as_deref(), None),
                };
                with_policy(update, policy)
            })
            .collect();
        updates.sort_by(|a, b| a.container.cmp(&b.container));
        updates
    }

    /// Each service of `services` (as read now), with what the checks found for the tag
    /// its spec names, and its policy under `rules`, by name.
    pub fn view_services(&self, services: &[SwarmImage], rules: &Rules) -> Vec<ImageUpdate> {
        let inner = self.inner();
        let mut updates: Vec<ImageUpdate> = services
            .iter()
            .map(|s| {
                let mut update = ImageUpdate {
                    container_id: s.id.clone(),
                    container: s.running.container.clone(),
                    project: s.running.project.clone(),
                    ..ImageUpdate::default()
                };
                inner.fill(&mut update, &s.running);
                with_policy(update, s.running.policy(rules))
            })
            .collect();
        updates.sort_by(|a, b| a.container.cmp(&b.container));
        updates
    }
}

/// `update` under `policy`: excluded, whatever was found, when it is `off`.
fn with_policy(mut update: ImageUpdate, policy: (UpdatePolicy, PolicySource)) -> ImageUpdate {
    (update.policy, update.policy_from) = policy;
    if update.policy == UpdatePolicy::Off {
        update.state = UpdateState::Excluded;
    }
    update
}

impl Inner {
    fn fill(&self, update: &mut ImageUpdate, running: &Running) {
        update.image = running.image.clone();
        update.current = running.digests.first().cloned();
        let Some(name) = &running.name else {
            update.state = UpdateState::NotFromRegistry;
            return;
        };
        if name.digest.is_some() {
            update.state = UpdateState::Pinned;
            update.current = name.digest.clone();
            return;
        }
        if running.digests.is_empty() {
            update.state = UpdateState::NotFromRegistry;
            return;
        }
        let Some(answer) = self.answers.get(&name.tagged()) else {
            return;
        };
        update.checked = Some(answer.checked);
        update.available = answer.digest.clone();
        if let Some(error) = &answer.error {
            update.state = UpdateState::Failed;
            update.error = Some(error.clone());
            update.next_try = answer.next_try;
            return;
        }
        let Some(digest) = &answer.digest else {
            return;
        };
        if running.digests.contains(digest) {
            update.state = UpdateState::Current;
            update.current = Some(digest.clone());
            return;
        }
        update.state = UpdateState::Available;
        if let Some(seen) = answer.seen {
            update.first_seen = Some(seen.first);
            update.created = seen.created;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(image: &str, digests: &[&str]) -> Running {
        let name = ImageName::parse(image);
        Running {
            image: name.as_ref().map_or(image.to_string(), ImageName::tagged),
            name,
            digests: digests.iter().map(|d| d.to_string()).collect(),
            container: image.to_string(),
            project: None,
            label: None,
        }
    }

    fn listed(id: &str) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: id.into(),
            state: "running".into(),
            ..Default::default()
        }
    }

    #[test]
    fn states_follow_the_answers_and_failures_back_off() {
        let state = EngineState::default();
        let tag = "r.example/app:1";
        state.replace_running(
            HashMap::from([
                ("a".to_string(), running("r.example/app:1", &["sha256:old"])),
                ("b".to_string(), running("local-build:1", &[])),
                (
                    "c".to_string(),
                    running(
                        "r.example/app:1@sha256:0123456789abcdef0123456789abcdef",
                        &[],
                    ),
                ),
            ]),
            HashSet::new(),
            &[],
        );
        let list = [listed("a"), listed("b"), listed("c"), listed("new")];
        let states = |state: &EngineState| -> Vec<UpdateState> {
            state
                .view(&list, &Rules::none())
                .into_iter()
                .map(|u| u.state)
                .collect()
        };
        assert_eq!(
            states(&state),
            [
                UpdateState::Unchecked,
                UpdateState::NotFromRegistry,
                UpdateState::Pinned,
                UpdateState::Unchecked
            ]
        );
        state.answer(tag, Ok("sha256:old".into()), None, 1_000);
        assert_eq!(states(&state)[0], UpdateState::Current);
        let first = Seen {
            first: 2_000,
            created: Some(5),
        };
        state.answer(tag, Ok("sha256:new".into()), Some(first), 2_000);
        let a = &state.view(&list, &Rules::none())[0];
        assert_eq!(
            (a.state, a.first_seen, a.created),
            (UpdateState::Available, Some(2_000), Some(5))
        );
        state.answer(tag, Ok("sha256:new".into()), None, 3_000);
        assert_eq!(
            state.view(&list, &Rules::none())[0].first_seen,
            Some(2_000),
            "first seen stays"
        );
        state.answer(tag, Err(Asked::failed("down".into())), None, 10_000);
        state.answer(tag, Err(Asked::failed("down".into())), None, 20_000);
        let a = &state.view(&list, &Rules::none())[0];
        assert_eq!(a.state, UpdateState::Failed);
        assert_eq!(
            a.next_try,
            Some(20_000 + 120_000),
            "the second failure waits twice as long"
        );
        assert_eq!(state.due_for_retry(140_000).len(), 1);
        assert!(state.due_for_retry(139_999).is_empty());
        state.answer(
            tag,
            Err(Asked::later("429".into(), Duration::from_secs(7))),
            None,
            30_000,
        );
        assert_eq!(state.next_retry(), Some(37_000));
    }

    #[test]
    fn what_gone_containers_needed_is_forgotten() {
        let state = EngineState::default();
        state.replace_running(
            HashMap::from([("a".to_string(), running("r.example/app:1", &["sha256:old"]))]),
            HashSet::new(),
            &[],
        );
        state.answer("r.example/app:1", Ok("sha256:new".into()), None, 1);
        assert!(state.seen("r.example/app:1", "sha256:new").is_some());
        state.replace_running(HashMap::new(), HashSet::new(), &[]);
        assert!(state.seen("r.example/app:1", "sha256:new").is_none());
        assert_eq!(state.inner().answers.len(), 0);
    }

    #[test]
    fn a_service_is_found_by_the_digest_its_spec_pins_and_its_tasks_are_left_out() {
        let state = EngineState::default();
        let tag = "r.example/app:1";
        let service = SwarmImage {
            id: "svc1".into(),
            running: running(tag, &["sha256:old"]),
        };
        let task = running("r.example/app:1@sha256:old", &["sha256:old"]);
        state.replace_running(
            HashMap::from([("t1".to_string(), task)]),
            HashSet::from(["t1".to_string()]),
            std::slice::from_ref(&service),
        );
        assert!(
            state.view(&[listed("t1")], &Rules::none()).is_empty(),
            "a task's container is its service's"
        );
        state.answer(tag, Ok("sha256:new".into()), None, 1_000);
        let services = state.view_services(std::slice::from_ref(&service), &Rules::none());
        assert_eq!(
            (services[0].container_id.as_str(), services[0].state),
            ("svc1", UpdateState::Available)
        );
        // Gone from the swarm at the next check: its tag's answer goes too.
        state.replace_running(HashMap::new(), HashSet::new(), &[]);
        assert!(state.seen(tag, "sha256:new").is_none());
    }
}
