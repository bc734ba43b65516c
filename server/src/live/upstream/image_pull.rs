//! An image pull, as a hub: one `POST /images/create` on the engine, its progress passed on
//! as [`Frame::PullProgress`], and `end` when it finished (`pulled NAME:TAG`) or failed (the
//! registry's words). A second viewer of the same pull joins it; when the last viewer leaves,
//! the hub drops the request and the engine stops the pull.

use crate::{
    docker::engine::describe,
    live::hub::{Ending, Publisher},
    registry_logins::Login,
};
use app::frames::{Frame, PullProgress};
use bollard::{Docker, query_parameters::CreateImageOptions};
use futures::StreamExt;

/// `name` with `:latest` when it names neither a tag nor a digest, as Docker reads it; so
/// `busybox` and `busybox:latest` are one pull.
pub fn with_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.contains(':') || reference.contains('@') {
        true => reference.to_string(),
        false => format!("{reference}:latest"),
    }
}

/// Pulls `reference` (signed in to its registry with `login`, if any); how it ended, and
/// whether the image was pulled.
pub async fn run(
    docker: Docker,
    reference: String,
    login: Option<Login>,
    publisher: Publisher,
) -> (Ending, bool) {
    let ending = pull(docker, &reference, login, publisher).await;
    let pulled = ending == Ending::done(format!("pulled {reference}"));
    (ending, pulled)
}

async fn pull(
    docker: Docker,
    reference: &str,
    login: Option<Login>,
    publisher: Publisher,
) -> Ending {
    let reference = reference.to_string();
    let mut progress = docker.create_image(
        Some(CreateImageOptions {
            from_image: Some(reference.clone()),
            ..Default::default()
        }),
        None,
        login.as_ref().map(Login::credentials),
    );
    while let Some(item) = progress.next().await {
        match item {
            Ok(info) => {
                if let Some(error) = info.error_detail.and_then(|d| d.message) {
                    return Ending::done(format!("pull of {reference} failed: {error}"));
                }
                let detail = info.progress_detail.unwrap_or_default();
                let bytes = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u64);
                publisher.publish(Frame::PullProgress(PullProgress {
                    layer: info.id.filter(|id| !id.is_empty() && *id != reference),
                    status: info.status.unwrap_or_default(),
                    current: bytes(detail.current),
                    total: bytes(detail.total),
                }));
            }
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Ending::done(format!("pull of {reference} failed: {message}"));
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Ending::done(format!("pull of {reference} failed: {error}"));
            }
            Err(e) => {
                return Ending::retry(format!("pull of {reference} failed: {}", describe(&e)));
            }
        }
    }
    Ending::done(format!("pulled {reference}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tag_is_latest() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("busybox:1"), "busybox:1");
        assert_eq!(with_tag("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b:latest");
        assert_eq!(with_tag("127.0.0.1:5000/a/b:2"), "127.0.0.1:5000/a/b:2");
        assert_eq!(with_tag("a@sha256:00"), "a@sha256:00");
    }
}
