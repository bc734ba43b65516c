//! The grammars of every value Berth puts into a Docker Engine API path: container, volume,
//! network, service, node and task references, exec ids, and image references (Docker's
//! distribution reference grammar). A value is checked before it goes anywhere near the
//! engine, so none can be a dot segment, hold a `/` where its segment must not, or change
//! which endpoint Docker serves (`x/../../containers/ID` once reached any endpoint through
//! an image name). The server also percent-encodes what it sends ([`encode_path`]).

use crate::model::ApiError;

/// What a value names, for its grammar and its error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An id, id prefix or name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
    Container,
    /// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    Volume,
    /// An id, id prefix or name.
    Network,
    /// A swarm service's id, id prefix or name.
    Service,
    /// A swarm node's id, id prefix or host name.
    Node,
    /// A swarm task's id or id prefix.
    Task,
    /// A swarm secret's id or name.
    Secret,
    /// A swarm config's id or name.
    Config,
    /// An exec's id: 64 hex digits, as Docker makes them.
    Exec,
    /// An image id (`sha256:…` or a hex prefix) or `[registry/]name[:tag][@digest]`.
    Image,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Container => "container id or name",
            Kind::Volume => "volume name",
            Kind::Network => "network id or name",
            Kind::Service => "service id or name",
            Kind::Node => "node id or name",
            Kind::Task => "task id",
            Kind::Secret => "secret id or name",
            Kind::Config => "config id or name",
            Kind::Exec => "exec id",
            Kind::Image => "image reference",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Kind::Image => "an id, or [registry/]name[:tag][@digest] as Docker spells them",
            Kind::Exec => "64 hex digits",
            Kind::Volume => {
                "2 to 255 letters, digits, '_', '.' or '-', starting with a letter or digit"
            }
            _ => "letters, digits, '_', '.' or '-', starting with a letter or digit",
        }
    }

    fn max_len(self) -> usize {
        match self {
            Kind::Service | Kind::Task | Kind::Secret | Kind::Config => 128,
            Kind::Node => 255,
            Kind::Exec => 64,
            Kind::Image => 512,
            Kind::Container | Kind::Volume | Kind::Network => 255,
        }
    }
}

/// Whether `value` is a `kind` as Docker spells it.
pub fn is_valid(kind: Kind, value: &str) -> bool {
    if value.is_empty() || value.len() > kind.max_len() {
        return false;
    }
    match kind {
        Kind::Image => is_image_reference(value),
        Kind::Exec => value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        Kind::Volume => value.len() >= 2 && is_plain(value),
        Kind::Container
        | Kind::Network
        | Kind::Service
        | Kind::Node
        | Kind::Task
        | Kind::Secret
        | Kind::Config => is_plain(value),
    }
}

