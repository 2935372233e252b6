//! The audit log: every change to the running appliance, who made it and
//! when, kept in a bounded ring and streamed live to subscribers.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// Events kept for `GET /events`.
pub const EVENT_RING: usize = 2000;

/// One change.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Event {
    /// Sequence number, increasing.
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who: `api:<client address>` (or the `X-Faultmesh-Actor` header), `system`.
    pub actor: String,
    /// What: `topology.reload`, `link.patch`, `fault.create`, `fault.expire`,
    /// `fault.delete`, `fault.killswitch`, `script.error`, …
    pub action: String,
    /// Details of the change.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The log.
pub struct EventLog {
    ring: Mutex<VecDeque<Event>>,
    tx: broadcast::Sender<Event>,
    seq: AtomicU64,
}

impl Default for EventLog {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        EventLog { ring: Mutex::new(VecDeque::new()), tx, seq: AtomicU64::new(1) }
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl EventLog {
    /// Records an event and notifies subscribers.
    pub fn record(&self, actor: &str, action: &str, detail: serde_json::Value) -> Event {
        let mut e = Event { seq: 0, time_ms: unix_ms(), actor: actor.to_string(), action: action.to_string(), detail };
        // Numbering, storing and broadcasting under one lock: the log, the
        // stream and the numbers agree on the order (a subscriber resuming
        // after N relies on it).
        let mut r = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        e.seq = self.seq.fetch_add(1, Ordering::SeqCst);
        if r.len() >= EVENT_RING {
            r.pop_front();
        }
        r.push_back(e.clone());
        let _ = self.tx.send(e.clone());
        // Every audit event also goes to the log (JSON with --log-format json).
        tracing::info!(target: "faultmesh::audit", seq = e.seq, actor = %e.actor, action = %e.action, detail = %e.detail, "event");
        e
    }

    /// Events with `seq > after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<Event> {
        let r = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        r.iter().filter(|e| e.seq > after).cloned().collect()
    }

    /// A live subscription, and the sequence number of the last event
    /// recorded before it (0: none); every later one reaches the receiver.
    pub fn subscribe(&self) -> (broadcast::Receiver<Event>, u64) {
        let _r = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        (self.tx.subscribe(), self.seq.load(Ordering::SeqCst) - 1)
    }
}
