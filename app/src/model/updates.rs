//! Image updates: whether the registry holds a newer image for what each running container
//! runs (by its image's tag), when that was last asked, and what went wrong where it could
//! not be told. One answer per container; containers of one reference share one check.

use serde::{Deserialize, Serialize};

/// What Berth knows of a newer image for one container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Not asked yet (a container started since the last check).
    #[default]
    Unchecked,
    /// The registry's digest for the tag is the one the container runs.
    Current,
    /// The registry holds another image under the tag.
    Available,
    /// The image carries no digest from a registry (built or imported on this engine):
    /// there is nothing to compare with, and nothing is asked.
    NotFromRegistry,
    /// The container names its image by digest: that never changes.
    Pinned,
    /// The check failed (registry down, refused, tag gone): `error` says why, `next_try`
    /// when it is asked again.
    Failed,
    /// Its update policy is `off`: never asked, never updated.
    Excluded,
}

impl UpdateState {
    /// As the badge and the API's readers say it.
    pub fn label(self) -> &'static str {
        match self {
            UpdateState::Unchecked => "not checked",
            UpdateState::Current => "up to date",
            UpdateState::Available => "update available",
            UpdateState::NotFromRegistry => "not from a registry",
            UpdateState::Pinned => "pinned by digest",
            UpdateState::Failed => "check failed",
            UpdateState::Excluded => "excluded",
        }
    }
}

/// What Berth does when a container's image has an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePolicy {
    /// Updates it by itself, once the new image is old enough and within the window.
    Auto,
    /// Says so (the badge); someone updates it.
    #[default]
    Notify,
    /// Neither checks nor updates it.
    Off,
}

impl UpdatePolicy {
    pub const ALL: [UpdatePolicy; 3] =
        [UpdatePolicy::Auto, UpdatePolicy::Notify, UpdatePolicy::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            UpdatePolicy::Auto => "auto",
            UpdatePolicy::Notify => "notify",
            UpdatePolicy::Off => "off",
        }
    }

    /// `auto`, `notify` or `off` (the `berth.update` label's values), any case.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The label that sets a container's policy; it wins over every rule.
pub const POLICY_LABEL: &str = "berth.update";

/// Where a container's policy comes from, strongest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// Its `berth.update` label.
    Label,
    /// A rule for its name.
    Container,
    /// A rule for its compose project (a stack).
    Project,
    /// `--update-policy`.
    #[default]
    Default,
}

/// What a policy rule names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    /// A container, by name (its updates keep the name, so the rule stays).
    Container,
    /// Every container of a compose project (a stack), by the project's name.
    Project,
}

impl PolicyScope {
    pub const ALL: [PolicyScope; 2] = [PolicyScope::Container, PolicyScope::Project];

    /// `container` or `project`, as the API and the database name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyScope::Container => "container",
            PolicyScope::Project => "project",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A policy kept by Berth for a container or a project of one engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRule {
    pub scope: PolicyScope,
    pub name: String,
    /// `None` in a change: the rule goes.
    pub policy: Option<UpdatePolicy>,
}

/// One running container's image, against its registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUpdate {
    pub container_id: String,
    pub container: String,
    /// The reference the container was made from, as Docker fully names it
    /// (`docker.io/library/nginx:1.27`).
    pub image: String,
    pub state: UpdateState,
    /// The registry digest of the image the container runs (`sha256:…`), when it has one.
    pub current: Option<String>,
    /// The registry's digest for the tag now.
    pub available: Option<String>,
    /// When the available image was made (unix seconds), when the registry says.
    pub created: Option<i64>,
    /// When Berth first saw the available digest (unix ms): an image's age for Berth.
    pub first_seen: Option<i64>,
    /// When the reference was last asked (unix ms).
    pub checked: Option<i64>,
    /// Why the last check failed.
    pub error: Option<String>,
    /// When a failed check is tried again (unix ms).
    pub next_try: Option<i64>,
    /// What Berth does when there is an update, and what says so.
    #[serde(default)]
    pub policy: UpdatePolicy,
    #[serde(default)]
    pub policy_from: PolicySource,
    /// With `auto` and an update available: the earliest moment Berth updates it (the
    /// new image old enough, within the update window; unix ms).
    #[serde(default)]
    pub auto_at: Option<i64>,
    /// The compose project it belongs to, if any.
    #[serde(default)]
    pub project: Option<String>,
    /// Its project is a stack Berth keeps: it is updated through the stack (`pull` and
    /// `up -d` of its service), so Compose stays its owner. A member of a project Berth
    /// does not keep is not updated by Berth.
    #[serde(default)]
    pub in_stack: bool,
}

/// An engine's running containers and their images' updates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updates {
    pub containers: Vec<ImageUpdate>,
    /// The swarm's services, when the engine manages one (by the last check's reading of
    /// their specs): each as an [`ImageUpdate`] whose `container_id` and `container` are
    /// the service's id and name, `project` its stack (`com.docker.stack.namespace`), and
    /// `current` the digest its spec pins. Their tasks' containers are in neither list:
    /// the service is what is updated.
    #[serde(default)]
    pub services: Vec<ImageUpdate>,
    /// A check is running now.
    pub checking: bool,
    /// When the last check ended (unix ms).
    pub last_check: Option<i64>,
    /// When the schedule checks next (unix ms); `None` with `--update-check-hours 0`.
    pub next_check: Option<i64>,
    /// The server's clock when it answered (unix ms): ages are counted from it, so the
    /// page says the same on the server and in the browser.
    pub now: i64,
    /// How many requests went to registries (through the engine or directly) since Berth
    /// started: a figure for the benchmark and for whoever watches a rate limit.
    pub requests: u64,
    /// How old (hours since Berth first saw it) a new image must be before an automatic
    /// update takes it.
    #[serde(default)]
    pub min_age_hours: u64,
    /// When automatic updates may run (`--update-window`, the server's time zone);
    /// `None`: any time.
    #[serde(default)]
    pub window: Option<String>,
}

