//! `faultmesh run`: realize a topology and forward its traffic until stopped.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use faultmesh_emulator::engine::Engine;
use faultmesh_emulator::io::dataplane::{DataPlane, DataPlaneHandle, Options};
use faultmesh_emulator::io::{self, setup, sys};
use faultmesh_emulator::topology::{self, Topology};

use super::summary;

/// A running appliance: devices, data plane, and what to undo.
pub(crate) struct Appliance {
    pub topo: Topology,
    pub instance: Option<setup::Instance>,
    pub dataplane: Option<DataPlane>,
}

impl Appliance {
    /// Builds the devices and starts forwarding.
    pub(crate) fn start(topo: Topology, prefix: &str, opts: Options) -> anyhow::Result<Appliance> {
        let (instance, ports) = setup::realize(&topo, prefix)?;
        let engine = Engine::new(&topo, io::now());
        let dataplane = match DataPlane::start(engine, ports, opts) {
            Ok(d) => d,
            Err(e) => {
                let _ = instance.teardown();
                return Err(e).context("starting the data plane");
            }
        };
        Ok(Appliance { topo, instance: Some(instance), dataplane: Some(dataplane) })
    }

    pub(crate) fn handle(&self) -> DataPlaneHandle {
        self.dataplane.as_ref().expect("running").handle()
    }

    /// Stops forwarding, removes the devices; returns the final engine.
    pub(crate) fn stop(&mut self) -> Option<Engine> {
        let engine = self.dataplane.take().and_then(|d| d.stop());
        if let Some(inst) = self.instance.take() {
            for e in inst.teardown() {
                eprintln!("faultmesh: cleanup: {e}");
            }
        }
        engine
    }

    /// Describes where every node lives.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(inst) = &self.instance {
            for (i, p) in inst.places.iter().enumerate() {
                let n = &self.topo.nodes[i];
                let addrs: Vec<String> = n.addresses.iter().map(|a| a.to_string()).collect();
                out += &format!(
                    "  {:<12} netns {:<24} {} {}\n",
                    p.node,
                    p.netns.as_deref().unwrap_or("(this namespace)"),
                    p.interface,
                    addrs.join(" ")
                );
            }
        }
        out
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        self.stop();
    }
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
    println!(
        "faultmesh: running `{}` (prefix {prefix}, {} nodes, {} links)",
        app.topo.name,
        app.topo.nodes.len(),
        app.topo.links.len()
    );
    print!("{}", app.describe());
    println!("faultmesh: ready — Ctrl-C or SIGTERM stops and removes everything");
    let sig = sys::wait_termination();
    eprintln!("faultmesh: signal {sig}: stopping");
    let last = app.handle().snapshot();
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
