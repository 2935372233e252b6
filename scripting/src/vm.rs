//! One sandboxed Luau VM running one script, and the filter that calls it.
//!
//! Contract: a script defines `filter(pkt)`, called once per packet, and
//! returns a verdict (`PASS` or nothing, `DROP`, `DUPLICATE`, `CORRUPT`,
//! `delay(ms)`, `mark(class)`, `route(node)`). `pkt` is one userdata created
//! per VM and refilled before each call — no table or userdata is built per
//! packet. The VM is sandboxed (read-only globals and libraries, no `io`,
//! `os.execute`, `require` or `load`), has a memory limit, and every call has
//! a time budget enforced from the Luau interrupt. Any failure — an error, a
//! limit, a verdict that is not one of the above — disables the script: it is
//! counted, logged once, and from then on packets get the fallback verdict
//! (pass or drop, as configured). The engine never stops.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use faultmesh_emulator::pipeline::{FilterStats, FilterVerdict, PacketFilter};
use faultmesh_emulator::rng::{StageId, StageRng, fnv1a};
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::wire::{L3, PacketInfo, tcpflags};
use mlua::{AnyUserData, Function, Lua, LuaSerdeExt, UserData, UserDataFields, UserDataMethods, Value, VmState};

/// Bytes of each frame a script can read (the rest of a super-frame is not copied).
pub const VISIBLE_BYTES: usize = 2048;

/// Resource limits of a script.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Memory the VM may use.
    pub memory_bytes: usize,
    /// Time one call may take.
    pub time_per_call: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 16 << 20, time_per_call: Duration::from_millis(2) }
    }
}

/// A script and how to run it.
#[derive(Clone, Debug)]
pub struct ScriptSource {
    /// Its name (the file as written).
    pub name: String,
    /// Lua source.
    pub source: String,
    /// `params` as the script sees them.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Drop (instead of pass) packets once the script is disabled.
    pub drop_on_error: bool,
    /// Limits.
    pub limits: Limits,
}

impl ScriptSource {
    /// Identifies the configuration (kept across reloads when equal).
    pub fn fingerprint(&self) -> u64 {
        let p = serde_json::to_string(&self.params).unwrap_or_default();
        fnv1a(self.source.as_bytes())
            ^ fnv1a(p.as_bytes()).rotate_left(7)
            ^ fnv1a(self.name.as_bytes()).rotate_left(13)
            ^ u64::from(self.drop_on_error)
    }
}

/// Why a script cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// Loading (compiling, running the top level, finding `filter`) failed.
    #[error("{name}: {message}")]
    Load {
        /// Script name.
        name: String,
        /// What Lua said.
        message: String,
    },
}

/// What the current call may use; lives in the VM's app data.
struct CallCtx {
    deadline: std::time::Instant,
    budget_ns: u64,
    ticks: u32,
    now_ns: u64,
    rng: StageRng,
    logs: u32,
}

/// The packet view.
#[derive(Default)]
struct Pkt {
    info: Option<PacketInfo>,
    frame: Vec<u8>,
    len: usize,
    direction: &'static str,
    link: Arc<str>,
}

fn ip_str(info: &PacketInfo, src: bool) -> Option<String> {
    info.is_ip().then(|| if src { info.src_ip.to_string() } else { info.dst_ip.to_string() })
}

impl Pkt {
    fn info(&self) -> mlua::Result<&PacketInfo> {
        self.info.as_ref().ok_or_else(|| mlua::Error::runtime("pkt is only valid inside filter()"))
    }

    fn payload_start(&self) -> usize {
        self.info.as_ref().map_or(0, |i| i.headers_end()).min(self.frame.len())
    }

    fn payload_end(&self) -> usize {
        self.info
            .as_ref()
            .map_or(self.frame.len(), |i| if i.is_ip() { i.l3_offset + i.l3_len } else { self.frame.len() })
            .min(self.frame.len())
    }
}

