//! Jam.py names as jamrs identifiers. Jam.py allows any case (`accountType`, `Orders`); a
//! jamrs name of an item, field, group, filter or role is `[a-z_][a-z0-9_]*`. The mapping is
//! reported wherever it changes a name, because server and client code may spell the old one.

use std::collections::HashSet;

use jamrs_core::Ident;

/// The identifier closest to `raw`: camelCase becomes snake_case, other characters `_`.
pub fn ident(raw: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in raw.trim().chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            prev_lower = true;
        } else if !out.ends_with('_') {
            out.push('_');
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches('_');
    let mut name = if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    };
    if name.starts_with(|c: char| c.is_ascii_digit())
        || name.starts_with("jamrs_")
        || name.starts_with("sqlite_")
    {
        name = format!("x_{name}");
    }
    name.truncate(Ident::MAX_LEN);
    name
}

/// Hands out distinct names within one namespace.
#[derive(Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    /// `raw` as an identifier not handed out before (`name`, `name_2`, …).
    pub fn unique(&mut self, raw: &str) -> String {
        let base = ident(raw);
        let mut name = base.clone();
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            let suffix = format!("_{n}");
            let mut b = base.clone();
            b.truncate(Ident::MAX_LEN - suffix.len());
            name = b + &suffix;
            n += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jampy_names_become_identifiers() {
        assert_eq!(ident("accountType"), "account_type");
        assert_eq!(ident("Orders"), "orders");
        assert_eq!(ident("invoice_table"), "invoice_table");
        assert_eq!(ident("2nd list"), "x_2nd_list");
        assert_eq!(ident("jamrs_users"), "x_jamrs_users");
        assert_eq!(ident("❌"), "x");
        let mut n = Names::default();
        assert_eq!(n.unique("Name"), "name");
        assert_eq!(n.unique("name"), "name_2");
        for s in ["accountType", "2nd list", "❌", &"A".repeat(80)] {
            assert!(Ident::parse(&ident(s)).is_ok(), "{s}");
        }
    }
}
