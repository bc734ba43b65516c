//! An e-mail channel: one mail per alert over SMTP (lettre), STARTTLS or TLS checked
//! against the system's CA certificates, a login when given; plain SMTP only to a server on
//! loopback (a password or an alert never crosses a network in clear). The subject is the
//! alert's title, the body its message and facts.

use super::{facts::Facts, webhook::Answer};
use crate::{error::Error, outbound};
use app::model::MailSecurity;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, CertificateStore, Tls, TlsParameters},
    },
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long one mail (connect, TLS, login, send) may take.
const DEADLINE: Duration = Duration::from_secs(15);
const MAX_RECIPIENTS: usize = 20;
const MAX_FIELD: usize = 256;
const MAX_PASSWORD: usize = 8192;

/// An e-mail channel's settings that are not secret, as kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mail {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

impl Mail {
    /// Checks what an admin wrote (400 with why).
    pub fn check(
        host: &str,
        port: Option<u16>,
        security: MailSecurity,
        username: Option<&str>,
        from: &str,
        to: &[String],
    ) -> Result<Self, Error> {
        let host = host.trim();
        let plain_host = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if host.is_empty() || host.len() > 253 || !plain_host {
            return Err(Error::bad_request(
                "a mail server is a host name or an address (letters, digits, '.', '-')",
            ));
        }
        let port = port.unwrap_or(security.default_port());
        if port == 0 {
            return Err(Error::bad_request("a mail server's port is 1 to 65535"));
        }
        if security == MailSecurity::None && !outbound::is_loopback_host(host) {
            return Err(Error::bad_request(
                "mail without TLS goes only to a server on loopback: use starttls or tls",
            ));
        }
        let username = username.map(str::trim).filter(|u| !u.is_empty());
        if let Some(user) = username {
            check_text("username", user, MAX_FIELD)?;
        }
        mailbox("from", from)?;
        if to.is_empty() || to.len() > MAX_RECIPIENTS {
            return Err(Error::bad_request(format!(
                "a mail goes to 1 to {MAX_RECIPIENTS} recipients"
            )));
        }
        for each in to {
            mailbox("to", each)?;
        }
        Ok(Self {
            host: host.to_string(),
            port,
            security,
            username: username.map(str::to_string),
            from: from.trim().to_string(),
            to: to.iter().map(|t| t.trim().to_string()).collect(),
        })
    }

    /// Whether `other` signs in to the same server as the same user (a kept password
    /// may go to it).
    pub fn same_login(&self, other: &Mail) -> bool {
        (&self.host, self.port, self.security, &self.username)
            == (&other.host, other.port, other.security, &other.username)
    }

    /// What the API shows: the server and the recipients.
    pub fn target(&self) -> String {
        let scheme = match self.security {
            MailSecurity::Tls => "smtps",
            MailSecurity::Starttls | MailSecurity::None => "smtp",
        };
        format!(
            "{scheme}://{}:{} ({}) → {}",
            self.host,
            self.port,
            self.security.label(),
            self.to.join(", ")
        )
    }

    /// Sends `facts` as a mail; the server's last reply, or why none came.
    pub async fn send(&self, password: Option<&str>, facts: &Facts) -> Result<Answer, String> {
        let message = self.message(facts)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(DEADLINE));
        builder = match self.security {
            MailSecurity::Starttls => builder.tls(Tls::Required(self.tls()?)),
            MailSecurity::Tls => builder.tls(Tls::Wrapper(self.tls()?)),
            MailSecurity::None => builder.tls(Tls::None),
        };
        if let Some(user) = &self.username {
            let password = password.unwrap_or_default().to_string();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let transport = builder.build();
        // lettre's timeout is per command; this bounds the whole exchange.
        let whole = DEADLINE * 2;
        let sent = tokio::time::timeout(whole, transport.send(message))
            .await
            .map_err(|_| format!("{} did not answer within {whole:?}", self.host))?;
        let response = sent.map_err(|e| format!("{}: {e}", self.host))?;
        Ok(Answer {
            status: response.code().to_string().parse().unwrap_or_default(),
            text: response.message().collect::<Vec<_>>().join(" "),
        })
    }