/// `value` if it is a `kind`; a 400 that says what one looks like otherwise.
pub fn check(kind: Kind, value: &str) -> Result<(), ApiError> {
    if is_valid(kind, value) {
        return Ok(());
    }
    let shown: String = value.chars().take(80).collect::<String>();
    Err(ApiError::bad_request(format!(
        "invalid {} {:?}: {}",
        kind.what(),
        shown.escape_default().to_string(),
        kind.rule()
    )))
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`: Docker's names for containers, volumes and networks (and
/// every id, which is hex). Never `.` or `..`, never a `/`.
fn is_plain(value: &str) -> bool {
    let mut bytes = value.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// An image id or a reference, by the grammar of `distribution/reference`:
///
/// ```text
/// reference  := name [ ":" tag ] [ "@" digest ]
/// name       := [domain "/"] path-component ["/" path-component]*
/// domain     := host [":" port]     host := domain-component ["." domain-component]* | "[" ipv6 "]"
/// path-component := [a-z0-9]+ (separator [a-z0-9]+)*    separator := [_.] | "__" | "-"+
/// tag        := [\w][\w.-]{0,127}
/// digest     := algorithm ":" [0-9a-fA-F]{32,}
/// ```
///
/// The first component is a domain when it holds a `.` or `:`, is `localhost`, or has an
/// uppercase letter. The name is at most 255 characters.
pub fn is_image_reference(value: &str) -> bool {
    if let Some(hex) = value.strip_prefix("sha256:") {
        return (1..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let Reference { name, tag, digest } = split_reference(value);
    if digest.is_some_and(|d| !is_digest(d)) {
        return false;
    }
    if tag.is_some_and(|t| !is_tag(t)) || name.is_empty() || name.len() > 255 {
        return false;
    }
    let mut components = name.split('/');
    let first = components.next().unwrap_or_default();
    if has_domain(name) {
        if !is_domain_part(first) {
            return false;
        }
    } else if !is_path_component(first) {
        return false;
    }
    components.all(is_path_component)
}

/// A reference's parts as written, unchecked: `name[:tag][@digest]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Splits a reference: the digest after `@`, the tag after the last `:` that follows the
/// last `/` (a port's `:` comes before it).
pub fn split_reference(value: &str) -> Reference<'_> {
    let (rest, digest) = match value.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (value, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    Reference { name, tag, digest }
}

/// Whether a name's first component is a registry (it holds a `.` or `:`, is `localhost`,
/// or has an uppercase letter, and more components follow), as Docker decides it.
pub fn has_domain(name: &str) -> bool {
    match name.split_once('/') {
        Some((first, _)) => {
            first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase())
        }
        None => false,
    }
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+ (([_.] | "__" | "-"+) [a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !is_alnum_lower(first) || !is_alnum_lower(last) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_alnum_lower(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: one '.', one '_', two '_', or any number of '-'.
        let start = i;
        while i < bytes.len() && !is_alnum_lower(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`, host a dotted name or a bracketed IPv6 address.
fn is_domain_part(domain: &str) -> bool {
    let (host, port) = if let Some(inner) = domain.strip_prefix('[') {
        let Some((ip, after)) = inner.split_once(']') else {
            return false;
        };
        if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    host.split('.').all(|component| {
        let bytes = component.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    })
}

/// `[\w][\w.-]{0,127}`
fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ":" [0-9a-fA-F]{32,}`
pub fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let bytes = part.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphabetic()
            && bytes.iter().all(|b| b.is_ascii_alphanumeric())
    });
    algorithm_ok
        && hex.len() >= 32
        && hex.len() <= 128
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `value` as it goes into a Docker API path: every byte but unreserved characters and the
/// few the grammars allow (`:`, `@`, `+`, and `/` between an image's components) is
/// percent-encoded. For a checked value this changes at most an IPv6 registry's brackets;
/// it is the second wall should a grammar ever let something through.
pub fn encode_path(kind: Kind, value: &str) -> String {
    let keep: &[u8] = match kind {
        Kind::Image => b"-._~:@+/",
        _ => b"-._~:@+",
    };
    crate::urls::encode_keeping(value, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_as_docker_spells_them() {
        for good in [
            "busybox",
            "busybox:1.36",
            "library/busybox:latest",
            "docker.io/library/busybox",
            "localhost/app",
            "localhost:5000/team/app:v1.2-rc_3",
            "127.0.0.1:5000/a/b:1",
            "[::1]:5000/app",
            "registry.example.com/a__b/c-d/e.f:tag",
            "a---b",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "app:1@sha256:0123456789abcdef0123456789abcdef",
            "sha256:0123abcd",
            "0123abcd",
            "Registry.Example/app",
        ] {
            assert!(is_image_reference(good), "{good}");
            assert!(check(Kind::Image, good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "x/../../containers/ID",
            "x/..",
            "../x",
            "./x",
            "x/./y",
            "x//y",
            "/x",
            "x/",
            "-x",
            "X",
            "app:",
            "app:.tag",
            "app@sha256:short",
            "app@",
            "a..b",
            "a.-b",
            "a b",
            "a\\b",
            "a%2Fb",
            "a?b",
            "a#b",
            "sha256:",
            "sha256:xyz",
            "[::1/app",
            "host:port/app",
        ] {
            assert!(!is_image_reference(bad), "{bad}");
            assert_eq!(check(Kind::Image, bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn plain_names_never_hold_a_path() {
        for kind in [
            Kind::Container,
            Kind::Network,
            Kind::Service,
            Kind::Node,
            Kind::Task,
        ] {
            for good in ["web", "web.1", "a_b-c", "0123abcd"] {
                assert!(is_valid(kind, good), "{kind:?} {good}");
            }
            for bad in ["", ".", "..", "a/b", "-a", "a b", "%2e", "a;b", "é"] {
                assert!(!is_valid(kind, bad), "{kind:?} {bad}");
            }
        }
        assert!(
            !is_valid(Kind::Volume, "a"),
            "a volume name has two characters"
        );
        assert!(is_valid(Kind::Exec, &"a".repeat(64)));
        assert!(!is_valid(Kind::Exec, &"a".repeat(63)));
        assert!(!is_valid(Kind::Exec, &"g".repeat(64)));
    }

    #[test]
    fn encoding_keeps_checked_values_and_escapes_the_rest() {
        assert_eq!(encode_path(Kind::Image, "reg:5000/a/b:1"), "reg:5000/a/b:1");
        assert_eq!(encode_path(Kind::Image, "[::1]:5000/a"), "%5B::1%5D:5000/a");
        assert_eq!(encode_path(Kind::Container, "a/b"), "a%2Fb");
        assert_eq!(encode_path(Kind::Container, "a%b"), "a%25b");
    }
}
