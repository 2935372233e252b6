//! `faultmesh validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use faultmesh_emulator::topology::{self, Endpoint};

pub(crate) fn run(files: &[PathBuf], json: bool, scripts_dir: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for f in files {
        let name = f.display().to_string();
        match topology::load_file_with(f, scripts_dir) {
            Ok((t, _)) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&t)?);
                    continue;
                }
                let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
                println!(
                    "{name}: ok — `{}`: {}, {}, {}, seed {}",
                    t.name,
                    plural(t.nodes.len(), "node"),
                    plural(t.segments.len(), "segment"),
                    plural(t.links.len(), "link"),
                    t.seed
                );
                for l in &t.links {
                    let end = |e: Endpoint| t.endpoint_name(e).to_string();
                    if l.a_to_b == l.b_to_a {
                        if !l.a_to_b.is_clean() {
                            println!("  {:<16} {} <-> {}: {}", l.name, end(l.a), end(l.b), l.a_to_b.summary());
                        }
                    } else {
                        println!("  {:<16} {} -> {}: {}", l.name, end(l.a), end(l.b), l.a_to_b.summary());
                        println!("  {:<16} {} -> {}: {}", "", end(l.b), end(l.a), l.b_to_a.summary());
                    }
                }
            }
            Err((diags, source)) => {
                ok = false;
                eprint!("{}", diags.render(&name, &source));
                eprintln!("{name}: {} error{}", diags.0.len(), if diags.0.len() == 1 { "" } else { "s" });
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
