//! Commands that talk to a running appliance over its API, with the syntax
//! network engineers know from tc.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::client::{Client, decode};
use super::summary::render;

const KEYWORDS: [&str; 7] = ["delay", "loss", "corrupt", "duplicate", "reorder", "rate", "mtu"];

/// Turns `delay 10ms 2ms 25% loss 1% rate off` into a direction patch:
/// each keyword takes the words up to the next keyword; `off` clears it.
pub(crate) fn parse_link_args(args: &[String]) -> anyhow::Result<Value> {
    if args.is_empty() {
        bail!("nothing to set: give e.g. `delay 10ms 2ms loss 1% rate 100mbit` (`KEYWORD off` clears one)");
    }
    let mut patch = serde_json::Map::new();
    let mut i = 0;
    while i < args.len() {
        let key = args[i].as_str();
        if !KEYWORDS.contains(&key) {
            bail!("`{key}` is not an impairment; use {}", KEYWORDS.join(", "));
        }
        let mut j = i + 1;
        while j < args.len() && !KEYWORDS.contains(&args[j].as_str()) {
            j += 1;
        }
        let words = &args[i + 1..j];
        if words.is_empty() {
            bail!("`{key}` needs a value (or `off` to clear it)");
        }
        let value = if words.len() == 1 && words[0] == "off" {
            Value::Null
        } else if key == "mtu" {
            json!(words[0].parse::<u32>().with_context(|| format!("`{}` is not an MTU", words[0]))?)
        } else {
            Value::String(words.join(" "))
        };
        if patch.insert(key.to_string(), value).is_some() {
            bail!("`{key}` given twice");
        }
        i = j;
    }
    Ok(Value::Object(patch))
}

fn print_or_json(json_out: bool, v: &Value, text: impl FnOnce(&Value) -> String) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        print!("{}", text(v));
    }
}

fn links_table(v: &Value) -> String {
    let mut rows = vec![[
        "LINK".to_string(),
        "DIRECTION".into(),
        "IMPAIRMENTS".into(),
        "IN".into(),
        "OUT".into(),
        "DROPPED".into(),
        "QUEUED".into(),
        "FAULTS".into(),
    ]];
    for l in v.as_array().into_iter().flatten() {
        for (d, from, to) in [("a_to_b", &l["a"], &l["b"]), ("b_to_a", &l["b"], &l["a"])] {
            let live = &l[d]["live"];
            let drops: Vec<String> = live["drops"]
                .as_object()
                .map(|m| m.iter().map(|(k, n)| format!("{k}={n}")).collect())
                .unwrap_or_default();
            let faults: Vec<String> =
                live["faults"].as_array().map(|a| a.iter().map(|x| x.to_string()).collect()).unwrap_or_default();
            rows.push([
                l["name"].as_str().unwrap_or("").to_string(),
                format!("{}->{}", from.as_str().unwrap_or(""), to.as_str().unwrap_or("")),
                live["impairments"].as_str().unwrap_or("").to_string(),
                live["rx_packets"].to_string(),
                live["tx_packets"].to_string(),
                if drops.is_empty() { "-".into() } else { drops.join(" ") },
                (live["queue_packets"].as_u64().unwrap_or(0) + live["delay_line_packets"].as_u64().unwrap_or(0))
                    .to_string(),
                if faults.is_empty() { "-".into() } else { faults.join(",") },
            ]);
        }
    }
    render(&rows)
}

