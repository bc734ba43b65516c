//! The one way a value goes into a Docker Engine API path: checked against its grammar
//! ([`app::refs`]) and percent-encoded. bollard writes the value into the path as given and
//! resolves the result as a URL (dot segments included), so a value that was a path of its
//! own would change the endpoint Docker serves: every call that names a container, image,
//! volume, network, service, node, task or exec passes it through here first.

use crate::error::Error;
pub use app::refs::Kind;

/// `value` as the `kind` segment of a Docker API path; 400 when it is not one.
pub fn path(kind: Kind, value: &str) -> Result<String, Error> {
    app::refs::check(kind, value)?;
    Ok(app::refs::encode_path(kind, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The path Docker receives for `/{prefix}/{value}/{suffix}`, made as bollard makes it
    /// (`Url::parse` of the versioned URL, then `join` of the path).
    fn as_bollard_sends(path: &str) -> String {
        let url = url::Url::parse(&format!("http://docker/v1.41{path}")).unwrap();
        url.join(path).unwrap().path().to_string()
    }

    fn decode(text: &str) -> String {
        url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// What a value of `kind` may hold: every character the grammars use, the ones that
    /// make paths (`/`, `.`, `%`, `\`, `?`, `#`, `;`), and a few others.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9._:@/-]{1,40}",
            "[a-zA-Z0-9._:@/%\\\\?#; +\\[\\]-]{1,40}",
            "(\\.\\.?/|[a-z0-9]{1,5}/|%2[eE]|%2[fF]){1,8}[a-z0-9]{0,5}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Issue 25, item 5: `x/../../containers/ID` passed as an image reference reached
        /// any endpoint. No accepted value changes the path beyond its own segment(s).
        #[test]
        fn an_accepted_value_stays_in_its_segment(value in value()) {
            for kind in [
                Kind::Container, Kind::Image, Kind::Volume, Kind::Network,
                Kind::Service, Kind::Node, Kind::Task, Kind::Exec, Kind::Secret, Kind::Config,
            ] {
                let Ok(segment) = path(kind, &value) else { continue };
                let sent = format!("/images/{segment}/json");
                let received = as_bollard_sends(&sent);
                prop_assert_eq!(&received, &sent, "{:?} {:?}", kind, value);
                let inner = received
                    .strip_prefix("/images/")
                    .and_then(|r| r.strip_suffix("/json"))
                    .unwrap();
                prop_assert_eq!(decode(inner), value.clone());
                if kind != Kind::Image {
                    prop_assert!(!inner.contains('/'), "{:?} {:?}", kind, value);
                }
                for segment in inner.split('/') {
                    let decoded = decode(segment);
                    prop_assert!(!segment.is_empty() && decoded != "." && decoded != "..");
                }
            }
        }
    }

    #[test]
    fn the_review_s_reference_is_refused() {
        for bad in [
            "x/../../containers/ID",
            "x%2F..%2F..%2Fcontainers%2FID",
            "..",
            ".",
        ] {
            for kind in [Kind::Image, Kind::Container, Kind::Volume] {
                assert_eq!(path(kind, bad).unwrap_err().status(), 400, "{kind:?} {bad}");
            }
        }
        assert_eq!(
            path(Kind::Image, "reg:5000/a/b:1").unwrap(),
            "reg:5000/a/b:1"
        );
    }
}
