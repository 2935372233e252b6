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

/// Whatever a topology says, a topology that validates only carries names
/// that pass the grammar of `names` wherever they reach the kernel or a
/// path: node, segment, link and topology names, namespaces, interfaces and
/// device names. The strings mix safe characters with every character class
/// a hostile file could use (newline, `/`, `-` first, NUL, spaces, quotes,
/// `$`, look-alikes) and lengths around every limit.
#[test]
fn only_grammatical_names_survive_validation() {
    use faultmesh_emulator::names::{NameKind, check};
    use faultmesh_emulator::topology::NodeKind;
    use proptest::prelude::*;
    // Mostly good names, so that most topologies validate and the property
    // is exercised; one field in a few is hostile or at a length limit.
    let name = || {
        prop_oneof![
            12 => "[a-z0-9][a-z0-9._-]{0,12}",
            1 => "[a-z0-9 \\n/.$;`'\"\\\\\\x00ｅа-]{0,20}",
            1 => "[a-z]{14,17}",
            1 => "[a-z]{39,41}",
        ]
    };
    let validated = std::cell::Cell::new(0u32);
    let mut runner =
        proptest::test_runner::TestRunner::new(proptest::test_runner::Config { cases: 768, ..Default::default() });
    runner
        .run(&(name(), name(), name(), name(), name(), name(), name()), |(topo, node, seg, link, netns, iface, dev)| {
            let q = |s: &str| serde_json::to_string(s).unwrap();
            let yaml = format!(
                "name: {}\nnodes:\n  {}: {{kind: host, addresses: [10.0.0.2/24], netns: {}}}\n  up: {{kind: attach, interface: {}}}\n  d: {{kind: tap, device: {}, addresses: [10.0.0.4/24]}}\nsegments:\n  {}: {{kind: switch}}\nlinks:\n  {}: {{a: {}, b: {}}}\n  lu: {{a: up, b: {}}}\n  ld: {{a: d, b: {}}}\n",
                q(&topo), q(&node), q(&netns), q(&iface), q(&dev), q(&seg), q(&link), q(&node), q(&seg), q(&seg), q(&seg)
            );
            if let Ok(t) = topology::parse_str(&yaml, "fuzz", None) {
                validated.set(validated.get() + 1);
                prop_assert!(check(NameKind::Topology, &t.name).is_ok(), "{}", t.name);
                for n in &t.nodes {
                    prop_assert!(check(NameKind::Node, &n.name).is_ok());
                    match &n.kind {
                        NodeKind::Host { netns, .. } => {
                            if let Some(ns) = netns {
                                prop_assert!(check(NameKind::Netns, ns).is_ok(), "{ns:?}");
                            }
                        }
                        NodeKind::Attach { interface, netns } => {
                            prop_assert!(check(NameKind::Interface, interface).is_ok(), "{interface:?}");
                            prop_assert!(netns.as_deref().is_none_or(|n| check(NameKind::Netns, n).is_ok()));
                        }
                        NodeKind::Device { name, netns, .. } => {
                            prop_assert!(name.as_deref().is_none_or(|n| check(NameKind::Interface, n).is_ok()));
                            prop_assert!(netns.as_deref().is_none_or(|n| check(NameKind::Netns, n).is_ok()));
                        }
                        NodeKind::Container { interface, .. } => {
                            prop_assert!(check(NameKind::Interface, interface).is_ok(), "{interface:?}");
                        }
                    }
                }
                for s in &t.segments {
                    prop_assert!(check(NameKind::Segment, &s.name).is_ok());
                }
                for l in &t.links {
                    prop_assert!(check(NameKind::Link, &l.name).is_ok());
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(
        validated.get() > 150,
        "only {} of 768 topologies validated: the property was hardly tested",
        validated.get()
    );
}
