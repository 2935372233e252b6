//! Hostile topologies: values built to reach a shell, a path or the kernel
//! (newlines, shell metacharacters, `../`, absolute paths, 10 kB names,
//! unicode look-alikes, NUL bytes, option-like names) put into every field
//! that names something, through `faultmesh validate`, `faultmesh run` and
//! `PUT /api/v1/topology`. Each must be refused with a clear error, create no
//! file, and leave no namespace, interface or state file behind.
//!
//! These tests fail if the name grammar (`emulator/src/names.rs`) or the
//! script directory check (`topology/scripts.rs`) is weakened: the first
//! payload is the one that once ran a second command through `ip -batch`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Lab, http, privileged, unique_prefix};

/// A file a successful injection would create.
fn marker() -> PathBuf {
    std::env::temp_dir().join(format!("fm-owned-{}", std::process::id()))
}

/// Values that must never be accepted as a name.
fn payloads() -> Vec<(&'static str, String)> {
    let m = marker();
    let m = m.display();
    vec![
        ("newline + second ip command", format!("x\nnetns exec fm-demo-fabric touch {m}")),
        ("newline + netns add", "x\nnetns add fmevil".to_string()),
        ("shell separator", format!("x; touch {m}")),
        ("command substitution", format!("$(touch {m})")),
        ("backticks", format!("`touch {m}`")),
        ("parent path", "../../../tmp/fmevil".to_string()),
        ("absolute path", "/run/netns/fmevil".to_string()),
        ("option-like", "-all".to_string()),
        ("10 kB", "a".repeat(10_000)),
        ("fullwidth look-alike", "ｅｔｈ０".to_string()),
        ("cyrillic look-alike", "\u{430}1".to_string()),
        ("NUL byte", "x\u{0}y".to_string()),
        ("space", "a b".to_string()),
        ("tab", "a\tb".to_string()),
    ]
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The base topology with `value` put into `field`.
fn topology(field: &str, value: &str) -> String {
    let v = q(value);
    let (name, a_key, s_key, la_key, netns, extra_node, extra_link, script) = match field {
        "name" => (v.as_str(), "a", "s", "la", None, None, None, None),
        "node key" => ("t", v.as_str(), "s", "la", None, None, None, None),
        "segment key" => ("t", "a", v.as_str(), "la", None, None, None, None),
        "link key" => ("t", "a", "s", v.as_str(), None, None, None, None),
        "host netns" => ("t", "a", "s", "la", Some(v.as_str()), None, None, None),
        "attach interface" => (
            "t",
            "a",
            "s",
            "la",
            None,
            Some(format!("  c: {{kind: attach, interface: {v}}}\n")),
            Some("  lc: {a: c, b: S}\n".to_string()),
            None,
        ),
        "tun device" => (
            "t",
            "a",
            "s",
            "la",
            None,
            Some(format!("  c: {{kind: tun, device: {v}, addresses: [10.0.0.9/24]}}\n")),
            Some("  lc: {a: c, b: S}\n".to_string()),
            None,
        ),
        "attach netns" => (
            "t",
            "a",
            "s",
            "la",
            None,
            Some(format!("  c: {{kind: attach, interface: veth-x, netns: {v}}}\n")),
            Some("  lc: {a: c, b: S}\n".to_string()),
            None,
        ),
        "script file" => ("t", "a", "s", "la", None, None, None, Some(v.as_str())),
        other => panic!("unknown field {other}"),
    };
    let mut y = format!("name: {name}\nnodes:\n");
    y += &format!(
        "  {a_key}: {{kind: host, addresses: [10.0.0.2/24]{}}}\n",
        netns.map(|n| format!(", netns: {n}")).unwrap_or_default()
    );
    y += "  b: {kind: host, addresses: [10.0.0.3/24]}\n";
    y += &extra_node.unwrap_or_default();
    y += &format!("segments:\n  {s_key}: {{kind: switch}}\nlinks:\n");
    y += &format!(
        "  {la_key}: {{a: {a_key}, b: {s_key}{}}}\n",
        script.map(|s| format!(", script: {{file: {s}}}")).unwrap_or_default()
    );
    y += &format!("  lb: {{a: b, b: {s_key}}}\n");
    y += &extra_link.unwrap_or_default().replace('S', s_key);
    y
}

const FIELDS: [&str; 9] = [
    "name",
    "node key",
    "segment key",
    "link key",
    "host netns",
    "attach interface",
    "attach netns",
    "tun device",
    "script file",
];

/// Script paths that lead outside the topology's directory.
fn script_escapes() -> Vec<String> {
    vec!["/etc/passwd".into(), "../../../../../etc/shadow".into(), "/proc/self/environ".into()]
}

fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in FIELDS {
        for (what, p) in payloads() {
            out.push((format!("{f}: {what}"), topology(f, &p)));
        }
    }
    for p in script_escapes() {
        out.push((format!("script file: {p}"), topology("script file", &p)));
    }
    out
}

/// What a refused topology must not leave: namespaces and root-namespace
/// interfaces not made by other tests (theirs start with `fmt`), state files,
/// the marker.
#[derive(Debug, PartialEq)]
struct Leftovers {
    namespaces: BTreeSet<String>,
    links: BTreeSet<String>,
    state_files: BTreeSet<String>,
    marker: bool,
}

fn leftovers(own_prefix: &str) -> Leftovers {
    let foreign = |n: &str| n.starts_with("fmt") && !n.starts_with(own_prefix);
    let namespaces = faultmesh_emulator::io::netns::list().into_iter().filter(|n| !foreign(n)).collect::<BTreeSet<_>>();
    let out = Command::new("ip").args(["-o", "link", "show"]).output().expect("ip link");
    let links = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| !foreign(n))
        .collect();
    let state_files = std::fs::read_dir("/run/faultmesh")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(own_prefix.trim_end_matches('-')) || n.contains("evil"))
                .collect()
        })
        .unwrap_or_default();
    Leftovers { namespaces, links, state_files, marker: marker().exists() }
}

