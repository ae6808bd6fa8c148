//! The dependency graph: a start order (topological, ties broken by file
//! order, so the order is stable and unsurprising) and every cycle named as
//! `a → b → a`. Pure: names in, order or cycles out.

use std::collections::BTreeMap;

/// Services in file order, each with the names it depends on (all known).
pub(crate) type DependsOn<'a> = Vec<(&'a str, Vec<&'a str>)>;

/// A start order (dependencies first), or the cycles that prevent one.
pub(crate) fn start_order<'a>(graph: &DependsOn<'a>) -> Result<Vec<&'a str>, Vec<Vec<&'a str>>> {
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

/// Cycles found by depth-first search among the services left over by the
/// topological sort (one per back edge). Iterative, so a huge generated
/// config cannot overflow the stack.
fn cycles<'a>(
    graph: &DependsOn<'a>,
    index: &BTreeMap<&str, usize>,
    done: &[bool],
) -> Vec<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Finished,
    }
    let mut marks: Vec<Mark> = done
        .iter()
        .map(|d| if *d { Mark::Finished } else { Mark::New })
        .collect();
    let mut found = Vec::new();
    for root in 0..graph.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (node, index of the next dependency to look at)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnStack;
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            let Some(d) = graph[i].1.get(*next) else {
                marks[i] = Mark::Finished;
                stack.pop();
                continue;
            };
            *next += 1;
            let Some(&j) = index.get(d) else { continue };
            match marks[j] {
                Mark::New => {
                    marks[j] = Mark::OnStack;
                    stack.push((j, 0));
                }
                Mark::OnStack => {
                    let from = stack.iter().position(|&(s, _)| s == j).unwrap_or(0);
                    let mut cycle: Vec<&str> =
                        stack[from..].iter().map(|&(s, _)| graph[s].0).collect();
                    cycle.push(graph[j].0);
                    found.push(cycle);
                }
                Mark::Finished => {}
            }
        }
    }
    found
}

/// `a → b → a`.
pub(crate) fn show_cycle(cycle: &[&str]) -> String {
    cycle.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g<'a>(edges: &[(&'a str, &[&'a str])]) -> DependsOn<'a> {
        edges.iter().map(|(n, d)| (*n, d.to_vec())).collect()
    }

    #[test]
    fn orders_and_cycles() {
        type Want = Result<Vec<&'static str>, Vec<&'static str>>;
        let cases: Vec<(DependsOn, Want)> = vec![
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
