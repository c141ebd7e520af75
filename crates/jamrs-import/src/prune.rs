//! Leaving an item out after the fact: removing it and every reference to it, then every
//! reference to what that removed (a lookup through it, a master field over that lookup, a
//! filter or index on a dropped field), until nothing dangles.

use std::collections::{HashMap, HashSet};

use jamrs_core::project::{ItemFile, ProjectFiles};

/// The items the loader's errors name (`items/<name>.toml: …`), with the first reason each.
pub fn items_in_errors(errors: &[String], files: &ProjectFiles) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in errors {
        let Some(rest) = e.strip_prefix("items/") else {
            continue;
        };
        let Some((file, why)) = rest.split_once(": ") else {
            continue;
        };
        let name = file.trim_end_matches(".toml").trim_end_matches(".py");
        if files.items.iter().any(|(n, _)| n == name) && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), why.to_string()));
        }
    }
    out
}

/// The reports the loader's errors name (`reports/<name>.toml: …`, or its module or
/// template), with the first reason each.
pub fn reports_in_errors(errors: &[String], reports: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in errors {
        let Some(rest) = e.strip_prefix("reports/") else {
            continue;
        };
        let Some((file, why)) = rest.split_once(": ") else {
            continue;
        };
        let name = file.split('.').next().unwrap_or_default();
        if reports.iter().any(|n| n == name) && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), why.to_string()));
        }
    }
    out
}

/// Removes item `name` and the references to it; `reports` are the reports still there.
pub fn remove_item(files: &mut ProjectFiles, name: &str, reports: &[String]) {
    files.items.retain(|(n, _)| n != name);
    for g in &mut files.task.groups {
        g.items.retain(|i| i != name);
    }
    for r in &mut files.task.roles {
        r.items.remove(name);
        let prefix = format!("{name}.");
        r.fields.retain(|k, _| !k.starts_with(&prefix));
    }
    prune(files, reports);
}

/// Drops every reference to an item, report or field that does not exist, until none is
/// left. `reports` are the reports that exist.
pub fn prune(files: &mut ProjectFiles, reports: &[String]) {
    let is_report = |n: &str| reports.iter().any(|r| r == n);
    loop {
        let fields: HashMap<String, HashSet<String>> = files
            .items
            .iter()
            .map(|(n, f)| (n.clone(), declared(f)))
            .collect();
        let lookups: HashMap<(String, String), String> = files
            .items
            .iter()
            .flat_map(|(n, f)| {
                f.fields.iter().filter_map(move |x| {
                    Some(((n.clone(), x.name.clone()), x.lookup.as_ref()?.item.clone()))
                })
            })
            .collect();
        let mut changed = false;
        for (name, item) in &mut files.items {
            let own = fields.get(name).cloned().unwrap_or_default();
            let has = |i: &str, f: &str| fields.get(i).is_some_and(|s| s.contains(f));
            item.details.retain(|d| {
                let keep = fields.contains_key(d);
                changed |= !keep;
                keep
            });
            item.reports.retain(|r| {
                let keep = is_report(r);
                changed |= !keep;
                keep
            });
            for f in &mut item.fields {
                if let Some(l) = &f.lookup {
                    // Each level is a field of the item the previous level looks up.
                    let mut ok = has(&l.item, &l.field);
                    let mut at = (l.item.clone(), l.field.clone());
                    for next in [&l.field1, &l.field2].into_iter().flatten() {
                        match lookups.get(&at) {
                            Some(target) if ok && has(target, next) => {
                                at = (target.clone(), next.clone());
                            }
                            _ => ok = false,
                        }
                    }
                    if !ok {
                        f.lookup = None;
                        changed = true;
                    }
                }
            }
            let before = item.fields.len();
            let snapshot: Vec<(String, bool)> = item
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.lookup.is_some()))
                .collect();
            item.fields.retain(|f| {
                let master_ok = f.master_field.as_ref().is_none_or(|m| {
                    f.lookup.is_some() && snapshot.iter().any(|(n, l)| n == m && *l)
                });
                let calc_ok = f
                    .calc
                    .as_ref()
                    .is_none_or(|c| has(&c.item, &c.field) && has(&c.item, &c.link));
                master_ok && calc_ok
            });
            changed |= item.fields.len() != before;
            let own_now = declared(item);
            let n = item.filters.len() + item.indexes.len() + item.default_order.len();
            item.filters.retain(|f| own_now.contains(&f.field));
            item.indexes.retain(|ix| {
                ix.fields
                    .iter()
                    .all(|f| own_now.contains(f.trim_start_matches('-')))
            });
            item.default_order
                .retain(|o| own_now.contains(o.trim_start_matches('-')));
            changed |= n != item.filters.len() + item.indexes.len() + item.default_order.len();
            let _ = own;
        }
        // A detail that no master lists loses its link (the loader refuses a link without one).
        let listed: HashSet<String> = files
            .items
            .iter()
            .flat_map(|(_, f)| f.details.iter().cloned())
            .collect();
        for (name, item) in &mut files.items {
            if !listed.contains(name) && (item.master_field.is_some() || item.master_id.is_some()) {
                item.master_field = None;
                item.master_id = None;
                item.master_rec_id = None;
                changed = true;
            }
        }
        let names: HashMap<String, HashSet<String>> = files
            .items
            .iter()
            .map(|(n, f)| (n.clone(), declared(f)))
            .collect();
        for r in &mut files.task.roles {
            let n = r.items.len() + r.fields.len();
            r.items.retain(|i, _| names.contains_key(i) || is_report(i));
            r.fields.retain(|k, _| {
                k.split_once('.')
                    .is_some_and(|(i, f)| names.get(i).is_some_and(|s| s.contains(f)))
            });
            changed |= n != r.items.len() + r.fields.len();
        }
        for g in &mut files.task.groups {
            let n = g.items.len();
            g.items.retain(|i| names.contains_key(i) || is_report(i));
            changed |= n != g.items.len();
        }
        if !changed {
            break;
        }
    }
}

/// The declared field names of an item.
fn declared(item: &ItemFile) -> HashSet<String> {
    item.fields.iter().map(|f| f.name.clone()).collect()
}