fn write(dir: &Path, i: usize, yaml: &str) -> PathBuf {
    let f = dir.join(format!("hostile-{i}.yaml"));
    std::fs::write(&f, yaml).unwrap();
    f
}

struct TmpDir(PathBuf);
impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(marker());
    }
}

fn tmp_dir() -> TmpDir {
    let d = std::env::temp_dir().join(format!("fm-hostile-{}", unique_prefix()));
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

#[test]
fn validate_refuses_every_hostile_value_at_its_line_and_column() {
    let dir = tmp_dir();
    for (i, (what, yaml)) in corpus().into_iter().enumerate() {
        let f = write(&dir.0, i, &yaml);
        let out = Command::new(BIN).arg("validate").arg(&f).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: accepted\n{yaml}\n{err}");
        // `file:line:column: message`, and the hostile text escaped: no
        // stderr line may start with the injected command.
        let prefix = format!("{}:", f.display());
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix)
                    && l[prefix.len()..].split(':').take(2).all(|n| n.parse::<u32>().is_ok())),
            "{what}: no file:line:column in\n{err}"
        );
        assert!(!err.lines().any(|l| l.starts_with("netns ")), "{what}: unescaped newline in\n{err}");
        assert!(err.len() < 20_000, "{what}: {} bytes of errors", err.len());
    }
    assert!(!marker().exists(), "a payload ran");
}

#[test]
fn run_refuses_every_hostile_value_and_leaves_nothing() {
    if !privileged() {
        return;
    }
    let dir = tmp_dir();
    let prefix = unique_prefix();
    let before = leftovers(&prefix);
    for (i, (what, yaml)) in corpus().into_iter().enumerate() {
        let f = write(&dir.0, i, &yaml);
        let out = Command::new(BIN)
            .arg("run")
            .arg(&f)
            .args(["--prefix", &prefix, "--no-api"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{what}: run accepted it");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("faultmesh: ready"),
            "{what}: run went ahead:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(leftovers(&prefix), before, "run left something behind");
    // The prefix itself is a name that reaches the kernel and a path.
    let f = write(&dir.0, 9999, &topology("name", "t"));
    // (An argument cannot carry a NUL byte: the OS refuses it first.)
    for (what, p) in payloads().into_iter().filter(|(_, p)| !p.contains('\0')) {
        let out = Command::new(BIN).arg("run").arg(&f).args(["--prefix", &p, "--no-api"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "prefix {what}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(leftovers(&prefix), before, "a hostile prefix left something behind");
}

#[test]
fn the_api_refuses_every_hostile_topology_and_leaves_nothing() {
    if !privileged() {
        return;
    }
    let lab = Lab::start(&topology("name", "t"));
    let before = leftovers(&lab.prefix);
    let deadline = Instant::now() + Duration::from_secs(120);
    for (what, yaml) in corpus() {
        let (status, body) = http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", yaml.as_bytes())));
        assert!((400..500).contains(&status), "{what}: {status} {body}");
        assert!(body["error"]["message"].is_string(), "{what}: no JSON error: {body}");
        assert!(Instant::now() < deadline, "too slow");
    }
    // Script files through the script route: only inside the allowed directory.
    for p in script_escapes() {
        let req = serde_json::json!({ "file": p }).to_string();
        let (status, body) = http(&lab, "PUT", "/api/v1/links/la/script", Some(("application/json", req.as_bytes())));
        assert_eq!(status, 422, "{p}: {body}");
        assert_eq!(body["error"]["field"], "file", "{body}");
        assert!(!body.to_string().contains("root:"), "the file's content leaked: {body}");
    }
    // An attach node arriving through the API takes no interface the
    // operator did not allow, not even the loopback.
    let mut attach = topology("name", "t");
    attach = attach.replace("  b: {kind: host", "  up: {kind: attach, interface: lo}\n  b: {kind: host");
    attach += "  lup: {a: up, b: s}\n";
    let (status, body) = http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", attach.as_bytes())));
    assert!((400..500).contains(&status), "attach lo: {status} {body}");
    assert!(body.to_string().contains("--allow-attach"), "{body}");
    // Nor a TUN/TAP device in the host's namespace (it would carry
    // addresses and routes there), nor a process's namespace.
    for (what, node) in [
        ("tap in the host namespace", "  t1: {kind: tap, addresses: [10.0.0.9/24]}\n"),
        ("named tap", "  t1: {kind: tap, device: fmtap0, addresses: [10.0.0.9/24]}\n"),
        ("process namespace", "  t1: {kind: container, pid: 1, addresses: [10.0.0.9/24]}\n"),
    ] {
        let mut y = topology("name", "t");
        y = y.replace("  b: {kind: host", &format!("{node}  b: {{kind: host"));
        y += "  lt: {a: t1, b: s}\n";
        let (status, body) = http(&lab, "PUT", "/api/v1/topology", Some(("application/yaml", y.as_bytes())));
        assert!((400..500).contains(&status), "{what}: {status} {body}");
        assert!(body.to_string().contains("allow"), "{what}: {body}");
    }
    let (status, topo) = http(&lab, "GET", "/api/v1/topology", None);
    assert_eq!(status, 200);
    assert_eq!(topo["name"], "t", "the running topology changed: {topo}");
    assert_eq!(topo["nodes"].as_object().map(|o| o.len()), Some(2), "{topo}");
    assert_eq!(leftovers(&lab.prefix), before, "the API left something behind");
}
