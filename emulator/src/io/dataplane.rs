//! The data-plane thread: one dedicated OS thread (not a tokio task) that owns
//! the engine and every port.
//!
//! Contract: the loop waits in `epoll_pwait2` with a nanosecond timeout until
//! shortly before the engine's next deadline (`spin_ns` early, timer slack
//! 1 ns), then polls without sleeping until the deadline, so releases happen
//! within microseconds of their due time. While traffic flows it keeps polling
//! for `busy_poll_ns` after the last packet instead of paying a sleep/wake per
//! batch. With no traffic and no deadline it blocks indefinitely: an idle
//! appliance uses no CPU. Frames from a receive ring enter the engine at the
//! time the kernel stamped them, not when the loop read them.
//!
//! Other threads talk to it only through [`EngineCommand`]s sent with a
//! [`DataPlaneHandle`] (a channel plus an eventfd); nothing else touches the
//! engine. Commands run between two receive batches, each whole; their
//! answers go back over a oneshot (async callers) or a sync channel
//! (blocking callers). A command not yet taken when its caller's timeout
//! runs out is withdrawn and never runs. Every [`PUBLISH_INTERVAL_NS`]
//! (100 ms) while anything moved (an idle loop has nothing new to publish
//! and still sleeps without a timeout), and before answering a command that
//! changed the engine, the loop
//! publishes a [`DataPlaneSnapshot`] into a `tokio::sync::watch`, so the API
//! reads counters without ever waiting for this thread.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{oneshot, watch};

use super::command::{self, CommandError, EngineCommand, EngineReply, FilterStatus, ReloadPlan};
use super::pool::BufPool;
use super::port::{Port, PortStats, SendOutcome};
use super::sys::{self, Epoll, Event, EventFd};
use crate::engine::{Engine, ReloadReport, Snapshot};
use crate::packet::Packet;
use crate::time::Instant;
use crate::topology::NodeId;

const WAKE_TOKEN: u64 = u64::MAX;
/// Receive batches taken from one port per wake-up before moving on.
const RX_BATCHES_PER_WAKE: usize = 8;

/// A node's port.
pub struct PortBinding {
    /// The node.
    pub node: NodeId,
    /// Its device.
    pub port: Port,
}

/// Tuning of the loop.
///
/// On a virtual machine, a vCPU that goes idle can take milliseconds to be
/// woken by the host (measured here: sleeps of ~10 ms overslept by 0.5–3 ms in
/// about 1% of cases; a 3 ms early wake-up did not hide it). So while any
/// packet is due within `spin_ns` the loop polls instead of sleeping: one core
/// is busy while traffic is in flight, none when the appliance is idle.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Keep polling this long after the last received packet (ns).
    pub busy_poll_ns: u64,
    /// Stop sleeping this long before a deadline and poll instead (ns).
    pub spin_ns: u64,
    /// Run the loop with SCHED_FIFO priority (0: normal scheduling).
    pub realtime_priority: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options { busy_poll_ns: 2_000_000, spin_ns: 20_000_000, realtime_priority: 0 }
    }
}

/// How often the data plane publishes its counters.
pub const PUBLISH_INTERVAL_NS: u64 = 100_000_000;

/// How long a reload may wait for the data plane to take it.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const WITHDRAWN: u8 = 2;

/// Where a command's answer goes.
enum ReplyTo {
    Nobody,
    Blocking(mpsc::SyncSender<Result<EngineReply, CommandError>>),
    Async(oneshot::Sender<Result<EngineReply, CommandError>>),
}

/// A command in flight: taken by the data plane, or withdrawn by a caller
/// that gave up waiting — never both (one atomic decides).
struct Envelope {
    cmd: EngineCommand,
    reply: ReplyTo,
    state: Arc<AtomicU8>,
}

