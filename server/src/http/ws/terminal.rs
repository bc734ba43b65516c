//! `/ws/engines/{engine}/containers/{id}/exec?cmd=&user=&workdir=` (and the alias without
//! the engine): a terminal in a running container, one socket and one exec process each,
//! never shared. Checked before the upgrade like every stream (403 below the `--exec` role
//! or with `--exec off`, 400, 429 over the terminal limits, 404, 409 not running, 503); the
//! process is started once upgraded and ended, confirmed, when the socket ends for any
//! reason ([`super::terminal_client`]). Audited: who, which container, what command, how
//! long.

use super::{Admitted, Asking, Sockets, Upgrade, admit, terminal_client, upgraded};
use crate::{
    docker::exec::Exec,
    error::Error,
    http::{
        AppState,
        api::actions::Actor,
        extract::{OnEngine, PathParam},
        ws::ContainerRef,
    },
};
use app::{frames::StreamKind, model::Role, terminal::ExecRequest};
use axum::{
    extract::{Query, State},
    response::Response,
};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// Who may open terminals, and when an idle one is closed (`--exec`, `--exec-idle-secs`).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The least role that may; `None`: nobody.
    pub least_role: Option<Role>,
    pub idle: Option<Duration>,
}

/// Berth's terminals: the policy, and the counts `/metrics` reads.
#[derive(Debug)]
pub struct Terminals {
    pub policy: Policy,
    open: AtomicUsize,
    alive: AtomicUsize,
    opened: AtomicU64,
    signalled: AtomicU64,
}

impl Terminals {
    pub fn new(policy: Policy) -> Arc<Self> {
        Arc::new(Self {
            policy,
            open: AtomicUsize::new(0),
            alive: AtomicUsize::new(0),
            opened: AtomicU64::new(0),
            signalled: AtomicU64::new(0),
        })
    }

    /// Whether a caller of `role` may open terminals (`None`: accounts off, the loopback
    /// user).
    pub fn allows(&self, role: Option<Role>) -> bool {
        match (self.policy.least_role, role) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(least), Some(role)) => role >= least,
        }
    }

    /// Open terminal sockets; exec processes started and not yet confirmed ended; terminals
    /// opened since start; processes Berth had to signal.
    pub fn counts(&self) -> (usize, usize, u64, u64) {
        (
            self.open.load(Ordering::Relaxed),
            self.alive.load(Ordering::Relaxed),
            self.opened.load(Ordering::Relaxed),
            self.signalled.load(Ordering::Relaxed),
        )
    }

    fn opened(self: &Arc<Self>) -> OpenTerminal {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.opened.fetch_add(1, Ordering::Relaxed);
        OpenTerminal(self.clone())
    }

    fn started(self: &Arc<Self>) -> LiveProcess {
        self.alive.fetch_add(1, Ordering::Relaxed);
        LiveProcess {
            terminals: self.clone(),
            ended: false,
        }
    }
}

/// One open terminal socket, counted until dropped.
pub struct OpenTerminal(Arc<Terminals>);

