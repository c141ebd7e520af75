//! Jam.py server API that jamrs does not provide, found in a module's source.
//!
//! Server modules written for Jam.py sometimes reach past its item API: Jam.py's own package
//! (`jam.db.db_modules`, `jam.common`), raw DB-API connections (`task.connect()`). jamrs has
//! none of these; a module that uses them is refused when it loads, with the file, the line
//! and what to use instead (`jamrs-python`), and `jamrs import` lists them in its report before
//! anyone runs the project. One list serves both, so they cannot disagree.

/// One use of an API jamrs does not provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// 1-based line number in the module.
    pub line: usize,
    /// What the line uses.
    pub what: &'static str,
    /// What to use in jamrs instead.
    pub instead: &'static str,
}

/// `(pattern, what, instead)`; a pattern matches code (not comments or strings at the start of a
/// line) that contains it.
const PATTERNS: [(&str, &str, &str); 6] = [
    (
        "jam.db",
        "Jam.py's database layer (jam.db, e.g. jam.db.db_modules)",
        "jamrs has one database per project; drop the import, and use task.execute / task.select for SQL",
    ),
    (
        "task.connect(",
        "task.connect() (a raw DB-API connection and cursors)",
        "task.execute(sql, params) and task.select(sql, params) (they run in the request's transaction; set raw_sql = true in jamrs.toml), or datasets (task.<item>.copy())",
    ),
    (
        ".create_connection(",
        "create_connection() (a raw DB-API connection)",
        "task.execute(sql, params) and task.select(sql, params), or datasets (task.<item>.copy())",
    ),
    (
        "task.pool",
        "task.pool (Jam.py's connection pool)",
        "task.execute(sql, params) and task.select(sql, params)",
    ),
    (
        "from jam",
        "the jam package (Jam.py itself is not loaded by jamrs)",
        "task.consts for the FILTER_* and type constants, item and dataset methods for the rest",
    ),
    (
        "import jam",
        "the jam package (Jam.py itself is not loaded by jamrs)",
        "task.consts for the FILTER_* and type constants, item and dataset methods for the rest",
    ),
];

/// Every line of `source` that uses an API jamrs does not provide (one entry per line, the
/// first pattern that matches). Comment lines and the text after `#` are not read.
pub fn unsupported(source: &str) -> Vec<Unsupported> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let code = line.split('#').next().unwrap_or_default().trim();
        if code.is_empty() {
            continue;
        }
        if let Some((_, what, instead)) = PATTERNS.iter().find(|(p, _, _)| {
            let starts = matches!(*p, "from jam" | "import jam");
            if starts {
                // `from jam.x import y`, `import jam`, `import jam.common as c`, not `import jamx`.
                code.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', ' ']))
            } else {
                code.contains(p)
            }
        }) {
            out.push(Unsupported {
                line: i + 1,
                what,
                instead,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_jampy_only_api_by_line() {
        let src = "import json\nfrom jam.db.db_modules import SQLITE\n# task.connect() in a comment\ncon = task.connect()  # raw\nimport jamrs_helpers\nimport jam.common as common\n";
        let found: Vec<usize> = unsupported(src).iter().map(|u| u.line).collect();
        assert_eq!(found, [2, 4, 6]);
        assert!(unsupported(src)[1].instead.contains("task.execute"));
    }
}
