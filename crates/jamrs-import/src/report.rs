//! The import report: per Jam.py object, what was converted, what was approximated (and how),
//! what was left out (and why). Printed and written to `IMPORT.md` in the new project.

use std::fmt::Write;

/// What happened to one Jam.py object.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// "item customers (Jam.py \"Customers\", ID 12)".
    pub object: String,
    pub converted: Vec<String>,
    pub approximated: Vec<String>,
    pub left_out: Vec<String>,
}

/// The whole report, in the order objects were met.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub source: String,
    pub version: String,
    pub entries: Vec<Entry>,
    /// Things to do after the import (set passwords, install packages), one line each.
    pub next_steps: Vec<String>,
}

impl Report {
    /// The entry of `object`, made on first use.
    pub fn entry(&mut self, object: &str) -> &mut Entry {
        if let Some(i) = self.entries.iter().position(|e| e.object == object) {
            return &mut self.entries[i];
        }
        self.entries.push(Entry {
            object: object.to_string(),
            ..Entry::default()
        });
        let last = self.entries.len() - 1;
        &mut self.entries[last]
    }

    pub fn converted(&mut self, object: &str, what: impl Into<String>) {
        self.entry(object).converted.push(what.into());
    }

    pub fn approximated(&mut self, object: &str, what: impl Into<String>) {
        self.entry(object).approximated.push(what.into());
    }

    pub fn left_out(&mut self, object: &str, what: impl Into<String>) {
        self.entry(object).left_out.push(what.into());
    }

    /// Counts of (objects, approximations, things left out).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.entries.len(),
            self.entries.iter().map(|e| e.approximated.len()).sum(),
            self.entries.iter().map(|e| e.left_out.len()).sum(),
        )
    }

    /// `IMPORT.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Import report\n");
        let _ = writeln!(
            out,
            "Imported from `{}` (Jam.py {}) by `jamrs import`. What each Jam.py object became is \
             below: **converted** as it was, **approximated** (and how), **left out** (and why). \
             The mapping is described in jamrs's docs/import.md.\n",
            self.source, self.version
        );
        let (objects, approx, left) = self.counts();
        let _ = writeln!(
            out,
            "{objects} objects; {approx} approximations; {left} things left out.\n"
        );
        if !self.next_steps.is_empty() {
            let _ = writeln!(out, "## Next steps\n");
            for s in &self.next_steps {
                let _ = writeln!(out, "- {s}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "## Objects\n");
        for e in &self.entries {
            let _ = writeln!(out, "### {}\n", e.object);
            for (title, list) in [
                ("Converted", &e.converted),
                ("Approximated", &e.approximated),
                ("Left out", &e.left_out),
            ] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{title}:");
                for l in list {
                    let _ = writeln!(out, "- {l}");
                }
                out.push('\n');
            }
        }
        out
    }

    /// The summary printed on stdout: every approximation and everything left out, and the
    /// next steps (what was converted as it was is only in IMPORT.md).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let (objects, approx, left) = self.counts();
        let _ = writeln!(
            out,
            "Imported {objects} Jam.py objects: {approx} approximated, {left} left out (details in IMPORT.md)."
        );
        for e in &self.entries {
            for a in &e.approximated {
                let _ = writeln!(out, "  ~ {}: {a}", e.object);
            }
            for l in &e.left_out {
                let _ = writeln!(out, "  - {}: left out: {l}", e.object);
            }
        }
        if !self.next_steps.is_empty() {
            let _ = writeln!(out, "Next steps:");
            for s in &self.next_steps {
                let _ = writeln!(out, "  * {s}");
            }
        }
        out
    }
}
