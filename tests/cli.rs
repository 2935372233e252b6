//! The command line: validation output and exit codes, and plain refusals
//! without privileges.

mod common;

use std::process::Command;

use common::BIN;

fn repo(p: &str) -> String {
    format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_accepts_examples_and_reports_positions() {
    let ok = Command::new(BIN)
        .args(["validate", &repo("topologies/wan.yaml"), &repo("topologies/star.yaml")])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("wan.yaml: ok") && text.contains("star.yaml: ok"), "{text}");
    assert!(text.contains("delay 20ms 2ms 25% distribution normal"), "{text}");

    let bad = repo("tests/broken-topologies/unroutable-gateway.yaml");
    let out = Command::new(BIN).args(["validate", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{bad}:5:14: gateway 10.0.1.254 of `client` cannot be routed")), "{err}");
    assert!(
        err.contains("5 |     gateway: 10.0.1.254") && err.contains("^^^^^^^^^^") && err.contains("hint:"),
        "{err}"
    );

    let json = Command::new(BIN).args(["validate", "--json", &repo("topologies/dual-stack.yaml")]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["links"]["access"]["a_to_b"]["rate"]["rate"], "20mbit");

    let missing = Command::new(BIN).args(["validate", "/nonexistent.yaml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent.yaml"));
}

#[test]
fn without_privileges_run_and_demo_say_so() {
    if !std::path::Path::new("/usr/bin/setpriv").exists() || !faultmesh_emulator::io::sys::has_net_admin() {
        eprintln!("skipping: needs root and setpriv to drop privileges");
        return;
    }
    for args in [vec!["demo"], vec!["run", &repo("topologies/wan.yaml")], vec!["cleanup"]] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", BIN])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must fail without privileges");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs root or CAP_NET_ADMIN"), "{args:?}: {err}");
    }
}

#[test]
fn client_commands_say_when_no_appliance_runs() {
    for args in [vec!["status"], vec!["link", "show"], vec!["fault", "list"], vec!["counters"]] {
        let out = Command::new(BIN).args(&args).env("FAULTMESH_API", "http://127.0.0.1:1").output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no faultmesh appliance is listening on 127.0.0.1:1"), "{args:?}: {err}");
    }
    let out = Command::new(BIN)
        .args(["link", "set", "wan", "jitter", "5ms"])
        .env("FAULTMESH_API", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("`jitter` is not an impairment"));
}

#[test]
fn api_off_loopback_needs_a_token() {
    if !faultmesh_emulator::io::sys::has_net_admin() {
        eprintln!("skipping: needs root");
        return;
    }
    let out = Command::new(BIN)
        .args(["run", &repo("topologies/wan.yaml"), "--api", "0.0.0.0:0"])
        .env_remove("FAULTMESH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not loopback: set a bearer token"));
}

#[test]
fn api_off_loopback_refuses_insecure_no_auth() {
    if !faultmesh_emulator::io::sys::has_net_admin() {
        eprintln!("skipping: needs root");
        return;
    }
    let out = Command::new(BIN)
        .args(["run", &repo("topologies/wan.yaml"), "--api", "0.0.0.0:0", "--insecure-no-auth"])
        .env_remove("FAULTMESH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not loopback") && err.contains("--insecure-no-auth is for loopback only"), "{err}");
    let out = Command::new(BIN)
        .args(["run", &repo("topologies/wan.yaml"), "--token", "x y"])
        .env_remove("FAULTMESH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("printable ASCII"), "{out:?}");
}

#[test]
fn openapi_prints_the_contract_offline() {
    let out = Command::new(BIN).arg("openapi").env("FAULTMESH_API", "http://127.0.0.1:1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/status"]["get"].is_object(), "paths carry their real prefix");
    assert!(doc["paths"]["/metrics"]["get"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(doc["paths"]["/api/v1/openapi.json"]["get"]["security"], serde_json::json!([{}]));
    // No untyped object where the answer has a shape.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["StatusView"]["properties"]["dataplane"].to_string().contains("DataplaneView"));
    assert!(schemas["DirView"]["properties"]["live"].to_string().contains("DirLive"));
    assert!(schemas["DirView"]["properties"]["configured"].to_string().contains("Impairments"));
    // String-or-map impairment fields are oneOf.
    let delay = &schemas["DelayInput"]["oneOf"];
    assert!(delay.to_string().contains(r#""type":"string""#) && delay.to_string().contains("DelayMap"), "{delay}");
}

#[test]
fn an_empty_topology_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("fm-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [
        ("empty.yaml", ""),
        ("blank.yaml", "  \n\n\t\n"),
        ("comments.yaml", "# nothing yet\n---\n"),
        ("braces.yaml", "{}\n"),
        ("name-only.yaml", "name: x\nnodes: {}\n"),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let out = Command::new(BIN).arg("validate").arg(&f).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("the topology is empty"), "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