/// `faultmesh link show [NAME]`.
pub(crate) fn link_show(c: &Client, name: Option<&str>, json_out: bool) -> anyhow::Result<ExitCode> {
    let v = match name {
        Some(n) => Value::Array(vec![c.json("GET", &format!("/api/v1/links/{n}"), None)?]),
        None => c.json("GET", "/api/v1/links", None)?,
    };
    print_or_json(json_out, &v, links_table);
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh link set NAME [--direction D] delay 10ms …`.
pub(crate) fn link_set(c: &Client, name: &str, direction: &str, args: &[String]) -> anyhow::Result<ExitCode> {
    let dir = parse_link_args(args)?;
    let key = match direction {
        "both" | "a_to_b" | "b_to_a" => direction,
        other => bail!("unknown direction `{other}`: use a_to_b, b_to_a or both"),
    };
    let v = c.json("PATCH", &format!("/api/v1/links/{name}"), Some(&json!({ key: dir })))?;
    print!("{}", links_table(&Value::Array(vec![v])));
    Ok(ExitCode::SUCCESS)
}

/// Options of `faultmesh fault add`.
#[derive(clap::Args, Debug)]
pub(crate) struct FaultAdd {
    /// delay, jitter, loss, corrupt, duplicate, reorder, rate_limit, blackhole, down, partition, flap.
    #[arg(long)]
    kind: String,
    /// link=NAME, node=NAME, segment=NAME, label:KEY=VALUE or all.
    #[arg(long)]
    target: Option<String>,
    /// For link targets: a_to_b, b_to_a or both.
    #[arg(long)]
    direction: Option<String>,
    /// Share of packets affected (delay, jitter, blackhole, down, flap), e.g. 50%.
    #[arg(long)]
    probability: Option<String>,
    /// Lifetime, e.g. 30s.
    #[arg(long)]
    ttl: Option<String>,
    /// Delay before it starts, e.g. 5s.
    #[arg(long)]
    start_in: Option<String>,
    /// Scenario label (delete together with `fault clear --scenario`).
    #[arg(long)]
    scenario: Option<String>,
    /// delay: the added delay.
    #[arg(long)]
    delay: Option<String>,
    /// delay/jitter: the jitter.
    #[arg(long)]
    jitter: Option<String>,
    /// loss/corrupt/duplicate/reorder: the rate, e.g. 10%.
    #[arg(long)]
    percent: Option<String>,
    /// rate_limit: the cap, e.g. 1mbit.
    #[arg(long)]
    rate: Option<String>,
    /// flap: the cycle, e.g. 10s.
    #[arg(long)]
    period: Option<String>,
    /// flap: share of the cycle the link is up (default 50%).
    #[arg(long)]
    duty: Option<String>,
    /// partition: two groups, `a,b/c,d` (names or label:KEY=VALUE).
    #[arg(long)]
    groups: Option<String>,
}

fn faults_table(v: &Value) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "KIND".into(),
        "WHERE".into(),
        "PARAMS".into(),
        "STATE".into(),
        "EXPIRES IN".into(),
        "SCENARIO".into(),
    ]];
    let now = faultmesh_api::events::unix_ms();
    for f in v.as_array().into_iter().flatten() {
        let mut params = Vec::new();
        for k in ["delay", "jitter", "percent", "rate", "period", "duty", "probability"] {
            if let Some(x) = f[k].as_str() {
                params.push(format!("{k}={x}"));
            }
        }
        let expires = f["expires_ms"]
            .as_u64()
            .map(|e| format!("{:.1}s", e.saturating_sub(now) as f64 / 1e3))
            .unwrap_or_else(|| "-".into());
        let wher: Vec<String> = f["applies_to"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default();
        rows.push([
            f["id"].to_string(),
            f["kind"].as_str().unwrap_or("").into(),
            wher.join(" "),
            if params.is_empty() { "-".into() } else { params.join(" ") },
            f["state"].as_str().unwrap_or("").into(),
            expires,
            f["scenario"].as_str().unwrap_or("-").into(),
        ]);
    }
    render(&rows)
}

/// `faultmesh fault add`.
pub(crate) fn fault_add(c: &Client, a: &FaultAdd) -> anyhow::Result<ExitCode> {
    let mut body = serde_json::Map::new();
    body.insert("kind".into(), json!(a.kind));
    for (k, v) in [
        ("target", &a.target),
        ("direction", &a.direction),
        ("probability", &a.probability),
        ("ttl", &a.ttl),
        ("start_in", &a.start_in),
        ("scenario", &a.scenario),
        ("delay", &a.delay),
        ("jitter", &a.jitter),
        ("percent", &a.percent),
        ("rate", &a.rate),
        ("period", &a.period),
        ("duty", &a.duty),
    ] {
        if let Some(x) = v {
            body.insert(k.into(), json!(x));
        }
    }
    if let Some(g) = &a.groups {
        let groups: Vec<Vec<&str>> =
            g.split('/').map(|x| x.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).collect();
        body.insert("groups".into(), json!(groups));
    }
    let v = c.json("POST", "/api/v1/faults", Some(&Value::Object(body)))?;
    print!("{}", faults_table(&Value::Array(vec![v])));
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh fault list`.
pub(crate) fn fault_list(c: &Client, json_out: bool) -> anyhow::Result<ExitCode> {
    let v = c.json("GET", "/api/v1/faults", None)?;
    print_or_json(json_out, &v, faults_table);
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh fault del ID`.
pub(crate) fn fault_del(c: &Client, id: &str) -> anyhow::Result<ExitCode> {
    let v = c.json("DELETE", &format!("/api/v1/faults/{id}"), None)?;
    println!("deleted fault {}", v["id"]);
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh fault clear [--scenario S]` (without a scenario: the kill switch).
pub(crate) fn fault_clear(c: &Client, scenario: Option<&str>) -> anyhow::Result<ExitCode> {
    let v = match scenario {
        Some(s) => c.json("DELETE", &format!("/api/v1/faults?scenario={}", encode(s)), None)?,
        None => c.json("POST", "/api/v1/killswitch", None)?,
    };
    let n = v["deleted"].as_array().map_or(0, |a| a.len());
    println!(
        "removed {n} fault{}{}",
        if n == 1 { "" } else { "s" },
        if scenario.is_none() { "; every link is back to its configuration" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `faultmesh counters [--watch]`.
pub(crate) fn counters(c: &Client, watch: Option<f64>, json_out: bool) -> anyhow::Result<ExitCode> {
    loop {
        let v = c.json("GET", "/api/v1/links", None)?;
        if watch.is_some() && !json_out {
            print!("\x1b[2J\x1b[H");
        }
        print_or_json(json_out, &v, links_table);
        match watch {
            Some(s) => std::thread::sleep(Duration::from_secs_f64(s.max(0.1))),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn reload_summary(v: &Value) {
    let r = &v["report"];
    for (k, label) in
        [("links_kept", "kept"), ("links_changed", "changed"), ("links_added", "added"), ("links_removed", "removed")]
    {
        let names: Vec<&str> =
            r[k].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        if !names.is_empty() {
            println!("links {label}: {}", names.join(", "));
        }
    }
    for (k, label) in [("nodes_added", "added"), ("nodes_removed", "removed")] {
        let names: Vec<&str> =
            r[k].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        if !names.is_empty() {
            println!("nodes {label}: {}", names.join(", "));
        }
    }
    println!("packets dropped on removed links: {}", r["packets_dropped"]);
}

/// `faultmesh reload [FILE]`.
pub(crate) fn reload(c: &Client, file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let v = match file {
        Some(f) => {
            let text = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            decode(c.request("PUT", "/api/v1/topology", Some(("application/yaml", &text)))?)?
        }
        None => c.json("POST", "/api/v1/topology/reload", None)?,
    };
    reload_summary(&v);
    Ok(ExitCode::SUCCESS)
}

fn event_line(e: &Value) -> String {
    let secs = e["time_ms"].as_u64().unwrap_or(0) / 1000;
    format!(
        "#{} t={} {} {} {}",
        e["seq"],
        secs,
        e["actor"].as_str().unwrap_or(""),
        e["action"].as_str().unwrap_or(""),
        e["detail"]
    )
}

/// `faultmesh events [--follow]`.
pub(crate) fn events(c: &Client, follow: bool) -> anyhow::Result<ExitCode> {
    let v = c.json("GET", "/api/v1/events", None)?;
    let mut last = 0;
    for e in v.as_array().into_iter().flatten() {
        println!("{}", event_line(e));
        last = e["seq"].as_u64().unwrap_or(last);
    }
    if follow {
        // The stream resumes after the last event printed: nothing recorded
        // between the two requests is lost or printed twice.
        c.follow(&format!("/api/v1/events/stream?after={last}"), |data| {
            if let Ok(e) = serde_json::from_str::<Value>(data) {
                println!("{}", event_line(&e));
            }
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `faultmesh status`.
pub(crate) fn status(c: &Client) -> anyhow::Result<ExitCode> {
    let v = c.json("GET", "/api/v1/status", None)?;
    println!(
        "topology `{}`: {} nodes, {} segments, {} links, {} faults; release lateness p50 {} us, p99 {} us",
        v["topology"].as_str().unwrap_or(""),
        v["nodes"],
        v["segments"],
        v["links"],
        v["faults"],
        v["dataplane"]["lateness_p50_us"],
        v["dataplane"]["lateness_p99_us"]
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn tc_style_arguments() {
        let v = parse_link_args(&words("delay 10ms 2ms 25% loss 1% rate 100mbit mtu 1400 corrupt off")).unwrap();
        assert_eq!(v, json!({"delay": "10ms 2ms 25%", "loss": "1%", "rate": "100mbit", "mtu": 1400, "corrupt": null}));
        assert!(parse_link_args(&words("delay")).is_err());
        assert!(parse_link_args(&words("jitter 5ms")).is_err());
        assert!(parse_link_args(&words("loss 1% loss 2%")).is_err());
        assert!(parse_link_args(&[]).is_err());
    }
}
