//! Which containers a rule watches: its [`Selector`]'s lists (engine, name, image, project,
//! label; `*` in names and images) and its CEL expression, compiled once when the rule is
//! written (422 with the parser's message and position, or the unknown variable) and run
//! against each container as an event or a list describes it.

use crate::error::Error;
use app::model::Selector;
use cel_interpreter::{Context, Program, Value};
use std::collections::HashMap;

/// The variables an expression may read.
const VARIABLES: [&str; 7] = [
    "name", "image", "labels", "project", "engine", "state", "health",
];
/// CEL's comprehension macros.
const LOOPS: [&str; 5] = ["all", "exists", "exists_one", "map", "filter"];
/// The most entries in one of a selector's lists, and the longest entry or expression.
const MAX_ENTRIES: usize = 100;
const MAX_ENTRY: usize = 256;
const MAX_EXPRESSION: usize = 4096;
/// The compose project label.
const PROJECT: &str = "com.docker.compose.project";

/// A container as a rule sees it.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub engine: String,
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    /// `running`, `exited`, … (what the event implies, or the list says).
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or empty without a health check.
    pub health: String,
}

impl Subject {
    pub fn project(&self) -> Option<&str> {
        self.labels.get(PROJECT).map(String::as_str)
    }
}

/// A selector, checked and compiled.
pub struct Compiled {
    selector: Selector,
    program: Option<Program>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// 400 for lists too long, 422 for an expression that does not compile or reads a
    /// variable Berth does not give.
    pub fn new(selector: &Selector) -> Result<Self, Error> {
        let lists = [
            ("engines", &selector.engines),
            ("names", &selector.names),
            ("images", &selector.images),
            ("projects", &selector.projects),
            ("labels", &selector.labels),
        ];
        for (what, list) in lists {
            if list.len() > MAX_ENTRIES {
                return Err(Error::bad_request(format!(
                    "at most {MAX_ENTRIES} {what} in a selector"
                )));
            }
            if let Some(long) = list.iter().find(|e| e.len() > MAX_ENTRY || e.is_empty()) {
                return Err(Error::bad_request(format!(
                    "a selector's {what} are 1 to {MAX_ENTRY} characters, not {} ({:?}…)",
                    long.len(),
                    long.chars().take(20).collect::<String>()
                )));
            }
        }
        let program = match selector.expression.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text.len() > MAX_EXPRESSION => {
                return Err(Error::new(
                    422,
                    format!("the expression is longer than {MAX_EXPRESSION} characters"),
                ));
            }
            Some(text) => Some(compile(text)?),
        };
        Ok(Self {
            selector: selector.clone(),
            program,
        })
    }

    /// Whether containers of `engine` may match (every engine when none is named).
    pub fn takes_engine(&self, engine: &str) -> bool {
        self.selector.engines.is_empty() || self.selector.engines.iter().any(|e| e == engine)
    }

    /// Whether the rule watches `subject`. An expression that fails on it (a label it
    /// does not have) or is not a boolean does not match.
    pub fn matches(&self, subject: &Subject) -> bool {
        let s = &self.selector;
        let any = |list: &[String], test: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|p| test(p))
        };
        let lists = self.takes_engine(&subject.engine)
            && any(&s.names, &|p| glob(p, &subject.name))
            && any(&s.images, &|p| glob(p, &subject.image))
            && any(&s.projects, &|p| subject.project() == Some(p))
            && any(&s.labels, &|p| match p.split_once('=') {
                Some((key, value)) => subject.labels.get(key).is_some_and(|v| v == value),
                None => subject.labels.contains_key(p),
            });
        lists && self.program.as_ref().is_none_or(|p| run(p, subject))
    }
}

