//! What Berth reads of a verified ID token beyond what `openidconnect` checks: the groups
//! at a claim path (`groups`, `realm_access.roles`), from the token's own payload, which
//! the signature covers.

use crate::accounts::groups::kept;
use base64::Engine;
use serde_json::Value;

/// The claims of a compact JWT whose signature was verified already: its payload, parsed.
pub fn payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The groups at `path` in `claims`: a list of strings, or one string of names separated
/// by commas or spaces; nothing when the claim is absent or something else.
pub fn groups(claims: &Value, path: &[String]) -> Vec<String> {
    let found = path
        .iter()
        .try_fold(claims, |value, name| value.get(name.as_str()));
    match found {
        Some(Value::Array(items)) => kept(items.iter().filter_map(Value::as_str)),
        Some(Value::String(text)) => kept(text.split([',', ' '])),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_are_read_at_their_path() {
        let path = |p: &str| p.split('.').map(str::to_string).collect::<Vec<_>>();
        let claims = json!({
            "groups": ["admins", 7, "ops"],
            "realm_access": { "roles": ["berth-viewer"] },
            "flat": "a, b c",
            "odd": { "x": 1 },
        });
        assert_eq!(groups(&claims, &path("groups")), ["admins", "ops"]);
        assert_eq!(
            groups(&claims, &path("realm_access.roles")),
            ["berth-viewer"]
        );
        assert_eq!(groups(&claims, &path("flat")), ["a", "b", "c"]);
        assert!(groups(&claims, &path("odd")).is_empty());
        assert!(groups(&claims, &path("missing.deeper")).is_empty());
    }

    #[test]
    fn a_payload_is_the_middle_of_a_compact_token() {
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        assert_eq!(payload(&format!("h.{body}.s")), Some(json!({"sub": "a"})));
        assert_eq!(payload("nodots"), None);
        assert_eq!(payload("h.!!.s"), None);
    }
}
