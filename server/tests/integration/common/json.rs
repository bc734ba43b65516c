//! Looking into the JSON arrays the API answers with: most tests ask whether an entry is
//! there, or want the one that is, and say which list it was missing from.

use serde_json::Value;

/// Whether any entry of the JSON array `list` passes `check` (panics if it is no array).
pub fn any_in(list: &Value, check: impl Fn(&Value) -> bool) -> bool {
    list.as_array().unwrap().iter().any(check)
}

/// The first entry of the JSON array `list` that passes `check`; panics naming `what` and
/// showing the list when there is none.
pub fn find_in<'a>(list: &'a Value, what: &str, check: impl Fn(&Value) -> bool) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|entry| check(entry))
        .unwrap_or_else(|| panic!("{what} in {list}"))
}
