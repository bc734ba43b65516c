//! Time-based one-time passwords (RFC 6238) as every authenticator app makes them:
//! HMAC-SHA1 over the number of 30-second steps since the epoch, cut to 6 digits (RFC
//! 4226's dynamic truncation), from a secret of 20 random bytes the app reads in base32
//! from an `otpauth://` link or its QR code. A code is accepted one step either side of
//! now (clocks drift, people type slowly), and never for a step at or before the last
//! one accepted: a code seen over a shoulder is spent.

use crate::http::gate::constant_time_eq;
use data_encoding::BASE32_NOPAD;
use ring::hmac;

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now a code is good for.
pub const SKEW: u64 = 1;

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::fill(&mut secret[..]);
    secret
}

/// The secret as authenticator apps take it typed in: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The code of `step` (RFC 4226, 6 digits).
pub fn code(secret: &[u8], step: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let at = (mac[mac.len() - 1] & 0x0f) as usize;
    let number = u32::from_be_bytes([mac[at] & 0x7f, mac[at + 1], mac[at + 2], mac[at + 3]]);
    format!("{:06}", number % 10u32.pow(DIGITS as u32))
}

/// The step of a moment (Unix seconds).
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The code in `typed` (6 digits, spaces allowed between them), if it is one.
fn digits(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Whether `typed` looks like a code (6 digits, spaces allowed between them).
pub fn looks_like_code(typed: &str) -> bool {
    digits(typed).is_some()
}

/// The step within [`SKEW`] of `now` whose code `typed` is, later than `after` (the last
/// step accepted); `None` when there is none.
pub fn matching_step(secret: &[u8], typed: &str, unix_secs: u64, after: u64) -> Option<u64> {
    let typed = digits(typed)?;
    let now = step_at(unix_secs);
    (now.saturating_sub(SKEW)..=now + SKEW)
        .filter(|step| *step > after)
        // Every candidate is computed and compared: the time does not say which matched.
        .fold(None, |found, step| {
            let same = constant_time_eq(code(secret, step).as_bytes(), typed.as_bytes());
            found.or(same.then_some(step))
        })
}

/// The `otpauth://` link an app reads from the QR code: Berth as the issuer, the user as
/// the account.
pub fn link(secret: &[u8], issuer: &str, account: &str) -> String {
    let encode = |s: &str| app::urls::encode_keeping(s, b"-._~");
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        encode(issuer),
        encode(account),
        base32(secret),
        encode(issuer),
    )
}

/// The QR code of `link`, as an SVG `data:` URL an `<img>` shows (the pages' policy
/// allows `data:` images, nothing else inline).
pub fn qr_code(link: &str) -> Result<String, String> {
    use base64::Engine;
    let code = qrcode::QrCode::new(link.as_bytes()).map_err(|e| e.to_string())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1), the last 6 of its 8 digits.
    #[test]
    fn the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (time, code8) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code(secret, step_at(time)), code8[2..], "{time}");
        }
    }

    #[test]
    fn a_code_is_good_near_now_and_once() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let step = step_at(now);
        let typed = code(&secret, step);
        assert_eq!(matching_step(&secret, &typed, now, 0), Some(step));
        let spaced = format!("{} {}", &typed[..3], &typed[3..]);
        assert_eq!(matching_step(&secret, &spaced, now, 0), Some(step));
        assert_eq!(
            matching_step(&secret, &typed, now + 30, 0),
            Some(step),
            "skew"
        );
        assert_eq!(
            matching_step(&secret, &typed, now + 90, 0),
            None,
            "too late"
        );
        assert_eq!(matching_step(&secret, &typed, now, step), None, "spent");
        let next = code(&secret, step + 1);
        assert_eq!(matching_step(&secret, &next, now, step), Some(step + 1));
        for bad in ["", "12345", "1234567", "12a456"] {
            assert_eq!(matching_step(&secret, bad, now, 0), None, "{bad}");
        }
        let link = link(&secret, "Berth", "alice");
        assert!(
            link.starts_with("otpauth://totp/Berth:alice?secret="),
            "{link}"
        );
        assert!(
            qr_code(&link)
                .unwrap()
                .starts_with("data:image/svg+xml;base64,")
        );
    }
}
