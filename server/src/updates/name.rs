//! An image reference as a registry knows it: which registry, which repository, which tag,
//! with Docker's defaults filled in (`nginx` is `docker.io/library/nginx:latest`), so that
//! a container's `Config.Image` and an image's `RepoDigests` compare as Docker means them.

use app::refs::{Kind, Reference, has_domain, is_valid, split_reference};

/// Docker Hub as references name it; its API is at [`HUB_API`].
const HUB: &str = "docker.io";
const HUB_API: &str = "registry-1.docker.io";
/// Every name of Docker Hub's a reference may use; [`HUB`] is the one kept.
pub const HUB_NAMES: [&str; 3] = [HUB, "index.docker.io", HUB_API];

/// `registry/repository:tag`, every part filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName {
    /// `host[:port]`, `docker.io` for Docker Hub.
    pub registry: String,
    /// The path in the registry (`library/nginx` on Docker Hub).
    pub repository: String,
    /// The tag, `latest` when none is written.
    pub tag: String,
    /// The digest the reference pins, when it has one.
    pub digest: Option<String>,
}

impl ImageName {
    /// A reference as Docker writes one; `None` for an image id or anything its grammar
    /// refuses (nothing outside it reaches a registry URL).
    pub fn parse(reference: &str) -> Option<Self> {
        if !is_valid(Kind::Image, reference) || reference.starts_with("sha256:") {
            return None;
        }
        let Reference { name, tag, digest } = split_reference(reference);
        let (registry, repository) = match (has_domain(name), name.split_once('/')) {
            (true, Some((registry, path))) => (registry.to_string(), path.to_string()),
            _ => (HUB.to_string(), name.to_string()),
        };
        let registry = match HUB_NAMES.contains(&registry.as_str()) {
            true => HUB.to_string(),
            false => registry,
        };
        // A bare hex id of 64 digits is an image id, not a repository.
        if repository.len() == 64 && repository.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let repository = match registry == HUB && !repository.contains('/') {
            true => format!("library/{repository}"),
            false => repository,
        };
        Some(Self {
            registry,
            repository,
            tag: tag.unwrap_or("latest").to_string(),
            digest: digest.map(str::to_string),
        })
    }

    /// `registry/repository`: what two references of one repository share.
    pub fn repository_key(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository:tag`: the tag a check asks about.
    pub fn tagged(&self) -> String {
        format!("{}:{}", self.repository_key(), self.tag)
    }

    /// Where the registry's API answers (Docker Hub's is not `docker.io`).
    pub fn api_host(&self) -> &str {
        match self.registry.as_str() {
            HUB => HUB_API,
            other => other,
        }
    }

    /// Whether the registry is on this machine's loopback, which Docker (and so Berth)
    /// speaks plain HTTP to.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => self.registry.split(':').next().unwrap_or_default(),
        };
        crate::outbound::is_loopback_host(host)
    }
}

/// The digests of `name`'s repository among an image's `RepoDigests`
/// (`registry/repo@sha256:…`, Docker Hub's written short).
pub fn digests_of(name: &ImageName, repo_digests: &[String]) -> Vec<String> {
    let key = name.repository_key();
    repo_digests
        .iter()
        .filter_map(|entry| {
            let parsed = ImageName::parse(entry)?;
            let digest = parsed.digest.clone()?;
            (parsed.repository_key() == key).then_some(digest)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(reference: &str) -> Option<String> {
        ImageName::parse(reference).map(|n| n.tagged())
    }

    #[test]
    fn docker_defaults_are_filled_in() {
        assert_eq!(
            tagged("nginx").as_deref(),
            Some("docker.io/library/nginx:latest")
        );
        assert_eq!(
            tagged("bitnami/redis:7").as_deref(),
            Some("docker.io/bitnami/redis:7")
        );
        assert_eq!(
            tagged("index.docker.io/library/nginx:1").as_deref(),
            Some("docker.io/library/nginx:1")
        );
        assert_eq!(
            tagged("127.0.0.1:5000/team/app:1").as_deref(),
            Some("127.0.0.1:5000/team/app:1")
        );
        assert_eq!(
            tagged("localhost/app").as_deref(),
            Some("localhost/app:latest")
        );
        let pinned = ImageName::parse("app:1@sha256:0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            pinned.digest.as_deref(),
            Some("sha256:0123456789abcdef0123456789abcdef")
        );
        assert_eq!(ImageName::parse("nginx").unwrap().api_host(), HUB_API);
    }

    #[test]
    fn ids_and_bad_references_are_no_names() {
        for bad in [
            "sha256:0123abcd",
            &"a".repeat(64),
            "x/../../containers/ID",
            "",
            "a b",
        ] {
            assert_eq!(ImageName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn repo_digests_match_by_repository() {
        let name = ImageName::parse("nginx:1.27").unwrap();
        let digests = [
            "nginx@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
            "127.0.0.1:5000/nginx@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".to_string(),
            "garbage".to_string(),
        ];
        assert_eq!(
            digests_of(&name, &digests),
            ["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
        );
    }

    #[test]
    fn loopback_registries_are_known() {
        for (reference, loopback) in [
            ("127.0.0.1:5000/a", true),
            ("localhost:5000/a", true),
            ("[::1]:5000/a", true),
            ("registry.example.com/a", false),
            ("nginx", false),
        ] {
            assert_eq!(
                ImageName::parse(reference).unwrap().is_loopback(),
                loopback,
                "{reference}"
            );
        }
    }
}
