//! What Berth reads of a compose file itself: whether it is YAML at all (with the line of
//! the first error, for the editor), its services' names, and that every file it names on
//! Berth's machine is inside the stack's folder. Everything else about the file is the
//! compose CLI's to judge.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// The services a compose file declares, in its order; or why it is not a compose file,
/// naming the line (`compose.yaml, line 3, column 7: …`) where the YAML breaks. Read from
/// the parser's events, never built into a tree: an alias is not expanded, so a small file
/// of nested aliases (a "billion laughs") costs no more than its size.
pub fn services(file: &str, text: &str) -> Result<Vec<String>, String> {
    read(file, text).map(|reader| reader.services)
}

/// The services, as [`services`], when every path the file names for the CLI to read on
/// Berth's machine stays in the stack's folder; else the first that does not, with its
/// line. The compose CLI and `docker stack deploy` read `env_file:`, `label_file:`,
/// `include:`, `extends: file:`, `configs:`/`secrets:` `file:` and build contexts on the
/// machine they run on, which is Berth's: an absolute or `..` path there would copy one of
/// Berth's files (an engine's TLS key, the database) into a container or a swarm config.
/// A path that names a variable is refused too: it is checked before the CLI fills it.
pub fn checked(file: &str, text: &str) -> Result<Vec<String>, String> {
    let reader = read(file, text)?;
    match reader.outside {
        Some((at, why)) => Err(format!(
            "{file}, line {}, column {}: {why}",
            at.line(),
            at.col() + 1
        )),
        None => Ok(reader.services),
    }
}

fn read(file: &str, text: &str) -> Result<Reader, String> {
    let mut reader = Reader::default();
    Parser::new_from_str(text)
        .load(&mut reader, true)
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
        Root::Mapping => Ok(reader),
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
    /// Anchored scalars' text (an alias to one is read as that text where it is used);
    /// an anchored mapping or sequence is `None`.
    anchors: HashMap<usize, Option<String>>,
    /// The first path that leaves the stack's folder (or what Berth cannot check), and
    /// where.
    outside: Option<(Marker, String)>,
    /// Documents begun (compose would merge a second one; Berth refuses it).
    documents: usize,
    /// Anchored mappings and sequences open now, with the depth they opened at.
    anchoring: Vec<(usize, usize)>,
    /// Anchored mappings and sequences holding a value that would be refused as a path
    /// (so an alias of one is refused where a path may be).
    tainted: std::collections::HashSet<usize>,
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

    /// Whether the node about to begin is a value (not a mapping's key).
    fn at_value(&self) -> bool {
        self.open.last().is_some_and(|o| !o.mapping || !o.key_next)
    }

    /// The keys from the top to the node about to begin (a sequence adds none, nor a
    /// merge key `<<`: what it merges is its mapping's own).
    fn keys(&self) -> Vec<&str> {
        self.open
            .iter()
            .filter(|o| o.mapping)
            .map(|o| o.key.as_deref().unwrap_or(""))
            .filter(|key| *key != "<<")
            .collect()
    }

    fn refuse(&mut self, at: Marker, why: String) {
        if self.outside.is_none() {
            self.outside = Some((at, why));
        }
    }

    /// Any scalar (key or value): the anchored collections it is in are tainted when it
    /// would be refused as a path.
    fn scalar_seen(&mut self, text: &str) {
        if !self.anchoring.is_empty() && suspicious(text) {
            self.tainted
                .extend(self.anchoring.iter().map(|(anchor, _)| *anchor));
        }
    }

    /// A mapping or sequence opened (just pushed), anchored or not.
    fn collection_opened(&mut self, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, None);
            self.anchoring.push((anchor, self.open.len()));
        }
    }

    fn collection_closed(&mut self) {
        self.open.pop();
        while self
            .anchoring
            .last()
            .is_some_and(|(_, depth)| *depth > self.open.len())
        {
            self.anchoring.pop();
        }
    }

    /// A scalar value at `at`: refused when its keys make it a path on Berth's machine
    /// that leaves the stack's folder.
    fn scalar_value(&mut self, text: &str, at: Marker) {
        if self.outside.is_some() || !self.at_value() {
            return;
        }
        let keys = self.keys();
        let refused = read_by_cli(&keys).and_then(|kind| outside_folder(kind, text));
        if let Some(why) = refused {
            let why = format!("{}: {why}", keys.last().copied().unwrap_or_default());
            self.refuse(at, why);
        }
    }

    /// An alias to an anchored mapping or sequence at `at`: refused where a path may be
    /// when what it names holds a value that would be refused as a path there (its values
    /// were read under other keys).
    fn collection_alias(&mut self, anchor: usize, at: Marker) {
        let tainted = self.tainted.contains(&anchor);
        if tainted {
            self.tainted
                .extend(self.anchoring.iter().map(|(anchor, _)| *anchor));
        }
        if !self.at_value() {
            return;
        }
        let keys = self.keys();
        if keys.last() == Some(&"provider") {
            return self.refuse(at, PROVIDER.into());
        }
        if let Some(key) = keys.iter().rev().find(|k| NAMES_PATHS.contains(k))
            && tainted
        {
            let why = format!(
                "{key}: the alias (*) names a path outside the stack's folder; a stack reads files from its own folder only"
            );
            self.refuse(at, why);
        }
    }

    /// A mapping begins: a service's `provider` (a program Compose runs on Berth's
    /// machine) is refused.
    fn mapping_value(&mut self, at: Marker) {
        if self.at_value() && self.keys().last() == Some(&"provider") {
            self.refuse(at, PROVIDER.into());
        }
    }
}

