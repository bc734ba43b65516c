//! What Berth calls an engine: a name checked against its grammar, as it appears in paths,
//! hub keys and metrics.

use crate::error::Error;
use std::fmt;

/// The default engine's name, when no engines are configured.
pub const LOCAL: &str = "local";

/// An engine's name: `[a-z0-9._-]{1,64}`, as it appears in paths and metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngineName(String);

impl EngineName {
    pub fn parse(name: &str) -> Result<Self, Error> {
        match app::model::is_plain_name(name) {
            true => Ok(Self(name.to_string())),
            false => Err(Error::bad_request(format!(
                "an engine name is 1 to 64 of a-z, 0-9, '.', '_' and '-', not {name:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EngineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(
            EngineName::parse("prod-1.eu").unwrap().as_str(),
            "prod-1.eu"
        );
        for bad in ["", "Prod", "a/b", "a b", &"x".repeat(65)] {
            assert_eq!(EngineName::parse(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
