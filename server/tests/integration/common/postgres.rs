//! A database of its own in the private PostgreSQL `make test` starts.

/// Runs `test` on a database of its own in the private PostgreSQL `make test` starts
/// (`BERTH_TEST_POSTGRES_URL`), dropped afterwards.
pub async fn on_fresh_postgres<F, Fut>(tag: &str, test: F)
where
    F: FnOnce(berth::Location) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use berth::{Location, Store};
    let url = std::env::var("BERTH_TEST_POSTGRES_URL").expect(
        "BERTH_TEST_POSTGRES_URL: run `make test`, which starts a private PostgreSQL, \
         or `scripts/postgres.sh start` and export the URL it prints",
    );
    let db = format!("berth_it_{tag}_{}", std::process::id());
    let admin = Store::open(&Location::Url(url.clone())).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin.pool)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    test(Location::Url(format!("{base}/{db}"))).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin.pool)
        .await
        .unwrap();
}
