//! Compose stacks over the JSON API (issue 27): the folders in `--stacks-dir` ([`Stacks`])
//! with their state on the engine each belongs to, their files and versions. Viewers read;
//! operators save, rename, remove and restore, each audited as `stack.ACTION` on
//! `ENGINE/NAME`.

use super::mount::{Api, Call, Reading};
use crate::{
    engines::{EngineContext, Engines},
    error::Error,
    http::api::actions::Actor,
    stacks::{self, OnDisk, belongs},
};
use app::model::{
    CancelStackRun, ExternalFile, GetExternalStackFile, GetStack, GetStackPlan, GetStackVersion,
    ListStackRuns, ListStackVersions, ListStacks, Project, RemoveStack, RenameStack,
    RestoreStackVersion, RunStack, RunStarted, SaveStack, Stack, StackAction, StackFiles,
    StackPlan, StackRun, StackState, StackSummary, StackVersion, StackVersionFiles, SwarmService,
    group_projects, validate_stack_name,
};

/// The stack endpoints.
pub fn routes(api: Api) -> Api {
    api.read(list)
        .read(get)
        .read(versions)
        .read(version)
        .read(runs)
        .read(plan)
        .call(external_file)
        .call(save)
        .call(remove)
        .call(rename)
        .call(restore)
        .call(run)
        .call(cancel)
}

/// The engine's stacks, then the swarm stacks and compose projects it runs that have no
/// folder here. On a swarm manager, a stack's state is its services'.
async fn list(r: Reading, ListStacks {}: ListStacks) -> Result<Vec<StackSummary>, Error> {
    let projects = projects(&r.on).await?;
    let swarm = swarm_stacks(&r.on, None).await?;
    let mut stacks: Vec<StackSummary> = r
        .stacks
        .list()
        .await?
        .iter()
        .filter(|disk| engine_of(disk, &r.engines) == r.on.name.as_str())
        .map(|disk| {
            let project = find(&projects, &disk.name);
            on_swarm(
                summary(Some(disk), &disk.name, &r.on, project),
                project,
                &swarm,
            )
        })
        .collect();
    let mut names: Vec<&str> = swarm
        .iter()
        .flatten()
        .filter_map(|s| s.stack.as_deref())
        // A label is anyone's text: only a stack's name makes a row (and a link).
        .filter(|name| validate_stack_name(name).is_ok())
        .collect();
    names.sort_unstable();
    names.dedup();
    let external: Vec<StackSummary> = names
        .into_iter()
        .filter(|name| !stacks.iter().any(|s| s.name == *name))
        .map(|name| on_swarm(summary(None, name, &r.on, None), None, &swarm))
        .collect();
    stacks.extend(external);
    let external: Vec<StackSummary> = projects
        .iter()
        .filter(|p| !stacks.iter().any(|s| s.name == p.name))
        .map(|p| summary(None, &p.name, &r.on, Some(p)))
        .collect();
    stacks.extend(external);
    Ok(stacks)
}

/// The services of the engine's swarm stacks (of `stack` alone when given); `None` when
/// it manages no swarm.
async fn swarm_stacks(
    on: &EngineContext,
    stack: Option<&str>,
) -> Result<Option<Vec<SwarmService>>, Error> {
    let docker = on.engine.client()?;
    crate::docker::swarm::stack_services(&docker, stack)
        .await
        .map_err(|e| on.engine.error(e))
}

/// A summary counted against the swarm's services when the engine manages one and no
/// compose project of the name exists (one deployed with Compose stays Compose's, as its
/// runs do).
fn on_swarm(
    summary: StackSummary,
    project: Option<&Project>,
    swarm: &Option<Vec<SwarmService>>,
) -> StackSummary {
    match (project, swarm) {
        (None, Some(services)) => summary.counted_on_swarm(services),
        _ => summary,
    }
}

/// A stack's files, version and containers; an external project's containers alone.
async fn get(r: Reading, GetStack { name }: GetStack) -> Result<Stack, Error> {
    validate_stack_name(&name)?;
    let projects = projects(&r.on).await?;
    let project = find(&projects, &name).cloned();
    let swarm = swarm_stacks(&r.on, Some(&name)).await?;
    match r.stacks.read(&name).await {
        Ok((disk, files, version)) => {
            belongs(&name, disk.engine.as_deref(), &r.engines, &r.on)?;
            Ok(Stack {
                summary: on_swarm(
                    summary(Some(&disk), &name, &r.on, project.as_ref()),
                    project.as_ref(),
                    &swarm,
                ),
                files,
                version,
                project,
                run: r.stacks.current_run(&name),
            })
        }
        Err(e) if e.status() == 404 && project.is_some() => Ok(Stack {
            summary: summary(None, &name, &r.on, project.as_ref()),
            files: StackFiles::default(),
            version: 0,
            project,
            run: None,
        }),
        Err(e) if e.status() == 404 && swarm.as_ref().is_some_and(|s| !s.is_empty()) => Ok(Stack {
            summary: on_swarm(summary(None, &name, &r.on, None), None, &swarm),
            files: StackFiles::default(),
            version: 0,
            project: None,
            run: None,
        }),
        Err(e) => Err(e),
    }
}

