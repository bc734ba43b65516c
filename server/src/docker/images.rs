//! An engine's images: the list with how many containers use each, one image's inspect
//! summary, layers and users, removal and pruning of dangling images.

use super::engine::Engine;
use crate::error::Error;
use app::resources::{ImageDetail, ImageLayer, ImageSummary, Pruned, UsedBy};
use bollard::{models, query_parameters as q};
use std::collections::HashMap;

/// What `docker images` shows for an image with no tag.
const NO_TAG: &str = "<none>:<none>";

fn tags(repo_tags: Vec<String>) -> Vec<String> {
    repo_tags.into_iter().filter(|t| t != NO_TAG).collect()
}

/// Every container's image id and who it is, for the counts and the "used by" lists.
pub async fn containers_by_image(engine: &Engine) -> Result<HashMap<String, Vec<UsedBy>>, Error> {
    let mut by_image: HashMap<String, Vec<UsedBy>> = HashMap::new();
    for c in super::mapping::list_all(engine).await? {
        if let Some(image) = &c.image_id {
            by_image
                .entry(image.clone())
                .or_default()
                .push(super::mapping::used_by(&c));
        }
    }
    Ok(by_image)
}

fn summary(image: models::ImageSummary, used: usize) -> ImageSummary {
    let tags = tags(image.repo_tags);
    ImageSummary {
        dangling: tags.is_empty(),
        id: image.id,
        tags,
        size: image.size,
        created: image.created,
        containers: used as u32,
    }
}

/// Every image, newest first.
pub async fn list(engine: &Engine) -> Result<Vec<ImageSummary>, Error> {
    let docker = engine.client()?;
    let (images, used) = tokio::join!(
        docker.list_images(Some(q::ListImagesOptions {
            all: false,
            ..Default::default()
        })),
        containers_by_image(engine),
    );
    let images = images.map_err(|e| engine.error(e))?;
    let used = used?;
    let mut list: Vec<_> = images
        .into_iter()
        .map(|image| {
            let n = used.get(&image.id).map_or(0, Vec::len);
            summary(image, n)
        })
        .collect();
    list.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(list)
}

/// One image: by id, id prefix or `name:tag`.
pub async fn detail(engine: &Engine, reference: &str) -> Result<ImageDetail, Error> {
    let path = super::path::path(super::path::Kind::Image, reference)?;
    let docker = engine.client()?;
    let inspect = docker
        .inspect_image(&path)
        .await
        .map_err(|e| engine.error(e))?;
    let id = inspect.id.clone().unwrap_or_default();
    let id_path = super::path::path(super::path::Kind::Image, &id)?;
    let (history, used) = tokio::join!(docker.image_history(&id_path), containers_by_image(engine));
    let history = history.map_err(|e| engine.error(e))?;
    let used_by = used?.remove(&id).unwrap_or_default();
    let config = inspect.config.unwrap_or_default();
    let created = inspect
        .created
        .as_ref()
        .and_then(|c| unix_seconds(&c.to_string()))
        .unwrap_or_default();
    let tags = tags(inspect.repo_tags.unwrap_or_default());
    Ok(ImageDetail {
        image: ImageSummary {
            dangling: tags.is_empty(),
            id,
            tags,
            size: inspect.size.unwrap_or_default(),
            created,
            containers: used_by.len() as u32,
        },
        digests: inspect.repo_digests.unwrap_or_default(),
        architecture: inspect.architecture.unwrap_or_default(),
        os: inspect.os.unwrap_or_default(),
        command: config.cmd.unwrap_or_default().join(" "),
        entrypoint: config.entrypoint.unwrap_or_default().join(" "),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        layers: history
            .into_iter()
            .map(|layer| ImageLayer {
                created_by: layer.created_by,
                size: layer.size,
                created: layer.created,
            })
            .collect(),
        used_by,
    })
}

/// Unix seconds of an RFC 3339 time as Docker writes it (`2026-11-22T10:00:00.123Z`).
pub(crate) fn unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim_matches('"');
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (date.next()??, date.next()??, date.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '.']).next()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + min * 60 + s)
}

/// Removes an image (with `force`, also one a stopped container uses, or with several tags).
/// 409 with Docker's message when a container uses it.
pub async fn remove(engine: &Engine, reference: &str, force: bool) -> Result<(), Error> {
    let path = super::path::path(super::path::Kind::Image, reference)?;
    let docker = engine.client()?;
    docker
        .remove_image(
            &path,
            Some(q::RemoveImageOptions {
                force,
                noprune: false,
                ..Default::default()
            }),
            None,
        )
        .await
        .map(|_| ())
        .map_err(|e| engine.conflict(e))
}

/// Removes every dangling image.
pub async fn prune(engine: &Engine) -> Result<Pruned, Error> {
    let docker = engine.client()?;
    let pruned = docker
        .prune_images(Some(q::PruneImagesOptions {
            filters: Some(HashMap::from([(
                "dangling".to_string(),
                vec!["true".to_string()],
            )])),
        }))
        .await
        .map_err(|e| engine.error(e))?;
    Ok(Pruned {
        removed: pruned
            .images_deleted
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| item.deleted)
            .collect(),
        reclaimed: pruned.space_reclaimed.unwrap_or_default().max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_times_become_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2026-11-22T10:00:00.123456789Z"),
            Some(1_795_341_600)
        );
        assert_eq!(unix_seconds("garbage"), None);
    }

    #[test]
    fn untagged_is_dangling() {
        assert!(tags(vec![NO_TAG.into()]).is_empty());
        assert_eq!(tags(vec!["a:1".into()]), vec!["a:1".to_string()]);
    }
}
