//! faultmesh Lua scripting: per-packet filters written in Luau.
//!
//! Contract: [`LuaScripts`] installs the scripts a topology names — on links
//! (one or both directions) and on segments (every packet entering it) —
//! each in its own sandboxed VM, shared by the directions it filters so its
//! state (counters, per-flow tables) is one. Sources are loaded and checked on
//! the control thread first, so a script that does not load is reported and
//! never attached. Installation happens in one engine command; a filter whose
//! configuration did not change keeps running with its state. See `vm` for
//! the script API, limits and failure handling, and `lua/README.md` for the
//! user documentation.

pub mod vm;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use faultmesh_api::{Backend, ScriptHook};
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
            Ok(src) => match vm::check(&src) {
                Ok(()) => items.push(Item { src, seed_name, dirs }),
                Err(e) => errors.push(e.to_string()),
            },
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

/// Installs and observes Lua filters.
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
}

impl ScriptHook for LuaScripts {
    fn install(&self, backend: &dyn Backend, topo: &Topology) -> Vec<String> {
        let mut errors = Vec::new();
        let items = plan(topo, self.limits, &mut errors);
        let seed = topo.seed;
        let nodes: Arc<HashMap<String, u32>> =
            Arc::new(topo.nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i as u32)).collect());
        let nlinks = topo.links.len();
        let late_errors = Arc::new(Mutex::new(Vec::new()));
        let le = Arc::clone(&late_errors);
        let ok = backend.apply(Box::new(move |engine, _now| {
            let mut wanted: Vec<Option<usize>> = vec![None; nlinks * 2];
            for (i, it) in items.iter().enumerate() {
                for (l, d, _) in &it.dirs {
                    wanted[l * 2 + usize::from(*d)] = Some(i);
                }
            }
            let mut vms: HashMap<usize, Option<Vm>> = HashMap::new();
            for (idx, want) in wanted.iter().enumerate() {
                let (l, d) = (idx / 2, (idx % 2) as u8);
                let current = engine.pipeline(l, d).filter().map(|f| f.fingerprint());
                match want {
                    None => {
                        if current.is_some() {
                            engine.set_filter(l, d, None);
                        }
                    }
                    Some(i) => {
                        let it = &items[*i];
                        if current == Some(it.src.fingerprint()) {
                            continue;
                        }
                        let vm = vms.entry(*i).or_insert_with(|| match Vm::new(&it.src, seed, &it.seed_name) {
                            Ok(v) => Some(v),
                            Err(e) => {
                                if let Ok(mut x) = le.lock() {
                                    x.push(e.to_string());
                                }
                                None
                            }
                        });
                        if let Some(vm) = vm {
                            let name = it.dirs.iter().find(|x| x.0 == l).map(|x| x.2.clone()).unwrap_or_default();
                            engine.set_filter(
                                l,
                                d,
                                Some(Box::new(LuaFilter::new(vm.clone(), &it.src, &name, d, Arc::clone(&nodes)))),
                            );
                        }
                    }
                }
            }
        }));
        if !ok {
            errors.push("the data plane did not answer".into());
        }
        if let Ok(mut x) = late_errors.lock() {
            errors.append(&mut x);
        }
        errors
    }

    fn stats(&self, backend: &dyn Backend) -> serde_json::Value {
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = Arc::clone(&out);
        backend.apply(Box::new(move |engine, _| {
            let t = engine.topology();
            let mut v = Vec::new();
            for (li, l) in t.links.iter().enumerate() {
                for d in 0..2u8 {
                    if let Some(f) = engine.pipeline(li, d).filter() {
                        let s = f.stats();
                        let mut j = serde_json::to_value(&s).unwrap_or_default();
                        j["link"] = l.name.clone().into();
                        j["direction"] = (if d == 0 { "a_to_b" } else { "b_to_a" }).into();
                        v.push(j);
                    }
                }
            }
            if let Ok(mut x) = o.lock() {
                *x = v;
            }
        }));
        let v = out.lock().map(|x| x.clone()).unwrap_or_default();
        serde_json::Value::Array(v)
    }

    fn check(&self, r: &ScriptRef) -> Result<(), String> {
        LuaScripts::check(self, r)
    }
}
