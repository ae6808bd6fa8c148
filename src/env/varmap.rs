//! [`VarMap`]: the variables of one resolved environment, sorted by name, in
//! one vector.
//!
//! Why not a `BTreeMap`: the Plan holds one environment per service for as
//! long as `up` runs, and a B-tree's first node reserves room for 11 entries
//! — about 1.4 KB for a service with one variable (issue 17: 0.3 MB of `up`'s
//! heap at 200 services). A sorted vector holds what is there; a lookup is a
//! binary search. The methods are the `BTreeMap` ones the crate uses, with the
//! same meaning, so that callers read the same.

use std::ops::Index;

use super::vars::EnvVar;

/// Name → variable, sorted by name, each name once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VarMap(Vec<(String, EnvVar)>);

impl VarMap {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }
    /// The variable `name`.
    pub fn get(&self, name: &str) -> Option<&EnvVar> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }
    /// The variable `name`, to change it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut EnvVar> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }
    /// Whether `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }
    /// Set `name`; the value it had before, if any.
    pub fn insert(&mut self, name: String, var: EnvVar) -> Option<EnvVar> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, var)),
            Err(i) => {
                self.0.insert(i, (name, var));
                None
            }
        }
    }
    /// Unset `name`; its value, if it was set.
    pub fn remove(&mut self, name: &str) -> Option<EnvVar> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }
    /// `(name, variable)` in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &EnvVar)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }
    /// `(name, variable)` in name order, the variables changeable.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&String, &mut EnvVar)> + ExactSizeIterator {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }
    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }
    /// The variables, in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &EnvVar> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
    /// Number of variables.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Index<&str> for VarMap {
    type Output = EnvVar;
    /// The variable `name`; panics when it is not set (as `BTreeMap`'s).
    fn index(&self, name: &str) -> &EnvVar {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no variable `{name}`"),
        }
    }
}

impl<'a> IntoIterator for &'a VarMap {
    type Item = (&'a String, &'a EnvVar);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, EnvVar)>,
        fn(&'a (String, EnvVar)) -> (&'a String, &'a EnvVar),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, EnvVar)> for VarMap {
    /// The later of two equal names wins (as collecting into a `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (String, EnvVar)>>(iter: I) -> VarMap {
        let mut all: Vec<(String, EnvVar)> = iter.into_iter().collect();
        // Stable: equal names keep their order, so the last one is the later.
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, EnvVar)> = Vec::with_capacity(all.len());
        for (k, v) in all {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        VarMap(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Source;

    fn var(v: &str) -> EnvVar {
        EnvVar {
            value: v.into(),
            secret: Default::default(),
            source: Source::Os,
            shadowed: vec![],
        }
    }

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut m = VarMap::default();
        assert!(m.insert("B".into(), var("1")).is_none());
        assert!(m.insert("A".into(), var("2")).is_none());
        assert!(m.insert("C".into(), var("3")).is_none());
        let old = m.insert("B".into(), var("4")).map(|v| v.value);
        assert_eq!(old.as_deref(), Some("1"));
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["A", "B", "C"]);
        assert_eq!(m["B"].value, "4");
        assert_eq!(m.get("D"), None);
        if let Some(v) = m.get_mut("A") {
            v.value = "5".into();
        }
        assert_eq!(m.remove("A").map(|v| v.value).as_deref(), Some("5"));
        assert!(!m.contains_key("A"));
        assert_eq!(m.len(), 2);
        let pairs: Vec<(&str, &str)> = (&m)
            .into_iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(pairs, [("B", "4"), ("C", "3")]);
    }

    #[test]
    fn collecting_keeps_the_later_of_equal_names_and_no_spare_room() {
        let m: VarMap = [("Z", "1"), ("A", "2"), ("Z", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), var(v)))
            .collect();
        let pairs: Vec<(&str, &str)> = m
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(pairs, [("A", "2"), ("Z", "3")]);
        assert_eq!(m.0.capacity(), 2);
    }
}