impl Updates {
    /// The containers and services with an update available.
    pub fn available(&self) -> impl Iterator<Item = &ImageUpdate> {
        self.containers
            .iter()
            .chain(&self.services)
            .filter(|u| u.state == UpdateState::Available)
    }
}

/// Which updates "update all" takes: every one available, or one project's (a compose
/// project, or a swarm stack's services).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAllOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// What "update all" queued: the containers and services it updates, one after another,
/// in this order (each a run of its own, in `/api/updates/runs` once it starts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateBatch {
    pub queued: Vec<String>,
}

/// Which containers a check asks about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// One container (id, id prefix or name): only its image's tag is asked (at once, even
    /// if its last failure's retry time has not come; a registry's 429 is still waited
    /// for). Without it, every running container's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// One swarm service (id, id prefix or name), likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// An update of one container, going on or ended (`/ws/updates/runs/{n}` streams its
/// steps).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRun {
    /// Numbered from 1 on each engine (kept in the database).
    pub n: u64,
    /// The container's name.
    pub container: String,
    /// The reference its tag is pulled by.
    pub image: String,
    /// Who asked.
    pub by: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    /// How it ended, in a line (`updated`, `nothing newer`, `rolled back: …`,
    /// `failed: …`); `None` while it goes on.
    pub outcome: Option<String>,
    /// A new container runs the new image under the old one's name.
    pub updated: bool,
    /// Why the new container was removed and the old one started again.
    pub rolled_back: Option<String>,
    /// The image id it ran, and the one its tag named after the pull.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The new container's id, once it runs under the name.
    pub new_id: Option<String>,
    /// Its last lines of output.
    pub tail: Vec<String>,
    /// A compose member is updated through its stack: the stack, and the number of the
    /// stack's run that pulled and recreated it.
    #[serde(default)]
    pub stack: Option<String>,
    #[serde(default)]
    pub stack_run: Option<u64>,
    /// A swarm service's update (its spec's image, rolled out by the swarm): the service's
    /// id; `container` is then its name.
    #[serde(default)]
    pub service: Option<String>,
}

crate::endpoints! {
    UPDATE_ROUTES;
    /// The running containers' image updates, as the last check found them (never waits
    /// for a registry).
    GET "/api{on}/updates" VIEWER => ListUpdates {} -> Updates;
    /// Checks now (every running container's image, or one container's), waits for the
    /// check up to a minute, and answers what is known then (`checking` if it goes on).
    POST "/api{on}/updates/check" OPERATOR => CheckUpdates {} query(CheckOptions) -> Updates;
    /// Starts an update of the container: its tag pulled and, when it names another image,
    /// the container made again on it with its whole configuration, the old one kept until
    /// the new one is up (healthy, with a health check) and started again when it is not.
    /// A member of a stack Berth keeps is updated through its stack instead (a run of the
    /// stack: `pull` and `up -d` of its service). 409 for Berth's own container, a member of
    /// a compose project Berth does not keep, a swarm task, an untagged image, or an update
    /// of it (or a run of its stack) going on.
    POST "/api{on}/containers/{id}/update" OPERATOR => UpdateContainer { id: String }
        -> UpdateRun = 202;
    /// Starts an update of a swarm service's image: its tag resolved to the registry's
    /// digest now and written into its spec (with the stored credentials, for the nodes'
    /// pulls), the swarm's rolling update followed to its end, and rolled back to the
    /// previous spec when it pauses on a failure or does not end in time. 409 on a worker,
    /// for a service pinned by digest only, or with an update of it going on.
    POST "/api{on}/services/{id}/image-update" OPERATOR => UpdateServiceImage { id: String }
        -> UpdateRun = 202;
    /// Starts updates of every container and swarm service with an update available (of
    /// one project or stack, with `project`), one after another, by whoever asked: what a
    /// single update does, each. Members of compose projects Berth does not keep are left
    /// out. 409 while such a batch goes on on the engine.
    POST "/api{on}/updates/apply" OPERATOR => UpdateAll {} query(UpdateAllOptions)
        -> UpdateBatch = 202;
    /// The updates, newest first (the last 100 per engine).
    GET "/api{on}/updates/runs" VIEWER => ListUpdateRuns {} -> Vec<UpdateRun>;
    GET "/api{on}/updates/runs/{n}" VIEWER => GetUpdateRun { n: u64 } -> UpdateRun;
    /// The update policies kept for the engine's containers and projects, by scope and name.
    GET "/api{on}/updates/policies" VIEWER => ListUpdatePolicies {} -> Vec<PolicyRule>;
    /// Sets (or, with `policy: null`, removes) the policy of a container or a project.
    PUT "/api{on}/updates/policies" OPERATOR => SetUpdatePolicy {} body(PolicyRule) -> () = 204;
}
