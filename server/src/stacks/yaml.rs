//! What Berth reads of a compose file itself: whether it is YAML at all (with the line of
//! the first error, for the editor) and its services' names. Everything else about the
//! file is the compose CLI's to judge.

use yaml_rust2::{Yaml, YamlLoader};

/// The services a compose file declares, in its order; or why it is not a compose file,
/// naming the line (`compose.yaml, line 3, column 7: …`) where the YAML breaks.
pub fn services(file: &str, text: &str) -> Result<Vec<String>, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| {
        let at = e.marker();
        format!(
            "{file}, line {}, column {}: {}",
            at.line(),
            at.col() + 1,
            e.info()
        )
    })?;
    let Some(top) = documents.first() else {
        return Err(format!(
            "{file} is empty: a compose file declares `services:`"
        ));
    };
    let Yaml::Hash(top) = top else {
        return Err(format!(
            "{file} is not a mapping: a compose file declares `services:` at its top"
        ));
    };
    match top.get(&Yaml::String("services".into())) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Hash(services)) => Ok(services
            .keys()
            .map(|key| match key {
                Yaml::String(name) => name.clone(),
                Yaml::Integer(n) => n.to_string(),
                other => format!("{other:?}"),
            })
            .collect()),
        Some(_) => Err(format!("{file}: `services` is not a mapping of services")),
    }
}

#[cfg(test)]
mod tests {
    use super::services;

    #[test]
    fn services_in_order_and_errors_at_their_line() {
        let file = "services:\n  web:\n    image: a\n  db:\n    image: b\n";
        assert_eq!(services("compose.yaml", file).unwrap(), ["web", "db"]);
        assert_eq!(
            services("compose.yaml", "version: '3'\n").unwrap(),
            Vec::<String>::new()
        );
        let broken = "services:\n  web:\n    image: a\n   bad: [\n";
        let error = services("compose.yaml", broken).unwrap_err();
        assert!(error.starts_with("compose.yaml, line 4, column"), "{error}");
        assert_eq!(app::model::error_line(&error), Some(4));
        assert!(services("compose.yaml", "").is_err());
        assert!(services("compose.yaml", "- a\n- b\n").is_err());
        assert!(services("compose.yaml", "services: [a]\n").is_err());
    }
}
