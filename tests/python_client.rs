//! The Python client (`python/`) against live appliances: runs
//! `python3 -m pytest python/tests -q` with this build's binary. Needs root
//! (skipped with a reason otherwise, failed under CI=true) and the packages
//! of `python/requirements-test.txt` (`scripts/setup` installs them).

mod common;

use std::process::Command;

#[test]
fn python_client_tests_pass_against_a_live_appliance() {
    if !common::privileged() {
        return;
    }
    let repo = env!("CARGO_MANIFEST_DIR");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let probe = Command::new("python3").args(["-c", "import pytest, httpx, attrs, jsonschema, yaml"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = probe.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_else(|e| e.to_string());
        assert!(
            !ci,
            "CI=true: python3 with pytest, httpx, attrs, jsonschema and PyYAML is needed (scripts/setup): {why}"
        );
        eprintln!("skipping: python3 lacks the test packages (run scripts/setup): {why}");
        return;
    }
    let out = Command::new("python3")
        .args(["-m", "pytest", "python/tests", "-q", "-p", "no:cacheprovider", "-rs"])
        .current_dir(repo)
        .env("FAULTMESH_BIN", common::BIN)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("FAULTMESH_API")
        .env_remove("FAULTMESH_TOKEN")
        .output()
        .expect("python3 -m pytest");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "pytest failed:\n{text}");
    assert!(!text.contains(" skipped"), "a Python test skipped as root:\n{text}");
}
