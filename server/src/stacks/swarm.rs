//! Stacks on a swarm: when a stack's engine is a swarm manager, its folder is deployed with
//! the Docker CLI's `docker stack deploy -c FILE --prune NAME` (`--with-registry-auth` when
//! asked, `--resolve-image always` for a pull) and taken down with `docker stack rm NAME`,
//! through the same runs, output and records as Compose. The CLI reads no `.env`: its
//! variables fill the file's `${…}` from the CLI's environment, so Berth passes there only
//! the `.env` variables the file names, and never one that would change how the CLI itself
//! runs (`DOCKER_*`, `LD_*`, proxies, TLS, Go's and ssh's settings, `PATH`…: 422).
//!
//! Its plan is the swarm's own view: a service the file has and the stack lacks is
//! created, one both have is updated (Swarm replaces tasks only if its spec changed), one
//! only the stack has is removed (`--prune`).

use super::compose::{self, Target};
use crate::{
    docker::{endpoint::Endpoint, engine::Engine, swarm::stack_services},
    error::Error,
};
use app::model::{
    DeployedImage, PlanChange, PlannedService, RunOptions, StackAction, StackPlan, SwarmService,
    validate_stack_name,
};
use std::{process::Stdio, time::Duration};
use tokio::process::Command;

/// The Docker CLI, which deploys stacks on a swarm, with the `.env` variables of the run.
#[derive(Clone, Debug)]
pub struct StackCli {
    /// `Docker version 20.10.24…`, for plans and runs to name.
    pub version: String,
    variables: Vec<(String, String)>,
}

/// How long `docker --version` may take.
const DETECT_TIMEOUT: Duration = Duration::from_secs(20);

impl StackCli {
    /// The `docker` on Berth's path, if it answers `--version` (which asks no engine).
    pub async fn detect() -> Option<Self> {
        let mut probe = Command::new("docker");
        probe
            .arg("--version")
            .env_clear()
            .envs(compose::kept_environment())
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(DETECT_TIMEOUT, probe.output())
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        output.status.success().then(|| Self {
            version: text.lines().next().unwrap_or_default().trim().to_string(),
            variables: Vec::new(),
        })
    }

    /// The same CLI with the variables of the stack's `.env` (checked by [`variables`]).
    pub fn with_variables(mut self, variables: Vec<(String, String)>) -> Self {
        self.variables = variables;
        self
    }

    /// `docker ARGS` in the stack's folder on the engine at `endpoint`.
    pub fn command(
        &self,
        target: &Target,
        endpoint: &Endpoint,
        args: &[&str],
    ) -> Result<Command, Error> {
        validate_stack_name(&target.stack)?;
        let program = ["docker".to_string()];
        let mut command = compose::prepared(&program, &target.dir, endpoint, &self.variables)?;
        command.args(args);
        Ok(command)
    }
}

impl StackCli {
    /// Whether `stack deploy` and `stack rm` have `--detach` (CLI 26 and later). Its default, not waiting
    /// for the services to converge, is what Berth wants: the stack page follows them
    /// live, and a service that never converges would hold the stack's run for ever. So
    /// Berth says it, in case a later CLI waits by default.
    fn has_detach(&self) -> bool {
        let major = self
            .version
            .strip_prefix("Docker version ")
            .and_then(|v| v.split('.').next())
            .and_then(|major| major.parse::<u32>().ok());
        major.is_some_and(|major| major >= 26)
    }
}

/// The CLI's arguments for `action` on the stack `target`: 400 for one service (a swarm
/// stack deploys whole), 409 for what a swarm has no command for.
pub fn arguments(
    cli: &StackCli,
    action: StackAction,
    target: &Target,
    options: &RunOptions,
) -> Result<Vec<Vec<String>>, Error> {
    validate_stack_name(&target.stack)?;
    if options.service.is_some() {
        return Err(Error::bad_request(
            "a stack on a swarm is deployed whole: change one service on its service page",
        ));
    }
    let file = target.file.display().to_string();
    let deploy = |pull: bool| {
        let mut args: Vec<String> = ["stack", "deploy", "-c", &file, "--prune"]
            .map(String::from)
            .into();
        if options.registry_auth == Some(true) {
            args.push("--with-registry-auth".into());
        }
        // A deploy asks a registry for the digest only of an image the file changed; a
        // pull asks again for every one (the CLI's default).
        let resolve = if pull { "always" } else { "changed" };
        args.extend(["--resolve-image", resolve].map(String::from));
        if cli.has_detach() {
            args.push("--detach=true".into());
        }
        args.push(target.stack.clone());
        args
    };
    Ok(vec![match action {
        StackAction::Deploy => deploy(false),
        StackAction::Pull => deploy(true),
        StackAction::Down => {
            let mut args: Vec<String> = ["stack", "rm"].map(String::from).into();
            if cli.has_detach() {
                args.push("--detach=true".into());
            }
            args.push(target.stack.clone());
            args
        }
        StackAction::Stop | StackAction::Start | StackAction::Restart => {
            return Err(Error::new(
                409,
                format!(
                    "a stack on a swarm has no {}: scale its services, or take it down",
                    action.as_str()
                ),
            ));
        }
    }])
}

