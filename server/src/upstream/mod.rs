//! The upstreams a hub can own: each is a future that publishes frames until its source
//! ends, then returns the reason its clients are told. Cancellation is the hub's business
//! (it drops the future), so these never need to watch for it.

pub mod container_logs;
pub mod container_stats;
pub mod last_known;
pub mod lines;
pub mod project_logs;
pub mod system_stats;

use bollard::Docker;

/// Why a container's stream ended, in words for the user.
pub async fn container_end_reason(docker: &Docker, id: &str) -> String {
    match docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(c) => {
            let state = c.state.unwrap_or_default();
            match (state.running, state.exit_code) {
                (Some(true), _) => "log stream closed by the engine".to_string(),
                (_, Some(code)) => format!("container stopped (exit code {code})"),
                _ => "container stopped".to_string(),
            }
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => "container removed".to_string(),
        Err(e) => format!("Docker engine unreachable: {e}"),
    }
}