const PROVIDER: &str = "provider: a service's provider is a program Compose runs on Berth's machine; Berth does not run it";

/// Keys under which a compose file names files the CLI reads on its own machine.
const NAMES_PATHS: [&str; 8] = [
    "env_file",
    "label_file",
    "include",
    "build",
    "extends",
    "credential_spec",
    "configs",
    "secrets",
];

/// How a value is read by the CLI as a path on its machine.
#[derive(Clone, Copy, Debug, PartialEq)]
enum PathKind {
    /// A file or folder.
    Path,
    /// A build context: a folder, or a remote one (a Git or HTTP address, an image).
    Context,
    /// `NAME=CONTEXT` (a build's `additional_contexts` as a list).
    NamedContext,
    /// `ID` or `ID=PATH` (a build's `ssh` as a list).
    Ssh,
    /// `type=local,src=PATH` or `dest=PATH` (a build's `cache_from`, `cache_to`).
    Cache,
    /// Another compose file (`include`, `extends: file`): Berth checks the paths of one
    /// file, so it refuses them.
    Elsewhere,
}

/// Whether the value under `keys` (from the top) is a path the CLI reads, and how. Matched
/// on the last keys wherever they are, so a path inside an anchored mapping is checked
/// where it is written, whatever merges it later.
fn read_by_cli(keys: &[&str]) -> Option<PathKind> {
    let n = keys.len();
    let last = |i: usize| keys.get(n.wrapping_sub(i + 1)).copied().unwrap_or_default();
    if keys.contains(&"include") {
        return Some(PathKind::Elsewhere);
    }
    Some(match (last(2), last(1), last(0)) {
        (_, _, "env_file" | "label_file") => PathKind::Path,
        (_, "env_file" | "label_file", "path") => PathKind::Path,
        (_, "extends", "file") => PathKind::Elsewhere,
        (_, _, "build") | (_, "build", "context") => PathKind::Context,
        (_, "build", "dockerfile") => PathKind::Path,
        (_, "build", "additional_contexts") => PathKind::NamedContext,
        ("build", "additional_contexts", _) => PathKind::Context,
        (_, "build", "ssh") => PathKind::Ssh,
        ("build", "ssh", _) => PathKind::Path,
        (_, "build", "cache_from" | "cache_to") => PathKind::Cache,
        (_, "credential_spec", "file") => PathKind::Path,
        ("configs" | "secrets", _, "file") => PathKind::Path,
        _ => return None,
    })
}

/// Why `text`, read as `kind`, is not a path inside the stack's folder; `None` when it is.
fn outside_folder(kind: PathKind, text: &str) -> Option<String> {
    let after_name = |text: &str| text.split_once('=').map(|(_, v)| v.to_string());
    match kind {
        PathKind::Path => outside_path(text),
        PathKind::Context => match remote(text) {
            true => None,
            false => outside_path(text),
        },
        PathKind::NamedContext => {
            outside_folder(PathKind::Context, &after_name(text).unwrap_or_default())
        }
        PathKind::Ssh => after_name(text).and_then(|path| outside_path(&path)),
        PathKind::Cache => text.split(',').find_map(|part| match part.split_once('=') {
            Some(("src" | "dest", path)) => outside_path(path),
            _ => None,
        }),
        PathKind::Elsewhere => Some(format!(
            "`{text}` is another compose file: Berth checks the paths of one file, so put its services in this one"
        )),
    }
}

/// Whether `text`, or a piece of it after `,` or `=`, would be refused as a path.
fn suspicious(text: &str) -> bool {
    text.split(',')
        .flat_map(|part| [part, part.split_once('=').map_or("", |(_, v)| v)])
        .any(|part| outside_folder(PathKind::Context, part).is_some())
}

