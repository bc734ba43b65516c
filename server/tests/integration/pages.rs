//! Server-rendered pages: complete HTML before any Wasm, with the right HTTP status.

use crate::common::{Fixture, TestServer};

#[tokio::test]
async fn pages_render_on_the_server() {
    let server = TestServer::start().await;
    let c = Fixture::running(
        "page",
        &[
            "-e",
            "PAGE_SECRET=do-not-render",
            "--label",
            "com.docker.compose.project=berth-it-pages",
        ],
    );

    let (status, html) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-testid=\"engine-version\""),
        "dashboard renders engine facts"
    );
    assert!(
        html.contains("state-running"),
        "dashboard counts running containers"
    );
    assert!(
        !html.contains("engine-down"),
        "no banner while the engine answers"
    );

    let (status, html) = server.get("/containers").await;
    assert_eq!(status, 200);
    assert!(html.contains(&c.name), "the list names the fixture");
    assert!(
        html.contains("berth-it-pages"),
        "the list shows the compose project"
    );
    assert!(html.contains(&format!("href=\"/containers/{}\"", c.id)));
    assert!(
        html.contains("disabled"),
        "the filter box is disabled until hydrated"
    );
    assert!(
        html.contains("/pkg/berth.js"),
        "the page loads the hydration script"
    );

    let (status, html) = server.get(&format!("/containers/{}", c.name)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&c.id));
    assert!(html.contains("sleep 600"), "the command is shown");
    assert!(
        html.contains("PAGE_SECRET") && !html.contains("do-not-render"),
        "env names only"
    );
}

#[tokio::test]
async fn missing_and_malformed_pages_have_error_statuses() {
    let server = TestServer::start().await;
    let (status, html) = server.get("/containers/berth-no-such-container").await;
    assert_eq!(status, 404);
    assert!(html.contains("Not found") && html.contains("berth-no-such-container"));

    let (status, html) = server.get("/containers/bad$name").await;
    assert_eq!(status, 400);
    assert!(html.contains("Bad request"));

    let (status, html) = server.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(html.contains("Not found"));
}
