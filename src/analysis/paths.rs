//! Why is a package installed? Dependency paths from the top-level packages (those nothing else
//! requires) down to a target, computed from each package's raw `Requires-Dist` strings.
//! Engine-agnostic graph logic: it only needs the report's packages.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::str::FromStr;

use pep508_rs::{ExtraName, Requirement};

use crate::model::{PackageReport, normalize_name};

/// Most partial paths explored per query: a bound on the work for dense graphs, far above what
/// real environments need for the first few shortest paths.
const EXPLORATION_BUDGET: usize = 100_000;

/// One `Requires-Dist` entry, reduced to what the graph needs.
struct Edge {
    /// PEP 503 normalised name of the required package.
    target: String,
    /// Extras requested of the target (`requests[socks]`).
    extras: Vec<String>,
    requirement: Option<Requirement>,
}

impl Edge {
    fn parse(raw: &str) -> Option<Edge> {
        match crate::pep508::parse_requirement(raw) {
            Ok(req) => Some(Edge {
                target: normalize_name(req.name.as_ref()),
                extras: req.extras.iter().map(|e| e.to_string()).collect(),
                requirement: Some(req),
            }),
            // Metadata in the wild is not always valid PEP 508: fall back to the leading name
            // and treat anything after `;` that mentions an extra as extras-only.
            Err(_) => {
                let end = raw
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                    .unwrap_or(raw.len());
                let name = raw[..end].trim();
                if name.is_empty() {
                    return None;
                }
                let marker = raw.split_once(';').map(|(_, m)| m).unwrap_or("");
                if marker.contains("extra") {
                    return None;
                }
                Some(Edge {
                    target: normalize_name(name),
                    extras: Vec::new(),
                    requirement: None,
                })
            }
        }
    }

    /// Whether this requirement applies when the requiring package was installed with
    /// `extras`. Environment markers (python version, platform) are assumed satisfiable: the
    /// edge only matters when its target is installed anyway.
    fn active(&self, extras: &[ExtraName]) -> bool {
        match &self.requirement {
            Some(req) => req.marker.evaluate_extras(extras),
            None => true,
        }
    }
}

