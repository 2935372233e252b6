//! Virtual-time harness: drives pipelines the way the I/O layer does, but with
//! a clock that jumps straight to the next deadline.
//!
//! Contract: [`PathSim`] chains link directions (a multi-hop path): a packet
//! leaving hop *i* at virtual instant *t* enters hop *i + 1* at *t*. `send`
//! first runs every deadline before the send instant, so the simulated order of
//! events is the order a perfectly punctual I/O loop would produce. Nothing
//! here sleeps or reads a clock; 10 seconds of a 10 Gbit/s link run in well
//! under a second.

use crate::impair::Impairments;
use crate::packet::Packet;
use crate::pipeline::Pipeline;
use crate::time::Instant;

/// A chain of link directions driven in virtual time.
pub struct PathSim {
    /// The hops, in order.
    pub hops: Vec<Pipeline>,
    now: Instant,
    delivered: Vec<(Packet, Instant)>,
    scratch: Vec<(Packet, Instant)>,
}

impl PathSim {
    /// A path through links with the given impairments (link `i` is named
    /// `hop{i}` for seeding), all seeded from `seed`.
    pub fn new(hops: &[Impairments], seed: u64) -> Self {
        PathSim {
            hops: hops
                .iter()
                .enumerate()
                .map(|(i, imp)| Pipeline::new(imp, seed, &format!("hop{i}"), 0, Instant::ZERO))
                .collect(),
            now: Instant::ZERO,
            delivered: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// A single link direction.
    pub fn link(imp: &Impairments, seed: u64) -> Self {
        Self::new(std::slice::from_ref(imp), seed)
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The earliest deadline of any hop.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.hops.iter().filter_map(|h| h.poll_timeout()).min()
    }

    fn propagate(&mut self, from_hop: usize) {
        // Packets in `scratch` left hop `from_hop`; carry them forward.
        let mut exits = std::mem::take(&mut self.scratch);
        let mut hop = from_hop + 1;
        while !exits.is_empty() {
            if hop >= self.hops.len() {
                self.delivered.append(&mut exits);
                break;
            }
            let mut next = Vec::new();
            for (p, t) in exits.drain(..) {
                self.hops[hop].handle(p, t, &mut next);
            }
            exits = next;
            hop += 1;
        }
        self.scratch = exits;
    }

    /// Runs every deadline up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some(next) = self.poll_timeout() {
            if next > t {
                break;
            }
            self.now = self.now.max(next);
            for i in 0..self.hops.len() {
                let mut out = std::mem::take(&mut self.scratch);
                self.hops[i].handle_timeout(self.now, &mut out);
                self.scratch = out;
                self.propagate(i);
            }
        }
        self.now = self.now.max(t);
    }

    /// Runs until nothing is held anywhere.
    pub fn run_to_completion(&mut self) {
        while let Some(next) = self.poll_timeout() {
            self.run_until(next);
        }
    }

    /// Sends a packet into the first hop at `at` (not before the clock).
    pub fn send(&mut self, pkt: Packet, at: Instant) {
        self.run_until(at);
        let mut out = std::mem::take(&mut self.scratch);
        self.hops[0].handle(pkt, self.now, &mut out);
        self.scratch = out;
        self.propagate(0);
    }

    /// Packets that left the last hop so far, with the instant they left.
    pub fn take_delivered(&mut self) -> Vec<(Packet, Instant)> {
        std::mem::take(&mut self.delivered)
    }

    /// Packets delivered so far (without taking them).
    pub fn delivered(&self) -> &[(Packet, Instant)] {
        &self.delivered
    }
}

/// A whole engine driven in virtual time: frames go in at nodes, come out at
/// nodes, stamped with the virtual instant the engine released them.
pub struct EngineSim {
    /// The engine.
    pub engine: crate::engine::Engine,
    now: Instant,
    delivered: Vec<Vec<(Packet, Instant)>>,
}

impl EngineSim {
    /// An engine for `topo` at time zero.
    pub fn new(topo: &crate::topology::Topology) -> Self {
        EngineSim {
            engine: crate::engine::Engine::new(topo, Instant::ZERO),
            now: Instant::ZERO,
            delivered: vec![Vec::new(); topo.nodes.len()],
        }
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    fn collect(&mut self) {
        for (n, out) in self.delivered.iter_mut().enumerate() {
            out.extend(self.engine.tx_queue(n).drain(..).map(|p| (p, self.now)));
        }
    }

    /// Runs every deadline up to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some(next) = self.engine.poll_timeout() {
            if next > t {
                break;
            }
            self.now = self.now.max(next);
            self.engine.handle_timeout(self.now);
            self.collect();
        }
        self.now = self.now.max(t);
    }

    /// Runs until nothing is held.
    pub fn run_to_completion(&mut self) {
        while let Some(next) = self.engine.poll_timeout() {
            self.run_until(next);
        }
    }

    /// Node `n` sends `frame` at `at`.
    pub fn send(&mut self, n: crate::topology::NodeId, frame: Packet, at: Instant) {
        self.run_until(at);
        self.engine.handle_rx(n, frame, self.now);
        self.collect();
    }

    /// Frames delivered to node `n` so far.
    pub fn take(&mut self, n: crate::topology::NodeId) -> Vec<(Packet, Instant)> {
        std::mem::take(&mut self.delivered[n])
    }
}

impl EngineSim {
    /// Reloads the engine with a new topology (delivery lists follow the new nodes).
    pub fn reload(&mut self, topo: &crate::topology::Topology) -> crate::engine::ReloadReport {
        let old: Vec<String> = self.engine.topology().nodes.iter().map(|n| n.name.clone()).collect();
        let report = self.engine.reload(topo, self.now);
        let mut prev: std::collections::HashMap<String, Vec<(Packet, Instant)>> =
            old.into_iter().zip(std::mem::take(&mut self.delivered)).collect();
        self.delivered = topo.nodes.iter().map(|n| prev.remove(&n.name).unwrap_or_default()).collect();
        report
    }
}
