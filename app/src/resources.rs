//! Images, volumes, networks and the engine's disk usage, as the JSON API answers them and
//! the pages show them; and the checks every name and reference passes before it reaches
//! Docker.

use crate::model::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of object an engine keeps beside its containers, as their pages and routes name
/// them (`/images`, `/api/volumes/{name}`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objects {
    Images,
    Volumes,
    Networks,
}

impl Objects {
    pub const ALL: [Objects; 3] = [Objects::Images, Objects::Volumes, Objects::Networks];

    /// The path segment: `images`, `volumes`, `networks`.
    pub fn segment(self) -> &'static str {
        match self {
            Objects::Images => "images",
            Objects::Volumes => "volumes",
            Objects::Networks => "networks",
        }
    }

    /// One of them, in words: `image`, `volume`, `network`.
    pub fn one(self) -> &'static str {
        match self {
            Objects::Images => "image",
            Objects::Volumes => "volume",
            Objects::Networks => "network",
        }
    }

    /// Its title: `Images`, `Volumes`, `Networks`.
    pub fn title(self) -> &'static str {
        match self {
            Objects::Images => "Images",
            Objects::Volumes => "Volumes",
            Objects::Networks => "Networks",
        }
    }

    /// Checks a reference to one of them before it reaches Docker.
    pub fn validate(self, reference: &str) -> Result<(), ApiError> {
        match self {
            Objects::Images => validate_image_ref(reference),
            Objects::Volumes => validate_volume_name(reference),
            Objects::Networks => validate_network_ref(reference),
        }
    }
}

/// A row of the image list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// `sha256:…`.
    pub id: String,
    /// `repository:tag`, several when the image has several; none for a dangling image.
    pub tags: Vec<String>,
    /// Bytes on disk, its layers shared with other images counted too.
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
    /// Containers created from it, running or not.
    pub containers: u32,
    /// No tag: an old build or pull left it behind (`docker image prune` removes these).
    pub dangling: bool,
}

impl ImageSummary {
    /// The 12 hex digits `docker images` shows.
    pub fn short_id(&self) -> &str {
        short_hex(&self.id)
    }
}

/// An image id or digest as `docker images` shows one: its first 12 hex digits, without
/// the algorithm.
pub fn short_hex(id: &str) -> &str {
    let hex = id.split_once(':').map_or(id, |(_, hex)| hex);
    &hex[..hex.len().min(12)]
}

/// One layer of an image's history, newest first as Docker gives them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLayer {
    /// The instruction that made it (`/bin/sh -c #(nop)  CMD ["sh"]`).
    pub created_by: String,
    pub size: i64,
    /// Unix seconds.
    pub created: i64,
}

/// A container, as a resource names the ones using it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedBy {
    pub id: String,
    pub name: String,
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    pub image: ImageSummary,
    pub digests: Vec<String>,
    pub architecture: String,
    pub os: String,
    /// The default command, as `docker inspect` has it, joined by spaces.
    pub command: String,
    pub entrypoint: String,
    pub labels: BTreeMap<String, String>,
    pub layers: Vec<ImageLayer>,
    pub used_by: Vec<UsedBy>,
}

/// What a prune removed: how many, and the bytes it gave back (none for networks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    /// Ids or names of what went.
    pub removed: Vec<String>,
    pub reclaimed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSummary {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    /// RFC 3339, when the driver says.
    pub created: Option<String>,
    /// Bytes, from Docker's disk usage (local volumes only; `None` where unknown).
    pub size: Option<i64>,
    /// Containers referring to it, from Docker's disk usage.
    pub ref_count: Option<i64>,
    pub labels: BTreeMap<String, String>,
    /// The containers that mount it.
    pub used_by: Vec<UsedBy>,
}

/// `POST /api/volumes`: a name (Docker picks one when absent), a driver (`local` when
/// absent) and labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVolume {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl NewVolume {
    pub fn check(&self) -> Result<(), ApiError> {
        if let Some(name) = &self.name {
            validate_volume_name(name)?;
        }
        if let Some(driver) = &self.driver {
            validate_plain(driver, "driver", 64)?;
        }
        if self.labels.len() > 64 {
            return Err(ApiError::bad_request("at most 64 labels"));
        }
        for (key, value) in &self.labels {
            if key.is_empty() || key.len() > 255 || value.len() > 4096 {
                return Err(ApiError::bad_request(format!(
                    "label {key:?}: a key of 1 to 255 characters, a value of at most 4096"
                )));
            }
            if key.chars().any(|c| c.is_control() || c == '=')
                || value.chars().any(char::is_control)
            {
                return Err(ApiError::bad_request(format!(
                    "label {key:?}: no '=' in a key, no control characters"
                )));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    /// CIDR subnets from its IPAM configuration.
    pub subnets: Vec<String>,
    pub internal: bool,
    /// One Docker makes itself (`bridge`, `host`, `none`, swarm's `ingress`): never removed.
    pub builtin: bool,
    pub created: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The containers attached (the list leaves these out on some engines; the detail has
    /// them always).
    pub containers: Vec<UsedBy>,
}

/// Networks Docker makes and needs: refused before they reach it.
pub const BUILTIN_NETWORKS: [&str; 5] = ["bridge", "host", "none", "ingress", "docker_gwbridge"];

/// One line of the disk usage page: how many, how many in use, their size and what a prune
/// would give back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskShare {
    pub count: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

/// `GET /api/system/df`, from Docker's `/system/df`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineDisk {
    pub images: DiskShare,
    pub containers: DiskShare,
    pub volumes: DiskShare,
    pub build_cache: DiskShare,
}

/// `?force=` of an image removal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveOptions {
    #[serde(default)]
    pub force: Option<bool>,
}

fn validate_plain(text: &str, what: &str, max: usize) -> Result<(), ApiError> {
    let mut chars = text.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if text.len() > max || !first || !rest {
        return Err(ApiError::bad_request(format!(
            "invalid {what} {text:?}: 1 to {max} letters, digits, '_', '.' or '-', starting with a letter or digit"
        )));
    }
    Ok(())
}

/// An image as Docker takes it: an id (`sha256:…` or a prefix) or `[registry/]name[:tag]
/// [@digest]`, by Docker's own grammar ([`crate::refs`]).
pub fn validate_image_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Image, reference)
}

