//! Converting a printed report with LibreOffice: `soffice --headless --convert-to <format>`.
//!
//! LibreOffice is slow to start and not made for many instances at once, so conversions run
//! in a small pool (one at a time by default). Each worker has a private profile folder (two
//! instances sharing one would wait for each other's lock, or refuse to start), each
//! conversion has a timeout, and on a timeout the conversion's whole process group is killed
//! (`soffice` is a script that starts `oosplash`, which starts `soffice.bin`) and its profile
//! thrown away, since a killed instance may leave it locked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The formats a report is printed in: ODS always, the others through LibreOffice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Ods,
    Pdf,
    Xlsx,
    Xls,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Ods,
        Format::Pdf,
        Format::Xlsx,
        Format::Xls,
        Format::Html,
    ];

    /// The format's name, which is also its file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Ods => "ods",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Html => "html",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Xls => "application/vnd.ms-excel",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// True when printing in this format needs LibreOffice.
    pub fn needs_conversion(self) -> bool {
        self != Format::Ods
    }

    /// The `--convert-to` argument (LibreOffice picks the spreadsheet filter for it).
    fn target(self) -> &'static str {
        self.name()
    }
}

/// The LibreOffice conversion pool.
pub struct Converter {
    /// The `soffice` program, if found.
    program: Option<PathBuf>,
    timeout: Duration,
    /// Profile folders live here, one per worker.
    profiles: tempfile::TempDir,
    /// Workers not converting now.
    free: Mutex<Vec<usize>>,
    freed: Condvar,
}

/// How long a conversion waits for a free worker before it gives up.
const WAIT_FOR_WORKER: Duration = Duration::from_secs(600);

impl Converter {
    /// A pool of `workers` (at least one). `program` is the configured `soffice`, or `None` to
    /// look for `soffice` (then `libreoffice`) on the `PATH`.
    pub fn new(program: Option<PathBuf>, workers: usize, timeout: Duration) -> Result<Converter> {
        let program = match program {
            Some(p) => Some(p),
            None => find_on_path("soffice").or_else(|| find_on_path("libreoffice")),
        };
        let profiles = tempfile::Builder::new()
            .prefix("jamrs-soffice-")
            .tempdir()
            .map_err(|e| Error::Io(format!("cannot create LibreOffice's profile folder: {e}")))?;
        Ok(Converter {
            program,
            timeout,
            profiles,
            free: Mutex::new((0..workers.max(1)).rev().collect()),
            freed: Condvar::new(),
        })
    }

    /// The program conversions run, or the error that says how to get it.
    pub fn program(&self) -> Result<&Path> {
        self.program.as_deref().ok_or_else(|| {
            Error::Convert(
                "this format needs LibreOffice, which is not installed on the server (Debian: apt-get install libreoffice-calc); ODS works without it"
                    .into(),
            )
        })
    }

    /// Converts `input` (an `.ods`) into `format`, in `outdir`; returns the new file.
    pub fn convert(&self, input: &Path, format: Format, outdir: &Path) -> Result<PathBuf> {
        if !format.needs_conversion() {
            return Ok(input.to_path_buf());
        }
        let program = self.program()?.to_path_buf();
        let worker = self.acquire()?;
        let result = self.run(&program, worker, input, format, outdir);
        self.release(worker);
        result
    }