impl UserData for Pkt {
    fn add_fields<F: UserDataFields<Self>>(f: &mut F) {
        f.add_field_method_get("len", |_, p| Ok(p.len));
        f.add_field_method_get("direction", |_, p| Ok(p.direction));
        f.add_field_method_get("link", |_, p| Ok(p.link.to_string()));
        f.add_field_method_get("l3", |_, p| {
            Ok(match p.info()?.l3 {
                L3::Ipv4 => "ipv4",
                L3::Ipv6 => "ipv6",
                L3::Arp => "arp",
                L3::Other(_) => "other",
            })
        });
        f.add_field_method_get("ipv4", |_, p| Ok(p.info()?.l3 == L3::Ipv4));
        f.add_field_method_get("ipv6", |_, p| Ok(p.info()?.l3 == L3::Ipv6));
        f.add_field_method_get("proto", |_, p| Ok(p.info()?.proto));
        f.add_field_method_get("tcp", |_, p| Ok(p.info()?.proto == 6));
        f.add_field_method_get("udp", |_, p| Ok(p.info()?.proto == 17));
        f.add_field_method_get("icmp", |_, p| Ok(matches!(p.info()?.proto, 1 | 58)));
        f.add_field_method_get("src", |_, p| Ok(ip_str(p.info()?, true)));
        f.add_field_method_get("dst", |_, p| Ok(ip_str(p.info()?, false)));
        f.add_field_method_get("src_port", |_, p| Ok(p.info()?.src_port));
        f.add_field_method_get("dst_port", |_, p| Ok(p.info()?.dst_port));
        f.add_field_method_get("ttl", |_, p| Ok(p.info()?.ttl));
        f.add_field_method_get("dscp", |_, p| Ok(p.info()?.dscp));
        f.add_field_method_get("ecn", |_, p| Ok(p.info()?.ecn));
        f.add_field_method_get("flags", |_, p| Ok(p.info()?.tcp_flags));
        f.add_field_method_get("syn", |_, p| Ok(p.info()?.tcp_flags & tcpflags::SYN != 0));
        f.add_field_method_get("ack", |_, p| Ok(p.info()?.tcp_flags & tcpflags::ACK != 0));
        f.add_field_method_get("fin", |_, p| Ok(p.info()?.tcp_flags & tcpflags::FIN != 0));
        f.add_field_method_get("rst", |_, p| Ok(p.info()?.tcp_flags & tcpflags::RST != 0));
        f.add_field_method_get("psh", |_, p| Ok(p.info()?.tcp_flags & tcpflags::PSH != 0));
        f.add_field_method_get("seq", |_, p| Ok(p.info()?.tcp_seq));
        f.add_field_method_get("icmp_type", |_, p| Ok(p.info()?.icmp_type));
        f.add_field_method_get("icmp_code", |_, p| Ok(p.info()?.icmp_code));
        f.add_field_method_get("src_mac", |_, p| Ok(p.info()?.src_mac.to_string()));
        f.add_field_method_get("dst_mac", |_, p| Ok(p.info()?.dst_mac.to_string()));
        f.add_field_method_get("payload_len", |_, p| {
            let i = p.info()?;
            Ok(if i.is_ip() {
                (i.l3_offset + i.l3_len).saturating_sub(i.headers_end())
            } else {
                p.len.saturating_sub(i.l3_offset)
            })
        });
    }

    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // pkt:payload([first [, n]]): payload bytes (1-based), as a string.
        m.add_method("payload", |lua, p, (first, n): (Option<usize>, Option<usize>)| {
            let (s, e) = (p.payload_start(), p.payload_end());
            let from = (s + first.unwrap_or(1).max(1) - 1).min(e);
            let to = n.map_or(e, |n| (from + n).min(e));
            lua.create_string(&p.frame[from..to])
        });
        // pkt:byte(i): the i-th payload byte (1-based), or nil.
        m.add_method("byte", |_, p, i: usize| {
            let at = p.payload_start() + i.max(1) - 1;
            Ok((at < p.payload_end()).then(|| p.frame[at]))
        });
        // pkt:frame([first [, n]]): raw frame bytes from the Ethernet header (1-based).
        m.add_method("frame", |lua, p, (first, n): (Option<usize>, Option<usize>)| {
            let e = p.frame.len();
            let from = (first.unwrap_or(1).max(1) - 1).min(e);
            let to = n.map_or(e, |n| (from + n).min(e));
            lua.create_string(&p.frame[from..to])
        });
        // pkt:find(text): true when the payload contains `text`.
        m.add_method("find", |_, p, needle: mlua::LuaString| {
            let hay = &p.frame[p.payload_start()..p.payload_end()];
            let n = needle.as_bytes();
            Ok(!n.is_empty() && hay.windows(n.len()).any(|w| w == &n[..]))
        });
    }
}