/// Prefixes of the variables the Docker CLI, Go, the C library, ssh (for `ssh://`
/// engines) or a credential helper read, whatever their case: a `.env` that sets one for
/// the file is refused.
const STEERING_PREFIXES: [&str; 14] = [
    "DOCKER_",
    "LD_",
    "GO",
    "SSL_",
    "SSH_",
    "OTEL_",
    "XDG_",
    "DBUS_",
    "GNUPG",
    "PASSWORD_STORE_",
    "RES_",
    "MALLOC",
    "BUILDKIT",
    "COMPOSE_",
];

/// Whole names of the same, whatever their case.
const STEERING_NAMES: [&str; 10] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "FTP_PROXY",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "DISPLAY",
    "SHELL",
    "USER",
];

fn steers_the_cli(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    STEERING_PREFIXES.iter().any(|p| upper.starts_with(p))
        || STEERING_NAMES.contains(&upper.as_str())
        || compose::KEPT.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// The variables `compose` names (`$NAME`, `${NAME}`, `${NAME:-default}`…; `$$` is a
/// dollar sign, not a variable).
fn named_in(compose: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = compose.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'{'));
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
            && !(end == start && bytes[end].is_ascii_digit())
        {
            end += 1;
        }
        if end > start {
            names.insert(compose[start..end].to_string());
        }
        i = end.max(i + 1);
    }
    names
}

/// The `.env` file's variables that `compose` names (`NAME=value` lines; `#` comments,
/// blank lines and a leading `export` allowed; one pair of surrounding quotes taken off),
/// or 422 naming the line that is none, or a variable the file names that would steer the
/// CLI. The others are not passed at all.
pub fn variables(env: &str, compose: &str) -> Result<Vec<(String, String)>, Error> {
    let named = named_in(compose);
    let mut found = Vec::new();
    for (n, line) in env.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let refused = |why: String| Error::new(422, format!(".env line {}: {why}", n + 1));
        let Some((name, value)) = line.split_once('=') else {
            return Err(refused("not NAME=value".into()));
        };
        let name = name.trim();
        let mut chars = name.chars();
        let grammatical = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !grammatical {
            return Err(refused(
                "a variable's name is letters, digits and '_', not starting with a digit".into(),
            ));
        }
        if !named.contains(name) {
            continue;
        }
        if steers_the_cli(name) {
            return Err(refused(format!(
                "{name} would change how the Docker CLI runs: rename it (a swarm stack's .env only fills ${{…}} in its compose file)"
            )));
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .into_iter()
            .find_map(|q| value.strip_prefix(q)?.strip_suffix(q))
            .unwrap_or(value);
        found.push((name.to_string(), unquoted.to_string()));
    }
    Ok(found)
}

/// The stack's services on the swarm `engine` manages (`None`: it manages none).
pub async fn services(engine: &Engine, stack: &str) -> Result<Option<Vec<SwarmService>>, Error> {
    validate_stack_name(stack)?;
    let docker = engine.client()?;
    stack_services(&docker, Some(stack))
        .await
        .map_err(|e| engine.error(e))
}

/// What a deploy of the file's `wanted` services does to the stack's `running` ones.
pub fn plan(cli: &StackCli, wanted: &[String], running: &[SwarmService]) -> StackPlan {
    let mut services: Vec<PlannedService> = wanted
        .iter()
        .map(|name| {
            let on_swarm = running.iter().find(|s| s.stack_service() == name);
            PlannedService {
                service: name.clone(),
                change: match on_swarm {
                    Some(_) => PlanChange::Update,
                    None => PlanChange::Create,
                },
                hash: None,
                running: on_swarm.map(|s| s.image.clone()),
            }
        })
        .collect();
    for service in running {
        let name = service.stack_service();
        if !wanted.iter().any(|w| w == name) {
            services.push(PlannedService {
                service: name.to_string(),
                change: PlanChange::Remove,
                hash: None,
                running: Some(service.image.clone()),
            });
        }
    }
    StackPlan {
        cli: cli.version.clone(),
        services,
    }
}

