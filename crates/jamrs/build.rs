//! With the `python` feature: records where the standard library of the Python that jamrs
//! embeds lives, so that `jamrs run` can say in one line that it is missing instead of letting
//! CPython abort the process (src/app.rs, `python::require_usable`). The Python is the one PyO3
//! links against: `PYO3_PYTHON` (set in .cargo/config.toml), else `python3`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    if std::env::var_os("CARGO_FEATURE_PYTHON").is_none() {
        return;
    }
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys, sysconfig; print(sysconfig.get_path('stdlib')); print('%d.%d' % sys.version_info[:2])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} to find its standard library: {e}"));
    assert!(
        out.status.success(),
        "{python} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let (Some(stdlib), Some(version)) = (lines.next(), lines.next()) else {
        panic!("{python} printed no standard library path and version: {text}");
    };
    println!("cargo:rustc-env=JAMRS_PYTHON_STDLIB={stdlib}");
    println!("cargo:rustc-env=JAMRS_PYTHON_VERSION={version}");
}