/// A loaded script, shared by the link directions it filters.
#[derive(Clone)]
pub struct Vm {
    lua: Lua,
    func: Function,
    pkt: AnyUserData,
    disabled: Arc<AtomicBool>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
    name: Arc<str>,
}

fn load_err(name: &str, e: impl std::fmt::Display) -> ScriptError {
    ScriptError::Load { name: name.to_string(), message: e.to_string() }
}

impl Vm {
    /// Builds the VM, runs the script's top level and finds `filter`.
    /// `seed_name` and `seed` seed `random()`; `nodes` are the names `route()` accepts.
    pub fn new(src: &ScriptSource, seed: u64, seed_name: &str) -> Result<Vm, ScriptError> {
        let name = src.name.as_str();
        let lua = Lua::new();
        let g = lua.globals();
        let setup = || -> mlua::Result<()> {
            g.set("PASS", "pass")?;
            g.set("DROP", "drop")?;
            g.set("DUPLICATE", "duplicate")?;
            g.set("CORRUPT", "corrupt")?;
            g.set("delay", lua.create_function(|_, ms: f64| Ok(("delay", ms)))?)?;
            g.set("mark", lua.create_function(|_, c: f64| Ok(("mark", c)))?)?;
            g.set("route", lua.create_function(|_, node: String| Ok(("route", node)))?)?;
            g.set(
                "now_ns",
                lua.create_function(|lua, ()| Ok(lua.app_data_ref::<CallCtx>().map_or(0, |c| c.now_ns) as f64))?,
            )?;
            g.set(
                "now_ms",
                lua.create_function(|lua, ()| Ok(lua.app_data_ref::<CallCtx>().map_or(0, |c| c.now_ns) as f64 / 1e6))?,
            )?;
            g.set(
                "random",
                lua.create_function(|lua, (m, n): (Option<i64>, Option<i64>)| {
                    let mut c = lua.app_data_mut::<CallCtx>().ok_or_else(|| mlua::Error::runtime("no call context"))?;
                    Ok(match (m, n) {
                        (None, _) => Value::Number(c.rng.unit()),
                        (Some(hi), None) if hi >= 1 => Value::Integer(1 + c.rng.below(hi as u64) as i64),
                        (Some(lo), Some(hi)) if hi >= lo => {
                            Value::Integer(lo + c.rng.below((hi - lo + 1) as u64) as i64)
                        }
                        _ => return Err(mlua::Error::runtime("random: empty interval")),
                    })
                })?,
            )?;
            let script = Arc::<str>::from(name);
            g.set(
                "log",
                lua.create_function(move |lua, msg: String| {
                    if let Some(mut c) = lua.app_data_mut::<CallCtx>() {
                        if c.logs < 20 {
                            c.logs += 1;
                            eprintln!("faultmesh: script {script}: {msg}");
                        }
                    }
                    Ok(())
                })?,
            )?;
            g.set("params", lua.to_value(&src.params)?)?;
            // No code loading and no environment tricks.
            for name in ["loadstring", "load", "getfenv", "setfenv", "require", "dofile", "loadfile"] {
                g.set(name, Value::Nil)?;
            }
            Ok(())
        };
        setup().map_err(|e| load_err(name, e))?;
        lua.set_app_data(CallCtx {
            deadline: std::time::Instant::now() + Duration::from_secs(3600),
            budget_ns: src.limits.time_per_call.as_nanos() as u64,
            ticks: 0,
            now_ns: 0,
            rng: StageRng::new(seed, seed_name, 0, StageId::Script),
            logs: 0,
        });
        lua.set_interrupt(|lua| {
            if let Some(mut c) = lua.app_data_mut::<CallCtx>() {
                c.ticks = c.ticks.wrapping_add(1);
                if c.ticks % 64 == 0 && std::time::Instant::now() > c.deadline {
                    return Err(mlua::Error::runtime(format!(
                        "time limit exceeded ({} us per call)",
                        c.budget_ns / 1000
                    )));
                }
            }
            Ok(VmState::Continue)
        });
        lua.sandbox(true).map_err(|e| load_err(name, e))?;
        lua.set_memory_limit(src.limits.memory_bytes).map_err(|e| load_err(name, e))?;
        // The top level gets the same budget as a call, ten times over.
        if let Some(mut c) = lua.app_data_mut::<CallCtx>() {
            c.deadline = std::time::Instant::now() + src.limits.time_per_call * 10;
        }
        lua.load(src.source.as_str()).set_name(format!("={name}")).exec().map_err(|e| load_err(name, e))?;
        let func: Function = match lua.globals().get::<Value>("filter") {
            Ok(Value::Function(f)) => f,
            Ok(Value::Nil) => return Err(load_err(name, "the script defines no `filter(pkt)` function")),
            Ok(other) => return Err(load_err(name, format!("`filter` is a {}, not a function", other.type_name()))),
            Err(e) => return Err(load_err(name, e)),
        };
        let pkt = lua.create_userdata(Pkt::default()).map_err(|e| load_err(name, e))?;
        Ok(Vm {
            lua,
            func,
            pkt,
            disabled: Arc::new(AtomicBool::new(false)),
            last_error: Arc::new(std::sync::Mutex::new(None)),
            name: Arc::from(name),
        })
    }

