//! Why is a package installed? Dependency paths from the top-level packages (those nothing else
//! requires) down to a target, computed from each package's raw `Requires-Dist` strings.
//! Engine-agnostic graph logic: it only needs the report's packages.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use foldhash::{HashMap, HashMapExt};
use pep508_rs::{ExtraName, MarkerTree};

use crate::model::{PackageReport, normalize_name, normalized_name};

/// Most partial paths explored per query: a bound on the work for dense graphs, far above what
/// real environments need for the first few shortest paths.
const EXPLORATION_BUDGET: usize = 100_000;

/// One `Requires-Dist` entry, reduced to what the graph needs.
#[derive(Debug, PartialEq)]
struct Edge<T> {
    /// The required package: its PEP 503 normalised name, or (in the graph) its id.
    target: T,
    /// Extras requested of the target (`requests[socks]`).
    extras: Vec<ExtraName>,
    /// When it applies; `None`: always.
    marker: Option<MarkerTree>,
}

/// Whether a requirement has neither a marker (`;`) nor extras (`[`): then its edge is its
/// leading name, exactly what a full PEP 508 parse (or the fallback for an invalid one) would
/// give it. Most of 10,000 packages' requirements are like this, and parsing them was a quarter
/// of building the graph.
fn unmarked(raw: &str) -> bool {
    !raw.contains([';', '[']) && !raw.starts_with(char::is_whitespace)
}

impl Edge<String> {
    fn parse_pep508(raw: &str) -> Option<Edge<String>> {
        match crate::pep508::parse_requirement(raw) {
            Ok(req) => Some(Edge {
                target: normalize_name(req.name.as_ref()),
                extras: req.extras,
                marker: Some(req.marker),
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
                    marker: None,
                })
            }
        }
    }
}

impl<T> Edge<T> {
    /// Whether this requirement applies when the requiring package was installed with
    /// `extras`. Environment markers (python version, platform) are assumed satisfiable: the
    /// edge only matters when its target is installed anyway.
    fn active(&self, extras: &[ExtraName]) -> bool {
        self.marker
            .as_ref()
            .is_none_or(|marker| marker.evaluate_extras(extras))
    }
}

/// The requirement graph of a set of packages, built once (every `Requires-Dist` read once)
/// and queried per package: the installed packages and the active requirement edges between
/// them.
///
/// Nodes are integer ids given in name order (so comparing id paths compares name paths), and
/// queries share one distance table: a report asks for every package's paths, and with
/// string-keyed maps 10,000 packages took most of a second.
pub struct DependencyGraph<'a> {
    /// Normalised names, sorted: a node's id is its index.
    names: Vec<&'a str>,
    /// Names as the metadata spells them, by id.
    display: Vec<&'a str>,
    /// Sorted by id (hence by name), without repeats.
    children: Vec<Vec<u32>>,
    /// Sorted by id, without repeats.
    parents: Vec<Vec<u32>>,
    /// For single queries; [`DependencyGraph::paths_of_all`] gives each thread its own.
    scratch: Mutex<Scratch>,
}

/// Per-query distances to the target, reset through the list of nodes reached.
struct Scratch {
    distance: Vec<u32>,
    reached: Vec<u32>,
}

impl Scratch {
    fn new(nodes: usize) -> Self {
        Scratch {
            distance: vec![UNREACHED; nodes],
            reached: Vec::new(),
        }
    }
}

/// From this many queries on, [`DependencyGraph::paths_of_all`] splits them across the cores
/// (a query costs a few microseconds; a thread, tens).
const PARALLEL_FROM: usize = 1_000;

const UNREACHED: u32 = u32::MAX;

