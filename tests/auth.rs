//! Who may change the appliance: against a live `faultmesh run`, an
//! unprivileged local user (`nobody`, through `runuser`) can neither change
//! nor read anything and cannot read the token; root with the token can do
//! everything. Fails if the API stops asking for the token.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};

use common::*;

const TRIO: &str = r#"
name: trio
nodes:
  a: {kind: host, addresses: [10.7.0.1/24]}
  b: {kind: host, addresses: [10.7.0.2/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan}
  lb: {a: b, b: lan}
"#;

/// True when `runuser` and `curl` are here; under `CI=true` their absence
/// is a failure.
fn tools() -> bool {
    let have = |c: &str| {
        Command::new("sh").args(["-c", &format!("command -v {c}")]).output().is_ok_and(|o| o.status.success())
    };
    let ok = have("runuser") && have("curl");
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: this test needs runuser and curl");
        eprintln!("skipping: needs runuser and curl");
    }
    ok
}

fn as_nobody(args: &[&str]) -> Output {
    Command::new("runuser").args(["-u", "nobody", "--"]).args(args).output().expect("runuser")
}

/// `curl` as `user` (None: root): the status code and body.
fn curl(user: Option<&str>, method: &str, url: &str, body: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut args: Vec<String> = vec!["curl".into(), "-sS".into(), "-m".into(), "10".into(), "-X".into(), method.into()];
    args.extend(["-w".into(), "\n%{http_code}".into()]);
    if let Some(b) = body {
        args.extend(["-H".into(), "Content-Type: application/json".into(), "--data-binary".into(), b.into()]);
    }
    if let Some(t) = token {
        args.extend(["-H".into(), format!("Authorization: Bearer {t}")]);
    }
    args.push(url.into());
    let out = match user {
        Some(u) => Command::new("runuser").args(["-u", u, "--"]).args(&args).output(),
        None => Command::new(&args[0]).args(&args[1..]).output(),
    }
    .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// Every state-changing request, in an order that works for root (each
/// needs what the one before made: fault 1, a script to remove).
fn changes(topology: &str) -> Vec<(&'static str, &'static str, Option<String>)> {
    let moved = topology.replace("  lb: {a: b, b: lan}\n", "  lb: {a: b, b: lan, both: {delay: 1ms}}\n");
    vec![
        ("PATCH", "/api/v1/links/la", Some(r#"{"a_to_b": {"loss": "100%"}}"#.to_string())),
        ("POST", "/api/v1/faults", Some(r#"{"kind": "blackhole", "target": "all"}"#.to_string())),
        ("DELETE", "/api/v1/faults/1", None),
        ("POST", "/api/v1/faults", Some(r#"{"kind": "down", "target": "node=a", "scenario": "x"}"#.to_string())),
        ("DELETE", "/api/v1/faults?scenario=x", None),
        ("POST", "/api/v1/faults", Some(r#"{"kind": "down", "target": "node=b"}"#.to_string())),
        ("DELETE", "/api/v1/faults", None),
        ("POST", "/api/v1/killswitch", None),
        ("PUT", "/api/v1/links/la/script", Some(r#"{"source": "function filter(pkt) return DROP end"}"#.to_string())),
        ("DELETE", "/api/v1/links/la/script", None),
        (
            "PUT",
            "/api/v1/segments/lan/script",
            Some(r#"{"source": "function filter(pkt) return DROP end"}"#.to_string()),
        ),
        ("DELETE", "/api/v1/segments/lan/script", None),
        ("PUT", "/api/v1/topology", Some(moved)),
        ("POST", "/api/v1/topology/reload", None),
    ]
}

#[test]
fn an_unprivileged_user_can_change_nothing_and_root_with_the_token_can() {
    if !privileged() || !tools() {
        return;
    }
    let lab = Lab::start(TRIO);
    let api = lab.api.clone().unwrap();
    let port = lab.api_port().unwrap();

    // The token file: root's, 0600, in a directory only root can write.
    let path = faultmesh_api::auth::token_path(port);
    let meta = std::fs::metadata(&path).expect("faultmesh run wrote the token file");
    assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (0, 0o600), "{}", path.display());
    let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
    assert_eq!((dir.uid(), dir.permissions().mode() & 0o022), (0, 0), "the token directory");
    let token = lab.token.clone().expect("the lab read the token");
    assert_eq!(token.len(), 64, "256 bits in hex");
    let out = as_nobody(&["cat", path.to_str().unwrap()]);
    assert!(!out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(&token), "nobody reads the token");

    // nobody: every change refused (with and without a guessed token), and
    // reads too; only the contract is public.
    for (method, path, body) in changes(TRIO) {
        for guess in [None, Some("0"), Some(&token[..63])] {
            let (st, text) = curl(Some("nobody"), method, &format!("{api}{path}"), body.as_deref(), guess);
            assert!(st == 401 || st == 403, "nobody: {method} {path} with {guess:?} got {st}: {text}");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert!(v["error"]["message"].is_string(), "a JSON error: {text}");
        }
    }
    for path in ["/api/v1/status", "/api/v1/topology", "/api/v1/events", "/api/v1/counters", "/metrics"] {
        let (st, _) = curl(Some("nobody"), "GET", &format!("{api}{path}"), None, None);
        assert_eq!(st, 401, "nobody: GET {path}");
    }
    let (st, doc) = curl(Some("nobody"), "GET", &format!("{api}/api/v1/openapi.json"), None, None);
    assert_eq!(st, 200);
    assert!(doc.contains("securitySchemes"), "the contract says how to authenticate");

    // The CLI as nobody says why it cannot.
    let out = as_nobody(&[BIN, "fault", "list", "--api", &api]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run as root or pass --token"), "{err}");

    // Nothing changed.
    let (_, ev) = http(&lab, "GET", "/api/v1/events", None);
    assert!(ev.as_array().unwrap().is_empty(), "no change recorded: {ev}");
    let (_, faults) = http(&lab, "GET", "/api/v1/faults", None);
    assert!(faults.as_array().unwrap().is_empty(), "{faults}");
    lab.run_ok("a", &["ping", "-c", "2", "-i", "0.05", "-q", "10.7.0.2"]);

    // root with the token: every one of them works (the same curl, so the
    // refusals above were about the token, not the requests).
    let file = std::fs::read_to_string(lab_topology_file(&lab)).unwrap();
    for (method, path, body) in changes(&file) {
        let (st, text) = curl(None, method, &format!("{api}{path}"), body.as_deref(), Some(&token));
        assert!((200..300).contains(&st), "root: {method} {path} got {st}: {text}");
    }
    // And the CLI as root finds the token by itself.
    let out = cli(&lab, &["status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The file goes with the appliance.
    let mut lab = lab;
    lab.stop();
    assert!(!path.exists(), "{} removed on exit", path.display());
}

/// The topology file a lab runs from.
fn lab_topology_file(lab: &Lab) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}lab", lab.prefix)).join("topology.yaml")
}

#[test]
fn insecure_no_auth_asks_nothing_and_writes_no_token() {
    if !privileged() {
        return;
    }
    let lab = Lab::start_with(TRIO, &["--insecure-no-auth"]);
    assert!(lab.token.is_none());
    assert!(!faultmesh_api::auth::token_path(lab.api_port().unwrap()).exists());
    let (st, v) = http_as(&lab, None, "POST", "/api/v1/killswitch", None);
    assert_eq!(st, 200, "{v}");
}

#[test]
fn a_given_token_is_the_one_required() {
    if !privileged() {
        return;
    }
    let mine = "my-own-token-0123456789abcdef0123456789";
    let lab = Lab::start_with(TRIO, &["--token", mine]);
    assert_eq!(lab.token.as_deref(), Some(mine), "written to the token file for the CLI");
    assert_eq!(http_as(&lab, None, "GET", "/api/v1/status", None).0, 401);
    assert_eq!(http_as(&lab, Some("other"), "GET", "/api/v1/status", None).0, 401);
    assert_eq!(http_as(&lab, Some(mine), "GET", "/api/v1/status", None).0, 200);
    // The CLI: a wrong --token is refused with a clear message.
    let out =
        Command::new(BIN).args(["status", "--api", lab.api.as_deref().unwrap(), "--token", "stale"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the token was refused"), "{out:?}");
}
