//! What a deploy would do, in the compose CLI's own words: `config --hash '*'` prints each
//! service's configuration hash as the CLI computes it, and every container it made carries
//! the hash it was made from (`com.docker.compose.config-hash`). A service without a
//! container is created, one whose hashes differ is recreated, one whose container is of a
//! service the file no longer has is removed (`--remove-orphans`). And after a deploy, the
//! image each service runs, with its digest.

use super::compose::{Cli, Target};
use crate::{
    docker::{endpoint::Endpoint, engine::Engine},
    error::Error,
};
use app::model::{
    COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, DeployedImage, PlanChange, PlannedService,
    StackPlan,
};
use bollard::query_parameters::ListContainersOptions;
use std::{collections::BTreeMap, collections::HashMap, time::Duration};

const CONFIG_HASH_LABEL: &str = "com.docker.compose.config-hash";

/// How long `config` may take.
const CONFIG_TIMEOUT: Duration = Duration::from_secs(60);

/// A project's container, as its labels describe it.
pub(super) struct Member {
    service: String,
    hash: Option<String>,
    image: String,
    image_id: String,
}

/// The plan of a deploy of `target` on `engine`.
pub async fn plan(cli: &Cli, target: &Target, engine: &Engine) -> Result<StackPlan, Error> {
    let hashes = config_hashes(cli, target, engine.endpoint()).await?;
    let members = members(engine, &target.stack).await?;
    let mut running: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for m in &members {
        running.entry(&m.service).or_insert(m.hash.as_deref());
    }
    let mut services: Vec<PlannedService> = hashes
        .iter()
        .map(|(service, hash)| {
            let on_engine = running.get(service.as_str()).copied();
            let change = match on_engine {
                None => PlanChange::Create,
                Some(Some(h)) if h == hash => PlanChange::Unchanged,
                Some(_) => PlanChange::Recreate,
            };
            PlannedService {
                service: service.clone(),
                change,
                hash: Some(hash.clone()),
                running: on_engine.flatten().map(str::to_string),
            }
        })
        .collect();
    for (service, hash) in running {
        if !hashes.iter().any(|(s, _)| s == service) {
            services.push(PlannedService {
                service: service.to_string(),
                change: PlanChange::Remove,
                hash: None,
                running: hash.map(str::to_string),
            });
        }
    }
    Ok(StackPlan {
        cli: cli.version.clone(),
        services,
    })
}

/// Each service's image and digest, as the project's containers run them.
pub async fn images(engine: &Engine, stack: &str) -> Result<Vec<DeployedImage>, Error> {
    let docker = engine.client()?;
    let mut images = Vec::new();
    let mut digests: HashMap<String, Option<String>> = HashMap::new();
    for m in members(engine, stack).await? {
        if !digests.contains_key(&m.image_id) {
            let path = crate::docker::path::path(crate::docker::path::Kind::Image, &m.image_id)?;
            let digest = docker
                .inspect_image(&path)
                .await
                .ok()
                .and_then(|i| i.repo_digests.unwrap_or_default().into_iter().next());
            digests.insert(m.image_id.clone(), digest);
        }
        let image = DeployedImage {
            service: m.service,
            image: m.image,
            digest: digests[&m.image_id].clone(),
            id: m.image_id,
        };
        if !images.contains(&image) {
            images.push(image);
        }
    }
    images.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(images)
}

/// `config --hash '*'`: `SERVICE HASH` a line; the CLI's message (422) when the file is not
/// one it can use.
async fn config_hashes(
    cli: &Cli,
    target: &Target,
    endpoint: &Endpoint,
) -> Result<Vec<(String, String)>, Error> {
    let output = run_config(cli, target, endpoint, &["config", "--hash", "*"]).await?;
    Ok(output
        .lines()
        .filter_map(|line| {
            let (service, hash) = line.trim().split_once(' ')?;
            Some((service.to_string(), hash.trim().to_string()))
        })
        .collect())
}

/// Whether the compose CLI accepts the files (`config -q`): its message, with the line it
/// names, when not.
pub async fn check(cli: &Cli, target: &Target, endpoint: &Endpoint) -> Result<(), Error> {
    run_config(cli, target, endpoint, &["config", "-q"])
        .await
        .map(drop)
}

async fn run_config(
    cli: &Cli,
    target: &Target,
    endpoint: &Endpoint,
    args: &[&str],
) -> Result<String, Error> {
    let command = cli.command(target, endpoint, args)?.output();
    let output = tokio::time::timeout(CONFIG_TIMEOUT, command)
        .await
        .map_err(|_| Error::new(500, "the compose CLI did not answer within 60 s"))?
        .map_err(|e| Error::new(500, format!("cannot run the compose CLI: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.trim();
        let said = match said.is_empty() {
            true => "refused by the compose CLI",
            false => said,
        };
        return Err(Error::new(422, said.to_string()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The project's containers, stopped ones too.
pub(super) async fn members(engine: &Engine, stack: &str) -> Result<Vec<Member>, Error> {
    let docker = engine.client()?;
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{COMPOSE_PROJECT_LABEL}={stack}")],
        )])),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| engine.error(e))?;
    Ok(containers
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.unwrap_or_default();
            Some(Member {
                service: labels.get(COMPOSE_SERVICE_LABEL)?.clone(),
                hash: labels.get(CONFIG_HASH_LABEL).cloned(),
                image: c.image.unwrap_or_default(),
                image_id: c.image_id.unwrap_or_default(),
            })
        })
        .collect())
}
