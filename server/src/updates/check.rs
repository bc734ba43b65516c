//! One check of one engine: its running containers, the registry digests of the images
//! they run, and for each distinct tag (however many containers run it) one question to
//! the registry: the engine first (`GET /distribution/{name}/json`: the engine reaches the
//! registry as it would for a pull), the registry's API when the engine cannot say. A 429
//! holds the registry for its `Retry-After` and the question is asked again; a failure is
//! kept with its words and a time to try again.

use super::{
    auto::Clock,
    name::{ImageName, digests_of},
    pace::{MAX_WAIT, Pacer},
    policy::Rules,
    registry::{Failure, Session},
    seen::{Seen, SeenDigests},
    state::{Asked, EngineState, Running, SwarmImage},
};
use crate::{
    accounts::now_ms,
    docker::{engine::Engine, path},
    error::Error,
    registry_logins::Login,
};
use app::{
    model::{COMPOSE_PROJECT_LABEL, POLICY_LABEL, STACK_NAMESPACE_LABEL, UpdatePolicy},
    refs::is_digest,
};
use bollard::{Docker, query_parameters as q};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Tags asked at once (each registry is paced apart).
const AT_ONCE: usize = 4;
/// Tries of one tag within a check (a 429 waited out counts as one).
const TRIES: usize = 3;

/// Which tags a check asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every running container's.
    All,
    /// Those whose last answer failed and whose time to retry has come.
    Failed,
    /// One container's (by its full id).
    Container(String),
    /// One swarm service's (by its full id).
    Service(String),
}

/// A tag to ask about: its name, and the registry digests of each container running it.
struct Tag {
    name: ImageName,
    containers: Vec<Vec<String>>,
}

/// Checks `engine` as `scope` says, writing each answer into `state` as it comes, and
/// each digest's first sight into `seen` (at `clock`'s time: a new image's age is counted
/// on the clock automatic updates go by). Containers whose policy under `rules` is `off`
/// are not asked about.
pub async fn run(
    engine: &Engine,
    pacer: &Pacer,
    state: &EngineState,
    (seen, clock): (&SeenDigests, &Clock),
    (rules, logins): (&Rules, &HashMap<String, Login>),
    scope: Scope,
) -> Result<(), Error> {
    let docker = engine.client()?;
    let (running, tasks) = running(engine, &docker).await?;
    let services = services(&docker).await;
    let now = now_ms();
    let wanted = |r: &&Running| r.policy(rules).0 != UpdatePolicy::Off;
    let every = || running.values().chain(services.iter().map(|s| &s.running));
    let asked: HashSet<String> = match &scope {
        Scope::All => every()
            .filter(wanted)
            .filter_map(Running::askable)
            .collect(),
        Scope::Failed => state.due_for_retry(now),
        Scope::Container(id) => running
            .get(id)
            .filter(wanted)
            .and_then(Running::askable)
            .into_iter()
            .collect(),
        Scope::Service(id) => services
            .iter()
            .filter(|s| s.id == *id)
            .map(|s| &s.running)
            .filter(wanted)
            .filter_map(Running::askable)
            .collect(),
    };
    let mut tags: BTreeMap<String, Tag> = BTreeMap::new();
    for r in every().filter(wanted) {
        if let (Some(name), Some(tag)) = (&r.name, r.askable())
            && asked.contains(&tag)
        {
            let entry = tags.entry(tag).or_insert_with(|| Tag {
                name: name.clone(),
                containers: Vec::new(),
            });
            entry.containers.push(r.digests.clone());
        }
    }
    state.replace_running(running, tasks, &services);
    // A loopback registry is on the engine's machine: Berth asks it itself only when that
    // is Berth's machine too.
    let local = engine.endpoint().on_this_machine();
    futures::stream::iter(tags)
        .for_each_concurrent(AT_ONCE, |(tagged, tag)| {
            let docker = docker.clone();
            async move {
                let login = logins.get(&tag.name.registry);
                let mut session = Session::new(&tag.name, pacer, login);
                let direct = local || !tag.name.is_loopback();
                let answer = ask(engine, &docker, pacer, &mut session, direct).await;
                let first = match &answer {
                    Ok(digest) => {
                        let sight = Sight {
                            tagged: &tagged,
                            digest,
                            now: clock.now(),
                            wanted: direct && tag.containers.iter().any(|c| !c.contains(digest)),
                        };
                        sight.record(state, seen, &mut session).await
                    }
                    Err(_) => None,
                };
                state.answer(&tagged, answer, first, now_ms());
            }
        })
        .await;
    if scope == Scope::All {
        state.checked(now_ms());
        if let Err(e) = seen.forget_old(now_ms()).await {
            tracing::warn!("image updates: cannot forget old tags in the database: {e}");
        }
    }
    Ok(())
}

/// A digest the registry answered for a tag.
struct Sight<'a> {
    tagged: &'a str,
    digest: &'a str,
    /// Some container runs another digest of the tag: this one is its update, whose
    /// creation date is worth a question.
    wanted: bool,
    /// When it was seen (unix ms).
    now: i64,
}

impl Sight<'_> {
    /// Records the sight in the database and answers when the digest was first seen
    /// (`None` when the database failed: the engine's memory decides). Seen for the first
    /// time and wanted, its creation date is asked on the same session (its token).
    async fn record(
        &self,
        state: &EngineState,
        seen: &SeenDigests,
        session: &mut Session<'_>,
    ) -> Option<Seen> {
        let known = match seen.recall(self.tagged, self.digest).await {
            Ok(known) => known,
            Err(e) => {
                tracing::warn!("image updates: the database: {e}");
                state.seen(self.tagged, self.digest)
            }
        };
        let created = match known {
            Some(known) => known.created,
            None if self.wanted => session.created(self.digest).await.ok().flatten(),
            None => None,
        };
        let recorded = seen
            .record(self.tagged, self.digest, created, self.now)
            .await;
        recorded
            .map_err(|e| tracing::warn!("image updates: the database: {e}"))
            .ok()
    }
}