async fn versions(
    r: Reading,
    ListStackVersions { name }: ListStackVersions,
) -> Result<Vec<StackVersion>, Error> {
    mine(&r, &name).await?;
    r.stacks.versions(&name).await
}

async fn version(
    r: Reading,
    GetStackVersion { name, n }: GetStackVersion,
) -> Result<StackVersionFiles, Error> {
    mine(&r, &name).await?;
    r.stacks.version(&name, n).await
}

/// Saves the files (a new stack on this engine when the name is free): 413, 422 with the
/// line, or 409 when the stack is another engine's.
async fn save(actor: Actor, call: Call<SaveStack>) -> Result<Stack, Error> {
    let name = call.params.name;
    let create = call.query.create == Some(true);
    let result = saved(
        &actor,
        &call.state,
        &call.on,
        &name,
        call.body,
        "saved",
        create,
    )
    .await;
    audit(&actor, &call.on, "save", &name, &result).await;
    result
}

/// Makes version `n` the current files.
async fn restore(actor: Actor, call: Call<RestoreStackVersion>) -> Result<Stack, Error> {
    let RestoreStackVersion { name, n } = call.params;
    let stacks = &call.state.stacks;
    let result = async {
        mine(&reading(&call.state, &call.on), &name).await?;
        let files = stacks.version(&name, n).await?.files;
        saved(
            &actor,
            &call.state,
            &call.on,
            &name,
            files,
            &format!("restored {n}"),
            false,
        )
        .await
    }
    .await;
    audit(&actor, &call.on, "restore", &name, &result).await;
    result
}

/// Removes the folder; 409 while the engine has containers of the project.
async fn remove(actor: Actor, call: Call<RemoveStack>) -> Result<(), Error> {
    let name = call.params.name;
    let result = async {
        idle(&reading(&call.state, &call.on), &name, "remove").await?;
        call.state.stacks.remove(&name).await
    }
    .await;
    audit(&actor, &call.on, "remove", &name, &result).await;
    result
}

/// Renames the folder; 409 while the engine has containers of the project (they would keep
/// the old name) or when the new name is taken.
async fn rename(actor: Actor, call: Call<RenameStack>) -> Result<StackSummary, Error> {
    let name = call.params.name;
    let to = call.body.to;
    let r = reading(&call.state, &call.on);
    let result = async {
        validate_stack_name(&to)?;
        idle(&r, &name, "rename").await?;
        // The engine's containers of a project by the new name would become the stack's.
        let on_swarm = swarm_stacks(&call.on, Some(&to)).await?;
        if find(&projects(&call.on).await?, &to).is_some()
            || on_swarm.is_some_and(|s| !s.is_empty())
        {
            return Err(Error::new(
                409,
                format!(
                    "the engine {} runs a compose project or swarm stack named {to}",
                    call.on.name
                ),
            ));
        }
        let disk = call.state.stacks.rename(&name, &to).await?;
        let projects = projects(&call.on).await?;
        Ok(summary(Some(&disk), &to, &call.on, find(&projects, &to)))
    }
    .await;
    audit(
        &actor,
        &call.on,
        "rename",
        &format!("{name} -> {to}"),
        &result,
    )
    .await;
    result
}

/// An external project's compose file, read-only (operators and admins: the route's role).
/// A call, not a read, so no server-rendered page ever holds it.
async fn external_file(
    _operator: Actor,
    call: Call<GetExternalStackFile>,
) -> Result<ExternalFile, Error> {
    let name = call.params.name;
    validate_stack_name(&name)?;
    // No folder here, or another engine's: this engine's project of the name is external.
    match mine(&reading(&call.state, &call.on), &name).await {
        Ok(()) => {
            return Err(Error::new(
                409,
                format!("{name} is a stack of Berth's: its files are at its own address"),
            ));
        }
        Err(e) if e.status() == 404 => {}
        Err(e) => return Err(e),
    }
    let projects = projects(&call.on).await?;
    let container = find(&projects, &name)
        .and_then(|p| p.containers.first())
        .ok_or_else(|| {
            Error::not_found(format!("no compose project {name} on {}", call.on.name))
        })?;
    stacks::external_file(&call.on.engine, &container.id).await
}

/// A stack's last runs, newest first.
async fn runs(r: Reading, ListStackRuns { name }: ListStackRuns) -> Result<Vec<StackRun>, Error> {
    mine(&r, &name).await?;
    r.stacks.runs(&name).await
}

/// What a deploy would create, recreate, leave or remove, as the compose CLI sees it.
async fn plan(r: Reading, GetStackPlan { name }: GetStackPlan) -> Result<StackPlan, Error> {
    mine(&r, &name).await?;
    r.stacks.plan(&name, &r.on.engine).await
}