impl Envelope {
    /// Claims the command for execution; false if its caller withdrew it.
    fn take(&self) -> bool {
        self.state.compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

impl ReplyTo {
    fn send(self, r: Result<EngineReply, CommandError>) {
        match self {
            ReplyTo::Nobody => {}
            ReplyTo::Blocking(tx) => {
                let _ = tx.send(r);
            }
            ReplyTo::Async(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

/// Withdraws a command still queued; false if the data plane took it.
fn withdraw(state: &AtomicU8) -> bool {
    state.compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire).is_ok()
}

/// A command sent with [`DataPlaneHandle::submit`], whose answer has not
/// been read yet.
pub struct Pending {
    rx: mpsc::Receiver<Result<EngineReply, CommandError>>,
    state: Arc<AtomicU8>,
}

impl Pending {
    /// True once the data plane has taken the command (it is running or done).
    pub fn taken(&self) -> bool {
        self.state.load(Ordering::Acquire) == TAKEN
    }

    /// Waits for the answer. If the data plane has not taken the command
    /// within `timeout`, it is withdrawn ([`CommandError::Timeout`], never
    /// applied); once taken, it is waited for to the end.
    pub fn wait(self, timeout: Duration) -> Result<EngineReply, CommandError> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(CommandError::Stopped),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if withdraw(&self.state) {
                    Err(CommandError::Timeout(timeout))
                } else {
                    self.rx.recv().unwrap_or(Err(CommandError::Stopped))
                }
            }
        }
    }
}

/// Withdraws a command whose async caller went away before the data plane
/// took it (a dropped future never applies anything later).
struct WithdrawOnDrop(Arc<AtomicU8>);

impl Drop for WithdrawOnDrop {
    fn drop(&mut self) {
        withdraw(&self.0);
    }
}

/// How punctual the loop has been: lateness of timed releases.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoopStats {
    /// Times the loop woke up.
    pub wakeups: u64,
    /// Deadlines served.
    pub deadlines: u64,
    /// Lateness histogram: `[i]` for `i < 1000` counts lateness in
    /// `[i, i+1)` µs; `[1000 + j]` counts `[2^j, 2^(j+1))` ms.
    #[serde(skip)]
    pub lateness_hist: Vec<u32>,
    /// Worst lateness (ns).
    pub lateness_max_ns: u64,
}

const LINEAR_US: usize = 1000;

impl LoopStats {
    fn record_lateness(&mut self, ns: u64) {
        if self.lateness_hist.is_empty() {
            self.lateness_hist = vec![0; LINEAR_US + 24];
        }
        let us = (ns / 1000) as usize;
        let b = if us < LINEAR_US { us } else { LINEAR_US + (63 - (ns / 1_000_000).max(1).leading_zeros()) as usize };
        let b = b.min(self.lateness_hist.len() - 1);
        self.lateness_hist[b] = self.lateness_hist[b].saturating_add(1);
        self.deadlines += 1;
        self.lateness_max_ns = self.lateness_max_ns.max(ns);
    }

    /// The lateness (ns, rounded up to the histogram's resolution) below
    /// which fraction `q` of deadlines fell.
    pub fn lateness_quantile_ns(&self, q: f64) -> u64 {
        let total: u64 = self.lateness_hist.iter().map(|&c| u64::from(c)).sum();
        if total == 0 {
            return 0;
        }
        let want = (q * total as f64).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in self.lateness_hist.iter().enumerate() {
            acc += u64::from(*c);
            if acc >= want {
                let upper = if i < LINEAR_US { (i as u64 + 1) * 1000 } else { 2_000_000u64 << (i - LINEAR_US) };
                return upper.min(self.lateness_max_ns.max(1));
            }
        }
        self.lateness_max_ns
    }
}

/// Everything the data plane counts.
#[derive(Clone, Debug, Serialize)]
pub struct DataPlaneSnapshot {
    /// Engine counters.
    pub engine: Snapshot,
    /// Per-port I/O counters, by node name.
    pub ports: Vec<(String, PortStatsView)>,
    /// Loop punctuality.
    pub loop_stats: LoopStats,
    /// Filters installed, with their counters.
    pub filters: Vec<FilterStatus>,
}

/// Port counters for display.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PortStatsView {
    /// Frames received.
    pub rx_frames: u64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Malformed frames at the device level.
    pub rx_malformed: u64,
    /// Frames the kernel refused.
    pub tx_errors: u64,
    /// Frames the kernel dropped before the appliance read them.
    pub rx_kernel_drops: u64,
}