/// A volume name as Docker allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_volume_name(name: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Volume, name)
}

/// A network id, id prefix or name.
pub fn validate_network_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Network, reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_checked_before_docker() {
        for ok in [
            "busybox",
            "busybox:1.36",
            "127.0.0.1:5000/berth-test/busybox:latest",
            "sha256:0123abcd",
            "0123abcd",
            // Docker's grammar: a digest has at least 32 hex digits.
            "alpine@sha256:0123456789abcdef0123456789abcdef",
        ] {
            assert!(validate_image_ref(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-rf",
            "/etc/passwd",
            "a b",
            "a//b",
            "x;rm",
            &"a".repeat(513),
        ] {
            assert_eq!(validate_image_ref(bad).unwrap_err().status, 400, "{bad}");
        }
        assert!(validate_volume_name("data_1.x").is_ok());
        for bad in ["a", "-v", "a/b", "a b", ""] {
            assert!(validate_volume_name(bad).is_err(), "{bad}");
        }
        assert!(validate_network_ref("bridge").is_ok());
        assert!(validate_network_ref("../x").is_err());
        let mut new = NewVolume {
            name: Some("ok-volume".into()),
            ..NewVolume::default()
        };
        assert!(new.check().is_ok());
        new.labels.insert("a=b".into(), "c".into());
        assert!(new.check().is_err());
    }

    #[test]
    fn short_ids_drop_the_algorithm() {
        let image = ImageSummary {
            id: "sha256:0123456789abcdef".into(),
            tags: vec![],
            size: 0,
            created: 0,
            containers: 0,
            dangling: true,
        };
        assert_eq!(image.short_id(), "0123456789ab");
    }
}

crate::endpoints! {
    OBJECT_ROUTES;
    /// Images, newest first, with how many containers use each.
    GET "/api{on}/images" VIEWER => ListImages {} -> Vec<ImageSummary>;
    /// An image by id, id prefix or `name:tag` (its `/` as they are: the rest of the path).
    GET "/api{on}/images/{*reference}" VIEWER => GetImage { reference: String } -> ImageDetail;
    /// Removes the dangling images.
    POST "/api{on}/images/prune" OPERATOR => PruneImages {} -> Pruned;
    /// Removes an image (`force`: also one a stopped container uses); 409 while in use.
    DELETE "/api{on}/images/{*reference}" OPERATOR => RemoveImage { reference: String }
        query(RemoveOptions) -> () = 204;
    /// Volumes by name, with sizes and users.
    GET "/api{on}/volumes" VIEWER => ListVolumes {} -> Vec<VolumeSummary>;
    GET "/api{on}/volumes/{id}" VIEWER => GetVolume { id: String } -> VolumeSummary;
    /// Creates a volume from `{name?, driver?, labels?}`.
    POST "/api{on}/volumes" OPERATOR => CreateVolume {} body(NewVolume) -> VolumeSummary = 201;
    POST "/api{on}/volumes/prune" OPERATOR => PruneVolumes {} -> Pruned;
    DELETE "/api{on}/volumes/{id}" OPERATOR => RemoveVolume { id: String } -> () = 204;
    /// Networks by name, with subnets and attached containers.
    GET "/api{on}/networks" VIEWER => ListNetworks {} -> Vec<NetworkSummary>;
    GET "/api{on}/networks/{id}" VIEWER => GetNetwork { id: String } -> NetworkSummary;
    POST "/api{on}/networks/prune" OPERATOR => PruneNetworks {} -> Pruned;
    DELETE "/api{on}/networks/{id}" OPERATOR => RemoveNetwork { id: String } -> () = 204;
    /// Docker's disk usage: images, containers, volumes, build cache.
    GET "/api{on}/system/df" VIEWER => GetDisk {} -> EngineDisk;
}