    fn acquire(&self) -> Result<usize> {
        let deadline = Instant::now() + WAIT_FOR_WORKER;
        let mut free = self
            .free
            .lock()
            .map_err(|_| Error::Convert("the conversion pool is broken".into()))?;
        loop {
            if let Some(w) = free.pop() {
                return Ok(w);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Convert(
                    "every LibreOffice worker stayed busy too long; try again later".into(),
                ));
            }
            free = self
                .freed
                .wait_timeout(free, left)
                .map_err(|_| Error::Convert("the conversion pool is broken".into()))?
                .0;
        }
    }

    fn release(&self, worker: usize) {
        if let Ok(mut free) = self.free.lock() {
            free.push(worker);
        }
        self.freed.notify_one();
    }

    fn run(
        &self,
        program: &Path,
        worker: usize,
        input: &Path,
        format: Format,
        outdir: &Path,
    ) -> Result<PathBuf> {
        let profile = self.profiles.path().join(format!("worker-{worker}"));
        let log_path = outdir.join(format!("soffice-{worker}.log"));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| Error::Io(format!("cannot write the conversion log: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::Io(format!("cannot write the conversion log: {e}")))?;
        let mut command = Command::new(program);
        command
            .arg("--headless")
            .arg("--invisible")
            .arg("--norestore")
            .arg("--nologo")
            .arg("--nodefault")
            .arg("--nolockcheck")
            .arg(format!("-env:UserInstallation={}", file_url(&profile)))
            .arg("--convert-to")
            .arg(format.target())
            .arg("--outdir")
            .arg(outdir)
            .arg(input)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            Error::Convert(format!(
                "cannot start LibreOffice ({}): {e}",
                program.display()
            ))
        })?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    kill_group(&mut child);
                    let _ = child.wait();
                    // A killed instance may leave its profile locked: start the next afresh.
                    let _ = std::fs::remove_dir_all(&profile);
                    let _ = std::fs::remove_file(&log_path);
                    return Err(Error::Convert(format!(
                        "LibreOffice did not convert the report to {} within {} s and was stopped",
                        format.name(),
                        self.timeout.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    kill_group(&mut child);
                    let _ = child.wait();
                    return Err(Error::Convert(format!(
                        "waiting for LibreOffice failed: {e}"
                    )));
                }
            }
        };
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let _ = std::fs::remove_file(&log_path);
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let output = outdir.join(format!("{stem}.{}", format.name()));
        let made = std::fs::metadata(&output).is_ok_and(|m| m.len() > 0);
        if !made {
            let detail: String = log.trim().chars().take(500).collect();
            tracing::warn!(status = %status, log = %log, "LibreOffice did not convert a report");
            return Err(Error::Convert(format!(
                "LibreOffice could not convert the report to {} ({status}{}{detail})",
                format.name(),
                if detail.is_empty() { "" } else { ": " }
            )));
        }
        tracing::debug!(
            format = format.name(),
            ms = started.elapsed().as_millis() as u64,
            "converted a report"
        );
        Ok(output)
    }
}

/// Kills the conversion's process group (LibreOffice's helpers too), or at least the child.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // `kill -KILL -- -<pgid>`: the group the child leads (`process_group(0)`).
        let killed = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", child.id()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if killed {
            return;
        }
    }
    let _ = child.kill();
}

/// `file:///a%20b/c` for LibreOffice's `-env:` arguments.
fn file_url(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_have_names_and_types() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
            assert!(!f.content_type().is_empty());
        }
        assert_eq!(Format::parse("docx"), None);
    }

    #[test]
    fn profile_urls_are_encoded() {
        assert_eq!(file_url(Path::new("/tmp/a b%")), "file:///tmp/a%20b%25");
    }

    #[test]
    fn a_missing_libreoffice_is_a_clear_error() {
        let c = Converter::new(
            Some(PathBuf::from("/nonexistent/soffice")),
            1,
            Duration::from_secs(5),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("r.ods");
        std::fs::write(&input, b"x").unwrap();
        let err = c.convert(&input, Format::Pdf, dir.path()).unwrap_err();
        assert!(err.message().contains("cannot start LibreOffice"), "{err}");
        let none = Converter { program: None, ..c };
        let err = none.convert(&input, Format::Pdf, dir.path()).unwrap_err();
        assert!(
            err.message().contains("apt-get install libreoffice-calc"),
            "{err}"
        );
        // ODS needs no conversion.
        assert_eq!(
            none.convert(&input, Format::Ods, dir.path()).unwrap(),
            input
        );
    }

    #[test]
    fn a_conversion_past_its_timeout_is_killed_with_its_children() {
        // A stand-in for soffice that starts a child and never ends.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("soffice");
        let pidfile = dir.path().join("child.pid");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 300 &\necho $! > {}\nwait\n",
                pidfile.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let c = Converter::new(Some(script), 1, Duration::from_millis(500)).unwrap();
        let input = dir.path().join("r.ods");
        std::fs::write(&input, b"x").unwrap();
        let started = Instant::now();
        let err = c.convert(&input, Format::Pdf, dir.path()).unwrap_err();
        assert!(err.message().contains("was stopped"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let alive = Path::new(&format!("/proc/{}", pid.trim())).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "the child of the stopped conversion still runs");
        // The worker is free again.
        let err = c.convert(&input, Format::Pdf, dir.path()).unwrap_err();
        assert!(err.message().contains("was stopped"), "{err}");
    }
}
