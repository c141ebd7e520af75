//! A report's server module with Jam.py's API: the events in order, the report object
//! (params and their texts, `ext`, `bands`, `print_band`, `hide_columns`), and every way a
//! module can go wrong, each failing its job alone with a clear error; a report that runs too
//! long is stopped; reports run a few at a time and never hold up other requests.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::jobs::{done, file, ods_cells, print, wait};
use common::{Client, TestServer, assert_error, ok};
use serde_json::{Value, json};

/// The example's customer list template: bands `title` (`%(selection)s`), `detail` (`%(n)s`,
/// `%(name)s`, `%(country)s`) and `summary` (`Customers: %(count)s`).
const TEMPLATE: &[u8] = include_bytes!("../../../examples/reports/reports/customer_list.ods");

const TASK: &str = r#"
name = "r"
safe_mode = false

[reports]
timeout = 3
concurrency = 1

[[lookup_lists]]
name = "kinds"
values = [[1, "Retail"], [2, "Trade"]]

[[groups]]
name = "main"
items = ["notes"]

[[groups]]
name = "reports"
items = ["events", "raises", "bad_band", "bad_value", "late_hide", "forever", "kept", "engine_error", "no_module", "slow", "reentrant"]
"#;

const NOTES: &str = r#"
[[fields]]
name = "title"
type = "text"
size = 50
"#;

const EVENTS_TOML: &str = r#"
template = "list.ods"

[[params]]
name = "note"
type = "text"
caption = "A note"

[[params]]
name = "kind"
type = "integer"
lookup_values = "kinds"

[[params]]
name = "picks"
type = "integer"
multi_select = true
lookup = { item = "notes", field = "title" }

[[params]]
name = "flag"
type = "boolean"
default_value = true
"#;

const EVENTS_PY: &str = r#"
calls = []

def on_before_generate(report):
    calls.clear()
    calls.append('before' + report.ext + ':' + report.item_name)

def on_parsed(report):
    calls.append('parsed:' + ','.join(report.bands))

def on_generate(report):
    calls.append('generate')
    report.print_band('title', {'selection': report.note.display_text})
    for i, p in enumerate(report.params):
        report.print_band('detail', {'n': i + 1, 'name': p.param_caption, 'country': p.display_text})
    report.print_band('detail', {'n': len(report.picks.value), 'name': report.kind.lookup_text, 'country': report.flag.value})

def on_after_generate(report):
    calls.append('after')
    report.print_band('summary', {'count': ' '.join(calls)})
"#;

fn simple(name: &str) -> String {
    let _ = name;
    "template = \"list.ods\"\n".to_string()
}

const MODULES: &[(&str, &str)] = &[
    (
        "raises",
        "def on_generate(report):\n    raise ValueError('no data for this period')\n",
    ),
    (
        "bad_band",
        "def on_generate(report):\n    report.print_band('nope', {})\n",
    ),
    (
        "bad_value",
        "def on_generate(report):\n    report.print_band('detail', {'n': [1, 2]})\n",
    ),
    (
        "late_hide",
        "def on_generate(report):\n    report.print_band('title', {})\n    report.hide_columns(['B'])\n",
    ),
    (
        "forever",
        "def on_generate(report):\n    while True:\n        pass\n",
    ),
    (
        "kept",
        "kept = []\n\ndef on_generate(report):\n    note = 'first'\n    if kept:\n        try:\n            kept[0].print_band('title', {})\n        except RuntimeError as e:\n            note = str(e)\n    kept.append(report)\n    report.print_band('title', {'selection': note})\n",
    ),
    (
        "engine_error",
        "def on_generate(report):\n    notes = report.task.notes.copy()\n    notes.set_fields(['nope'])\n    notes.open()\n",
    ),
    (
        "reentrant",
        "import datetime\n\nheld = []\n\nclass Sneaky(datetime.date):\n    def __str__(self):\n        held[0].print_band('title', {})\n        return 'x'\n\ndef on_generate(report):\n    held.append(report)\n    try:\n        report.print_band('title', {'selection': Sneaky(2024, 1, 1)})\n        note = 'printed'\n    except RuntimeError as e:\n        note = str(e)\n    report.print_band('title', {'selection': note})\n",
    ),
    (
        "slow",
        "import time\n\ndef on_generate(report):\n    time.sleep(1.5)\n    report.print_band('title', {'selection': 'slow'})\n",
    ),
];

