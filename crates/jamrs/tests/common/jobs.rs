//! Reports and exports from a test: start a job, wait for it, download its file (bytes; the
//! harness's client reads bodies as text).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Client, ok};

/// `POST /api/reports/{report}/print`: the job (202), or the refusal.
pub fn print(c: &Client, report: &str, params: Value, format: &str) -> (u16, Value) {
    c.post_json(
        &format!("/api/reports/{report}/print"),
        &json!({"params": params, "format": format}),
    )
}

/// `POST /api/items/{item}/export`.
pub fn export(c: &Client, item: &str, format: &str, open: Value) -> (u16, Value) {
    c.post_json(
        &format!("/api/items/{item}/export"),
        &json!({"format": format, "open": open}),
    )
}

/// The job once it has finished (done, failed or cancelled); panics after a minute.
pub fn wait(c: &Client, job: &Value) -> Value {
    let id = job["id"].as_str().expect("a job id");
    let started = Instant::now();
    loop {
        let status = ok(c.get(&format!("/api/jobs/{id}")));
        if ["done", "failed", "cancelled"].contains(&status["state"].as_str().unwrap_or("")) {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the job did not finish: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A started job (202) waited for, which must have succeeded.
pub fn done(c: &Client, started: (u16, Value)) -> Value {
    assert_eq!(started.0, 202, "{}", started.1);
    let finished = wait(c, &started.1);
    assert_eq!(finished["state"], "done", "{finished}");
    finished
}

/// `GET /api/jobs/{id}/file`: status, headers, bytes.
pub fn download(c: &Client, url: &str, id: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut req = ureq::http::Request::builder()
        .method("GET")
        .uri(format!("{url}/api/jobs/{id}/file"));
    if let Some(cookie) = &c.cookie {
        req = req.header("cookie", cookie);
    }
    let mut resp = agent.run(req.body(()).unwrap()).unwrap();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, headers, bytes)
}

/// The file of a job that must have succeeded.
pub fn file(c: &Client, url: &str, job: &Value) -> Vec<u8> {
    let (status, _, bytes) = download(c, url, job["id"].as_str().unwrap());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    bytes
}

/// The cells of a printed `.ods` (see `jamrs_reports::read`): each cell's text, or its value
/// for a typed one as `type:value`.
pub fn ods_cells(bytes: &[u8]) -> Vec<Vec<jamrs_reports::read::SheetCell>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.ods");
    std::fs::write(&path, bytes).unwrap();
    jamrs_reports::read::cells(&path).unwrap()
}

/// Whether LibreOffice tests can run; panics saying what to install, unless
/// `JAMRS_SKIP_LIBREOFFICE_TESTS=1` skips them on purpose.
pub fn libreoffice_here() -> bool {
    let missing: Vec<&str> = ["soffice", "pdftotext"]
        .into_iter()
        .filter(|p| {
            !std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("JAMRS_SKIP_LIBREOFFICE_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "*** LibreOffice tests SKIPPED (JAMRS_SKIP_LIBREOFFICE_TESTS=1): PDF conversion is NOT tested ***"
        );
        return false;
    }
    panic!(
        "this test needs {} (apt-get install libreoffice-calc poppler-utils, or ./dev setup); set JAMRS_SKIP_LIBREOFFICE_TESTS=1 to skip it on purpose",
        missing.join(" and ")
    );
}
