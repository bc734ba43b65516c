//! Leptos.toml (read by `berth` at run time) agrees with the cargo-leptos metadata in
//! Cargo.toml on every key both hold, and loads as Leptos site options.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn table(path: &str, keys: &[&str]) -> toml::Table {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let mut value: toml::Value = text.parse::<toml::Table>().unwrap().into();
    for key in keys {
        value = match value {
            toml::Value::Array(mut items) => items.remove(0),
            other => other,
        };
        value = value
            .get(key)
            .unwrap_or_else(|| panic!("{path}: no {key}"))
            .clone();
    }
    match value {
        toml::Value::Array(mut items) => items.remove(0).as_table().unwrap().clone(),
        toml::Value::Table(t) => t,
        other => panic!("{path}: not a table: {other}"),
    }
}

#[test]
fn leptos_toml_agrees_with_cargo_metadata() {
    let cargo = table("Cargo.toml", &["workspace", "metadata", "leptos"]);
    let runtime = table("Leptos.toml", &["package", "metadata", "leptos"]);
    let mut compared = Vec::new();
    for (key, value) in &runtime {
        // cargo-leptos calls the output name `name`; Leptos' runtime options `output-name`.
        let cargo_key = if key == "output-name" {
            "name"
        } else {
            key.as_str()
        };
        if let Some(cargo_value) = cargo.get(cargo_key) {
            assert_eq!(
                cargo_value, value,
                "Leptos.toml {key} differs from Cargo.toml {cargo_key}"
            );
            compared.push(key.as_str());
        }
    }
    for key in ["output-name", "site-root", "site-pkg-dir", "site-addr"] {
        assert!(
            compared.contains(&key),
            "{key} must be in both files; compared {compared:?}"
        );
    }
}

#[test]
fn leptos_toml_loads_as_site_options() {
    let options = berth::load_site(&root().join("Leptos.toml")).unwrap();
    assert_eq!(&*options.output_name, "berth");
    assert_eq!(&*options.site_pkg_dir, "pkg");
    assert!(
        options.site_addr.ip().is_loopback(),
        "Berth serves on loopback by default"
    );
}
