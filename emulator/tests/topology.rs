//! Topology files: every shipped example validates, and every broken file
//! produces the expected `line:column` diagnostic.

use std::path::{Path, PathBuf};

use faultmesh_emulator::topology::{self, Endpoint};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_topology_validates() {
    let files = yaml_files(&repo().join("topologies"));
    assert!(files.len() >= 4, "at least four examples ship");
    for f in files {
        match topology::load_file(&f) {
            Ok((t, _)) => {
                assert!(!t.nodes.is_empty() && !t.links.is_empty(), "{}", f.display());
                for (i, n) in t.nodes.iter().enumerate() {
                    let (seg, _) = t.node_attachment(i);
                    assert!(t.segments[seg].links.contains(&n.link));
                }
            }
            Err((d, src)) => panic!("{} does not validate:\n{}", f.display(), d.render(&f.display().to_string(), &src)),
        }
    }
}

#[test]
fn examples_have_the_shapes_the_readme_promises() {
    let load = |n: &str| {
        topology::load_file(&repo().join("topologies").join(n))
            .map(|x| x.0)
            .unwrap_or_else(|(d, s)| panic!("{}", d.render(n, &s)))
    };
    let wan = load("wan.yaml");
    assert_eq!(wan.nodes.len(), 2);
    let l = &wan.links[wan.link_index("wan").unwrap()];
    assert_eq!(l.a_to_b, l.b_to_a, "`both` applies to both directions");
    assert_eq!(l.a_to_b.rate.unwrap().rate_bps, 50_000_000);
    let star = load("star.yaml");
    assert_eq!(star.nodes.len(), 8);
    assert_eq!(star.segments.len(), 1);
    let h8 = &star.links[star.link_index("h8-port").unwrap()];
    assert_ne!(h8.a_to_b, h8.b_to_a, "per-direction impairments");
    let ds = load("dual-stack.yaml");
    assert!(ds.nodes.iter().all(|n| n.addresses.iter().any(|a| a.addr.is_ipv6())));
    let tt = load("three-tier.yaml");
    let bb = &tt.links[tt.link_index("backbone").unwrap()];
    assert!(matches!((bb.a, bb.b), (Endpoint::Segment(_), Endpoint::Segment(_))));
    assert!(bb.a_to_b.loss.is_some());
}

#[test]
fn broken_files_report_line_and_column() {
    let files = yaml_files(&repo().join("tests/broken-topologies"));
    assert!(files.len() >= 12);
    let mut failures = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let expect = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: no expectation", f.display()));
        let mut parts = expect.splitn(3, ':');
        let line: u64 = parts.next().unwrap().parse().unwrap();
        let col: u64 = parts.next().unwrap().parse().unwrap();
        let text = parts.next().unwrap_or("").trim();
        let Err((diags, _)) = topology::load_file(&f) else {
            panic!("{} validated but should not", f.display());
        };
        let rendered = diags.render(&f.display().to_string(), &src);
        if !diags.0.iter().any(|d| d.line == line && d.column == col && d.message.contains(text)) {
            failures.push(format!("{}: expected {line}:{col} `{text}`, got:\n{rendered}", f.display()));
            continue;
        }
        assert!(rendered.contains(&format!(":{line}:{col}: ")), "{rendered}");
        assert!(rendered.contains(" | "), "rendered with a snippet: {rendered}");
        assert!(rendered.contains("hint: ") || text.is_empty(), "every semantic error has a hint: {rendered}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn garbage_never_panics() {
    use proptest::prelude::*;
    let mut runner =
        proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases: 512, ..Default::default() });
    let base = std::fs::read_to_string(repo().join("topologies/wan.yaml")).unwrap();
    runner
        .run(&(proptest::collection::vec((0usize..2000, any::<u8>()), 0..8), ".{0,200}"), |(edits, junk)| {
            let mut bytes = base.clone().into_bytes();
            for (i, b) in edits {
                if i < bytes.len() {
                    bytes[i] = b;
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let _ = topology::parse_str(&text, "fuzz", None);
            let _ = topology::parse_str(&junk, "fuzz", None);
            Ok(())
        })
        .unwrap();
}