/// Each service's image after a deploy, as its spec names it (with the digest the CLI
/// pinned, when a registry gave one).
pub async fn images(engine: &Engine, stack: &str) -> Result<Vec<DeployedImage>, Error> {
    let docker = engine.client()?;
    let services = docker
        .list_services(Some(bollard::query_parameters::ListServicesOptions {
            filters: Some(crate::docker::swarm::stack_filter(Some(stack))),
            status: None,
        }))
        .await
        .map_err(|e| engine.error(e))?;
    let mut images: Vec<DeployedImage> = services
        .into_iter()
        .map(|s| {
            let spec = s
                .spec
                .as_ref()
                .and_then(|s| s.task_template.as_ref())
                .and_then(|t| t.container_spec.as_ref())
                .and_then(|c| c.image.as_deref())
                .unwrap_or_default();
            let digest = spec.split_once('@').map(|(_, d)| d.to_string());
            let summary = crate::docker::swarm::service(s);
            DeployedImage {
                service: summary.stack_service().to_string(),
                image: summary.image,
                id: digest.clone().unwrap_or_default(),
                digest,
            }
        })
        .collect();
    images.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn cli(version: &str) -> StackCli {
        StackCli {
            version: version.into(),
            variables: Vec::new(),
        }
    }

    fn target() -> Target {
        Target {
            stack: "shop".into(),
            dir: PathBuf::from("/stacks/shop"),
            file: PathBuf::from("/stacks/shop/compose.yaml"),
            env: None,
        }
    }

    #[test]
    fn a_swarm_stack_deploys_whole_and_comes_down_with_stack_rm() {
        let old = cli("Docker version 20.10.24+dfsg1, build 297e128");
        let options = RunOptions::default();
        let deploy = arguments(&old, StackAction::Deploy, &target(), &options).unwrap();
        assert_eq!(
            deploy,
            [[
                "stack",
                "deploy",
                "-c",
                "/stacks/shop/compose.yaml",
                "--prune",
                "--resolve-image",
                "changed",
                "shop"
            ]]
        );
        let asked = RunOptions {
            registry_auth: Some(true),
            ..RunOptions::default()
        };
        let pull = arguments(&old, StackAction::Pull, &target(), &asked).unwrap();
        assert_eq!(
            pull[0][4..],
            [
                "--prune",
                "--with-registry-auth",
                "--resolve-image",
                "always",
                "shop"
            ]
        );
        let down = arguments(&old, StackAction::Down, &target(), &options).unwrap();
        assert_eq!(down, [["stack", "rm", "shop"]]);
        for action in [StackAction::Stop, StackAction::Start, StackAction::Restart] {
            let e = arguments(&old, action, &target(), &options).unwrap_err();
            assert_eq!(e.status(), 409);
        }
        let one = RunOptions {
            service: Some("web".into()),
            ..RunOptions::default()
        };
        let e = arguments(&old, StackAction::Deploy, &target(), &one).unwrap_err();
        assert_eq!(e.status(), 400);
        // A CLI that has --detach is told not to wait, whatever its default.
        let new = cli("Docker version 28.2.2, build e6534b4");
        let deploy = arguments(&new, StackAction::Deploy, &target(), &options).unwrap();
        assert_eq!(deploy[0][7..], ["--detach=true", "shop"]);
        let down = arguments(&new, StackAction::Down, &target(), &options).unwrap();
        assert_eq!(down, [["stack", "rm", "--detach=true", "shop"]]);
    }

    #[test]
    fn env_variables_fill_the_file_and_never_steer_the_cli() {
        let env = "# a comment\n\nGREETING=hello world\nexport TAG=\"1.2\"\nQUOTED='a=b'\nEMPTY=\nUNUSED=x\nhttp_proxy=unused\n";
        let compose =
            "x: ${GREETING} $TAG ${QUOTED:-d} ${EMPTY} $$NOT $${NOR} ${1BAD} $ http_proxy";
        assert_eq!(
            variables(env, compose).unwrap(),
            [
                ("GREETING".to_string(), "hello world".to_string()),
                ("TAG".to_string(), "1.2".to_string()),
                ("QUOTED".to_string(), "a=b".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
        );
        for bad in [
            "DOCKER_HOST=tcp://elsewhere:2375",
            "LD_PRELOAD=/tmp/x.so",
            "PATH=/tmp",
            "home=/tmp",
            "https_proxy=http://127.0.0.1:1",
            "GODEBUG=http2debug=2",
            "SSH_AUTH_SOCK=/tmp/agent",
            "SSL_CERT_FILE=/tmp/ca.pem",
            "not a pair",
            "1ABC=x",
            "A-B=x",
        ] {
            let name = bad.split('=').next().unwrap();
            let compose = format!("x: ${{{name}}}");
            let e = variables(&format!("OK=1\n{bad}\n"), &compose).unwrap_err();
            assert_eq!(e.status(), 422, "{bad}");
            assert!(e.to_string().contains("line 2"), "{bad}: {e}");
        }
    }
}