impl From<PortStats> for PortStatsView {
    fn from(s: PortStats) -> Self {
        PortStatsView {
            rx_frames: s.rx_frames,
            tx_frames: s.tx_frames,
            rx_malformed: s.rx_malformed,
            tx_errors: s.tx_errors,
            rx_kernel_drops: s.rx_kernel_drops,
        }
    }
}

/// A running data plane.
pub struct DataPlane {
    handle: DataPlaneHandle,
    thread: Option<JoinHandle<Engine>>,
}

/// A cloneable handle to send commands from other threads: the blocking
/// calls are for the CLI and tests, [`DataPlaneHandle::call`] for async code.
#[derive(Clone)]
pub struct DataPlaneHandle {
    tx: Sender<Envelope>,
    wake: Arc<EventFd>,
    counters: watch::Receiver<Arc<DataPlaneSnapshot>>,
}

impl DataPlaneHandle {
    fn send(&self, env: Envelope) -> Result<(), CommandError> {
        self.tx.send(env).map_err(|_| CommandError::Stopped)?;
        self.wake.notify();
        Ok(())
    }

    /// Sends `cmd` and returns without waiting.
    pub fn submit(&self, cmd: EngineCommand) -> Result<Pending, CommandError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let state = Arc::new(AtomicU8::new(QUEUED));
        self.send(Envelope { cmd, reply: ReplyTo::Blocking(tx), state: Arc::clone(&state) })?;
        Ok(Pending { rx, state })
    }

    /// Sends `cmd` and waits for the answer (see [`Pending::wait`]).
    pub fn call_blocking(&self, cmd: EngineCommand, timeout: Duration) -> Result<EngineReply, CommandError> {
        self.submit(cmd)?.wait(timeout)
    }

    /// Sends `cmd` and awaits the answer, without blocking the runtime. If
    /// the data plane has not taken the command within `timeout`, or the
    /// future is dropped before it did, the command is withdrawn and never
    /// applied.
    pub async fn call(&self, cmd: EngineCommand, timeout: Duration) -> Result<EngineReply, CommandError> {
        let (tx, mut rx) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let guard = WithdrawOnDrop(Arc::clone(&state));
        self.send(Envelope { cmd, reply: ReplyTo::Async(tx), state })?;
        let r = match tokio::time::timeout(timeout, &mut rx).await {
            Ok(r) => r.unwrap_or(Err(CommandError::Stopped)),
            Err(_) if withdraw(&guard.0) => Err(CommandError::Timeout(timeout)),
            Err(_) => rx.await.unwrap_or(Err(CommandError::Stopped)),
        };
        drop(guard);
        r
    }

    /// Reloads with `plan`; waits for the report.
    pub fn reload(&self, plan: ReloadPlan) -> Result<ReloadReport, CommandError> {
        match self.call_blocking(EngineCommand::Reload(Box::new(plan)), RELOAD_TIMEOUT)? {
            EngineReply::Reloaded(r) => Ok(r),
            other => Err(CommandError::Rejected(format!("unexpected answer {other:?}"))),
        }
    }

    /// A fresh copy of every counter (waits for the data plane up to 5 s).
    pub fn snapshot(&self) -> Option<DataPlaneSnapshot> {
        match self.call_blocking(EngineCommand::Snapshot, Duration::from_secs(5)) {
            Ok(EngineReply::Snapshot(s)) => Some(*s),
            _ => None,
        }
    }

    /// The counters the data plane published last (every
    /// [`PUBLISH_INTERVAL_NS`], and after every change). Never waits.
    pub fn counters(&self) -> Arc<DataPlaneSnapshot> {
        Arc::clone(&self.counters.borrow())
    }

    /// A receiver of the published counters (to await the next ones).
    pub fn subscribe(&self) -> watch::Receiver<Arc<DataPlaneSnapshot>> {
        self.counters.clone()
    }
}

