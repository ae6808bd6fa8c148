//! The dependency graph: a start order (topological, ties broken by file
//! order, so the order is stable and unsurprising) and every cycle named as
//! `a → b → a`. Pure: names in, order or cycles out.

use std::collections::BTreeMap;

/// Services in file order, each with the names it depends on (all known).
pub type Graph<'a> = Vec<(&'a str, Vec<&'a str>)>;

/// A start order (dependencies first), or the cycles that prevent one.
pub fn start_order<'a>(graph: &Graph<'a>) -> Result<Vec<&'a str>, Vec<Vec<&'a str>>> {
    let index: BTreeMap<&str, usize> = graph
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    let mut indegree: Vec<usize> = graph.iter().map(|(_, deps)| deps.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); graph.len()];
    for (i, (_, deps)) in graph.iter().enumerate() {
        for d in deps {
            if let Some(&j) = index.get(d) {
                dependents[j].push(i);
            }
        }
    }
    let mut order = Vec::with_capacity(graph.len());
    let mut done = vec![false; graph.len()];
    // Repeatedly take the first (in file order) service whose deps are all started.
    while let Some(i) = (0..graph.len()).find(|&i| !done[i] && indegree[i] == 0) {
        done[i] = true;
        order.push(graph[i].0);
        for &k in &dependents[i] {
            indegree[k] -= 1;
        }
    }
    if order.len() == graph.len() {
        Ok(order)
    } else {
        Err(cycles(graph, &index, &done))
    }
}

/// Every elementary cycle found by depth-first search among the services
/// left over by the topological sort, each reported once.
fn cycles<'a>(
    graph: &Graph<'a>,
    index: &BTreeMap<&str, usize>,
    done: &[bool],
) -> Vec<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Finished,
    }
    fn visit<'a>(
        i: usize,
        graph: &Graph<'a>,
        index: &BTreeMap<&str, usize>,
        marks: &mut Vec<Mark>,
        stack: &mut Vec<usize>,
        found: &mut Vec<Vec<&'a str>>,
    ) {
        marks[i] = Mark::OnStack;
        stack.push(i);
        for d in &graph[i].1 {
            let Some(&j) = index.get(d) else { continue };
            match marks[j] {
                Mark::New => visit(j, graph, index, marks, stack, found),
                Mark::OnStack => {
                    let from = stack.iter().position(|&s| s == j).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|&s| graph[s].0).collect();
                    cycle.push(graph[j].0);
                    found.push(cycle);
                }
                Mark::Finished => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Finished;
    }
    let mut marks: Vec<Mark> = done
        .iter()
        .map(|d| if *d { Mark::Finished } else { Mark::New })
        .collect();
    let mut found = Vec::new();
    for i in 0..graph.len() {
        if marks[i] == Mark::New {
            visit(i, graph, index, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    found
}

/// `a → b → a`.
pub fn show_cycle(cycle: &[&str]) -> String {
    cycle.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g<'a>(edges: &[(&'a str, &[&'a str])]) -> Graph<'a> {
        edges.iter().map(|(n, d)| (*n, d.to_vec())).collect()
    }

    #[test]
    fn orders_and_cycles() {
        type Want = Result<Vec<&'static str>, Vec<&'static str>>;
        let cases: Vec<(Graph, Want)> = vec![
            (g(&[("a", &[]), ("b", &[])]), Ok(vec!["a", "b"])),
            (g(&[("api", &["db"]), ("db", &[])]), Ok(vec!["db", "api"])),
            (
                g(&[
                    ("web", &["api"]),
                    ("api", &["db", "migrate"]),
                    ("migrate", &["db"]),
                    ("db", &[]),
                ]),
                Ok(vec!["db", "migrate", "api", "web"]),
            ),
            (g(&[("a", &["a"])]), Err(vec!["a → a"])),
            (g(&[("a", &["b"]), ("b", &["a"])]), Err(vec!["a → b → a"])),
            (
                g(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]),
                Err(vec!["a → b → c → a"]),
            ),
            (
                g(&[("a", &["b"]), ("b", &["a"]), ("c", &["d"]), ("d", &["c"])]),
                Err(vec!["a → b → a", "c → d → c"]),
            ),
            (
                g(&[("x", &["a"]), ("a", &["b"]), ("b", &["a"])]),
                Err(vec!["a → b → a"]),
            ),
        ];
        for (graph, want) in cases {
            let got = start_order(&graph)
                .map_err(|cs| cs.iter().map(|c| show_cycle(c)).collect::<Vec<_>>());
            let want = want.map_err(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{graph:?}");
        }
    }
}
