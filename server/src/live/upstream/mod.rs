//! The upstreams a hub can own: each is a future that publishes frames until its source
//! ends, then returns the [`Ending`] its clients are told. Cancellation is the hub's business
//! (it drops the future), so these never need to watch for it.

pub mod batch;
pub mod boundary;
pub mod cgroup;
pub mod container_list;
pub mod container_logs;
pub mod container_stats;
pub mod events;
pub mod history;
pub mod image_pull;
pub mod last_known;
pub mod lines;
pub mod project_logs;
pub mod samples;
pub mod service_logs;
pub mod stack_run;
pub mod swarm_updates;
pub mod system_stats;

use crate::live::hub::Ending;
use bollard::Docker;

/// Why a container's stream ended, in words for the user; worth retrying only when the
/// engine could not be asked.
pub async fn container_end_reason(docker: &Docker, id: &str) -> Ending {
    let Ok(path) = crate::docker::path::path(crate::docker::path::Kind::Container, id) else {
        return Ending::done(format!("not a container id: {id:?}"));
    };
    match docker
        .inspect_container(
            &path,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(c) => {
            let state = c.state.unwrap_or_default();
            match (state.running, state.exit_code) {
                (Some(true), _) => Ending::retry("log stream closed by the engine"),
                (_, Some(code)) => Ending::done(format!("container stopped (exit code {code})")),
                _ => Ending::done("container stopped"),
            }
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ending::done("container removed"),
        Err(e) => Ending::retry(format!("Docker engine unreachable: {e}")),
    }
}