impl DataPlane {
    /// Starts the loop on its own thread.
    pub fn start(engine: Engine, ports: Vec<PortBinding>, opts: Options) -> io::Result<DataPlane> {
        let wake = Arc::new(EventFd::new()?);
        let (tx, rx) = mpsc::channel();
        let epoll = Epoll::new()?;
        for (i, b) in ports.iter().enumerate() {
            epoll.add(b.port.raw_fd(), false, i as u64)?;
        }
        epoll.add(wake.raw(), false, WAKE_TOKEN)?;
        let w = Arc::clone(&wake);
        let n = ports.len();
        let mut lp = Loop {
            engine,
            ports,
            opts,
            epoll,
            wake: w,
            rx,
            pool: BufPool::default(),
            blocked: vec![false; n],
            stats: LoopStats::default(),
            rx_floor: Instant::from_nanos(0),
            publish: None,
            next_publish: 0,
            dirty: true,
        };
        let (ptx, prx) = watch::channel(Arc::new(lp.snapshot()));
        lp.publish = Some(ptx);
        let thread = std::thread::Builder::new().name("fm-dataplane".into()).spawn(move || lp.run())?;
        Ok(DataPlane { handle: DataPlaneHandle { tx, wake, counters: prx }, thread: Some(thread) })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> DataPlaneHandle {
        self.handle.clone()
    }

    /// Stops the loop and returns the engine with its final counters.
    pub fn stop(mut self) -> Option<Engine> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Option<Engine> {
        let t = self.thread.take()?;
        let _ = self.handle.send(Envelope {
            cmd: EngineCommand::Shutdown,
            reply: ReplyTo::Nobody,
            state: Arc::new(AtomicU8::new(QUEUED)),
        });
        t.join().ok()
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Loop {
    engine: Engine,
    ports: Vec<PortBinding>,
    opts: Options,
    epoll: Epoll,
    wake: Arc<EventFd>,
    rx: Receiver<Envelope>,
    pool: BufPool,
    blocked: Vec<bool>,
    stats: LoopStats,
    /// Engine time of the last received frame: frames enter in order.
    rx_floor: Instant,
    /// Where the counters are published.
    publish: Option<watch::Sender<Arc<DataPlaneSnapshot>>>,
    /// When they are next due (monotonic ns).
    next_publish: u64,
    /// Something may have changed the counters since they were published:
    /// an idle appliance with nothing new to publish sleeps without a
    /// timeout (it uses no CPU at all), instead of waking every interval.
    dirty: bool,
}

fn now() -> Instant {
    Instant::from_nanos(sys::monotonic_ns())
}

/// Frames stamped longer ago than this are taken as received now: a gap
/// that large more likely means the wall clock was stepped than that the
/// loop stalled (host preemption here lasts up to a few ms), and a wrong
/// stamp may shorten a delay by at most this much.
const MAX_RX_LAG_NS: u64 = 10_000_000;

/// The engine time at which a frame arrived: `now` minus how long ago the
/// kernel stamped it (`rx_realtime_ns`, 0 if unknown), read against the
/// wall clock `real_now` taken with `now`. So a packet's delay runs from
/// when it reached the interface, as in netem, and a loop that was
/// preempted when the frame came in (on this VM, the host takes the CPU
/// for up to a few ms now and then) no longer adds that time to the delay.
fn arrival(now: Instant, real_now: u64, rx_realtime_ns: u64) -> Instant {
    match real_now.checked_sub(rx_realtime_ns) {
        Some(lag) if rx_realtime_ns != 0 && lag <= MAX_RX_LAG_NS => {
            Instant::from_nanos(now.as_nanos() - lag.min(now.as_nanos()))
        }
        _ => now,
    }
}

impl Loop {
    fn run(mut self) -> Engine {
        sys::set_timer_slack_ns(1);
        if self.opts.realtime_priority > 0 {
            if let Err(e) = sys::set_realtime(self.opts.realtime_priority) {
                tracing::warn!(error = %e, "data plane: cannot get real-time priority");
            }
        }
        let mut events: Vec<Event> = Vec::with_capacity(64);
        let mut rxbuf: Vec<Packet> = Vec::with_capacity(super::port::BATCH);
        let mut last_active = 0u64;
        loop {
            let t = now();
            let next = self.engine.poll_timeout();
            let timeout = if t.nanos_since(Instant::from_nanos(last_active)) < self.opts.busy_poll_ns {
                Some(Duration::ZERO)
            } else {
                let publish = self.dirty.then(|| Duration::from_nanos(self.next_publish.saturating_sub(t.as_nanos())));
                match next {
                    None => publish,
                    Some(d) if d.nanos_since(t) <= self.opts.spin_ns => Some(Duration::ZERO),
                    Some(d) => Some(
                        Duration::from_nanos(d.nanos_since(t) - self.opts.spin_ns)
                            .min(publish.unwrap_or(Duration::MAX)),
                    ),
                }
            };
            if let Err(e) = self.epoll.wait(&mut events, timeout) {
                tracing::error!(error = %e, "data plane: epoll wait failed; retrying in 10 ms");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            self.stats.wakeups += 1;
            let mut shutdown = false;
            for ev in events.iter().copied() {
                if ev.token == WAKE_TOKEN {
                    self.wake.drain();
                    let (stop, reloaded) = self.control();
                    shutdown |= stop;
                    if reloaded {
                        // A reload renumbers the ports: the rest of this
                        // batch carries old tokens. Epoll is level-triggered,
                        // so the next wait reports them again, renumbered.
                        break;
                    }
                    continue;
                }
                let i = ev.token as usize;
                if ev.writable && self.blocked[i] {
                    self.flush_port(i);
                }
                if !ev.readable {
                    continue;
                }
                for _ in 0..RX_BATCHES_PER_WAKE {
                    rxbuf.clear();
                    match self.ports[i].port.recv(&mut self.pool, &mut rxbuf) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            // Reported once per port; the interface may come back.
                            if self.ports[i].port.stats().rx_errors == 0 {
                                tracing::warn!(port = self.ports[i].port.name(), error = %e, "receive failed (reported once per port)");
                            }
                            self.ports[i].port.count_rx_error();
                            break;
                        }
                    }
                    let t = now();
                    let real = sys::realtime_ns();
                    last_active = t.as_nanos();
                    self.dirty = true;
                    let node = self.ports[i].node;
                    for p in rxbuf.drain(..) {
                        // Never before a frame already handed over: stamps
                        // from different CPUs and ports interleave, and a
                        // link's FIFO delay line would hold a frame that
                        // arrives "before" the one ahead of it.
                        let at = arrival(t, real, p.meta.rx_realtime_ns).max(self.rx_floor);
                        self.rx_floor = at;
                        self.engine.handle_rx(node, p, at);
                    }
                    self.flush_all();
                }
            }
            if shutdown {
                return self.engine;
            }
            let t = now();
            if let Some(d) = self.engine.poll_timeout() {
                if d <= t {
                    self.stats.record_lateness(t.nanos_since(d));
                    self.engine.handle_timeout(t);
                    self.dirty = true;
                }
            }
            self.flush_all();
            if self.dirty && t.as_nanos() >= self.next_publish {
                self.publish_counters();
            }
        }
    }

    /// Every counter, now.
    fn snapshot(&mut self) -> DataPlaneSnapshot {
        for b in &mut self.ports {
            b.port.poll_kernel_stats();
        }
        let mut snap = command::engine_snapshot(&self.engine);
        snap.ports = self
            .ports
            .iter()
            .map(|b| (self.engine.topology().nodes[b.node].name.clone(), b.port.stats().into()))
            .collect();
        snap.loop_stats = self.stats.clone();
        snap
    }

    /// Publishes the counters (readers never wait for the data plane).
    fn publish_counters(&mut self) {
        let snap = Arc::new(self.snapshot());
        if let Some(p) = &self.publish {
            p.send_replace(snap);
        }
        self.next_publish = now().as_nanos() + PUBLISH_INTERVAL_NS;
        self.dirty = false;
    }

    /// Runs pending commands; returns (shutdown, ports renumbered).
    fn control(&mut self) -> (bool, bool) {
        let mut reloaded = false;
        while let Ok(env) = self.rx.try_recv() {
            if !env.take() {
                continue; // withdrawn by a caller that gave up: never applied
            }
            let Envelope { cmd, reply, .. } = env;
            let changes = cmd.changes_engine();
            let r = match cmd {
                EngineCommand::Shutdown => {
                    reply.send(Ok(EngineReply::Done));
                    return (true, reloaded);
                }
                EngineCommand::Reload(plan) => match command::check_reload(&plan) {
                    Ok(()) => {
                        reloaded = true;
                        Ok(EngineReply::Reloaded(self.reload(*plan)))
                    }
                    Err(e) => Err(e),
                },
                EngineCommand::Snapshot => Ok(EngineReply::Snapshot(Box::new(self.snapshot()))),
                other => command::execute(&mut self.engine, other, now()),
            };
            if changes && r.is_ok() {
                // Before answering: whoever reads after the answer sees the change.
                self.publish_counters();
            }
            reply.send(r);
        }
        (false, reloaded)
    }

    /// Switches to a new topology, its faults, filters and ports, in one step.
    fn reload(&mut self, plan: ReloadPlan) -> ReloadReport {
        let ReloadPlan { topo, faults, filters, add, remove } = plan;
        let old_names: Vec<String> = self.engine.topology().nodes.iter().map(|n| n.name.clone()).collect();
        let report = command::reload_engine(&mut self.engine, &topo, faults, filters, now());
        for b in &self.ports {
            let _ = self.epoll.delete(b.port.raw_fd());
        }
        let mut bindings = Vec::with_capacity(self.ports.len() + add.len());
        for b in self.ports.drain(..) {
            let Some(name) = old_names.get(b.node) else { continue };
            if remove.contains(name) {
                continue; // dropped here: the descriptor closes
            }
            if let Some(i) = topo.node_index(name) {
                bindings.push(PortBinding { node: i, port: b.port });
            }
        }
        for (name, port) in add {
            if let Some(i) = topo.node_index(&name) {
                bindings.push(PortBinding { node: i, port });
            }
        }
        for (i, b) in bindings.iter().enumerate() {
            if let Err(e) = self.epoll.add(b.port.raw_fd(), false, i as u64) {
                tracing::error!(port = b.port.name(), error = %e, "data plane: cannot watch port after reload");
            }
        }
        self.blocked = vec![false; bindings.len()];
        self.ports = bindings;
        report
    }

    fn flush_port(&mut self, i: usize) {
        let node = self.ports[i].node;
        let q: &mut VecDeque<Packet> = self.engine.tx_queue(node);
        if q.is_empty() && !self.blocked[i] {
            return;
        }
        let outcome = self.ports[i].port.send(q, &mut self.pool);
        let block = outcome == SendOutcome::WouldBlock;
        if block != self.blocked[i] {
            let _ = self.epoll.modify(self.ports[i].port.raw_fd(), block, i as u64);
            self.blocked[i] = block;
        }
    }

    fn flush_all(&mut self) {
        if !self.engine.has_tx() {
            return;
        }
        for i in 0..self.ports.len() {
            self.flush_port(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{EffectKind, FaultEffect};
    use crate::io::command::FaultPlan;

    fn pair() -> DataPlane {
        let t = crate::topology::parse_str(
            "name: p\nnodes:\n  a: {kind: host, addresses: [10.0.0.1/24]}\n  b: {kind: host, addresses: [10.0.0.2/24]}\nsegments:\n  lan: {kind: switch}\nlinks:\n  la: {a: a, b: lan}\n  lb: {a: b, b: lan}\n",
            "p",
            None,
        )
        .unwrap();
        DataPlane::start(Engine::new(&t, now()), Vec::new(), Options::default()).unwrap()
    }

    fn down_on_la() -> FaultPlan {
        let mut plan = FaultPlan::none(2);
        let e = FaultEffect { id: 1, kind: EffectKind::Down, probability: 1.0, start: Instant::ZERO, end: None };
        plan.links[0] = [vec![e.clone()], vec![e]];
        plan
    }

    fn faults_on_la(s: &DataPlaneSnapshot) -> Vec<u64> {
        s.engine.links[0].a_to_b.faults.clone()
    }

    #[test]
    fn a_command_not_taken_in_time_is_withdrawn_and_never_runs() {
        let dp = pair();
        let h = dp.handle();
        let stall = h.submit(EngineCommand::Stall { ms: 300 }).unwrap();
        while !stall.taken() {
            std::thread::yield_now();
        }
        let t = Duration::from_millis(50);
        let r = h.call_blocking(EngineCommand::InstallFaults(down_on_la()), t);
        assert_eq!(r.err(), Some(CommandError::Timeout(t)));
        assert!(matches!(stall.wait(Duration::from_secs(5)), Ok(EngineReply::Done)));
        // The loop is past the withdrawn command: it was dropped, not run late.
        assert_eq!(faults_on_la(&h.snapshot().unwrap()), Vec::<u64>::new());
        // The same command, taken in time, runs; the counters published
        // before the answer already show it.
        assert!(matches!(
            h.call_blocking(EngineCommand::InstallFaults(down_on_la()), Duration::from_secs(5)),
            Ok(EngineReply::Done)
        ));
        assert_eq!(faults_on_la(&h.counters()), vec![1]);
        // A plan for another topology is refused and changes nothing.
        let r = h.call_blocking(EngineCommand::InstallFaults(FaultPlan::none(3)), Duration::from_secs(5));
        assert!(matches!(r, Err(CommandError::Rejected(_))), "{r:?}");
        assert_eq!(faults_on_la(&h.snapshot().unwrap()), vec![1]);
        drop(dp);
        assert_eq!(h.call_blocking(EngineCommand::Snapshot, t).err(), Some(CommandError::Stopped));
    }

    #[test]
    fn an_async_caller_that_gives_up_withdraws_its_command() {
        let dp = pair();
        let h = dp.handle();
        let stall = h.submit(EngineCommand::Stall { ms: 300 }).unwrap();
        while !stall.taken() {
            std::thread::yield_now();
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let t = Duration::from_millis(50);
        let r = rt.block_on(h.call(EngineCommand::InstallFaults(down_on_la()), t));
        assert_eq!(r.err(), Some(CommandError::Timeout(t)));
        stall.wait(Duration::from_secs(5)).unwrap();
        assert_eq!(faults_on_la(&h.snapshot().unwrap()), Vec::<u64>::new());
        let r = rt.block_on(h.call(EngineCommand::InstallFaults(down_on_la()), Duration::from_secs(5)));
        assert!(matches!(r, Ok(EngineReply::Done)));
        assert_eq!(faults_on_la(&h.counters()), vec![1]);
    }

    #[test]
    fn arrival_goes_back_by_the_kernel_lag_and_no_further() {
        let now = Instant::from_nanos(5_000_000_000);
        let real = 1_700_000_000_000_000_000u64;
        // 300 µs ago by the kernel's stamp: 300 µs earlier in engine time.
        assert_eq!(arrival(now, real, real - 300_000), Instant::from_nanos(5_000_000_000 - 300_000));
        // Unknown, from the future (clock stepped back), or implausibly old
        // (clock stepped forward): now.
        assert_eq!(arrival(now, real, 0), now);
        assert_eq!(arrival(now, real, real + 1), now);
        assert_eq!(arrival(now, real, real - MAX_RX_LAG_NS - 1), now);
        assert_eq!(arrival(now, real, real - MAX_RX_LAG_NS), Instant::from_nanos(5_000_000_000 - MAX_RX_LAG_NS));
        // Never before the engine's epoch.
        assert_eq!(arrival(Instant::from_nanos(1_000), real, real - 5_000), Instant::from_nanos(0));
    }
}