fn outside_path(text: &str) -> Option<String> {
    if text.contains('$') {
        return Some(format!(
            "`{text}` names a variable: Berth checks a file path before the CLI fills it in, so write it out"
        ));
    }
    if text.contains("://") {
        return Some(format!(
            "`{text}` is an address of a kind Berth does not allow here: a stack reads files from its own folder only"
        ));
    }
    if text.starts_with(['/', '\\', '~']) {
        return Some(format!(
            "`{text}` is not in the stack's folder: a stack reads files from its own folder only (write a relative path)"
        ));
    }
    if text.contains(',') {
        return Some(format!(
            "`{text}` has a comma, which a build may read as a list: name the file without one"
        ));
    }
    if text.split(['/', '\\']).any(|part| part == "..") {
        return Some(format!(
            "`{text}` leaves the stack's folder: a stack reads files from its own folder only"
        ));
    }
    None
}

/// A build context the CLI fetches rather than reads from disk.
fn remote(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "http://",
        "https://",
        "git://",
        "ssh://",
        "git@",
        "docker-image://",
        "service:",
    ]
    .iter()
    .any(|scheme| lower.starts_with(scheme))
}

impl MarkedEventReceiver for Reader {
    fn on_event(&mut self, event: Event, at: Marker) {
        let binary = |tag: &Option<yaml_rust2::parser::Tag>| {
            tag.as_ref().is_some_and(|t| t.suffix.ends_with("binary"))
        };
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.refuse(at, "a second YAML document (`---`): Compose would merge it into the first; write one".into());
                }
            }
            Event::Scalar(text, _, anchor, tag) => {
                if binary(&tag) {
                    self.refuse(
                        at,
                        "a !!binary value: Berth reads a compose file as text".into(),
                    );
                }
                if anchor > 0 {
                    self.anchors.insert(anchor, Some(text.clone()));
                }
                self.scalar_seen(&text);
                self.scalar_value(&text, at);
                // `services:` with nothing after it is null: no services.
                let null = text.is_empty() || text == "~" || text == "null";
                let services = self.node(Some(&text), Root::Other);
                self.bad_services |= services && !null;
            }
            Event::Alias(anchor) => {
                let text = self.anchors.get(&anchor).cloned().flatten();
                match &text {
                    Some(text) => {
                        self.scalar_seen(text);
                        self.scalar_value(text, at);
                    }
                    None => self.collection_alias(anchor, at),
                }
                let services = self.node(text.as_deref(), Root::Other);
                self.bad_services |= services;
            }
            Event::MappingStart(anchor, tag) => {
                if binary(&tag) {
                    self.refuse(
                        at,
                        "a !!binary value: Berth reads a compose file as text".into(),
                    );
                }
                self.mapping_value(at);
                let services = self.node(None, Root::Mapping);
                self.push(true, services);
                self.collection_opened(anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                if binary(&tag) {
                    self.refuse(
                        at,
                        "a !!binary value: Berth reads a compose file as text".into(),
                    );
                }
                if self.node(None, Root::Other) {
                    self.bad_services = true;
                }
                self.push(false, false);
                self.collection_opened(anchor);
            }
            Event::MappingEnd | Event::SequenceEnd => self.collection_closed(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{checked, services};

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

    #[test]
    fn paths_the_cli_reads_stay_in_the_stacks_folder() {
        let ok = [
            "services:\n  web:\n    image: a\n    env_file: [web.env, {path: ./x.env, required: false}]\n",
            "services:\n  web:\n    build: {context: ./web, dockerfile: Dockerfile, ssh: [default, key=./k], additional_contexts: [base=docker-image://alpine]}\n",
            "services:\n  web:\n    build: https://example.com/repo.git#main\n",
            "services:\n  web:\n    image: a\n    volumes: [/srv/data:/data, /var/run/docker.sock:/s]\n    environment: [HOME=/root]\n    labels: {path: /api}\n",
            "secrets:\n  s: {file: ./secret.txt}\nconfigs:\n  c: {file: conf/c.ini}\nservices: {}\n",
            "x-a: &a /etc/passwd\nservices:\n  web: {image: a, command: *a}\n",
            // Aliases of what holds no path outside, and anchors with absolute paths used
            // where no path is read.
            "x-b: &b {context: ., dockerfile: Dockerfile}\nx-s: &s [one, two]\nservices:\n  web: {build: *b, secrets: *s}\n",
            "x-c: &c {volumes: [/var/run/docker.sock:/s], labels: {at: /x}}\nservices:\n  web: {<<: *c, image: a}\n",
            "services:\n  web:\n    build: {context: ., cache_from: [type=local,src=./cache], cache_to: [type=inline]}\n",
            "services:\n  web: {image: a, labels: {provider: aws}}\n",
        ];
        for file in ok {
            assert!(checked("compose.yaml", file).is_ok(), "{file}");
        }
        let outside = [
            (
                "services:\n  web:\n    image: a\n    env_file: /etc/shadow\n",
                4,
            ),
            (
                "services:\n  web:\n    env_file:\n      - ok.env\n      - ../../berth.db\n",
                5,
            ),
            (
                "services:\n  web:\n    env_file: [{path: /root/.docker/config.json}]\n",
                3,
            ),
            ("services:\n  web:\n    \"env\\x5ffile\": /etc/shadow\n", 3),
            ("services:\n  web:\n    env_file: ${HOME}/.ssh/id_rsa\n", 3),
            ("services:\n  web:\n    env_file: ~/x\n", 3),
            ("services:\n  web:\n    build: /\n", 3),
            (
                "services:\n  web:\n    build: {context: ., dockerfile: ../../Dockerfile}\n",
                3,
            ),
            (
                "services:\n  web:\n    build: {context: ., ssh: [default=/root/.ssh/id_rsa]}\n",
                3,
            ),
            (
                "services:\n  web:\n    build: {context: ., additional_contexts: {b: /etc}}\n",
                3,
            ),
            (
                "services:\n  web:\n    build: {context: ., additional_contexts: [b=oci-layout:///etc]}\n",
                3,
            ),
            (
                "services:\n  web:\n    extends: {file: /srv/other/compose.yaml, service: web}\n",
                3,
            ),
            ("include:\n  - /srv/other/compose.yaml\nservices: {}\n", 2),
            (
                "include:\n  - path: [ok.yaml, ../other.yaml]\nservices: {}\n",
                2,
            ),
            // Another compose file, even in the folder: its own paths would go unchecked.
            ("include: [other.yaml]\nservices: {}\n", 1),
            (
                "services:\n  web:\n    extends: {file: .env, service: web}\n",
                3,
            ),
            (
                "services:\n  web:\n    build: {context: ., cache_from: [\"type=local,src=/var/lib\"]}\n",
                3,
            ),
            ("services:\n  web:\n    env_file: a,b.env\n", 3),
            (
                "services:\n  ai:\n    provider: {type: model, options: {model: x}}\n",
                3,
            ),
            (
                "x-p: &p {type: /usr/bin/anything}\nservices:\n  ai: {provider: *p}\n",
                3,
            ),
            // What a YAML reader turns into a path Berth would not see as text.
            (
                "services: {}\n---\nservices:\n  web: {image: a, env_file: /etc/shadow}\n",
                2,
            ),
            (
                "services:\n  web: {image: a, env_file: !!binary L2V0Yy9zaGFkb3c=}\n",
                2,
            ),
            (
                "services:\n  web: {image: a, !!binary ZW52X2ZpbGU=: x}\n",
                2,
            ),
            (
                "secrets:\n  s: {<<: {file: /etc/shadow}}\nservices: {}\n",
                2,
            ),
            (
                "services:\n  web:\n    build: {context: ., <<: {dockerfile: /etc/passwd}}\n",
                3,
            ),
            ("services:\n  web:\n    env_file: [{<<: {path: /x}}]\n", 3),
            (
                "secrets:\n  s:\n    file: /var/lib/berth/tls/key.pem\nservices: {}\n",
                3,
            ),
            ("configs:\n  c: {file: conf/../../c}\nservices: {}\n", 2),
            // Through anchors: a scalar read where it is used, a mapping where it is written,
            // an alias of a mapping or list refused where paths are.
            (
                "x-p: &p /etc/shadow\nservices:\n  web: {image: a, env_file: *p}\n",
                3,
            ),
            (
                "x-k: &k env_file\nservices:\n  web: {image: a, *k : /etc/shadow}\n",
                3,
            ),
            (
                "x-c: &c {env_file: /etc/shadow}\nservices:\n  web: {<<: *c, image: a}\n",
                1,
            ),
            (
                "x-f: &f {file: /etc/shadow}\nsecrets:\n  s: *f\nservices: {}\n",
                3,
            ),
            (
                "x-f: &f {file: /etc/shadow}\nsecrets:\n  s: {<<: *f}\nservices: {}\n",
                3,
            ),
            (
                "x-b: &b [/etc/shadow]\nservices:\n  web: {image: a, env_file: *b}\n",
                3,
            ),
            (
                "x-t: &t {configs: {c: {file: /etc/shadow}}}\n<<: *t\nservices: {}\n",
                1,
            ),
        ];
        for (file, line) in outside {
            let error = checked("compose.yaml", file).expect_err(file);
            assert_eq!(
                app::model::error_line(&error),
                Some(line),
                "{file}: {error}"
            );
            // The services are still read for the list, whatever the paths.
            assert!(services("compose.yaml", file).is_ok(), "{file}");
        }
        let error = checked("compose.yaml", outside[0].0).unwrap_err();
        assert!(
            error.contains("env_file: `/etc/shadow` is not in the stack's folder"),
            "{error}"
        );
    }
}