impl<'a> DependencyGraph<'a> {
    pub fn new(packages: &'a [PackageReport]) -> Self {
        let mut names: Vec<&str> = packages.iter().map(|p| p.normalized.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut id: HashMap<&str, u32> = HashMap::with_capacity(names.len());
        id.extend(names.iter().enumerate().map(|(i, n)| (*n, i as u32)));
        // Of two installed copies of a name, the later one's spelling is shown.
        let mut display = names.clone();
        for p in packages {
            display[id[p.normalized.as_str()] as usize] = p.name.as_str();
        }

        // Edges to other installed packages only: a requirement is skipped by its leading name
        // first (a parse could only name that package or none).
        let edges: Vec<(u32, Vec<Edge<u32>>)> = packages
            .iter()
            .map(|p| {
                let from = id[p.normalized.as_str()];
                let installed = |name: &str| id.get(name).copied().filter(|&to| to != from);
                let edges = (p.requires.iter())
                    .filter_map(|raw| {
                        let named = installed(&normalized_name(crate::pep508::leading_name(raw)))?;
                        if unmarked(raw) {
                            return Some(Edge {
                                target: named,
                                extras: Vec::new(),
                                marker: None,
                            });
                        }
                        let parsed = Edge::parse_pep508(raw)?;
                        Some(Edge {
                            target: installed(&parsed.target)?,
                            extras: parsed.extras,
                            marker: parsed.marker,
                        })
                    })
                    .collect();
                (from, edges)
            })
            .collect();

        // Extras are requested by active edges, and requested extras activate more edges:
        // iterate to a fixed point (each round adds at least one extra, so it terminates).
        let mut requested: Vec<Vec<ExtraName>> = vec![Vec::new(); names.len()];
        loop {
            let mut changed = false;
            for (from, list) in &edges {
                for edge in list.iter().filter(|e| !e.extras.is_empty()) {
                    if !edge.active(&requested[*from as usize]) {
                        continue;
                    }
                    let entry = &mut requested[edge.target as usize];
                    for extra in &edge.extras {
                        if !entry.contains(extra) {
                            entry.push(extra.clone());
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }

        let mut children: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
        for (from, list) in &edges {
            let extras = &requested[*from as usize];
            for edge in list.iter().filter(|e| e.active(extras)) {
                children[*from as usize].push(edge.target);
                parents[edge.target as usize].push(*from);
            }
        }
        for list in children.iter_mut().chain(parents.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        let scratch = Mutex::new(Scratch::new(names.len()));
        DependencyGraph {
            names,
            display,
            children,
            parents,
            scratch,
        }
    }

    fn id(&self, name: &str) -> Option<u32> {
        let wanted = normalized_name(name);
        (self.names.binary_search(&wanted.as_ref()).ok()).map(|i| i as u32)
    }

    /// The installed packages that `name` requires (normalised names, sorted), counting only
    /// requirements that apply (extras as requested).
    pub fn requires(&self, name: &str) -> Vec<&'a str> {
        self.id(name)
            .map(|n| {
                (self.children[n as usize].iter())
                    .map(|&c| self.names[c as usize])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// See [`dependency_paths`].
    pub fn paths(&self, target: &str, max_paths: usize) -> Vec<Vec<String>> {
        let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        self.paths_with(&mut scratch, target, max_paths)
    }

    /// [`DependencyGraph::paths`] of each of `targets`, in order: a report asks for every
    /// package's, so from [`PARALLEL_FROM`] on they are split across the cores (at most 4).
    pub fn paths_of_all(&self, targets: &[&str], max_paths: usize) -> Vec<Vec<Vec<String>>> {
        crate::parallel::map_chunks(targets, PARALLEL_FROM, |part| {
            let mut scratch = Scratch::new(self.names.len());
            (part.iter())
                .map(|t| self.paths_with(&mut scratch, t, max_paths))
                .collect()
        })
    }

    fn paths_with(
        &self,
        scratch: &mut Scratch,
        target: &str,
        max_paths: usize,
    ) -> Vec<Vec<String>> {
        let Some(target) = self.id(target) else {
            return Vec::new();
        };
        if max_paths == 0 {
            return Vec::new();
        }
        let Scratch { distance, reached } = scratch;

        // Distance to the target from every package that (transitively) requires it; those
        // are the only nodes a path can use.
        self.distances_to(target, distance, reached);
        let mut roots: Vec<(u32, u32)> = (reached.iter())
            .filter(|&&n| self.parents[n as usize].is_empty())
            .map(|&n| (distance[n as usize], n))
            .collect();
        if roots.is_empty() {
            // Only cycles lead here: start from the first member by name other than the
            // target itself, unless the target is all there is.
            let first = reached.iter().copied().filter(|&n| n != target).min();
            let first = first.unwrap_or(target);
            roots.push((distance[first as usize], first));
        }
        roots.sort_unstable();

        // Best-first over simple paths, ordered by the shortest length a partial path can still
        // reach (its length + its last node's distance, exact when no cycle intervenes), then by
        // names: complete paths come out shortest first, ties in name order, and partial paths
        // that cannot be among the shortest are not extended first. That order never puts an
        // extension before its prefix (a child is at most one step closer than its parent), so
        // the roots, already in that order, join the queue only when they come next: an early
        // package has thousands of roots above it and wants ten paths.
        let mut found: Vec<Vec<u32>> = Vec::new();
        let mut queue: BinaryHeap<Reverse<(usize, Vec<u32>)>> = BinaryHeap::new();
        let mut roots = roots.into_iter().peekable();
        let mut explored = 0usize;
        loop {
            let root_first = match (roots.peek(), queue.peek()) {
                (Some(&(d, r)), Some(Reverse((key, path)))) => {
                    (d as usize, std::slice::from_ref(&r)) < (*key, path.as_slice())
                }
                (root, _) => root.is_some(),
            };
            let path = match root_first {
                true => roots.next().map(|(_, r)| vec![r]),
                false => queue.pop().map(|Reverse((_, path))| path),
            };
            let Some(path) = path else { break };
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
                    let mut next = Vec::with_capacity(path.len() + 1);
                    next.extend_from_slice(&path);
                    next.push(child);
                    queue.push(Reverse((next.len() - 1 + d as usize, next)));
                }
            }
        }
        for &n in reached.iter() {
            distance[n as usize] = UNREACHED;
        }
        reached.clear();

        (found.into_iter())
            .map(|path| {
                (path.into_iter())
                    .map(|n| self.display[n as usize].to_string())
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
    fn all_paths_at_once_are_each_query_alone_also_across_threads() {
        // Enough packages to be split across threads; each requires up to three earlier ones.
        let count = super::PARALLEL_FROM + 200;
        let names: Vec<String> = (0..count).map(|i| format!("Pkg_{i}")).collect();
        let packages: Vec<PackageReport> = (0..count)
            .map(|i| {
                let requires: Vec<&str> = (1..=3u64)
                    .filter(|_| i > 0)
                    .map(|k| (i as u64 * 2_654_435_761 + k * 40_503) % (1 << 31))
                    .filter(|h| h % 4 != 0)
                    .map(|h| names[h as usize % i].as_str())
                    .collect();
                pkg(&names[i], &requires)
            })
            .collect();
        let graph = DependencyGraph::new(&packages);
        let mut targets: Vec<&str> = packages.iter().map(|p| p.normalized.as_str()).collect();
        targets.push("not-installed");
        let all = graph.paths_of_all(&targets, 4);
        assert_eq!(all.len(), targets.len());
        for (target, paths) in targets.iter().zip(&all) {
            assert_eq!(paths, &graph.paths(target, 4), "{target}");
        }
        // The graph is rich enough to matter: many targets with several paths, long ones.
        assert!(all.iter().filter(|p| p.len() > 1).count() > count / 4);
        assert!(all.iter().flatten().any(|p| p.len() > 3));
    }

    mod shortcut {
        use super::super::{Edge, unmarked};
        use crate::model::normalize_name;
        use proptest::prelude::*;

        /// Requirement-like text with neither `;` nor `[`: specifiers, URLs, parentheses,
        /// separators at the ends of names, and junk.
        fn unmarked_text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[A-Za-z0-9._-]{0,8}[ (]{0,2}((==|>=|<=|!=|~=|<|>|===|@ )[ ]?[0-9a-zA-Z.*+!:/_-]{0,8}[,) ]{0,2}){0,3}",
                "[^;\\[\\s][^;\\[]{0,24}",
            ]
        }

        proptest! {
            /// Without `;` and `[`, the edge read from the leading name alone is the one a full
            /// PEP 508 parse (or its fallback for invalid text) gives: same target, no extras,
            /// always active.
            #[test]
            fn the_unparsed_edge_is_the_parsed_one(raw in unmarked_text()) {
                prop_assume!(unmarked(&raw));
                let full = Edge::parse_pep508(&raw);
                let name = crate::pep508::leading_name(&raw);
                let fast = (!name.is_empty()).then(|| normalize_name(name));
                prop_assert_eq!(fast.as_ref(), full.as_ref().map(|e| &e.target));
                if let Some(full) = full {
                    prop_assert!(full.extras.is_empty() && full.active(&[]));
                }
            }

            /// Any requirement's edge, when it has one, names its leading name: so one whose
            /// leading name is not another installed package is skipped unparsed.
            #[test]
            fn an_edge_names_the_leading_name(
                raw in "[ ]?[A-Za-z0-9._-]{0,8}[ ]?(\\[[a-z, -]{0,6}\\]?)?[ ]?(>=1|@ http://x)?[ ]?(;[ ]?(extra|python_version)[ ]?(==|<)[ ]?['\"][a-z0-9.]{0,4}['\"]?)?"
            ) {
                let name = crate::pep508::leading_name(&raw);
                if let Some(edge) = Edge::parse_pep508(&raw) {
                    prop_assert_eq!(edge.target, normalize_name(name));
                }
            }
        }
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
