//! Groups to roles: the groups an identity provider or a trusted proxy says a user is in
//! decide their role in Berth, at every sign-in (so a group taken away at the provider
//! lowers the role the next time). The highest role any of the user's groups maps to wins;
//! a user in no mapped group gets the default role, or is refused.

use app::model::Role;

/// What a user in no mapped group gets.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultRole {
    Viewer,
    Operator,
    /// Not let in at all.
    Refused,
}

/// The most groups read from one user: a provider that sends more is cut off here.
pub const MAX_GROUPS: usize = 256;
/// The longest group name kept (longer ones cannot be mapped, so they are dropped).
pub const MAX_GROUP: usize = 256;

/// `--group-role` pairs and `--default-role`.
#[derive(Clone, Debug)]
pub struct GroupRoles {
    pairs: Vec<(String, Role)>,
    default: DefaultRole,
}

/// No group mapped: everyone a viewer (what Berth has without `--group-role`).
impl Default for GroupRoles {
    fn default() -> Self {
        Self::new(Vec::new(), DefaultRole::Viewer)
    }
}

impl GroupRoles {
    pub fn new(pairs: Vec<(String, Role)>, default: DefaultRole) -> Self {
        Self { pairs, default }
    }

    /// The role of a user in `groups`; `None`: refused.
    pub fn role<S: AsRef<str>>(&self, groups: &[S]) -> Option<Role> {
        let mapped = self
            .pairs
            .iter()
            .filter(|(group, _)| groups.iter().any(|g| g.as_ref() == group))
            .map(|(_, role)| *role)
            .max();
        mapped.or(match self.default {
            DefaultRole::Viewer => Some(Role::Viewer),
            DefaultRole::Operator => Some(Role::Operator),
            DefaultRole::Refused => None,
        })
    }

    /// Whether some group makes its members admins (a way in for an admin without a
    /// local password).
    pub fn has_admin_group(&self) -> bool {
        self.pairs.iter().any(|(_, role)| *role == Role::Admin)
    }
}

/// One `--group-role` value, `GROUP=ROLE`; the group is what follows the provider's
/// spelling exactly (case included), so the last `=` separates them.
pub fn parse_pair(s: &str) -> Result<(String, Role), String> {
    let (group, role) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("expected GROUP=ROLE, not {s:?}"))?;
    if group.is_empty() || group.len() > MAX_GROUP || group.chars().any(char::is_control) {
        return Err(format!(
            "a group is 1 to {MAX_GROUP} bytes without control characters, not {group:?}"
        ));
    }
    Ok((group.to_string(), super::parse_role(role)?))
}

/// The groups of a comma-separated header (`Remote-Groups: admins,dev`): trimmed, empty
/// and overlong ones dropped, at most [`MAX_GROUPS`].
pub fn split_list(list: &str) -> Vec<String> {
    kept(list.split(','))
}

/// Of the groups a provider names: trimmed, empty and overlong ones dropped, at most
/// [`MAX_GROUPS`].
pub fn kept<'a>(groups: impl Iterator<Item = &'a str>) -> Vec<String> {
    groups
        .map(str::trim)
        .filter(|g| !g.is_empty() && g.len() <= MAX_GROUP)
        .take(MAX_GROUPS)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_mapped_role_wins_and_the_rest_get_the_default() {
        let pairs = ["ops=operator", "admins=admin", "team=a=viewer"]
            .iter()
            .map(|p| parse_pair(p).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(pairs[2].0, "team=a", "the last = separates");
        let map = GroupRoles::new(pairs.clone(), DefaultRole::Viewer);
        assert_eq!(map.role(&["ops", "admins"]), Some(Role::Admin));
        assert_eq!(map.role(&["ops"]), Some(Role::Operator));
        assert_eq!(map.role(&["Ops"]), Some(Role::Viewer), "exact spelling");
        assert_eq!(map.role::<&str>(&[]), Some(Role::Viewer));
        let strict = GroupRoles::new(pairs, DefaultRole::Refused);
        assert_eq!(strict.role(&["nobody"]), None);
        assert_eq!(strict.role(&["team=a"]), Some(Role::Viewer));
        assert!(strict.has_admin_group());
        for bad in ["admins", "=admin", "x=root", "a\u{7}=admin"] {
            assert!(parse_pair(bad).is_err(), "{bad}");
        }
        assert_eq!(split_list(" a, ,b,, "), vec!["a", "b"]);
        assert_eq!(split_list(&"g,".repeat(1000)).len(), MAX_GROUPS);
    }
}