/// The registry's digest for the session's tag, or why there is none; `direct`: whether
/// Berth may ask the registry itself when the engine cannot say.
async fn ask(
    engine: &Engine,
    docker: &Docker,
    pacer: &Pacer,
    session: &mut Session<'_>,
    direct: bool,
) -> Result<String, Asked> {
    let name = session.name();
    let mut last = Asked::failed(String::new());
    for _ in 0..TRIES {
        if let Err(left) = pacer.turn(name.api_host()).await {
            return Err(Asked::later(Failure::Throttled(left).to_string(), left));
        }
        let engine_said = match from_engine(engine, docker, name, session.login()).await {
            Ok(digest) => return Ok(digest),
            Err(e) if !direct => return Err(Asked::failed(format!("the engine: {e}"))),
            Err(e) => e,
        };
        match session.digest().await {
            Ok(digest) => return Ok(digest),
            Err(Failure::Throttled(after)) => {
                pacer.hold(name.api_host(), after);
                last = Asked::later(Failure::Throttled(after).to_string(), after);
                if after > MAX_WAIT {
                    return Err(last);
                }
            }
            Err(Failure::Missing) => {
                return Err(Asked::failed(format!(
                    "the registry has no {}:{}",
                    name.repository, name.tag
                )));
            }
            Err(Failure::Other(why)) => {
                return Err(Asked::failed(format!("{why} (the engine: {engine_said})")));
            }
        }
    }
    Err(last)
}

/// What the engine says the tag points at (asking the registry with `login`, if any).
pub(super) async fn from_engine(
    engine: &Engine,
    docker: &Docker,
    name: &ImageName,
    login: Option<&Login>,
) -> Result<String, String> {
    let reference = path::path(path::Kind::Image, &name.tagged()).map_err(|e| e.to_string())?;
    docker
        .inspect_registry_image(&reference, login.map(Login::credentials))
        .await
        .map_err(|e| engine.error(e).to_string())?
        .descriptor
        .digest
        .filter(|d| is_digest(d))
        .ok_or_else(|| "the engine gave no digest".to_string())
}

/// The swarm's services when the engine manages one (none otherwise, and when it cannot
/// say: a check of its containers goes on): the tag each spec names and the digest it pins.
pub async fn services(docker: &Docker) -> Vec<SwarmImage> {
    let Ok(list) = docker.list_services(None::<q::ListServicesOptions>).await else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|service| {
            let id = service.id?;
            let spec = service.spec?;
            let image = spec.task_template?.container_spec?.image?;
            let labels = spec.labels.unwrap_or_default();
            let mut name = ImageName::parse(&image);
            // The spec's digest is what its tasks run; the tag is what is asked.
            let digests = name.as_mut().and_then(|n| n.digest.take());
            let running = Running {
                image: name.as_ref().map_or(image, ImageName::tagged),
                name,
                digests: digests.into_iter().collect(),
                container: spec.name.unwrap_or_else(|| id.clone()),
                project: labels.get(STACK_NAMESPACE_LABEL).cloned(),
                label: labels.get(POLICY_LABEL).cloned(),
            };
            Some(SwarmImage { id, running })
        })
        .collect()
}

/// The label Docker puts on a swarm task's container: its service's id.
const TASK_SERVICE_LABEL: &str = "com.docker.swarm.service.id";

/// The engine's running containers, but swarm tasks: what each was made from and the
/// registry digests of the image it runs; and the swarm tasks' containers (their services
/// are what is updated).
async fn running(
    engine: &Engine,
    docker: &Docker,
) -> Result<(HashMap<String, Running>, HashSet<String>), Error> {
    let list = docker
        .list_containers(Some(q::ListContainersOptions::default()))
        .await
        .map_err(|e| engine.error(e))?;
    let mut repo_digests: HashMap<String, Vec<String>> = HashMap::new();
    let (mut running, mut tasks) = (HashMap::new(), HashSet::new());
    for c in list {
        let (Some(id), Some(image_id)) = (c.id.clone(), c.image_id.clone()) else {
            continue;
        };
        if c.labels
            .as_ref()
            .is_some_and(|l| l.contains_key(TASK_SERVICE_LABEL))
        {
            tasks.insert(id);
            continue;
        }
        // The list shows the image's id where the tag has moved on since: the container's
        // own configuration still names what it was made from.
        let mut reference = c.image.clone().unwrap_or_default();
        if ImageName::parse(&reference).is_none()
            && let Ok(inspect) = crate::docker::mapping::inspect(engine, &id).await
        {
            reference = inspect.config.and_then(|c| c.image).unwrap_or_default();
        }
        let name = ImageName::parse(&reference);
        if !repo_digests.contains_key(&image_id) {
            let digests = match path::path(path::Kind::Image, &image_id) {
                Ok(p) => docker
                    .inspect_image(&p)
                    .await
                    .ok()
                    .and_then(|i| i.repo_digests)
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            repo_digests.insert(image_id.clone(), digests);
        }
        let digests = name
            .as_ref()
            .map(|n| digests_of(n, &repo_digests[&image_id]))
            .unwrap_or_default();
        let labels = c.labels.unwrap_or_default();
        let container = c
            .names
            .and_then(|n| n.into_iter().next())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default();
        running.insert(
            id,
            Running {
                image: name.as_ref().map_or(reference, ImageName::tagged),
                name,
                digests,
                container,
                project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
                label: labels.get(POLICY_LABEL).cloned(),
            },
        );
    }
    Ok((running, tasks))
}
