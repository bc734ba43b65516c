//! Issue 10, first part: accounts kept in the real database (SQLite in a data directory,
//! and the private PostgreSQL `make test` starts), managed with `berth user …` on the real
//! binary, passwords given on stdin.

use berth::{Location, Store, password};
use sqlx::Row;
use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

/// `berth user ARGS` against `location`, with `stdin` piped in.
fn user(location: &Location, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    match location {
        Location::DataDir(dir) => command.arg("--data-dir").arg(dir),
        Location::Url(url) => command.args(["--database-url", url]),
    };
    let mut child = command
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn refused(output: &Output, says: &str) {
    assert!(!output.status.success(), "refused: {says}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
}

async fn hash_of(location: &Location, name: &str) -> String {
    let store = Store::open(location).await.unwrap();
    let row = sqlx::query("SELECT password_hash FROM users WHERE name = $1")
        .bind(name)
        .fetch_one(&store.pool)
        .await
        .unwrap();
    let hash = row.try_get("password_hash").unwrap();
    store.pool.close().await;
    hash
}

const ALICE: &str = "alice's long password";
const BOB: &str = "bob's first password";
const BOB_NEW: &str = "bob's second password";

/// The same story on either database.
async fn manage_users(location: &Location) {
    ok(&user(
        location,
        &["add", "alice", "--role", "admin"],
        &format!("{ALICE}\n"),
    ));
    ok(&user(location, &["add", "bob"], &format!("{BOB}\r\n")));
    let list = ok(&user(location, &["list"], ""));
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "ROLE"],
            vec!["alice", "admin"],
            vec!["bob", "viewer"]
        ]
    );
    // Bad input, each with its reason.
    refused(
        &user(location, &["add", "alice"], &format!("{ALICE}\n")),
        "exists",
    );
    refused(
        &user(location, &["add", "Bad Name"], &format!("{ALICE}\n")),
        "user name",
    );
    refused(
        &user(location, &["add", "carol"], "short\n"),
        "12 to 1024 bytes",
    );
    refused(
        &user(location, &["add", "carol", "--role", "root"], "x\n"),
        "viewer, operator or admin",
    );
    refused(
        &user(location, &["passwd", "nobody"], &format!("{BOB}\n")),
        "no user named",
    );
    // Passwords are stored as argon2id hashes that verify, never as themselves.
    let before = hash_of(location, "bob").await;
    assert!(before.starts_with("$argon2id$"), "{before}");
    assert!(password::verify(BOB.into(), before.clone()).await);
    ok(&user(location, &["passwd", "bob"], &format!("{BOB_NEW}\n")));
    let after = hash_of(location, "bob").await;
    assert!(password::verify(BOB_NEW.into(), after.clone()).await);
    assert!(!password::verify(BOB.into(), after).await);
    // The last admin stays.
    refused(&user(location, &["remove", "alice"], ""), "last admin");
    refused(
        &user(location, &["role", "alice", "viewer"], ""),
        "last admin",
    );
    ok(&user(location, &["role", "bob", "admin"], ""));
    ok(&user(location, &["remove", "alice"], ""));
    refused(&user(location, &["remove", "alice"], ""), "no user named");
    let list = ok(&user(location, &["list"], ""));
    assert!(list.contains("bob") && !list.contains("alice"), "{list}");
}

/// Every file of the SQLite database: none holds a password as written.
fn no_plaintext(dir: &Path, passwords: &[&str]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for password in passwords {
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "a password in plain text in the database"
            );
        }
    }
}

#[tokio::test]
async fn users_in_sqlite_are_managed_from_the_cli() {
    let temp = std::env::temp_dir().join(format!("berth-it-accounts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    let dir = temp.join("data");
    let location = Location::DataDir(dir.clone());
    manage_users(&location).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is private");
    no_plaintext(&dir, &[ALICE, BOB, BOB_NEW]);
    std::fs::remove_dir_all(&temp).unwrap();
}

/// `make test` starts a private PostgreSQL and sets `BERTH_TEST_POSTGRES_URL`.
#[tokio::test]
async fn users_in_postgres_are_managed_from_the_cli() {
    crate::common::on_fresh_postgres(
        "users",
        |location| async move { manage_users(&location).await },
    )
    .await;
}

#[test]
fn a_database_url_that_is_not_postgres_is_refused() {
    let output = user(
        &Location::Url("mysql://u:secret@db/x".into()),
        &["list"],
        "",
    );
    refused(&output, "postgres://");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("secret"));
}

/// Two admins demote each other (or remove each other) at the same moment, many times:
/// one always stays. On PostgreSQL (READ COMMITTED) each statement alone would count two
/// admins and both would pass.
async fn the_last_admin_survives_a_race(location: &Location) {
    use app::model::Role;
    use berth::users;
    let store = Store::open(location).await.unwrap();
    let password = || "a long enough password".to_string();
    users::add(&store, "ann", Role::Admin, password())
        .await
        .unwrap();
    users::add(&store, "ben", Role::Admin, password())
        .await
        .unwrap();
    for round in 0..100 {
        let (a, b) = match round % 2 {
            0 => tokio::join!(
                users::set_role(&store, "ann", Role::Viewer),
                users::set_role(&store, "ben", Role::Viewer)
            ),
            _ => tokio::join!(users::remove(&store, "ann"), users::remove(&store, "ben")),
        };
        let admins = users::list(&store)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Admin)
            .count();
        assert_eq!(admins, 1, "round {round}: {a:?} {b:?}");
        let refused = [&a, &b].into_iter().filter(|r| r.is_err()).count();
        assert_eq!(refused, 1, "round {round}: {a:?} {b:?}");
        assert_eq!(a.as_ref().err().or(b.as_ref().err()).unwrap().status(), 409);
        // Back to two admins for the next round.
        for name in ["ann", "ben"] {
            match users::set_role(&store, name, Role::Admin).await {
                Ok(()) => {}
                Err(e) if e.status() == 404 => {
                    users::add(&store, name, Role::Admin, password())
                        .await
                        .unwrap();
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }
}

#[tokio::test]
async fn the_last_admin_survives_a_race_in_sqlite() {
    let temp = std::env::temp_dir().join(format!("berth-it-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    the_last_admin_survives_a_race(&Location::DataDir(temp.join("data"))).await;
    std::fs::remove_dir_all(&temp).unwrap();
}

#[tokio::test]
async fn the_last_admin_survives_a_race_in_postgres() {
    crate::common::on_fresh_postgres("race", |location| async move {
        the_last_admin_survives_a_race(&location).await
    })
    .await;
}