fn server() -> (TestServer, Client) {
    let mut files: Vec<(String, String)> = vec![
        ("jamrs.toml".into(), TASK.into()),
        ("items/notes.toml".into(), NOTES.into()),
        ("reports/events.toml".into(), EVENTS_TOML.into()),
        ("reports/events.py".into(), EVENTS_PY.into()),
        ("reports/no_module.toml".into(), simple("no_module")),
    ];
    for (name, py) in MODULES {
        files.push((format!("reports/{name}.toml"), simple(name)));
        files.push((format!("reports/{name}.py"), py.to_string()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let server = TestServer::from_files_and_bytes(&refs, &[("reports/list.ods", TEMPLATE)]);
    let c = server.client();
    (server, c)
}

fn failed(c: &Client, report: &str) -> Value {
    let started = print(c, report, json!({}), "ods");
    assert_eq!(started.0, 202, "{}", started.1);
    let job = wait(c, &started.1);
    assert_eq!(job["state"], "failed", "{job}");
    job["error"].clone()
}

#[test]
fn events_run_in_order_with_the_report_object_of_jampy() {
    let (server, c) = server();
    let r = ok(c.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "Alpha"}}, {"op": "insert", "values": {"title": "Beta"}}]}),
    ));
    let ids: Vec<i64> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    let job = done(
        &c,
        print(
            &c,
            "events",
            json!({"note": "Hello <world>", "kind": 2, "picks": ids}),
            "ods",
        ),
    );
    let cells = ods_cells(&file(&c, &server.url, &job));
    let texts: Vec<Vec<String>> = cells
        .iter()
        .map(|r| r.iter().map(|c| c.text.clone()).collect())
        .collect();
    assert_eq!(texts[0], ["", "Customers"]);
    assert_eq!(texts[1], ["", "Hello <world>"]);
    assert_eq!(texts[3], ["", "1", "A note", "Hello <world>"]);
    assert_eq!(texts[4], ["", "2", "Kind", "Trade"]);
    assert_eq!(texts[5], ["", "3", "Picks", "Alpha, Beta"]);
    assert_eq!(texts[6], ["", "4", "Flag", "True"]);
    // Values keep their types: the count is a number, the flag a boolean.
    assert_eq!(texts[7], ["", "2", "Trade", "True"]);
    assert_eq!(cells[7][1].value_type.as_deref(), Some("float"));
    assert_eq!(cells[7][3].value_type.as_deref(), Some("boolean"));
    assert_eq!(
        texts.last().unwrap()[2],
        "Customers: before.ods:events parsed:title,detail,summary generate after"
    );
}

#[test]
fn a_module_that_fails_fails_its_job_alone_and_says_why() {
    let (_server, c) = server();
    let e = failed(&c, "raises");
    assert_eq!(e["code"], "module_error");
    assert_eq!(e["message"], "no data for this period");
    let e = failed(&c, "bad_band");
    assert_eq!(
        e["message"],
        "the template has no band \"nope\" (its bands: title, detail, summary)"
    );
    let e = failed(&c, "bad_value");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("print_band(\"detail\"): n is a list"),
        "{e}"
    );
    let e = failed(&c, "late_hide");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("hide_columns must be called before the first print_band"),
        "{e}"
    );
    // An engine error keeps its kind.
    let e = failed(&c, "engine_error");
    assert_eq!(e["code"], "bad_request", "{e}");
    // The server goes on.
    ok(c.open("notes", &json!({})));
}

#[test]
fn a_report_that_runs_too_long_is_stopped() {
    let (_server, c) = server();
    let t = Instant::now();
    let e = failed(&c, "forever");
    assert_eq!(e["code"], "module_error");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("the report ran longer than 3 s ([reports] timeout)"),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_report_object_prints_only_while_its_run_lasts() {
    let (server, c) = server();
    let first = done(&c, print(&c, "kept", json!({}), "ods"));
    let cells = ods_cells(&file(&c, &server.url, &first));
    assert_eq!(cells[1][1].text, "first");
    let second = done(&c, print(&c, "kept", json!({}), "ods"));
    let cells = ods_cells(&file(&c, &server.url, &second));
    assert_eq!(
        cells[1][1].text,
        "this report has ended: it prints only while its handlers run"
    );
}

#[test]
fn a_report_without_a_module_prints_no_band() {
    let (server, c) = server();
    let job = done(&c, print(&c, "no_module", json!({}), "ods"));
    assert_eq!(job["done"], 0);
    assert!(ods_cells(&file(&c, &server.url, &job)).is_empty());
}

#[test]
fn reports_wait_their_turn_and_requests_do_not_wait_for_them() {
    let (_server, c) = server();
    // One report at a time ([reports] concurrency = 1): the second waits in line.
    let first = print(&c, "slow", json!({}), "ods");
    let second = print(&c, "slow", json!({}), "ods");
    assert_eq!((first.0, second.0), (202, 202));
    let mut saw_queued = false;
    let t = Instant::now();
    loop {
        let one = Instant::now();
        ok(c.open("notes", &json!({})));
        assert!(
            one.elapsed() < Duration::from_secs(1),
            "{:?}",
            one.elapsed()
        );
        let a = ok(c.get(&format!("/api/jobs/{}", first.1["id"].as_str().unwrap())));
        let b = ok(c.get(&format!("/api/jobs/{}", second.1["id"].as_str().unwrap())));
        if a["state"] == "running" && b["state"] == "queued" {
            saw_queued = true;
        }
        if a["state"] == "done" && b["state"] == "done" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{a} {b}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(saw_queued, "the second report did not wait for the first");
    // A format no report is printed in.
    assert_error(&print(&c, "slow", json!({}), "docx"), 400, "bad_request");
}

/// A value whose text prints a band while its own band is being printed: refused, not a thread
/// waiting for itself for ever.
#[test]
fn print_band_cannot_be_called_from_a_value_being_printed() {
    let (server, c) = server();
    let job = done(&c, print(&c, "reentrant", json!({}), "ods"));
    let cells = ods_cells(&file(&c, &server.url, &job));
    assert_eq!(
        cells[1][1].text,
        "the report is printing a band: print_band cannot be called from a value being printed"
    );
}