    fn message(&self, facts: &Facts) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(mailbox("from", &self.from).map_err(|e| e.to_string())?)
            .subject(&facts.title);
        for to in &self.to {
            builder = builder.to(mailbox("to", to).map_err(|e| e.to_string())?);
        }
        let mut body = format!("{}\n\n", facts.message);
        let lines = [
            ("rule", &facts.rule),
            ("engine", &facts.engine),
            ("container", &facts.container),
            ("image", &facts.image),
            ("project", &facts.project),
            ("time", &facts.time),
        ];
        for (name, value) in lines.iter().filter(|(_, v)| !v.is_empty()) {
            body.push_str(&format!("{name}: {value}\n"));
        }
        if let Some(code) = facts.exit_code {
            body.push_str(&format!("exit code: {code}\n"));
        }
        body.push_str("\n-- \nBerth\n");
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("the mail cannot be written: {e}"))
    }

    fn tls(&self) -> Result<TlsParameters, String> {
        if roots().is_empty() {
            return Err(
                "no CA certificates found to check a mail server's TLS with (set SSL_CERT_FILE)"
                    .into(),
            );
        }
        // Only the system's roots: lettre's own store is left empty.
        let builder =
            TlsParameters::builder(self.host.clone()).certificate_store(CertificateStore::None);
        roots()
            .iter()
            .fold(builder, |b, root| b.add_root_certificate(root.clone()))
            .build_rustls()
            .map_err(|e| format!("TLS with {}: {e}", self.host))
    }
}

/// The system's roots as lettre takes them, read once; one lettre cannot read is left out
/// (one bad certificate must not fail every mail).
fn roots() -> &'static [Certificate] {
    static ROOTS: std::sync::LazyLock<Vec<Certificate>> = std::sync::LazyLock::new(|| {
        outbound::system_roots()
            .iter()
            .filter_map(|root| Certificate::from_der(root.to_vec()).ok())
            .collect()
    });
    &ROOTS
}

impl Mail {}

/// A password as it may be stored.
pub fn check_password(password: &str) -> Result<(), Error> {
    check_text("password", password, MAX_PASSWORD)
}

fn check_text(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max || value.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "the {what} is at most {max} bytes, without control characters"
        )));
    }
    Ok(())
}

fn mailbox(what: &str, address: &str) -> Result<Mailbox, Error> {
    address
        .trim()
        .parse()
        .map_err(|e| Error::bad_request(format!("{what}: {address:?} is not a mail address ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(host: &str, security: MailSecurity, to: &[&str]) -> Result<Mail, Error> {
        let to: Vec<String> = to.iter().map(|t| t.to_string()).collect();
        Mail::check(host, None, security, None, "Berth <berth@example.com>", &to)
    }

    #[test]
    fn settings_are_checked() {
        let mail = check(
            "mail.example.com",
            MailSecurity::Starttls,
            &["ops@example.com"],
        )
        .unwrap();
        assert_eq!(mail.port, 587);
        assert_eq!(
            mail.target(),
            "smtp://mail.example.com:587 (STARTTLS) → ops@example.com"
        );
        assert_eq!(
            check("a b", MailSecurity::Tls, &["o@x.org"])
                .unwrap_err()
                .status(),
            400
        );
        let plain = check("mail.example.com", MailSecurity::None, &["o@x.org"]);
        assert!(plain.unwrap_err().to_string().contains("loopback"));
        assert!(check("127.0.0.1", MailSecurity::None, &["o@x.org"]).is_ok());
        assert_eq!(
            check("m.org", MailSecurity::Tls, &[]).unwrap_err().status(),
            400
        );
        let bad = check("m.org", MailSecurity::Tls, &["not an address"]);
        assert!(bad.unwrap_err().to_string().contains("not a mail address"));
    }

    #[test]
    fn a_mail_says_the_alert() {
        let mail = check("127.0.0.1", MailSecurity::None, &["ops@example.com"]).unwrap();
        let message = mail.message(&Facts::sample()).unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(text.contains("Subject: Berth: a test message"), "{text}");
        assert!(text.contains("exit code: 1"), "{text}");
    }
}
