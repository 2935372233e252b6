//! The CLI never offers root's token to another user's listener. The token
//! file is found by port; an unprivileged user listening on the same port
//! at another loopback address (here `[::1]`, where the appliance is on
//! 127.0.0.1) must not receive it when root points the CLI there.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Lab, privileged};

const TOPO: &str = "name: theft\nnodes:\n  a: {kind: host, addresses: [10.78.0.2/24]}\n  b: {kind: host, addresses: [10.78.0.3/24]}\nsegments:\n  s: {kind: switch}\nlinks:\n  la: {a: a, b: s}\n  lb: {a: b, b: s}\n";

/// Prints everything the first client sends, as `nobody`.
const LISTENER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::1", int(sys.argv[1])))
s.listen(1)
print("listening", flush=True)
s.settimeout(10)
try:
    c, _ = s.accept()
    c.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    sys.stdout.write(data.decode("latin-1"))
except socket.timeout:
    pass
"#;

#[test]
fn the_cli_does_not_send_the_token_to_another_users_listener() {
    if !privileged() {
        return;
    }
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() || Command::new("runuser").arg("--help").output().is_err() {
        eprintln!("skipping: needs IPv6 and runuser");
        return;
    }
    let lab = Lab::start(TOPO);
    let port: u16 = lab.api.as_deref().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    let mut thief = Command::new("runuser")
        .args(["-u", "nobody", "--", "python3", "-c", LISTENER, &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("runuser python3");
    let mut out = thief.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).expect("the listener started");
    assert_eq!(&first, b"listening\n");
    let cli = Command::new(BIN)
        .args(["status", "--api", &format!("http://[::1]:{port}")])
        .env_remove("FAULTMESH_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _ = thief.kill();
    let _ = thief.wait();
    let mut got = String::new();
    let _ = out.read_to_string(&mut got);
    assert!(
        got.contains("GET "),
        "the CLI did not reach the listener: {got:?} / {}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(!got.to_ascii_lowercase().contains("authorization"), "root's token went to nobody's listener:\n{got}");
    // The right address still gets it.
    let ok = common::cli(&lab, &["status"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
