//! Logs: `tracing` on stderr, filtered by `RUST_LOG`, as text or JSON
//! (`--log-format json`), and every audit event in the log as well as in
//! the event stream. A real appliance, a real API request, its stderr read
//! back.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, privileged, unique_prefix};

const TOPO: &str = "name: logs\nnodes:\n  a: {kind: host, addresses: [10.77.0.2/24]}\n  b: {kind: host, addresses: [10.77.0.3/24]}\nsegments:\n  s: {kind: switch}\nlinks:\n  la: {a: a, b: s}\n  lb: {a: b, b: s}\n";

/// Kills the appliance and removes what it made, also on panic.
struct Guard {
    child: Option<Child>,
    prefix: String,
    dir: std::path::PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new(BIN).args(["cleanup", "--prefix", &self.prefix, "--force"]).stdout(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn request(addr: &str, token: &str, method: &str, path: &str, body: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[test]
fn json_logs_carry_every_audit_event() {
    if !privileged() {
        return;
    }
    let prefix = unique_prefix();
    let dir = std::env::temp_dir().join(format!("{prefix}logs"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("logs.yaml");
    std::fs::write(&file, TOPO).unwrap();
    let child = Command::new(BIN)
        .arg("run")
        .arg(&file)
        .args(["--prefix", &prefix, "--api", "127.0.0.1:0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut g = Guard { child: Some(child), prefix, dir };
    let child = g.child.as_mut().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("faultmesh exited before ready");
        }
        if let Some(rest) = line.strip_prefix("faultmesh: API on http://") {
            addr = rest.split('/').next().map(str::to_string);
        }
        if line.contains("faultmesh: ready") {
            break;
        }
    }
    let addr = addr.expect("API address printed");
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let token = std::fs::read_to_string(faultmesh_api::auth::token_path(port)).unwrap();
    let status = request(&addr, token.trim(), "PATCH", "/api/v1/links/la", r#"{"a_to_b": {"delay": "5ms"}}"#);
    assert_eq!(status, 200);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st}");
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    // Every stderr line is one JSON object.
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let audit = lines
        .iter()
        .find(|v| v["target"] == "faultmesh::audit" && v["fields"]["action"] == "link.patch")
        .unwrap_or_else(|| panic!("no link.patch audit event in the log:\n{err}"));
    assert_eq!(audit["level"], "INFO");
    assert!(audit["fields"]["detail"].as_str().is_some_and(|d| d.contains("5ms")), "{audit}");
    assert!(audit["fields"]["actor"].as_str().is_some_and(|a| a.contains("127.0.0.1")), "{audit}");
}
