//! `berth --help` documents every setting; bad settings are refused with a message.

use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_explains_each_setting() {
    let output = berth(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--bind",
        "BERTH_BIND",
        "--docker-host",
        "DOCKER_HOST",
        "--log",
        "BERTH_LOG",
        "--site-config",
        "Loopback",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn unsupported_endpoint_is_refused() {
    let output = berth(&["--docker-host", "ssh://example"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unsupported Docker endpoint"), "{stderr}");
}