/// Installed packages and the active requirement edges between them (normalised names).
struct Graph<'a> {
    display: HashMap<&'a str, &'a str>,
    children: BTreeMap<&'a str, BTreeSet<&'a str>>,
    parents: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Graph<'a> {
    fn build(packages: &'a [PackageReport]) -> Graph<'a> {
        let display: HashMap<&str, &str> = packages
            .iter()
            .map(|p| (p.normalized.as_str(), p.name.as_str()))
            .collect();
        let edges: Vec<(&str, Vec<Edge>)> = packages
            .iter()
            .map(|p| {
                let edges = p
                    .requires
                    .iter()
                    .filter_map(|r| Edge::parse(r))
                    .filter(|e| e.target != p.normalized && display.contains_key(e.target.as_str()))
                    .collect();
                (p.normalized.as_str(), edges)
            })
            .collect();

        // Extras are requested by active edges, and requested extras activate more edges:
        // iterate to a fixed point (each round adds at least one extra, so it terminates).
        let mut requested: HashMap<&str, Vec<ExtraName>> = HashMap::new();
        loop {
            let mut changed = false;
            for (from, list) in &edges {
                let from_extras = requested.get(from).cloned().unwrap_or_default();
                for edge in list.iter().filter(|e| e.active(&from_extras)) {
                    for extra in &edge.extras {
                        let Ok(extra) = ExtraName::from_str(extra) else {
                            continue;
                        };
                        let Some((key, _)) = display.get_key_value(edge.target.as_str()) else {
                            continue;
                        };
                        let entry = requested.entry(key).or_default();
                        if !entry.contains(&extra) {
                            entry.push(extra);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }

        let mut children: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (from, list) in &edges {
            let from_extras = requested.get(from).cloned().unwrap_or_default();
            for edge in list.iter().filter(|e| e.active(&from_extras)) {
                let Some((to, _)) = display.get_key_value(edge.target.as_str()) else {
                    continue;
                };
                children.entry(from).or_default().insert(to);
                parents.entry(to).or_default().insert(from);
            }
        }
        Graph {
            display,
            children,
            parents,
        }
    }
}

/// Dependency paths from top-level packages down to `target` (any spelling of its name), shortest
/// first, at most `max_paths`. Each path starts at a package nothing requires and ends at the
/// target; a top-level target yields `[[target]]`. A target only reachable through a dependency
/// cycle that nothing else requires is shown from the cycle's alphabetically first member.
/// Returns no paths when the target is not among `packages`. Names are as the metadata spells
/// them. For many queries over one set of packages, build a [`DependencyGraph`] once.
pub fn dependency_paths(
    packages: &[PackageReport],
    target: &str,
    max_paths: usize,
) -> Vec<Vec<String>> {
    DependencyGraph::new(packages).paths(target, max_paths)
}

/// The requirement graph of a set of packages, built once (every `Requires-Dist` parsed once)
/// and queried per package.
///
/// Queries run on integer ids given in name order (so comparing id paths compares name paths)
/// with one distance table reused across queries: a report asks for every package's paths,
/// and with string-keyed maps 10,000 packages took most of a second.
pub struct DependencyGraph<'a> {
    graph: Graph<'a>,
    /// Normalised names, sorted: a node's id is its index.
    names: Vec<&'a str>,
    children: Vec<Vec<u32>>,
    parents: Vec<Vec<u32>>,
    scratch: RefCell<Scratch>,
}

/// Per-query distances to the target, reset through the list of nodes reached.
#[derive(Default)]
struct Scratch {
    distance: Vec<u32>,
    reached: Vec<u32>,
}

const UNREACHED: u32 = u32::MAX;

impl<'a> DependencyGraph<'a> {
    pub fn new(packages: &'a [PackageReport]) -> Self {
        let graph = Graph::build(packages);
        let mut names: Vec<&str> = graph.display.keys().copied().collect();
        names.sort_unstable();
        let id: HashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i as u32))
            .collect();
        // BTreeSet order is name order, hence id order.
        let index = |edges: &BTreeMap<&str, BTreeSet<&str>>| {
            let mut out = vec![Vec::new(); names.len()];
            for (from, to) in edges {
                out[id[from] as usize] = to.iter().map(|t| id[t]).collect();
            }
            out
        };
        let children = index(&graph.children);
        let parents = index(&graph.parents);
        let scratch = RefCell::new(Scratch {
            distance: vec![UNREACHED; names.len()],
            reached: Vec::new(),
        });
        DependencyGraph {
            graph,
            names,
            children,
            parents,
            scratch,
        }
    }

    /// The installed packages that `name` requires (normalised names, sorted), counting only
    /// requirements that apply (extras as requested).
    pub fn requires(&self, name: &str) -> Vec<&'a str> {
        let wanted = normalize_name(name);
        self.graph
            .children
            .get(wanted.as_str())
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default()
    }

    /// See [`dependency_paths`].
    pub fn paths(&self, target: &str, max_paths: usize) -> Vec<Vec<String>> {
        let wanted = normalize_name(target);
        let Ok(target) = self.names.binary_search(&wanted.as_str()) else {
            return Vec::new();
        };
        if max_paths == 0 {
            return Vec::new();
        }
        let target = target as u32;
        let mut scratch = self.scratch.borrow_mut();
        let Scratch { distance, reached } = &mut *scratch;

        // Distance to the target from every package that (transitively) requires it; those
        // are the only nodes a path can use.
        self.distances_to(target, distance, reached);
        let mut roots: Vec<u32> = reached
            .iter()
            .copied()
            .filter(|&n| self.parents[n as usize].is_empty())
            .collect();
        roots.sort_unstable();
        if roots.is_empty() {
            // Only cycles lead here: start from the first member by name other than the
            // target itself, unless the target is all there is.
            let first = reached.iter().copied().filter(|&n| n != target).min();
            roots.push(first.unwrap_or(target));
        }

        // Best-first over simple paths, ordered by the shortest length a partial path can still
        // reach (its length + its last node's distance, exact when no cycle intervenes), then by
        // names: complete paths come out shortest first, ties in name order, and partial paths
        // that cannot be among the shortest are not extended first.
        let mut found = Vec::new();
        let mut queue: BinaryHeap<Reverse<(usize, Vec<u32>)>> = roots
            .into_iter()
            .map(|r| Reverse((distance[r as usize] as usize, vec![r])))
            .collect();
        let mut explored = 0usize;
        while let Some(Reverse((_, path))) = queue.pop() {
            explored += 1;
            if explored > EXPLORATION_BUDGET {
                break;
            }
            let Some(&last) = path.last() else { continue };
            if last == target {
                found.push(path);
                if found.len() >= max_paths {
                    break;
                }
                continue;
            }
            for &child in &self.children[last as usize] {
                let d = distance[child as usize];
                if d != UNREACHED && !path.contains(&child) {
                    let mut next = path.clone();
                    next.push(child);
                    queue.push(Reverse((next.len() - 1 + d as usize, next)));
                }
            }
        }
        for &n in reached.iter() {
            distance[n as usize] = UNREACHED;
        }
        reached.clear();

        found
            .into_iter()
            .map(|path| {
                path.into_iter()
                    .map(|n| {
                        let name = self.names[n as usize];
                        self.graph
                            .display
                            .get(name)
                            .copied()
                            .unwrap_or(name)
                            .to_string()
                    })
                    .collect()
            })
            .collect()
    }

    /// Breadth-first up the parents: `distance` of every package that (transitively) requires
    /// `target`, and `target` itself (0), each listed once in `reached`.
    fn distances_to(&self, target: u32, distance: &mut [u32], reached: &mut Vec<u32>) {
        distance[target as usize] = 0;
        reached.push(target);
        let mut next = 0;
        while let Some(&node) = reached.get(next) {
            next += 1;
            let d = distance[node as usize];
            for &parent in &self.parents[node as usize] {
                if distance[parent as usize] == UNREACHED {
                    distance[parent as usize] = d + 1;
                    reached.push(parent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::package;

    fn pkg(name: &str, requires: &[&str]) -> PackageReport {
        let mut p = package(name, "1.0");
        p.requires = requires.iter().map(|r| r.to_string()).collect();
        p
    }

    fn paths(packages: &[PackageReport], target: &str, max: usize) -> Vec<String> {
        dependency_paths(packages, target, max)
            .into_iter()
            .map(|p| p.join(" → "))
            .collect()
    }

    #[test]
    fn diamond_yields_both_paths_shortest_first() {
        // app requires web and db; both require http, which requires sockets.
        let packages = vec![
            pkg("app", &["web>=1", "db"]),
            pkg("web", &["http"]),
            pkg("db", &["http (>=2)"]),
            pkg("http", &["sockets"]),
            pkg("sockets", &[]),
        ];
        assert_eq!(
            paths(&packages, "http", 5),
            vec!["app → db → http", "app → web → http"]
        );
        assert_eq!(
            paths(&packages, "sockets", 5),
            vec!["app → db → http → sockets", "app → web → http → sockets"]
        );
        assert_eq!(paths(&packages, "sockets", 1).len(), 1);
    }

    #[test]
    fn roots_are_packages_nothing_requires_and_shortest_path_wins() {
        let packages = vec![
            pkg("requests", &["urllib3<3,>=1.21.1", "idna"]),
            pkg("Flask", &["Werkzeug>=3", "requests"]),
            pkg("urllib3", &[]),
            pkg("idna", &[]),
            pkg("werkzeug", &[]),
            pkg("boto3", &["urllib3"]),
        ];
        assert_eq!(
            paths(&packages, "urllib3", 10),
            vec!["boto3 → urllib3", "Flask → requests → urllib3",]
        );
        // A top-level package is its own (only) path; names are matched in any spelling.
        assert_eq!(paths(&packages, "FLASK", 10), vec!["Flask"]);
        assert!(paths(&packages, "not-installed", 10).is_empty());
    }

    #[test]
    fn cycles_terminate_and_rootless_cycles_start_at_first_member() {
        let packages = vec![
            pkg("top", &["a"]),
            pkg("a", &["b"]),
            pkg("b", &["a", "c"]),
            pkg("c", &[]),
            // A cycle nothing else requires.
            pkg("y", &["x"]),
            pkg("x", &["y", "leaf"]),
            pkg("leaf", &[]),
        ];
        assert_eq!(paths(&packages, "c", 10), vec!["top → a → b → c"]);
        assert_eq!(paths(&packages, "leaf", 10), vec!["x → leaf"]);
        assert_eq!(paths(&packages, "y", 10), vec!["x → y"]);
    }

    #[test]
    fn extras_only_requirements_count_only_when_the_extra_is_requested() {
        let packages = vec![
            pkg(
                "requests",
                &["urllib3", "PySocks!=1.5.7,>=1.5.6; extra == \"socks\""],
            ),
            pkg("urllib3", &["brotli>=1.0.9; extra == \"brotli\""]),
            pkg("pysocks", &[]),
            pkg("brotli", &[]),
            pkg("app", &["requests[socks]; python_version >= \"3.8\""]),
        ];
        // app asks for requests[socks], so the socks edge is live.
        assert_eq!(
            paths(&packages, "pysocks", 10),
            vec!["app → requests → PySocks".replace("PySocks", "pysocks")]
        );
        // Nobody asks for urllib3[brotli]: brotli is installed for its own sake.
        assert_eq!(paths(&packages, "brotli", 10), vec!["brotli"]);
    }

    #[test]
    fn malformed_requirements_fall_back_to_the_leading_name() {
        let packages = vec![
            pkg("old", &["thing (>=1.0", "other; extra == 'x' and"]),
            pkg("thing", &[]),
            pkg("other", &[]),
        ];
        assert_eq!(paths(&packages, "thing", 10), vec!["old → thing"]);
        assert_eq!(paths(&packages, "other", 10), vec!["other"]);
    }
}