    /// True once a failure disabled it.
    pub fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    fn disable(&self, why: String) {
        if !self.disabled.swap(true, Ordering::Relaxed) {
            eprintln!("faultmesh: script {} disabled: {why}", self.name);
            if let Ok(mut e) = self.last_error.lock() {
                *e = Some(why);
            }
        }
    }
}

/// Checks that a script loads (compiles, runs its top level, defines `filter`).
pub fn check(src: &ScriptSource) -> Result<(), ScriptError> {
    Vm::new(src, 0, "check").map(|_| ())
}

/// A script filtering one link direction.
pub struct LuaFilter {
    vm: Vm,
    link: Arc<str>,
    direction: &'static str,
    drop_on_error: bool,
    nodes: Arc<HashMap<String, u32>>,
    fingerprint: u64,
    stats: FilterStats,
}

impl LuaFilter {
    /// A filter for direction `dir` (0 = a→b) of `link`, calling `vm`.
    pub fn new(vm: Vm, src: &ScriptSource, link: &str, dir: u8, nodes: Arc<HashMap<String, u32>>) -> LuaFilter {
        LuaFilter {
            stats: FilterStats { script: src.name.clone(), ..FilterStats::default() },
            vm,
            link: Arc::from(link),
            direction: if dir == 0 { "a_to_b" } else { "b_to_a" },
            drop_on_error: src.drop_on_error,
            nodes,
            fingerprint: src.fingerprint(),
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.stats.verdicts.entry(kind).or_insert(0) += 1;
    }

    fn fallback(&mut self) -> FilterVerdict {
        self.count("fallback");
        FilterVerdict::Error { drop: self.drop_on_error }
    }

    fn fail(&mut self, why: String) -> FilterVerdict {
        self.stats.errors += 1;
        self.vm.disable(why);
        self.fallback()
    }

    fn verdict(&mut self, kind: Value, arg: Value) -> Result<FilterVerdict, String> {
        let s = match &kind {
            Value::Nil => return Ok(FilterVerdict::Pass),
            Value::String(s) => s.as_bytes().to_vec(),
            other => return Err(format!("filter() returned a {}, not a verdict", other.type_name())),
        };
        let num = |v: &Value| match v {
            Value::Integer(i) => Some(*i as f64),
            Value::Number(n) => Some(*n),
            _ => None,
        };
        Ok(match s.as_slice() {
            b"pass" => FilterVerdict::Pass,
            b"drop" => FilterVerdict::Drop,
            b"duplicate" => FilterVerdict::Duplicate,
            b"corrupt" => FilterVerdict::Corrupt,
            b"delay" => match num(&arg) {
                Some(ms) if ms.is_finite() && (0.0..=60_000.0).contains(&ms) => FilterVerdict::Delay((ms * 1e6) as u64),
                _ => return Err("delay(ms) needs 0 to 60000 milliseconds".into()),
            },
            b"mark" => match num(&arg) {
                Some(c) if (0.0..=255.0).contains(&c) && c.fract() == 0.0 => FilterVerdict::Mark(c as u8),
                _ => return Err("mark(class) needs an integer 0 to 255".into()),
            },
            b"route" => match &arg {
                Value::String(n) => {
                    let n = n.to_str().map(|x| x.to_string()).unwrap_or_default();
                    match self.nodes.get(&n) {
                        Some(&i) => FilterVerdict::Route(i),
                        None => return Err(format!("route(\"{n}\"): no such node")),
                    }
                }
                _ => return Err("route(node) needs a node name".into()),
            },
            other => {
                return Err(format!("filter() returned `{}`, which is not a verdict", String::from_utf8_lossy(other)));
            }
        })
    }
}

impl PacketFilter for LuaFilter {
    fn filter(&mut self, frame: &[u8], info: &PacketInfo, now: Instant) -> FilterVerdict {
        self.stats.calls += 1;
        if self.vm.is_disabled() {
            return self.fallback();
        }
        match self.vm.pkt.borrow_mut::<Pkt>() {
            Ok(mut p) => {
                p.info = Some(*info);
                p.frame.clear();
                p.frame.extend_from_slice(&frame[..frame.len().min(VISIBLE_BYTES)]);
                p.len = frame.len();
                p.direction = self.direction;
                if !Arc::ptr_eq(&p.link, &self.link) {
                    p.link = Arc::clone(&self.link);
                }
            }
            Err(e) => return self.fail(format!("packet view busy: {e}")),
        }
        let start = std::time::Instant::now();
        if let Some(mut c) = self.vm.lua.app_data_mut::<CallCtx>() {
            c.deadline = start + Duration::from_nanos(c.budget_ns);
            c.now_ns = now.as_nanos();
        }
        let r = self.vm.func.call::<(Value, Value)>(&self.vm.pkt);
        self.stats.time_ns += start.elapsed().as_nanos() as u64;
        if let Ok(mut p) = self.vm.pkt.borrow_mut::<Pkt>() {
            p.info = None;
        }
        match r {
            Ok((kind, arg)) => match self.verdict(kind, arg) {
                Ok(v) => {
                    self.count(match v {
                        FilterVerdict::Pass => "pass",
                        FilterVerdict::Drop => "drop",
                        FilterVerdict::Delay(_) => "delay",
                        FilterVerdict::Duplicate => "duplicate",
                        FilterVerdict::Corrupt => "corrupt",
                        FilterVerdict::Mark(_) => "mark",
                        FilterVerdict::Route(_) => "route",
                        FilterVerdict::Error { .. } => "fallback",
                    });
                    v
                }
                Err(why) => self.fail(why),
            },
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn stats(&self) -> FilterStats {
        let mut s = self.stats.clone();
        s.disabled = self.vm.is_disabled();
        s.last_error = self.vm.last_error.lock().ok().and_then(|e| e.clone());
        s
    }

    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}