impl Drop for OpenTerminal {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One exec process Berth started. It stops counting only once its end is confirmed: a
/// process Berth could not confirm gone stays in `berth_exec_processes_alive`.
pub struct LiveProcess {
    terminals: Arc<Terminals>,
    ended: bool,
}

impl LiveProcess {
    pub fn ended(mut self, signalled: usize) {
        self.ended = true;
        self.terminals
            .signalled
            .fetch_add(signalled as u64, Ordering::Relaxed);
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        if self.ended {
            self.terminals.alive.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Opens a terminal: everything is checked before the upgrade; the process starts after.
pub async fn open(
    State(state): State<AppState>,
    OnEngine(on): OnEngine,
    asking: Asking,
    PathParam(ContainerRef { id }): PathParam<ContainerRef>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let sockets = state.sockets.clone();
    let terminals = sockets.terminals.clone();
    let caller = asking.caller.as_ref();
    if state.auth.is_some() && caller.is_none() {
        return Err(Error::new(401, "sign in first: no valid session"));
    }
    if !terminals.allows(caller.map(|c| c.role)) {
        return Err(Error::new(403, refusal(terminals.policy.least_role)));
    }
    let address =
        crate::client_addr::client_ip(asking.peer.ip(), &asking.headers, &sockets.trusted_proxies);
    let name = caller.map_or_else(|| "local".to_string(), |c| c.name.clone());
    let actor = Actor::new(name, state.auth.clone(), Some(address));
    let request = ExecRequest {
        cmd: params.get("cmd").cloned(),
        user: params.get("user").cloned(),
        workdir: params.get("workdir").cloned(),
    };
    let exec = request.check()?;
    let admitted = admit(&sockets, asking, StreamKind::Terminal)?;
    let container = crate::docker::mapping::inspect(&on.engine, &id).await?;
    let state_of = container.state.unwrap_or_default();
    let name = crate::docker::mapping::container_name(&container.name.unwrap_or_default());
    if state_of.paused == Some(true) || state_of.running != Some(true) {
        let status = state_of.status.map_or("stopped".into(), |s| s.to_string());
        return Err(Error::new(
            409,
            format!("container {name} is {status}: a terminal needs it running"),
        ));
    }
    let upgrade = upgraded(upgrade)?;
    let opening = Opening {
        target: format!("{}/{name}: {}", on.name, exec.command()),
        container: container.id.unwrap_or_default(),
        engine: on.engine.clone(),
        exec,
        actor,
        admitted,
        sockets,
    };
    Ok(upgrade
        .read_buffer_size(super::READ_BUFFER)
        .max_message_size(terminal_client::MAX_INPUT)
        .max_frame_size(terminal_client::MAX_INPUT)
        .on_failed_upgrade(|e| tracing::debug!("terminal upgrade failed: {e}"))
        .on_upgrade(move |socket| {
            let tasks = opening.sockets.tasks.clone();
            tasks.track_future(opening.serve(socket))
        }))
}

/// A terminal admitted and upgraded: what it needs to start its process, run, and end it.
struct Opening {
    sockets: Arc<Sockets>,
    engine: Arc<crate::docker::engine::Engine>,
    container: String,
    exec: app::terminal::Exec,
    /// `engine/container: command`, for the audit log.
    target: String,
    actor: Actor,
    admitted: Admitted,
}

impl Opening {
    /// Starts the process, runs the socket until it ends, then ends the process and
    /// confirms it; each step audited.
    async fn serve(self, socket: axum::extract::ws::WebSocket) {
        let Self {
            sockets,
            engine,
            container,
            exec,
            target,
            actor,
            admitted: Admitted { permit, ownership },
        } = self;
        let terminals = &sockets.terminals;
        let open = terminals.opened();
        let since = Instant::now();
        let (exec, output, input) = match Exec::start(&engine, &container, &exec).await {
            Ok(started) => started,
            Err(e) => {
                actor.record("terminal.open", &target, false).await;
                terminal_client::refuse(socket, &e.to_string()).await;
                return;
            }
        };
        let process = terminals.started();
        actor.record("terminal.open", &target, true).await;
        let client = terminal_client::TerminalClient {
            config: sockets.client.clone(),
            idle: terminals.policy.idle,
            shutdown: sockets.shutdown.clone(),
            ownership,
        };
        let ended = client.run(socket, &exec, output, input).await;
        // The socket is gone: its slot is free while the process is being ended (the
        // process has its own count).
        drop((permit, open));
        let reaped = exec.reap().await;
        if reaped.confirmed {
            process.ended(reaped.signalled);
        } else {
            tracing::warn!(
                exec = exec.id(),
                "a terminal's process may still run: Berth could not confirm its end"
            );
            drop(process);
        }
        let how = match (reaped.confirmed, reaped.signalled) {
            (false, _) => ", its end not confirmed".to_string(),
            (true, 0) => String::new(),
            (true, n) => format!(", {n} process(es) ended by Berth"),
        };
        let summary = format!(
            "{target} after {} s ({ended}{how})",
            since.elapsed().as_secs()
        );
        actor
            .record("terminal.close", &summary, reaped.confirmed)
            .await;
    }
}

fn refusal(least_role: Option<Role>) -> String {
    match least_role {
        None => "terminals are turned off on this Berth (--exec off)".into(),
        Some(role) => format!(
            "only {} may open a terminal (--exec {})",
            match role {
                Role::Admin => "admins",
                _ => "operators and admins",
            },
            role.as_str()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_decides_who_may() {
        let policy = |least_role| {
            Terminals::new(Policy {
                least_role,
                idle: None,
            })
        };
        let admins = policy(Some(Role::Admin));
        assert!(admins.allows(Some(Role::Admin)));
        assert!(!admins.allows(Some(Role::Operator)));
        assert!(admins.allows(None), "accounts off: the loopback user");
        let operators = policy(Some(Role::Operator));
        assert!(operators.allows(Some(Role::Operator)));
        assert!(!operators.allows(Some(Role::Viewer)));
        let off = policy(None);
        assert!(!off.allows(Some(Role::Admin)));
        assert!(!off.allows(None));
        assert_eq!(
            refusal(Some(Role::Admin)),
            "only admins may open a terminal (--exec admin)"
        );
    }

    #[test]
    fn a_process_stops_counting_only_once_confirmed_ended() {
        let terminals = Terminals::new(Policy {
            least_role: Some(Role::Admin),
            idle: None,
        });
        let open = terminals.opened();
        let (confirmed, unconfirmed) = (terminals.started(), terminals.started());
        assert_eq!(terminals.counts(), (1, 2, 1, 0));
        confirmed.ended(3);
        drop(unconfirmed);
        drop(open);
        assert_eq!(terminals.counts(), (0, 1, 1, 3));
    }
}
