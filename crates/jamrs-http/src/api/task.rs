//! `GET /api/task`: the metadata a client needs to build its UI.

use axum::extract::State;
use jamrs_core::layout::{EditLayout, ViewLayout};
use jamrs_core::model::{DefaultValue, Field, Item};
use jamrs_core::session::{Caller, UserInfo};
use jamrs_core::{Access, FieldId, Task, Value};
use jamrs_store::{auth, store};
use serde_json::{Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::session::{self, SessionToken};

pub async fn get(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<axum::Json<Json>, ApiError> {
    let task = state.task.clone();
    let now = session::now();
    let job_token = token.clone();
    let who = store::read(&*state.store, move |conn| {
        auth::authenticate(conn, &task, job_token.as_deref(), now)
    })
    .await?;
    // A client that only reloads the metadata is in use too: slide the expiry.
    if let (true, Some(token)) = (who.needs_touch, token) {
        session::touch_later(&*state.store, token, now);
    }
    Ok(axum::Json(describe(&state.task, &who.caller)))
}

/// `user_info` as the API shows it (the same keys server modules read).
pub fn user_json(user: &UserInfo) -> Json {
    json!({
        "user_id": user.user_id,
        "login": user.login,
        "user_name": user.user_name,
        "role_id": user.role_id,
        "role_name": user.role_name,
        "tenant_id": user.tenant_id,
    })
}

/// `user_info` as server modules read it: [`user_json`] and the other keys `on_login` returned
/// (which clients never see).
pub fn module_user_json(user: &UserInfo) -> Json {
    let mut info = user.extra.clone();
    if let Json::Object(m) = user_json(user) {
        info.extend(m);
    }
    Json::Object(info)
}

/// The task as `caller` sees it: items their role cannot view and fields it is prohibited from
/// are left out. The soft-delete flag, table and column names stay on the server.
pub fn describe(task: &Task, caller: &Caller) -> Json {
    let access = caller.access(task);
    let visible = |id: jamrs_core::ItemId| access.privileges(id).view;
    json!({
        "user": caller.user.as_ref().map(user_json),
        "safe_mode": task.settings.safe_mode,
        "privileges": task.items.iter().filter(|i| visible(i.id)).map(|i| {
            let p = access.privileges(i.id);
            (i.name.to_string(), json!({
                "can_view": p.view, "can_create": p.create, "can_edit": p.edit, "can_delete": p.delete,
            }))
        }).collect::<serde_json::Map<_, _>>(),
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
            "items": g.items.iter().filter(|i| visible(**i)).map(|i| task.item(*i).name.as_str()).collect::<Vec<_>>(),
            "reports": g.reports.iter().filter(|r| access.can_print(**r)).map(|r| task.report(*r).name.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "reports": crate::api::reports::describe(task, caller),
        "items": task.items.iter().filter(|i| visible(i.id)).map(|i| item(task, i, access)).collect::<Vec<_>>(),
        // The client modules this session is served (GET /api/client/<name>.js).
        "client_modules": task.client_modules.iter().filter(|m| {
            *m == jamrs_core::project::TASK_CLIENT_MODULE || task.item_by_name(m).is_some_and(|i| visible(i.id))
        }).collect::<Vec<_>>(),
        "lookup_lists": task.lookup_lists.iter().map(|l| json!({
            "name": l.name,
            "values": l.values,
        })).collect::<Vec<_>>(),
    })
}

fn item(task: &Task, item: &Item, access: &Access) -> Json {
    let name = |id: jamrs_core::ItemId| task.item(id).name.as_str();
    let shown = |f: &&Field| !access.is_prohibited(item.id, f.id);
    let mut out = json!({
        "name": item.name.as_str(),
        "caption": item.caption,
        "visible": item.visible,
        "primary_key": item.pk().name.as_str(),
        "soft_delete": item.deleted_flag.is_some(),
        "masters": item.masters.iter().filter(|m| access.privileges(**m).view).map(|m| name(*m)).collect::<Vec<_>>(),
        "details": item.details.iter().filter(|d| access.privileges(**d).view).map(|d| name(*d)).collect::<Vec<_>>(),
        "reports": item.reports.iter().filter(|r| access.can_print(**r)).map(|r| task.report(*r).name.as_str()).collect::<Vec<_>>(),
        "master_link": item.master_link.map(|l| l.fields().iter().map(|f| item.field(*f).name.as_str()).collect::<Vec<_>>()),
        "fields": item.public_fields().filter(shown).map(|f| field(task, item, f, access)).collect::<Vec<_>>(),
        "filters": item.filters.iter().filter(|f| !access.is_prohibited(item.id, f.field)).map(|f| json!({
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
        // null: the author chose none (a client totals the currency fields).
        "summary_fields": item.summary_fields.as_ref().map(|list| list.iter().filter(|f| !access.is_prohibited(item.id, **f)).map(|f| item.field(*f).name.as_str()).collect::<Vec<_>>()),
        "default_order": item.default_order.iter().filter(|o| !access.is_prohibited(item.id, o.field)).map(|o| json!([item.field(o.field).name.as_str(), o.desc])).collect::<Vec<_>>(),
        "keep_history": item.keep_history,
        // With edit_lock: the field a change names the version it was made to in.
        "record_version": item.record_version.filter(|f| !access.is_prohibited(item.id, *f)).map(|f| item.field(f).name.as_str()),
        "view": item.layout.view.as_ref().map(|v| view_layout(item, v, access)),
        "edit": item.layout.edit.as_ref().map(|e| edit_layout(task, item, e, access)),
    });
    // Keyed by text: a new record's form asks for its key (the client chooses it).
    if item.text_key() {
        out["text_key"] = json!(true);
    }
    out
}

/// Names of the fields in `ids` the role may see (a layout never names a prohibited field).
fn field_names(item: &Item, ids: &[FieldId], access: &Access) -> Vec<String> {
    ids.iter()
        .filter(|f| !access.is_prohibited(item.id, **f))
        .map(|f| item.field(*f).name.to_string())
        .collect()
}

/// `[view]` as clients read it; unset parts are null (the client's defaults).
fn view_layout(item: &Item, v: &ViewLayout, access: &Access) -> Json {
    json!({
        "fields": v.fields.as_ref().map(|ids| field_names(item, ids, access)),
        "widths": v.widths.iter().filter(|(f, _)| !access.is_prohibited(item.id, *f))
            .map(|(f, w)| (item.field(*f).name.to_string(), json!(w))).collect::<serde_json::Map<_, _>>(),
        "sort_fields": v.sort_fields.as_ref().map(|ids| field_names(item, ids, access)),
        "search_field": v.search_field.filter(|f| !access.is_prohibited(item.id, *f)).map(|f| item.field(f).name.as_str()),
        "width": v.width,
    })
}

/// `[edit]` as clients read it: tabs of bands of field names, the details shown, the form.
fn edit_layout(task: &Task, item: &Item, e: &EditLayout, access: &Access) -> Json {
    json!({
        "tabs": e.tabs.as_ref().map(|tabs| tabs.iter().map(|t| json!({
            "caption": t.caption,
            "bands": t.bands.iter().map(|b| json!({
                "caption": b.caption,
                "columns": b.columns,
                "fields": field_names(item, &b.fields, access),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()),
        "details": e.details.as_ref().map(|ids| ids.iter().filter(|d| access.privileges(**d).view)
            .map(|d| task.item(*d).name.as_str()).collect::<Vec<_>>()),
        "width": e.width,
        "modal": e.modal,
    })
}

fn field(task: &Task, item: &Item, f: &Field, access: &Access) -> Json {
    let mut out = param_field(task, f);
    let o = out.as_object_mut().expect("json! of an object");
    o.insert(
        "read_only".into(),
        json!(f.read_only || access.is_read_only(item.id, f.id)),
    );
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
    if let Some(fs) = &f.file {
        o.insert("file".into(), file_settings(fs));
    }
    out
}

/// What a field says on its own (also a report param's form input): name, type, caption,
/// required, visible, size, default, alignment, help, placeholder, lookup, lookup list.
pub(crate) fn param_field(task: &Task, f: &Field) -> Json {
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
    out
}

/// A file or image field's settings as a client needs them: the accept string (for a file
/// picker), the largest file, the thumbnail sizes.
fn file_settings(fs: &jamrs_core::files::FileSettings) -> Json {
    use jamrs_core::files::{Accept, Family};
    let accept: Vec<String> = fs
        .accept
        .iter()
        .map(|a| match a {
            Accept::Family(Family::Image) => "image/*".to_string(),
            Accept::Family(Family::Audio) => "audio/*".to_string(),
            Accept::Family(Family::Video) => "video/*".to_string(),
            Accept::Family(_) => "text/*".to_string(),
            Accept::Ext { written, .. } => format!(".{written}"),
        })
        .collect();
    let i = &fs.image;
    json!({
        "accept": accept.join(","),
        "max_size": fs.max_size,
        "image": {
            "view_width": i.view_width, "view_height": i.view_height,
            "edit_width": i.edit_width, "edit_height": i.edit_height,
        },
    })
}

fn value(v: &Value) -> Json {
    v.to_json()
}
