//! Update policies: what Berth does when a container's image has an update (`auto`,
//! `notify`, `off`). A container's `berth.update` label wins; then a rule kept in the
//! database for its name, then one for its compose project; then `--update-policy`.
//! Rules are read from the database each time they are needed (a handful of rows), so
//! replicas sharing a PostgreSQL agree and nothing is cached to go stale.

use crate::{accounts::store_error, docker::EngineName, error::Error, store::Store};
use app::model::{
    PolicyRule, PolicyScope, PolicySource, UpdatePolicy, validate_container_ref,
    validate_project_name,
};
use sqlx::Row;
use std::collections::HashMap;

/// Rules kept per engine at most: a bound on what one operator can store.
const MAX_RULES: i64 = 10_000;

/// The rules of one engine, and the default, resolved for a container.
pub struct Rules {
    rules: HashMap<(PolicyScope, String), UpdatePolicy>,
    default: UpdatePolicy,
}

impl Rules {
    /// No rule; the default `notify`.
    #[cfg(test)]
    pub fn none() -> Self {
        Self {
            rules: HashMap::new(),
            default: UpdatePolicy::Notify,
        }
    }

    /// `name`'s policy and where it comes from; `label`: its `berth.update` label (a value
    /// that is not a policy is ignored).
    pub fn resolve(
        &self,
        name: &str,
        project: Option<&str>,
        label: Option<&str>,
    ) -> (UpdatePolicy, PolicySource) {
        if let Some(policy) = label.and_then(UpdatePolicy::parse) {
            return (policy, PolicySource::Label);
        }
        if let Some(policy) = self.rules.get(&(PolicyScope::Container, name.to_string())) {
            return (*policy, PolicySource::Container);
        }
        if let Some(policy) =
            project.and_then(|p| self.rules.get(&(PolicyScope::Project, p.to_string())))
        {
            return (*policy, PolicySource::Project);
        }
        (self.default, PolicySource::Default)
    }
}

/// The rules, over the store.
pub struct Policies {
    store: Store,
    default: UpdatePolicy,
}

impl Policies {
    pub fn new(store: Store, default: UpdatePolicy) -> Self {
        Self { store, default }
    }

    /// The engine's rules, by scope and name.
    pub async fn list(&self, engine: &EngineName) -> Result<Vec<PolicyRule>, Error> {
        let rows = sqlx::query(
            "SELECT scope, name, policy FROM update_policies WHERE engine = $1
              ORDER BY scope, name",
        )
        .bind(engine.as_str())
        .fetch_all(&self.store.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let scope = PolicyScope::parse(&row.try_get::<String, _>("scope").ok()?)?;
                let policy = UpdatePolicy::parse(&row.try_get::<String, _>("policy").ok()?)?;
                Some(PolicyRule {
                    scope,
                    name: row.try_get("name").ok()?,
                    policy: Some(policy),
                })
            })
            .collect())
    }

    /// The engine's rules, to resolve containers with.
    pub async fn rules(&self, engine: &EngineName) -> Result<Rules, Error> {
        let rules = self
            .list(engine)
            .await?
            .into_iter()
            .filter_map(|r| Some(((r.scope, r.name), r.policy?)))
            .collect();
        Ok(Rules {
            rules,
            default: self.default,
        })
    }

    /// Sets a rule, or removes it (`policy: None`); 400 for a name that is not one.
    pub async fn set(&self, engine: &EngineName, rule: &PolicyRule) -> Result<(), Error> {
        match rule.scope {
            PolicyScope::Container => validate_container_ref(&rule.name)?,
            PolicyScope::Project => validate_project_name(&rule.name)?,
        }
        let scope = rule.scope.as_str();
        let done = match rule.policy {
            None => {
                sqlx::query(
                    "DELETE FROM update_policies WHERE engine = $1 AND scope = $2 AND name = $3",
                )
                .bind(engine.as_str())
                .bind(scope)
                .bind(&rule.name)
                .execute(&self.store.pool)
                .await
            }
            Some(policy) => {
                let count: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM update_policies WHERE engine = $1")
                        .bind(engine.as_str())
                        .fetch_one(&self.store.pool)
                        .await
                        .map_err(store_error)?;
                if count >= MAX_RULES {
                    return Err(Error::new(
                        409,
                        format!("{engine} has {count} update policies already: remove some first"),
                    ));
                }
                sqlx::query(
                    "INSERT INTO update_policies (engine, scope, name, policy)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (engine, scope, name) DO UPDATE SET policy = excluded.policy",
                )
                .bind(engine.as_str())
                .bind(scope)
                .bind(&rule.name)
                .bind(policy.as_str())
                .execute(&self.store.pool)
                .await
            }
        };
        done.map(drop).map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_wins_then_the_name_then_the_project_then_the_default() {
        let rules = Rules {
            rules: HashMap::from([
                ((PolicyScope::Container, "web".into()), UpdatePolicy::Off),
                ((PolicyScope::Project, "shop".into()), UpdatePolicy::Auto),
            ]),
            default: UpdatePolicy::Notify,
        };
        use PolicySource as S;
        use UpdatePolicy as P;
        assert_eq!(
            rules.resolve("web", Some("shop"), Some("AUTO")),
            (P::Auto, S::Label)
        );
        assert_eq!(
            rules.resolve("web", Some("shop"), Some("sometimes")),
            (P::Off, S::Container),
            "a label that is no policy is ignored"
        );
        assert_eq!(
            rules.resolve("db", Some("shop"), None),
            (P::Auto, S::Project)
        );
        assert_eq!(rules.resolve("db", None, None), (P::Notify, S::Default));
    }
}
