//! What Berth reads of a compose file itself: whether it is YAML at all (with the line of
//! the first error, for the editor) and its services' names. Everything else about the
//! file is the compose CLI's to judge.

use yaml_rust2::parser::{Event, EventReceiver, Parser};

/// The services a compose file declares, in its order; or why it is not a compose file,
/// naming the line (`compose.yaml, line 3, column 7: …`) where the YAML breaks. Read from
/// the parser's events, never built into a tree: an alias is not expanded, so a small file
/// of nested aliases (a "billion laughs") costs no more than its size.
pub fn services(file: &str, text: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::default();
    Parser::new_from_str(text)
        .load(&mut reader, false)
        .map_err(|e| {
            let at = e.marker();
            format!(
                "{file}, line {}, column {}: {}",
                at.line(),
                at.col() + 1,
                e.info()
            )
        })?;
    match reader.root {
        Root::Empty => Err(format!(
            "{file} is empty: a compose file declares `services:`"
        )),
        Root::Other => Err(format!(
            "{file} is not a mapping: a compose file declares `services:` at its top"
        )),
        Root::Mapping if reader.bad_services => {
            Err(format!("{file}: `services` is not a mapping of services"))
        }
        Root::Mapping => Ok(reader.services),
    }
}

#[derive(Default, PartialEq)]
enum Root {
    #[default]
    Empty,
    Mapping,
    Other,
}

/// An open mapping or sequence.
struct Open {
    mapping: bool,
    /// In a mapping: the next node is a key.
    key_next: bool,
    /// The last key read (a scalar's text).
    key: Option<String>,
    /// This is the top mapping's `services`.
    services: bool,
}

#[derive(Default)]
struct Reader {
    root: Root,
    open: Vec<Open>,
    services: Vec<String>,
    bad_services: bool,
}

impl Reader {
    /// A node begins: a key or a value of what is open. True when it is the value of the
    /// top mapping's `services` key.
    fn node(&mut self, scalar: Option<&str>, root: Root) -> bool {
        let depth = self.open.len();
        let Some(parent) = self.open.last_mut() else {
            if self.root == Root::Empty {
                self.root = root;
            }
            return false;
        };
        if !parent.mapping {
            return false;
        }
        if parent.key_next {
            parent.key_next = false;
            parent.key = scalar.map(str::to_string);
            if parent.services {
                match scalar {
                    Some(name) => self.services.push(name.to_string()),
                    None => self.bad_services = true,
                }
            }
            return false;
        }
        parent.key_next = true;
        depth == 1 && parent.key.as_deref() == Some("services")
    }

    fn push(&mut self, mapping: bool, services: bool) {
        self.open.push(Open {
            mapping,
            key_next: true,
            key: None,
            services,
        });
    }
}

impl EventReceiver for Reader {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Scalar(text, ..) => {
                // `services:` with nothing after it is null: no services.
                let null = text.is_empty() || text == "~" || text == "null";
                let services = self.node(Some(&text), Root::Other);
                self.bad_services |= services && !null;
            }
            Event::Alias(_) => {
                let services = self.node(None, Root::Other);
                self.bad_services |= services;
            }
            Event::MappingStart(..) => {
                let services = self.node(None, Root::Mapping);
                self.push(true, services);
            }
            Event::SequenceStart(..) => {
                if self.node(None, Root::Other) {
                    self.bad_services = true;
                }
                self.push(false, false);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.open.pop();
            }
            _ => {}
        }
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
        assert!(services("compose.yaml", "services: 3\n").is_err());
        assert_eq!(
            services("compose.yaml", "services:\n").unwrap(),
            Vec::<String>::new()
        );
        // Nested keys are not services; a service's own mapping is not read.
        let nested = "x:\n  services:\n    no: {}\nservices:\n  a:\n    services: [b]\n  c: {}\n";
        assert_eq!(services("compose.yaml", nested).unwrap(), ["a", "c"]);
    }

    #[test]
    fn aliases_are_never_expanded() {
        // Nine levels of ten aliases each: a tree of 10^9 nodes if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let list = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{list}]\n"));
        }
        text.push_str("services:\n  web: {image: busybox, x: *a9}\n");
        assert_eq!(services("compose.yaml", &text).unwrap(), ["web"]);
    }
}