/// Starts a run: 202 with its number; 409 while another runs; 503 without a compose CLI.
async fn run(actor: Actor, call: Call<RunStack>) -> Result<RunStarted, Error> {
    let RunStack { name, action } = call.params;
    let parsed = StackAction::parse(&action);
    let result = async {
        let action = parsed.clone()?;
        mine(&reading(&call.state, &call.on), &name).await?;
        let on = &call.on;
        let run = call
            .state
            .stacks
            .run(
                &name,
                &on.name,
                &on.engine,
                action,
                &call.query,
                actor.name(),
            )
            .await?;
        Ok(RunStarted { run })
    }
    .await;
    let what = parsed.map_or("run", |a| a.as_str());
    audit(&actor, &call.on, what, &name, &result).await;
    result
}

/// Cancels a run going on: its process is stopped and waited for by the run itself.
async fn cancel(actor: Actor, call: Call<CancelStackRun>) -> Result<(), Error> {
    let CancelStackRun { name, n } = call.params;
    let result = async {
        mine(&reading(&call.state, &call.on), &name).await?;
        call.state.stacks.cancel(&name, n, actor.name())
    }
    .await;
    audit(&actor, &call.on, "cancel", &format!("{name}/{n}"), &result).await;
    result
}

/// Saves (`create`: only as a new stack, 409 for a name taken) and answers the stack as
/// it now is.
async fn saved(
    actor: &Actor,
    state: &crate::http::AppState,
    on: &std::sync::Arc<EngineContext>,
    name: &str,
    files: StackFiles,
    what: &str,
    create: bool,
) -> Result<Stack, Error> {
    validate_stack_name(name)?;
    let stacks = &state.stacks;
    let (disk, files, version) = stacks
        .save(
            name,
            &state.sockets.engines,
            &on.name,
            files,
            crate::stacks::SaveAs {
                by: actor.name(),
                what,
                create,
            },
        )
        .await?;
    let projects = projects(on).await.unwrap_or_default();
    let project = find(&projects, name).cloned();
    let swarm = swarm_stacks(on, Some(name)).await.unwrap_or_default();
    Ok(Stack {
        summary: on_swarm(
            summary(Some(&disk), name, on, project.as_ref()),
            project.as_ref(),
            &swarm,
        ),
        files,
        version,
        project,
        run: stacks.current_run(name),
    })
}

/// 404 unless the stack is a folder here that belongs to this engine.
async fn mine(r: &Reading, name: &str) -> Result<(), Error> {
    let owner = r.stacks.owner(name).await?;
    belongs(name, owner.as_deref(), &r.engines, &r.on)
}

/// 409 while the engine has a container of the stack's project, or a swarm service of it.
async fn idle(r: &Reading, name: &str, doing: &str) -> Result<(), Error> {
    mine(r, name).await?;
    if let Some(services) = swarm_stacks(&r.on, Some(name)).await?
        && !services.is_empty()
    {
        return Err(Error::new(
            409,
            format!(
                "the stack {name} has {} service(s) on the swarm of {}: take it down before you {doing} it",
                services.len(),
                r.on.name
            ),
        ));
    }
    let projects = projects(&r.on).await?;
    if let Some(project) = find(&projects, name) {
        return Err(Error::new(
            409,
            format!(
                "the stack {name} has {} container(s) on {}: take it down before you {doing} it",
                project.containers.len(),
                r.on.name
            ),
        ));
    }
    Ok(())
}

fn reading(state: &crate::http::AppState, on: &std::sync::Arc<EngineContext>) -> Reading {
    Reading {
        engines: state.sockets.engines.clone(),
        stacks: state.stacks.clone(),
        updates: state.updates.clone(),
        on: on.clone(),
    }
}

/// The engine a folder belongs to: the one it was made on, else the default engine.
fn engine_of<'a>(disk: &'a OnDisk, engines: &'a Engines) -> &'a str {
    disk.engine
        .as_deref()
        .unwrap_or_else(|| engines.default_engine().name.as_str())
}

async fn projects(on: &EngineContext) -> Result<Vec<Project>, Error> {
    Ok(group_projects(on.containers.containers().await?))
}

fn find<'a>(projects: &'a [Project], name: &str) -> Option<&'a Project> {
    projects.iter().find(|p| p.name == name)
}

/// A stack's summary: its file's services, counted against its containers.
fn summary(
    disk: Option<&OnDisk>,
    name: &str,
    on: &EngineContext,
    project: Option<&Project>,
) -> StackSummary {
    StackSummary {
        name: name.to_string(),
        engine: on.name.to_string(),
        external: disk.is_none(),
        state: StackState::NotDeployed,
        running: 0,
        services: disk.map(|d| d.services.clone()).unwrap_or_default(),
        containers: 0,
        file: disk.and_then(|d| d.file).map(str::to_string),
        swarm: false,
    }
    .counted(project)
}

async fn audit<T>(
    actor: &Actor,
    on: &EngineContext,
    action: &str,
    target: &str,
    result: &Result<T, Error>,
) {
    actor
        .outcome(&format!("stack.{action}"), on, target, result)
        .await;
}
