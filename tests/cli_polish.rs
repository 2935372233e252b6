//! What operators expect of a command line: completions and a man page that
//! generate and parse, no panic when the output pipe closes, documented exit
//! codes, `validate --format json`, FAULTMESH_* variables for every `run`
//! option, the topology JSON Schema, `import containerlab`, and systemd
//! readiness.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::BIN;

fn repo(p: &str) -> String {
    format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).env_remove("FAULTMESH_API").env_remove("FAULTMESH_TOKEN").output().unwrap()
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("fm-cli-polish-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = run(&["completions", "bash"]);
    assert!(bash.status.success());
    let text = String::from_utf8(bash.stdout).unwrap();
    assert!(text.contains("complete -F _faultmesh") && text.contains("validate"), "{text}");
    let dir = tmpdir("completions");
    let f = dir.join("faultmesh.bash");
    std::fs::write(&f, &text).unwrap();
    let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    // Sourcing it registers the completion.
    let src = Command::new("bash")
        .args(["-c", &format!("source {} && complete -p faultmesh", f.display())])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&src.stdout).contains("faultmesh"), "{src:?}");

    let zsh = String::from_utf8(run(&["completions", "zsh"]).stdout).unwrap();
    assert!(zsh.starts_with("#compdef faultmesh"), "{zsh}");
    let fish = String::from_utf8(run(&["completions", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c faultmesh"), "{fish}");
    if have("fish") {
        std::fs::write(dir.join("f.fish"), &fish).unwrap();
        assert!(Command::new("fish").arg("-n").arg(dir.join("f.fish")).status().unwrap().success());
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn man_page_renders_and_documents_exit_codes() {
    let out = run(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH faultmesh 1"), "{}", &page[..page.len().min(500)]);
    for want in ["validate", "completions", "Exit codes", "appliance is unreachable"] {
        assert!(page.contains(want), "man page lacks {want:?}");
    }
    // groff (man -l) renders it without a warning.
    if have("groff") {
        let mut g = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        g.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
        let r = g.wait_with_output().unwrap();
        assert!(r.status.success());
        assert!(r.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&r.stderr));
        assert!(String::from_utf8_lossy(&r.stdout).contains("faultmesh"));
    }
    let dir = tmpdir("man");
    let out = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    for p in ["faultmesh.1", "faultmesh-run.1", "faultmesh-validate.1"] {
        let text = std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(text.contains(".TH"), "{p}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `faultmesh ARGS | head -N` with a real pipe closed after N lines.
fn head(args: &[&str], n: usize) -> (std::process::ExitStatus, Vec<String>, String) {
    let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..n {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l);
    }
    drop(out); // the reader goes away, as `head` does
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (child.wait().unwrap(), lines, err)
}

#[test]
fn no_command_panics_when_its_output_pipe_closes() {
    use std::os::unix::process::ExitStatusExt;
    // A topology whose validation prints far more than a pipe holds (64 KiB).
    let dir = tmpdir("sigpipe");
    let big = dir.join("big.yaml");
    let mut y = String::from("name: big\nnodes:\n");
    for i in 0..400 {
        y += &format!("  h{i}: {{kind: host, addresses: [10.1.{}.{}/16]}}\n", i / 200, i % 200 + 2);
    }
    y += "segments:\n  sw: {kind: switch}\nlinks:\n";
    for i in 0..400 {
        y += &format!(
            "  l{i}: {{a: h{i}, b: sw, a_to_b: {{delay: {}ms, loss: 1%}}, b_to_a: {{rate: 10mbit}}}}\n",
            i + 1
        );
    }
    std::fs::write(&big, y).unwrap();
    let big = big.to_str().unwrap();
    for args in [
        vec!["validate", big],
        vec!["validate", "--json", big],
        vec!["validate", "--format", "json", big],
        vec!["openapi"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["--help"],
    ] {
        let (status, lines, err) = head(&args, 2);
        assert_eq!(lines.len(), 2);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        // Ended quietly: done, or by SIGPIPE as `cat` would be.
        assert!(status.success() || status.signal() == Some(libc::SIGPIPE), "{args:?}: {status}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A one-shot HTTP server on loopback that answers every request with
/// `status` and `body`.
fn fake_appliance(status: &'static str, body: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            // Read the whole request (head and body) before answering:
            // closing a socket with unread data sends a reset, and the
            // client would see "connection reset" instead of the answer.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn exit_codes_are_distinct_and_documented() {
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    for code in
        ["0  success", "1  bad input", "2  usage", "3  the appliance is unreachable", "4  the appliance answered"]
    {
        assert!(help.contains(code), "--help lacks {code:?}:\n{help}");
    }
    // 1: bad input.
    let bad = run(&["validate", &repo("tests/broken-topologies/bad-unit.yaml")]);
    assert_eq!(bad.status.code(), Some(1));
    // 2: usage.
    assert_eq!(run(&["fault", "add"]).status.code(), Some(2));
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
    // 3: nothing listening (port 1 on loopback is closed).
    let down = run(&["status", "--api", "http://127.0.0.1:1", "--token", "t"]);
    assert_eq!(down.status.code(), Some(3), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).contains("no faultmesh appliance is listening"));
    // 4: the appliance answered with an error.
    let api = fake_appliance(
        "404 Not Found",
        r#"{"error": {"code": "not_found", "message": "no link `nope`", "hint": "faultmesh link show lists them"}}"#,
    );
    let e = run(&["link", "--api", &api, "--token", "t", "set", "nope", "delay", "1ms"]);
    assert_eq!(e.status.code(), Some(4), "{e:?}");
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(err.contains("no link `nope`") && err.contains("hint: faultmesh link show"), "{err}");
    let api = fake_appliance("401 Unauthorized", r#"{"error": {"code": "unauthorized", "message": "no"}}"#);
    assert_eq!(run(&["status", "--api", &api, "--token", "t"]).status.code(), Some(4));
    // Something that is not HTTP at all is as good as unreachable.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n");
        }
    });
    assert_eq!(run(&["status", "--api", &format!("http://{addr}"), "--token", "t"]).status.code(), Some(3));
}

#[test]
fn validate_format_json_gives_machine_readable_diagnostics() {
    let bad = repo("tests/broken-topologies/unroutable-gateway.yaml");
    let good = repo("topologies/wan.yaml");
    let out = run(&["validate", "--format", "json", &good, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["files"][0]["ok"], true);
    assert_eq!(v["files"][0]["topology"]["name"], "wan");
    assert_eq!(v["files"][1]["ok"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["file"], bad.as_str());
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(5), Some(14)), "{d}");
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().unwrap().contains("gateway 10.0.1.254 of `client` cannot be routed"), "{d}");
    assert!(d["hint"].is_string(), "{d}");
    // Each diagnostic has every key, `hint` null when there is none.
    for d in v["diagnostics"].as_array().unwrap() {
        for k in ["file", "line", "column", "length", "severity", "message", "hint"] {
            assert!(d.get(k).is_some(), "{k} missing in {d}");
        }
    }
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let ok = run(&["validate", "--format", "json", &good]);
    assert!(ok.status.success());
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!((v["ok"].as_bool(), v["diagnostics"].as_array().map(Vec::len)), (Some(true), Some(0)));
    // A YAML syntax error has a position too.
    let dir = tmpdir("vjson");
    std::fs::write(dir.join("syntax.yaml"), "nodes:\n  a: {kind: host\n").unwrap();
    let out = run(&["validate", "--format", "json", dir.join("syntax.yaml").to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["diagnostics"][0]["line"].as_u64().unwrap() >= 2, "{v}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_run_option_has_an_environment_variable() {
    let help = String::from_utf8(run(&["run", "--help"]).stdout).unwrap();
    for var in [
        "FAULTMESH_TOPOLOGY",
        "FAULTMESH_PREFIX",
        "FAULTMESH_STATS_JSON",
        "FAULTMESH_LISTEN",
        "FAULTMESH_NO_API",
        "FAULTMESH_SCRIPTS_DIR",
        "FAULTMESH_ALLOW_ATTACH",
        "FAULTMESH_TOKEN",
        "FAULTMESH_INSECURE_NO_AUTH",
        "FAULTMESH_BUSY_POLL_US",
        "FAULTMESH_SPIN_US",
        "FAULTMESH_REALTIME",
        "FAULTMESH_LOG_FORMAT",
    ] {
        assert!(help.contains(&format!("[env: {var}")), "run --help lacks {var}:\n{help}");
    }
    // Every long option of `run` is among them.
    let options = help.lines().filter(|l| l.trim_start().starts_with("--") || l.contains(", --")).count();
    let with_env = help.matches("[env: ").count();
    // `--help` has none; the file has one.
    assert!(with_env >= options, "{with_env} variables for {options} options (+ the file):\n{help}");
    // They are read: the file from FAULTMESH_TOPOLOGY, a bad prefix refused.
    let out = Command::new(BIN).arg("run").env("FAULTMESH_TOPOLOGY", "/nonexistent/topology.yaml").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/topology.yaml"), "{out:?}");
    let out = Command::new(BIN)
        .args(["run", &repo("topologies/wan.yaml")])
        .env("FAULTMESH_PREFIX", "../evil")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prefix"), "{out:?}");
}

#[test]
fn the_committed_schema_is_the_one_the_binary_prints() {
    let out = run(&["schema"]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(repo("docs/topology.schema.json")).unwrap();
    assert!(
        printed == committed,
        "docs/topology.schema.json is stale: run `cargo run -q -- schema > docs/topology.schema.json`"
    );
    let v: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(v["additionalProperties"], false);
    for k in ["name", "seed", "nodes", "segments", "links", "routes"] {
        assert!(v["properties"].get(k).is_some(), "{k}");
    }
    let node = v["definitions"]["NodeConfig"].to_string();
    for k in ["\"host\"", "\"attach\"", "\"container\"", "addresses", "gateway"] {
        assert!(node.contains(k), "NodeConfig lacks {k}: {node}");
    }
}

#[test]
fn import_containerlab_prints_a_topology() {
    let dir = tmpdir("clab");
    let lab = dir.join("lab.clab.yml");
    std::fs::write(
        &lab,
        "name: demo\ntopology:\n  nodes:\n    client: {kind: linux, image: alpine}\n    server: {kind: linux, image: nginx}\n  links:\n    - endpoints: [\"client:eth1\", \"server:eth1\"]\n",
    )
    .unwrap();
    let out = run(&["import", "containerlab", lab.to_str().unwrap(), "--impair", "delay 10ms"]);
    assert!(out.status.success(), "{out:?}");
    let y = String::from_utf8(out.stdout).unwrap();
    assert!(y.contains("container: \"clab-demo-client\"") && y.contains("both: {delay: \"10ms\"}"), "{y}");
    let out = run(&["import", "containerlab", lab.to_str().unwrap(), "--impair", "latency 10ms"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(run(&["import", "containerlab", "/nonexistent.clab.yml"]).status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `faultmesh run` under systemd's Type=notify: READY=1 arrives on the
/// socket once the appliance is up (stdout not a pipe: it goes to a file).
#[test]
fn run_notifies_systemd_when_ready() {
    if !common::privileged() {
        return;
    }
    use std::os::unix::net::UnixDatagram;
    let dir = tmpdir("notify");
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let prefix = common::unique_prefix();
    let topo = dir.join("t.yaml");
    std::fs::write(
        &topo,
        "name: notify\nnodes:\n  a: {kind: host, addresses: [10.0.0.2/24]}\n  b: {kind: host, addresses: [10.0.0.3/24]}\nsegments:\n  s: {kind: switch}\nlinks:\n  la: {a: a, b: s}\n  lb: {a: b, b: s}\n",
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("stdout.log")).unwrap();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["run", topo.to_str().unwrap(), "--prefix", &prefix, "--api", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(log)
        .spawn()
        .unwrap();
    let mut buf = [0u8; 1024];
    let got = sock.recv(&mut buf);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let n = got.expect("no READY=1 within 60 s");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.starts_with("READY=1\n"), "{msg}");
    assert!(msg.contains(&format!("MAINPID={}", child.id())), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(status.success(), "{status}");
    // Its stdout still reached the file, whole.
    let out = std::fs::read_to_string(dir.join("stdout.log")).unwrap();
    assert!(out.contains("faultmesh: ready") && out.contains("LINK"), "{out}");
    assert!(common::namespaces_with(&prefix).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
