//! faultmesh Lua scripting: per-packet filters written in Luau.
//!
//! Contract: [`LuaScripts`] builds the filters the scripts of a topology
//! need — on links (one or both directions) and on segments (every packet
//! entering it) — each script in its own sandboxed VM, shared by the
//! directions it filters so its state (counters, per-flow tables) is one.
//! Everything heavy happens on the calling (control-side, blocking) thread:
//! reading the source, compiling it, running its top level. The result is a
//! [`FilterPlan`] the data plane only swaps in (one
//! [`EngineCommand::SetFilters`], or inside a reload). A script that does not
//! load is reported and never attached; a filter whose configuration did not
//! change (same fingerprint) is kept running with its state. See `vm` for the
//! script API, limits and failure handling, and `lua/README.md` for the user
//! documentation.

pub mod vm;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use faultmesh_api::ScriptHook;
use faultmesh_emulator::io::command::{EngineCommand, EngineReply, FilterChange, FilterPlan};
use faultmesh_emulator::io::dataplane::DataPlaneHandle;
use faultmesh_emulator::topology::{Endpoint, LinkId, ScriptRef, Topology};
pub use vm::{Limits, LuaFilter, ScriptError, ScriptSource, Vm};

/// Reads a script reference into a runnable source.
pub fn source_of(r: &ScriptRef, limits: Limits) -> Result<ScriptSource, String> {
    let source = match &r.source {
        Some(s) => s.clone(),
        None => std::fs::read_to_string(&r.path)
            .map_err(|e| format!("{}: cannot read {}: {e}", r.file, r.path.display()))?,
    };
    Ok(ScriptSource { name: r.file.clone(), source, params: r.params.clone(), drop_on_error: r.drop_on_error, limits })
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// One attachment: a script and the link directions it filters.
struct Item {
    src: ScriptSource,
    seed_name: String,
    dirs: Vec<(LinkId, u8, String)>,
}

fn plan(topo: &Topology, limits: Limits, errors: &mut Vec<String>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut add =
        |r: &ScriptRef, seed_name: String, dirs: Vec<(LinkId, u8, String)>, errors: &mut Vec<String>| match source_of(
            r, limits,
        ) {
            Ok(src) => items.push(Item { src, seed_name, dirs }),
            Err(e) => errors.push(e),
        };
    for (li, l) in topo.links.iter().enumerate() {
        if let Some(r) = &l.script {
            let dirs = (0..2u8).filter(|&d| r.directions[usize::from(d)]).map(|d| (li, d, l.name.clone())).collect();
            add(r, format!("link:{}", l.name), dirs, errors);
        }
    }
    for (si, s) in topo.segments.iter().enumerate() {
        if let Some(r) = &s.script {
            let mut dirs = Vec::new();
            for &li in &s.links {
                let l = &topo.links[li];
                for d in 0..2u8 {
                    if l.to(d) == Endpoint::Segment(si) && l.from(d) != Endpoint::Segment(si) {
                        dirs.push((li, d, l.name.clone()));
                    }
                }
            }
            add(r, format!("segment:{}", s.name), dirs, errors);
        }
    }
    items
}

/// Builds Lua filters.
#[derive(Clone, Copy, Debug, Default)]
pub struct LuaScripts {
    /// Limits of every script.
    pub limits: Limits,
}

impl LuaScripts {
    /// Checks that a script reference loads.
    pub fn check(&self, r: &ScriptRef) -> Result<(), String> {
        let src = source_of(r, self.limits)?;
        vm::check(&src).map_err(|e| e.to_string())
    }

    /// The filter plan for `topo`, given the fingerprints of the filters
    /// running on its link directions (`current`, per link; missing = none).
    /// VMs are built here, one per script, shared by its directions.
    pub fn prepare(&self, topo: &Topology, current: &[[Option<u64>; 2]]) -> (FilterPlan, Vec<String>) {
        let mut errors = Vec::new();
        let items = plan(topo, self.limits, &mut errors);
        let nodes: Arc<HashMap<String, u32>> =
            Arc::new(topo.nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i as u32)).collect());
        let mut wanted: Vec<[Option<usize>; 2]> = vec![[None, None]; topo.links.len()];
        for (i, it) in items.iter().enumerate() {
            for (l, d, _) in &it.dirs {
                wanted[*l][usize::from(*d)] = Some(i);
            }
        }
        let mut vms: HashMap<usize, Option<Vm>> = HashMap::new();
        let mut out = Vec::with_capacity(topo.links.len());
        for (l, want) in wanted.iter().enumerate() {
            let mut pair = [FilterChange::Keep, FilterChange::Keep];
            for d in 0..2u8 {
                let cur = current.get(l).and_then(|c| c[usize::from(d)]);
                pair[usize::from(d)] = match want[usize::from(d)] {
                    None if cur.is_some() => FilterChange::Clear,
                    None => FilterChange::Keep,
                    Some(i) if cur == Some(items[i].src.fingerprint()) => FilterChange::Keep,
                    Some(i) => {
                        let it = &items[i];
                        let vm = vms.entry(i).or_insert_with(|| match Vm::new(&it.src, topo.seed, &it.seed_name) {
                            Ok(v) => Some(v),
                            Err(e) => {
                                errors.push(e.to_string());
                                None
                            }
                        });
                        match vm {
                            Some(vm) => FilterChange::Set(Box::new(LuaFilter::new(
                                vm.clone(),
                                &it.src,
                                &topo.links[l].name,
                                d,
                                Arc::clone(&nodes),
                            ))),
                            // Does not load: never attached.
                            None if cur.is_some() => FilterChange::Clear,
                            None => FilterChange::Keep,
                        }
                    }
                };
            }
            out.push(pair);
        }
        (out, errors)
    }

    /// Installs the scripts of `topo` on a running data plane now, blocking
    /// (the CLI at start, benches): asks which filters run, builds what
    /// differs, sends one command. Returns the problems.
    pub fn install_now(&self, dp: &DataPlaneHandle, topo: &Topology) -> Vec<String> {
        let statuses = match dp.call_blocking(EngineCommand::FilterStats, COMMAND_TIMEOUT) {
            Ok(EngineReply::Filters(f)) => f,
            Ok(other) => return vec![format!("unexpected answer {other:?}")],
            Err(e) => return vec![e.to_string()],
        };
        let current: Vec<[Option<u64>; 2]> = topo
            .links
            .iter()
            .map(|l| {
                let fp =
                    |dir: &str| statuses.iter().find(|s| s.link == l.name && s.direction == dir).map(|s| s.fingerprint);
                [fp("a_to_b"), fp("b_to_a")]
            })
            .collect();
        let (plan, mut errors) = self.prepare(topo, &current);
        if let Err(e) = dp.call_blocking(EngineCommand::SetFilters(plan), COMMAND_TIMEOUT) {
            errors.push(e.to_string());
        }
        errors
    }
}

impl ScriptHook for LuaScripts {
    fn prepare(&self, topo: &Topology, current: &[[Option<u64>; 2]]) -> (FilterPlan, Vec<String>) {
        LuaScripts::prepare(self, topo, current)
    }

    fn check(&self, r: &ScriptRef) -> Result<(), String> {
        LuaScripts::check(self, r)
    }
}
