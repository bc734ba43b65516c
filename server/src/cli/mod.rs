//! `berth user …` and `berth token …`: accounts and API tokens from the command line, for
//! the first admin and for scripts.
//! A password is never an argument (it would sit in shell history and `ps`): it is read
//! from a prompt without echo, or from stdin's first line when stdin is not a terminal.

pub mod health;

use crate::{
    accounts::{
        audit::{Audit, Event},
        parse_role, tokens, users,
    },
    store::{Location, Store},
};
use app::model::Role;
use clap::Subcommand;
use std::{
    io::{BufRead, IsTerminal},
    time::Duration,
};

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Manage the people who may sign in (in --data-dir or --database-url).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (for scripts and Prometheus: `Authorization: Bearer TOKEN`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Ask the Berth serving here (--bind, or the default address) whether it answers:
    /// exit 0 if it does, 1 if not. For a container's HEALTHCHECK; needs no database.
    Health,
}

#[derive(Subcommand, Debug, Clone)]
pub enum TokenCommand {
    /// List tokens (never the tokens themselves).
    List,
    /// Create a token; it is printed alone on the last line, this once.
    Create {
        name: String,
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
    },
    /// Revoke a token by its id (from `list`); its open sockets end.
    Revoke { id: String },
}

#[derive(Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// List users and their roles.
    List,
    /// Add a user. The password is prompted for, or read from stdin.
    Add {
        name: String,
        /// viewer (pages, logs, stats), operator (and container actions) or admin (and
        /// users, tokens, audit log).
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
    },
    /// Set a user's password (prompted for, or read from stdin).
    Passwd { name: String },
    /// Change a user's role; the last admin cannot be demoted.
    Role {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Remove a user; the last admin cannot be removed.
    Remove { name: String },
}

/// Runs `command` on the accounts at `location`; each change goes to the audit log (actor
/// `cli`), kept for `keep`.
pub async fn run(command: Command, location: &Location, keep: Duration) -> Result<(), String> {
    let store = Store::open(location).await.map_err(|e| e.to_string())?;
    let audit = Audit::new(store.clone(), keep);
    let (action, target) = command.audited();
    let result = match command {
        Command::User(command) => user(&store, command).await,
        Command::Token(command) => token(&store, command).await,
        Command::Health => Err("berth health asks the server, not the accounts".into()),
    };
    if let Some(action) = action {
        audit
            .record(Event {
                actor: "cli",
                action,
                target: Some(&target),
                address: None,
                ok: result.is_ok(),
            })
            .await;
    }
    store.pool.close().await;
    result
}

impl Command {
    /// The audit action and target of a command that changes something.
    fn audited(&self) -> (Option<&'static str>, String) {
        match self {
            Command::User(UserCommand::List)
            | Command::Token(TokenCommand::List)
            | Command::Health => (None, String::new()),
            Command::User(UserCommand::Add { name, role }) => {
                (Some("user.add"), format!("{name} ({})", role.as_str()))
            }
            Command::User(UserCommand::Passwd { name }) => (Some("user.password"), name.clone()),
            Command::User(UserCommand::Role { name, role }) => {
                (Some("user.role"), format!("{name} ({})", role.as_str()))
            }
            Command::User(UserCommand::Remove { name }) => (Some("user.remove"), name.clone()),
            Command::Token(TokenCommand::Create { name, role }) => {
                (Some("token.create"), format!("{name} ({})", role.as_str()))
            }
            Command::Token(TokenCommand::Revoke { id }) => (Some("token.revoke"), id.clone()),
        }
    }
}

async fn token(store: &Store, command: TokenCommand) -> Result<(), String> {
    let result = match command {
        TokenCommand::List => tokens::list(store).await.map(|tokens| {
            println!("{:12}  {:24}  {:8}  LAST USED", "ID", "NAME", "ROLE");
            for t in tokens {
                let used = t
                    .last_used
                    .map_or("never".to_string(), |ms| format!("{}", ms / 1000));
                println!("{:12}  {:24}  {:8}  {used}", t.id, t.name, t.role.as_str());
            }
        }),
        TokenCommand::Create { name, role } => {
            tokens::create(store, &name, role, None).await.map(|new| {
                println!(
                    "created token {} (id {}, {}); it is shown this once:",
                    new.info.name,
                    new.info.id,
                    role.as_str()
                );
                println!("{}", new.token);
            })
        }
        TokenCommand::Revoke { id } => tokens::revoke(store, &id)
            .await
            .map(|name| println!("revoked {name} (id {id})")),
    };
    result.map_err(|e| e.to_string())
}

async fn user(store: &Store, command: UserCommand) -> Result<(), String> {
    let result = match command {
        UserCommand::List => users::list(store).await.map(|users| {
            let width = users.iter().map(|u| u.name.len()).max().unwrap_or(4).max(4);
            println!("{:width$}  ROLE", "NAME");
            for user in users {
                println!("{:width$}  {}", user.name, user.role.as_str());
            }
        }),
        UserCommand::Add { name, role } => {
            let password = read_password(&name)?;
            users::add(store, &name, role, password)
                .await
                .map(|_| println!("added {name} ({})", role.as_str()))
        }
        UserCommand::Passwd { name } => {
            let password = read_password(&name)?;
            users::set_password(store, &name, password, None)
                .await
                .map(|()| println!("password of {name} changed"))
        }
        UserCommand::Role { name, role } => users::set_role(store, &name, role)
            .await
            .map(|()| println!("{name} is now {}", role.as_str())),
        UserCommand::Remove { name } => users::remove(store, &name)
            .await
            .map(|()| println!("removed {name}")),
    };
    result.map_err(|e| e.to_string())
}

/// From a prompt (twice, to catch typos) on a terminal; otherwise stdin's first line.
fn read_password(name: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("again: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_string())
}
