//! `faultmesh run`: realize a topology and forward its traffic until stopped.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use faultmesh_emulator::io::appliance::Appliance;
use faultmesh_emulator::io::dataplane::Options;
use faultmesh_emulator::io::{setup, sys};
use faultmesh_emulator::topology::{self, Topology};

use super::summary;

/// Describes where every node lives.
pub(crate) fn describe(app: &Appliance) -> String {
    let mut out = String::new();
    for (i, p) in app.places().iter().enumerate() {
        let n = &app.topology().nodes[i];
        let addrs: Vec<String> = n.addresses.iter().map(|a| a.to_string()).collect();
        out += &format!(
            "  {:<12} netns {:<24} {} {}\n",
            p.node,
            p.netns.as_deref().unwrap_or("(this namespace)"),
            p.interface,
            addrs.join(" ")
        );
    }
    out
}

pub(crate) fn require_privileges(what: &str) -> Option<ExitCode> {
    if sys::has_net_admin() {
        return None;
    }
    eprintln!(
        "faultmesh {what}: this needs root or CAP_NET_ADMIN, because it creates network namespaces, veth pairs and TUN devices.\n\
         Run it as root (e.g. `sudo faultmesh {what} ...`) or grant the capability: `sudo setcap cap_net_admin,cap_sys_admin+ep $(which faultmesh)`."
    );
    Some(ExitCode::from(2))
}

pub(crate) fn load(file: &Path) -> Result<Topology, ExitCode> {
    match topology::load_file(file) {
        Ok((t, _)) => Ok(t),
        Err((d, src)) => {
            eprint!("{}", d.render(&file.display().to_string(), &src));
            Err(ExitCode::from(1))
        }
    }
}

pub(crate) fn run(
    file: &Path,
    prefix: Option<String>,
    opts: Options,
    stats_json: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let topo = match load(file) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if let Some(code) = require_privileges("run") {
        return Ok(code);
    }
    sys::block_termination_signals().context("blocking signals")?;
    let prefix = prefix.unwrap_or_else(|| setup::default_prefix(&topo));
    let mut app = Appliance::start(topo, &prefix, opts)?;
    let t = app.topology();
    println!("faultmesh: running `{}` (prefix {prefix}, {} nodes, {} links)", t.name, t.nodes.len(), t.links.len());
    print!("{}", describe(&app));
    println!("faultmesh: ready — Ctrl-C or SIGTERM stops and removes everything");
    let sig = sys::wait_termination();
    eprintln!("faultmesh: signal {sig}: stopping");
    let last = app.handle().and_then(|h| h.snapshot());
    if let Some(s) = &last {
        println!("{}", summary::loop_line(&s.loop_stats));
    }
    let engine = app.stop();
    if let Some(e) = &engine {
        println!("{}", summary::links_table(&e.snapshot()));
    }
    if let (Some(path), Some(mut snap)) = (stats_json, last) {
        if let Some(e) = &engine {
            snap.engine = e.snapshot();
        }
        std::fs::write(path, serde_json::to_vec_pretty(&snap)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