fn compile(text: &str) -> Result<Program, Error> {
    // The parser panics on some inputs it should refuse: a panic is a refusal too.
    let parsed = std::panic::catch_unwind(|| Program::compile(text))
        .map_err(|_| Error::new(422, "the expression does not parse"))?;
    let program = parsed.map_err(|e| Error::new(422, format!("the expression: {e}")))?;
    let references = program.references();
    // Comprehensions nest into exponential work (`[1,2].all(x, [1,2].all(y, …))`); a
    // selector needs none, so the cost of an expression stays linear in its length.
    if let Some(loop_) = LOOPS.iter().find(|f| references.has_function(f)) {
        return Err(Error::new(
            422,
            format!("the expression uses {loop_}(), which a selector may not (no comprehensions)"),
        ));
    }
    if let Some(unknown) = references
        .variables()
        .into_iter()
        .find(|v| !VARIABLES.contains(v))
    {
        return Err(Error::new(
            422,
            format!(
                "the expression reads {unknown:?}, which Berth does not give (it gives {})",
                VARIABLES.join(", ")
            ),
        ));
    }
    Ok(program)
}

fn run(program: &Program, subject: &Subject) -> bool {
    let mut context = Context::default();
    let text = |s: &str| Value::from(s.to_string());
    context.add_variable_from_value("name", text(&subject.name));
    context.add_variable_from_value("image", text(&subject.image));
    context.add_variable_from_value("engine", text(&subject.engine));
    context.add_variable_from_value("state", text(&subject.state));
    context.add_variable_from_value("health", text(&subject.health));
    context.add_variable_from_value("project", text(subject.project().unwrap_or_default()));
    context.add_variable_from_value("labels", Value::from(subject.labels.clone()));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| program.execute(&context)));
    matches!(ran, Ok(Ok(Value::Bool(true))))
}

/// `*` for any run of characters; everything else as it is.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Subject {
        Subject {
            engine: "local".into(),
            id: "abc".into(),
            name: "shop-web-1".into(),
            image: "nginx:1.27".into(),
            labels: HashMap::from([
                (PROJECT.to_string(), "shop".to_string()),
                ("tier".to_string(), "front".to_string()),
            ]),
            state: "running".into(),
            health: "healthy".into(),
        }
    }

    fn selector(f: impl FnOnce(&mut Selector)) -> Compiled {
        let mut s = Selector::default();
        f(&mut s);
        Compiled::new(&s).unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob("web", "web"));
        assert!(!glob("web", "web-1"));
        assert!(glob("web-*", "web-1"));
        assert!(glob("*-1", "web-1"));
        assert!(glob("*b*1", "web-1"));
        assert!(glob("*", ""));
        assert!(!glob("a*a", "a"));
        assert!(!glob("*x*", "web"));
    }

    #[test]
    fn lists_and_expressions_match() {
        assert!(selector(|_| {}).matches(&web()));
        assert!(selector(|s| s.names = vec!["shop-*".into()]).matches(&web()));
        assert!(!selector(|s| s.names = vec!["db-*".into()]).matches(&web()));
        assert!(selector(|s| s.projects = vec!["shop".into()]).matches(&web()));
        assert!(selector(|s| s.labels = vec!["tier=front".into()]).matches(&web()));
        assert!(!selector(|s| s.labels = vec!["tier=back".into()]).matches(&web()));
        assert!(selector(|s| s.labels = vec!["tier".into()]).matches(&web()));
        assert!(!selector(|s| s.engines = vec!["other".into()]).matches(&web()));
        let cel = |e: &str| selector(|s| s.expression = Some(e.into()));
        assert!(cel("project == 'shop' && labels.tier == 'front'").matches(&web()));
        assert!(cel("name.startsWith('shop-') && health == 'healthy'").matches(&web()));
        assert!(!cel("state == 'exited'").matches(&web()));
        // A missing label fails the expression: no match, no panic.
        assert!(!cel("labels.missing == 'x'").matches(&web()));
        // Not a boolean.
        assert!(!cel("name").matches(&web()));
    }

    #[test]
    fn bad_expressions_are_refused_with_why() {
        let refused = |e: &str| {
            Compiled::new(&Selector {
                expression: Some(e.into()),
                ..Default::default()
            })
            .unwrap_err()
        };
        let e = refused("name == ");
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("at ["), "{e}");
        let e = refused("nmae == 'x'");
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("\"nmae\""), "{e}");
        let e = refused("[1, 2].all(x, [1, 2].all(y, x == y))");
        assert!(e.to_string().contains("all()"), "{e}");
    }
}
