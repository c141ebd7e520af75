//! `GET /api/task`: the metadata a client needs to build its UI.

use axum::extract::State;
use jamrs_core::model::{DefaultValue, Field, Item};
use jamrs_core::{Task, Value};
use serde_json::{Value as Json, json};

use crate::AppState;

pub async fn get(State(state): State<AppState>) -> axum::Json<Json> {
    axum::Json(describe(&state.task))
}

/// The task as clients see it. The soft-delete flag, table and column names stay on the
/// server.
pub fn describe(task: &Task) -> Json {
    json!({
        "task": {
            "name": task.name.as_str(),
            "caption": task.caption,
            "language": task.settings.language,
            "max_limit": task.settings.max_limit,
        },
        "groups": task.groups.iter().map(|g| json!({
            "name": g.name.as_str(),
            "caption": g.caption,
            "visible": g.visible,
            "items": g.items.iter().map(|i| task.item(*i).name.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "items": task.items.iter().map(|i| item(task, i)).collect::<Vec<_>>(),
        "lookup_lists": task.lookup_lists.iter().map(|l| json!({
            "name": l.name,
            "values": l.values,
        })).collect::<Vec<_>>(),
    })
}

fn item(task: &Task, item: &Item) -> Json {
    let name = |id: jamrs_core::ItemId| task.item(id).name.as_str();
    json!({
        "name": item.name.as_str(),
        "caption": item.caption,
        "visible": item.visible,
        "primary_key": item.pk().name.as_str(),
        "soft_delete": item.deleted_flag.is_some(),
        "masters": item.masters.iter().map(|m| name(*m)).collect::<Vec<_>>(),
        "details": item.details.iter().map(|d| name(*d)).collect::<Vec<_>>(),
        "master_link": item.master_link.map(|l| l.fields().iter().map(|f| item.field(*f).name.as_str()).collect::<Vec<_>>()),
        "fields": item.public_fields().map(|f| field(task, item, f)).collect::<Vec<_>>(),
        "filters": item.filters.iter().map(|f| json!({
            "name": f.name.as_str(),
            "caption": f.caption,
            "field": item.field(f.field).name.as_str(),
            "type": if f.on_lookup { format!("{}_l", f.op.name()) } else { f.op.name().to_string() },
            "number": f.op.number() + if f.on_lookup { 15 } else { 0 },
            "visible": f.visible,
            "multi_select_all": f.multi_select_all,
            "help": f.help,
            "placeholder": f.placeholder,
        })).collect::<Vec<_>>(),
        "default_order": item.default_order.iter().map(|o| json!([item.field(o.field).name.as_str(), o.desc])).collect::<Vec<_>>(),
    })
}

fn field(task: &Task, item: &Item, f: &Field) -> Json {
    let mut out = json!({
        "name": f.name.as_str(),
        "caption": f.caption,
        "type": f.field_type.name(),
        "required": f.required,
        "read_only": f.read_only,
        "visible": f.visible,
    });
    let o = out.as_object_mut().expect("json! of an object");
    if let Some(size) = f.size {
        o.insert("size".into(), json!(size));
    }
    if let Some(d) = &f.default_value {
        o.insert(
            "default_value".into(),
            match d {
                DefaultValue::Value(v) => value(v),
                DefaultValue::Today => json!("today"),
                DefaultValue::Now => json!("now"),
            },
        );
    }
    if let Some(a) = f.alignment {
        o.insert("alignment".into(), json!(a.name()));
    }
    for (key, v) in [("help", &f.help), ("placeholder", &f.placeholder)] {
        if let Some(v) = v {
            o.insert(key.into(), json!(v));
        }
    }
    if f.typeahead {
        o.insert("typeahead".into(), json!(true));
    }
    if let Some(l) = &f.lookup {
        let path: Vec<&str> = l
            .steps
            .iter()
            .map(|s| task.item(s.item).field(s.field).name.as_str())
            .collect();
        o.insert(
            "lookup".into(),
            json!({"item": task.item(l.item()).name.as_str(), "field": path.last(), "path": path}),
        );
    }
    if let Some(list) = f.lookup_values {
        o.insert("lookup_values".into(), json!(task.lookup_lists[list].name));
    }
    if let Some(m) = f.master_field {
        o.insert("master_field".into(), json!(item.field(m).name.as_str()));
    }
    if let Some(c) = &f.calc {
        let detail = task.item(c.item);
        o.insert(
            "calc".into(),
            json!({
                "item": detail.name.as_str(),
                "field": detail.field(c.field).name.as_str(),
                "link": detail.field(c.link).name.as_str(),
                "op": c.op.name(),
            }),
        );
    }
    if item.is_server_set(f.id) {
        o.insert("server_set".into(), json!(true));
    }
    out
}

fn value(v: &Value) -> Json {
    v.to_json()
}
