//! The schema registry through the `fjord` binary: `fjord broker
//! --schema-registry-listen`, `fjord schema-registry` standalone against that
//! broker process, and every `fjord schemas` subcommand against them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::process::BrokerProcess;

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `GET url/subjects` until it answers 200.
fn wait_until_serving(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    loop {
        let ok = runtime.block_on(async {
            reqwest::get(format!("{url}/subjects"))
                .await
                .is_ok_and(|r| r.status().is_success())
        });
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "no registry at {url}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn schemas(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fjord"))
        .arg("schemas")
        .args(args)
        .env("FJORD_SCHEMA_REGISTRY_URL", url)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run fjord schemas")
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = schemas(url, args);
    assert!(
        out.status.success(),
        "fjord schemas {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

struct Standalone(Child);

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn schemas_commands_against_the_broker_registry_and_a_standalone_one() {
    let port = free_port();
    let broker = BrokerProcess::start(&["--schema-registry-listen", &format!("127.0.0.1:{port}")]);
    let url = format!("http://127.0.0.1:{port}");
    wait_until_serving(&url);

    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "sale.avsc",
        r#"{"type":"record","name":"sale","fields":[{"name":"item","type":"string"},{"name":"quantity","type":"int"}]}"#,
    );
    let v2 = write(
        dir.path(),
        "sale-v2.avsc",
        r#"{"type":"record","name":"sale","fields":[{"name":"item","type":"string"},{"name":"quantity","type":"int"},{"name":"shop","type":"string","default":"oslo"}]}"#,
    );
    let bad = write(
        dir.path(),
        "sale-bad.avsc",
        r#"{"type":"record","name":"sale","fields":[{"name":"item","type":"string"},{"name":"quantity","type":"string"}]}"#,
    );

    assert_eq!(ok(&url, &["register", "sales-value", &v1]).trim(), "1");
    assert_eq!(
        ok(&url, &["check", "sales-value", &v2]).trim(),
        "compatible"
    );
    let refused = schemas(&url, &["check", "sales-value", &bad]);
    assert_eq!(refused.status.code(), Some(1));
    let messages = String::from_utf8(refused.stdout).unwrap();
    assert!(
        messages.contains("sale.quantity: type changed int -> string"),
        "{messages}"
    );
    assert_eq!(ok(&url, &["register", "sales-value", &v2]).trim(), "2");
    let failed = schemas(&url, &["register", "sales-value", &bad]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("(error 409)"));

    assert_eq!(ok(&url, &["list"]), "sales-value\n");
    let got: serde_json::Value =
        serde_json::from_str(&ok(&url, &["get", "sales-value", "1"])).unwrap();
    assert_eq!(got["fields"][1]["name"], "quantity");
    let latest: serde_json::Value =
        serde_json::from_str(&ok(&url, &["get", "sales-value"])).unwrap();
    assert_eq!(latest["fields"][2]["default"], "oslo");
    let missing = schemas(&url, &["get", "nope"]);
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("Subject 'nope' not found. (error 40401)"));

    assert_eq!(ok(&url, &["config"]).trim(), "BACKWARD");
    assert_eq!(
        ok(&url, &["config", "sales-value", "--level", "full"]).trim(),
        "FULL"
    );
    assert_eq!(ok(&url, &["config", "sales-value"]).trim(), "FULL");
    assert!(!schemas(&url, &["config", "--level", "sideways"])
        .status
        .success());

    // A standalone registry on the same broker process answers the same.
    let port2 = free_port();
    let standalone = Standalone(
        Command::new(env!("CARGO_BIN_EXE_fjord"))
            .args([
                "schema-registry",
                "--bootstrap-server",
                &broker.bootstrap,
                "--listen",
                &format!("127.0.0.1:{port2}"),
            ])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url2 = format!("http://127.0.0.1:{port2}");
    wait_until_serving(&url2);
    assert_eq!(ok(&url2, &["list"]), "sales-value\n");
    assert_eq!(ok(&url2, &["config", "sales-value"]).trim(), "FULL");
    assert_eq!(
        ok(&url2, &["get", "sales-value"]),
        ok(&url, &["get", "sales-value"])
    );

    // Deletes through the standalone one show on the broker's.
    assert_eq!(ok(&url2, &["delete", "sales-value", "1"]).trim(), "1");
    assert_eq!(ok(&url, &["delete", "sales-value"]).trim(), "2");
    assert_eq!(ok(&url, &["list"]), "");
    assert_eq!(ok(&url2, &["list", "--deleted"]), "sales-value\n");
    assert_eq!(
        ok(&url2, &["delete", "sales-value", "--permanent"]),
        "1\n2\n"
    );
    assert_eq!(ok(&url, &["list", "--deleted"]), "");
    drop(standalone);
}
