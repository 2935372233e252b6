//! The served OpenAPI document is the contract: schemathesis generates
//! requests for every operation from `/api/v1/openapi.json` of a live
//! appliance (with the token) and checks that no answer is a 5xx and every
//! answer conforms to the documented status codes, content types and
//! response schemas. Bounded: a fixed number of examples per operation and
//! a fixed seed (all four phases take about 10 s here); settings in
//! `tests/schemathesis.toml`.
//!
//! Excluded: `GET /api/v1/events/stream`, a server-sent-event stream that by
//! design never ends (its own tests in `api/tests/api.rs` cover it).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const TOPO: &str = r#"
name: st
nodes:
  a: {kind: host, addresses: [10.7.0.1/24], labels: {tier: web}}
  b: {kind: host, addresses: [10.7.0.2/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan, both: {delay: 1ms}}
  lb: {a: b, b: lan}
"#;

/// Examples per operation and phase.
const MAX_EXAMPLES: &str = "20";

fn schemathesis() -> Option<String> {
    let ok = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: schemathesis must be installed (scripts/setup installs it)"
        );
        eprintln!("skipping: schemathesis is not installed (bash scripts/setup installs it)");
        return None;
    }
    Some("schemathesis".into())
}

#[test]
fn the_live_api_keeps_its_openapi_contract() {
    if !privileged() {
        return;
    }
    let Some(st) = schemathesis() else { return };
    let lab = Lab::start(TOPO);
    let base = lab.api.clone().unwrap();
    let token = lab.token.clone().expect("token");
    // Its own working directory: schemathesis and hypothesis keep state
    // (`.schemathesis/`, `.hypothesis/`) in the current directory.
    let report = std::env::temp_dir().join(format!("{}schemathesis", lab.prefix));
    std::fs::create_dir_all(&report).unwrap();
    let t0 = Instant::now();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let out = Command::new(&st)
        .args(["--config-file", config])
        .args(["run", &format!("{base}/api/v1/openapi.json"), "--url", &base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", "1", "--workers", "1"])
        // Nothing written into the source tree (it would keep failing examples).
        .args(["--generation-database", "none"])
        .args(["--exclude-path", "/api/v1/events/stream"])
        // No --max-time: with it, fuzzing and stateful phases repeat until
        // the budget is spent; the example count bounds the run instead.
        .args(["--request-timeout", "10", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .current_dir(&report)
        .output()
        .expect("run schemathesis");
    let took = t0.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&report);
    eprintln!("schemathesis took {took:?}");
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    assert!(took < Duration::from_secs(180), "bounded run took {took:?}");
    // The appliance survived it and still forwards.
    let (code, _) = http(&lab, "GET", "/api/v1/status", None);
    assert_eq!(code, 200);
    // Back to the file's topology and no faults, whatever was patched.
    let (code, v) = http(&lab, "POST", "/api/v1/topology/reload", None);
    assert_eq!(code, 200, "{v}");
    let _ = http(&lab, "POST", "/api/v1/killswitch", None);
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "-q", "10.7.0.2"]);
}
