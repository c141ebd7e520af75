//! The schemas every document has: the error contract, login, the task, and the generic forms
//! of open and apply (field names as plain strings), which the per-item schemas (`items.rs`)
//! narrow to one item's fields.

use jamrs_core::types::{Agg, FilterOp};
use serde_json::{Value as Json, json};

/// `#/components/schemas/<name>`.
pub fn schema_ref(name: &str) -> Json {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON integer the server reads (a signed 64-bit integer).
pub fn int64(description: &str) -> Json {
    let mut s = json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX});
    if !description.is_empty() {
        s["description"] = json!(description);
    }
    s
}

/// `schema`, or null (a param the server treats as absent when null).
pub fn or_null(schema: Json) -> Json {
    json!({ "anyOf": [schema, {"type": "null"}] })
}

/// Jam.py's filter types: numbers 1–30 and names (`_l`: the lookup-text variant).
pub fn filter_type() -> Json {
    let mut names: Vec<String> = FilterOp::ALL.iter().map(|o| o.name().to_string()).collect();
    names.extend(FilterOp::ALL.iter().map(|o| format!("{}_l", o.name())));
    json!({
        "description": "A Jam.py FILTER_* number (1–15; 16–30 compare the lookup text) or its name (add _l for the lookup-text variant)",
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": 30},
            {"type": "string", "enum": names},
        ]
    })
}

pub fn agg_names(numeric: bool) -> Vec<&'static str> {
    Agg::ALL
        .iter()
        .filter(|a| numeric || !matches!(a, Agg::Sum | Agg::Avg))
        .map(|a| a.name())
        .collect()
}

/// A filter, or an OR group, over fields named by `field` (a schema).
pub fn filter(field: &Json, self_ref: &Json) -> Json {
    json!({
        "description": "[field, type, value]: the value's type follows the field (a list for in/not_in, [from, to] for range, true/false for isnull, text for contains/startwith/endwith/contains_all). An OR group is a list of lists of filters: [[f1, f2], [f3]] means (f1 AND f2) OR f3.",
        "anyOf": [
            {
                "type": "array",
                "prefixItems": [field, schema_ref("FilterType"), {}],
                "minItems": 3,
                "maxItems": 4,
            },
            {
                "type": "array",
                "minItems": 1,
                "prefixItems": [{"type": "array", "items": self_ref}],
                "items": {"type": "array", "items": self_ref},
            }
        ]
    })
}

/// An order entry over fields named by `field`.
pub fn order(field: &Json, names: Option<Vec<String>>) -> Json {
    let text = match names {
        Some(names) => {
            let mut all = names.clone();
            all.extend(names.iter().map(|n| format!("-{n}")));
            json!({"type": "string", "enum": all})
        }
        None => json!({"type": "string", "minLength": 1}),
    };
    json!({
        "description": "\"field\" (ascending), \"-field\" (descending), or [field, desc]; ordering by a lookup field with expanded sorts by its text",
        "anyOf": [
            text,
            {
                "type": "array",
                "prefixItems": [field, {"type": ["boolean", "number"], "description": "true or 1: descending"}],
                "minItems": 1,
                "maxItems": 2,
            }
        ]
    })
}

/// `search` over fields named by `field`.
pub fn search(field: &Json) -> Json {
    let text = json!({"type": ["string", "number"], "description": "Words that must all appear"});
    or_null(json!({
        "anyOf": [
            {"type": "object", "required": ["field", "text"], "properties": {"field": field, "text": text}},
            {"type": "array", "minItems": 2, "prefixItems": [field, text]},
        ]
    }))
}

/// The `op` of a change, for a oneOf branch.
pub fn op(name: &str) -> Json {
    json!({"type": "string", "const": name})
}

/// Schemas every document has.
pub fn common() -> serde_json::Map<String, Json> {
    let value = json!({
        "description": "A field value: null, number, string (dates as YYYY-MM-DD, datetimes as YYYY-MM-DD HH:MM:SS, keys lists as \"1;5;9\") or boolean",
        "type": ["null", "number", "string", "boolean"],
    });
    let field = json!({"type": "string", "description": "A field name"});
    let names = json!({"type": "array", "items": {"type": "string"}});
    let doc = json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "validation", "module_error", "too_many_requests", "internal"]},
                    "message": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
                        "field": {"type": "string", "description": "Path of the field at fault, e.g. changes[0].title or changes[0].lines[2].quantity"},
                        "message": {"type": "string"}}}}
                }
            }}
        },
        "Value": value,
        "FilterType": filter_type(),
        "Filter": filter(&field, &schema_ref("Filter")),
        "Order": order(&field, None),
        "OpenParams": {
            "type": "object",
            "additionalProperties": false,
            "description": "Jam.py's open params without the underscores. An optional param sent as null is the same as one left out.",
            "properties": {
                "fields": or_null(json!({"type": "array", "items": field, "description": "Field names; empty or absent: every field the role may see"})),
                "filters": or_null(json!({"type": "array", "items": schema_ref("Filter")})),
                "order": or_null(json!({"type": "array", "items": schema_ref("Order")})),
                "limit": or_null(json!({"type": "integer", "minimum": 0, "description": "At most the task's max_limit (GET /api/task); 0 or absent means max_limit"})),
                "offset": or_null(json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
                "expanded": or_null(json!({"type": "boolean", "description": "Add lookup texts (<field>.text) and calculated fields"})),
                "funcs": or_null(json!({"type": "object", "additionalProperties": {"type": "string", "enum": agg_names(true)}, "description": "{field: aggregate}; sum and avg need a numeric field"})),
                "summary": or_null(json!({"type": "boolean", "description": "The first column becomes COUNT(*)"})),
                "group_by": or_null(names.clone()),
                "master": or_null(json!({
                    "description": "Required for a detail, refused otherwise: {\"item\": master, \"id\": key}, or the key alone when the detail has one master",
                    "anyOf": [
                        int64("The master's key"),
                        {"type": "object", "required": ["id"], "properties": {"item": {"type": "string"}, "id": int64("The master's key")}},
                    ]
                })),
                "search": search(&field),
                "params": or_null(json!({"type": "object", "description": "User params for server module handlers"})),
                "total": or_null(json!({"type": "boolean", "description": "Also answer `total`: how many rows the filters select, whatever limit and offset are (not with funcs, summary or group_by)"})),
            }
        },
        "OpenReply": {
            "type": "object",
            "required": ["fields", "rows"],
            "properties": {
                "fields": {"type": "array", "items": {"type": "string"}, "description": "Column names: the fields, then calculated fields and <field>.text lookup texts when expanded"},
                "rows": {"type": "array", "items": {"type": "array", "items": schema_ref("Value")}, "description": "One array per row, its values in the order of `fields`"},
                "total": {"type": "integer", "minimum": 0, "description": "With `total: true`: how many rows the filters select, whatever the page"}
            }
        },
        "Values": {"type": "object", "additionalProperties": schema_ref("Value"), "description": "{field: value}"},
        "Details": {"type": "object", "additionalProperties": or_null(json!({"type": "array", "items": schema_ref("Change")})), "description": "Changes of detail rows under this record, by detail name; the link to the master is set by the server"},
        "ApplyParams": apply_params(&schema_ref("Change")),
        "ChangeResult": change_result(&json!({"type": "object", "additionalProperties": schema_ref("Value"), "description": "The row as stored, by field name (with lookup texts and calculated fields when expanded)"}), &json!({"type": "object", "additionalProperties": {"type": "array", "items": schema_ref("ChangeResult")}})),
        "ApplyReply": apply_reply(&schema_ref("ChangeResult")),
        "CallRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"args": {"type": "array", "description": "Positional arguments after the item"}}
        },
        "CallReply": {"type": "object", "required": ["result"], "properties": {"result": {"description": "The function's return value as JSON"}}},
        "ExtRequest": {"description": "Any JSON value: on_ext_request's params (null when the body is empty)"},
        "PrintRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "params": or_null(json!({"type": "object", "description": "{param: value} (a list for a multi-select param); a param left out takes its default"})),
                "format": or_null(json!({"type": "string", "enum": jamrs_core::model::REPORT_FORMATS, "description": "One of the report's formats (default: its first); all but ods need LibreOffice on the server"})),
            }
        },
        "ExportRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["format"],
            "properties": {
                "format": {"type": "string", "enum": ["csv", "xlsx"]},
                "open": or_null(json!({"description": "The grid's open params: fields (the columns), filters, search, order, master, params; limit and offset are ignored (every row is exported)", "allOf": [schema_ref("OpenParams")]})),
            }
        },
        "Job": {
            "type": "object",
            "required": ["id", "kind", "name", "state", "done", "total"],
            "properties": {
                "id": {"type": "string"},
                "kind": {"type": "string", "enum": ["report", "export"]},
                "name": {"type": "string", "description": "The report's or the item's name"},
                "state": {"type": "string", "enum": ["queued", "running", "converting", "done", "failed", "cancelled"]},
                "done": {"type": "integer", "description": "Bands printed, or rows written"},
                "total": {"type": ["integer", "null"], "description": "Rows to write (an export), once known"},
                "file_name": {"type": "string"},
                "size": {"type": "integer", "description": "The file's size in bytes"},
                "error": {"$ref": "#/components/schemas/Error/properties/error", "description": "Why the job failed"},
            }
        },
        "Task": task(),
        "LoginRequest": {
            "type": "object",
            "required": ["login", "password"],
            "additionalProperties": false,
            "properties": {"login": {"type": "string"}, "password": {"type": "string", "format": "password"}}
        },
        "UserInfo": {
            "type": "object",
            "description": "Jam.py's user_info, as server modules read it",
            "required": ["user_id", "login", "user_name", "role_id", "role_name", "tenant_id"],
            "properties": {
                "user_id": {"type": "integer"},
                "login": {"type": "string"},
                "user_name": {"type": "string"},
                "role_id": {"type": "integer"},
                "role_name": {"type": "string"},
                "tenant_id": {"type": ["integer", "null"]}
            }
        },
        "LoginReply": {"type": "object", "required": ["user"], "properties": {"user": schema_ref("UserInfo")}},
        "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"], "description": "An OpenAPI 3.1 document"},
    });
    let Json::Object(mut out) = doc else {
        unreachable!("json! of an object")
    };
    let values = schema_ref("Values");
    out.extend(change("", &values, &values, &schema_ref("Details"), false));
    out.extend(history());
    out
}

/// The history endpoint's request and reply (`POST /api/items/{item}/history`), and the upload's.
fn history() -> serde_json::Map<String, Json> {
    let doc = json!({
        "UploadRequest": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description": "The file (the part's filename is kept as the original name)"}}
        },
        "UploadReply": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {
                "type": "object",
                "required": ["name", "value", "original", "type", "size"],
                "properties": {
                    "name": {"type": "string", "description": "The upload's name (43 characters)"},
                    "value": {"type": "string", "description": "What to put in the record's field in an apply"},
                    "original": {"type": "string"},
                    "type": {"type": "string", "description": "The type told by the content"},
                    "size": {"type": "integer"}
                }
            }}
        },
        "HistoryRequest": {
            "type": "object",
            "additionalProperties": false,
            "description": "A record's history (id), or the item's; null is the same as leaving a member out",
            "properties": {
                "id": or_null(int64("The record's key; absent for the item's history")),
                "limit": or_null(json!({"type": "integer", "minimum": 0, "description": "At most max_limit; 0 or absent: 100"})),
                "offset": or_null(json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            }
        },
        "HistoryReply": {
            "type": "object",
            "required": ["history"],
            "properties": {"history": {"type": "array", "description": "Newest first", "items": {
                "type": "object",
                "required": ["id", "record_id", "operation", "user_id", "user_name", "at", "changes"],
                "properties": {
                    "id": {"type": "integer"},
                    "record_id": {"type": "integer"},
                    "operation": {"type": "string", "enum": ["insert", "update", "delete"]},
                    "user_id": {"type": ["integer", "null"], "description": "Who made the change (null: server code without a session)"},
                    "user_name": {"type": ["string", "null"]},
                    "at": {"type": "string", "description": "UTC, YYYY-MM-DD HH:MM:SS"},
                    "changes": {"type": "array", "items": {"type": "object", "required": ["field", "old", "new"], "properties": {
                        "field": {"type": "string"}, "old": schema_ref("Value"), "new": schema_ref("Value")}}}
                }
            }}}
        }
    });
    let Json::Object(out) = doc else {
        unreachable!("json! of an object")
    };
    out
}

/// The schemas of a change, named `<prefix>Insert`, `<prefix>Update`, `<prefix>Delete` and
/// `<prefix>Change` (their oneOf, told apart by `op`). Update and delete need `id`; a delete
/// takes nothing else (deleting a record deletes its details). `values_required`: an insert
/// must carry values (the item has fields an insert needs).
pub fn change(
    prefix: &str,
    insert_values: &Json,
    values: &Json,
    details: &Json,
    values_required: bool,
) -> Vec<(String, Json)> {
    let mut insert_required = vec!["op"];
    if values_required {
        insert_required.push("values");
    }
    let empty = json!({"type": "object", "maxProperties": 0});
    let name = |op: &str| format!("{prefix}{op}");
    vec![
        (
            name("Insert"),
            json!({
                "type": "object",
                "required": insert_required,
                "additionalProperties": false,
                "properties": {
                    "op": op("insert"),
                    "id": {"description": "Ignored: the database gives the key"},
                    "values": or_null(insert_values.clone()),
                    "details": or_null(details.clone()),
                }
            }),
        ),
        (
            name("Update"),
            json!({
                "type": "object",
                "required": ["op", "id"],
                "additionalProperties": false,
                "properties": {
                    "op": op("update"),
                    "id": int64("The record's key"),
                    "values": or_null(values.clone()),
                    "details": or_null(details.clone()),
                }
            }),
        ),
        (
            name("Delete"),
            json!({
                "type": "object",
                "required": ["op", "id"],
                "additionalProperties": false,
                "description": "Deleting a record deletes its details",
                "properties": {
                    "op": op("delete"),
                    "id": int64("The record's key"),
                    "values": or_null(empty.clone()),
                    "details": or_null(empty),
                }
            }),
        ),
        (
            name("Change"),
            json!({
                "description": "One change; `op` tells which. Update and delete need the record's `id`.",
                "oneOf": [schema_ref(&name("Insert")), schema_ref(&name("Update")), schema_ref(&name("Delete"))],
                "discriminator": {"propertyName": "op", "mapping": {
                    "insert": format!("#/components/schemas/{}", name("Insert")),
                    "update": format!("#/components/schemas/{}", name("Update")),
                    "delete": format!("#/components/schemas/{}", name("Delete")),
                }},
            }),
        ),
    ]
}

pub fn apply_params(change: &Json) -> Json {
    json!({
        "type": "object",
        "required": ["changes"],
        "additionalProperties": false,
        "properties": {
            "changes": {"type": "array", "items": change, "description": "All or nothing, in one transaction"},
            "params": or_null(json!({"type": "object", "description": "User params for server module handlers"})),
            "expanded": or_null(json!({"type": "boolean", "description": "Return rows with lookup texts and calculated fields"}))
        }
    })
}

pub fn change_result(values: &Json, details: &Json) -> Json {
    json!({
        "type": "object",
        "required": ["op", "id"],
        "additionalProperties": false,
        "properties": {
            "op": {"type": "string", "enum": ["insert", "update", "delete"]},
            "id": {"type": ["integer", "null"], "description": "The record's key (null only for an insert a server module skipped)"},
            "values": values,
            "details": details,
        }
    })
}

pub fn apply_reply(result: &Json) -> Json {
    json!({
        "type": "object",
        "required": ["changes"],
        "properties": {"changes": {"type": "array", "items": result, "description": "One result per change, in order"}}
    })
}

/// `GET /api/task`.
fn task() -> Json {
    let text = json!({"type": "string"});
    let optional_text = json!({"type": ["string", "null"]});
    let field = json!({"type": "object", "required": ["name", "caption", "type", "required", "read_only", "visible"], "properties": {
        "name": text,
        "caption": text,
        "type": {"type": "string", "enum": jamrs_core::types::FieldType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>()},
        "required": {"type": "boolean"},
        "read_only": {"type": "boolean"},
        "visible": {"type": "boolean"},
        "size": {"type": "integer"},
        "default_value": {"description": "A value, or \"today\" / \"now\""},
        "alignment": text,
        "help": text,
        "placeholder": text,
        "typeahead": {"type": "boolean"},
        "lookup": {"type": "object", "properties": {"item": text, "field": optional_text, "path": {"type": "array", "items": text}}},
        "lookup_values": text,
        "master_field": text,
        "calc": {"type": "object", "properties": {"item": text, "field": text, "link": text, "op": text}},
        "server_set": {"type": "boolean"},
        "file": {"type": "object", "description": "A file or image field's accept string, largest file (bytes) and thumbnail sizes (pixels, null where not set)", "properties": {"accept": text, "max_size": {"type": "integer"}, "image": {"type": "object"}}},
    }});
    json!({
        "type": "object",
        "required": ["task", "groups", "items", "lookup_lists", "privileges", "user", "safe_mode"],
        "properties": {
            "user": {"anyOf": [schema_ref("UserInfo"), {"type": "null"}]},
            "safe_mode": {"type": "boolean"},
            "privileges": {"type": "object", "additionalProperties": {
                "type": "object",
                "required": ["can_view", "can_create", "can_edit", "can_delete"],
                "properties": {"can_view": {"type": "boolean"}, "can_create": {"type": "boolean"}, "can_edit": {"type": "boolean"}, "can_delete": {"type": "boolean"}},
            }},
            "task": {"type": "object", "required": ["name", "caption", "language", "max_limit"], "properties": {
                "name": text, "caption": text, "language": text, "max_limit": {"type": "integer"},
            }},
            "groups": {"type": "array", "items": {"type": "object", "required": ["name", "caption", "visible", "items"], "properties": {
                "name": text, "caption": text, "visible": {"type": "boolean"}, "items": {"type": "array", "items": text},
                "reports": {"type": "array", "items": text, "description": "Reports the group's menu lists (those the role may print)"},
            }}},
            "reports": {"type": "array", "description": "The reports the role may print", "items": {"type": "object", "required": ["name", "caption", "visible", "formats", "params"], "properties": {
                "name": text, "caption": text, "visible": {"type": "boolean"},
                "formats": {"type": "array", "items": text, "description": "The formats it is printed in, the default first"},
                "params": {"type": "array", "items": field.clone(), "description": "The parameter form's fields (multi_select: a list of keys)"},
            }}},
            "items": {"type": "array", "items": {"type": "object", "required": ["name", "caption", "fields", "filters"], "properties": {
                "name": text,
                "caption": text,
                "visible": {"type": "boolean"},
                "primary_key": text,
                "soft_delete": {"type": "boolean"},
                "masters": {"type": "array", "items": text},
                "details": {"type": "array", "items": text},
                "reports": {"type": "array", "items": text, "description": "Reports the view form offers (those the role may print)"},
                "master_link": {"type": ["array", "null"], "items": text},
                "fields": {"type": "array", "items": field},
                "filters": {"type": "array", "items": {"type": "object"}},
                "default_order": {"type": "array", "items": {"type": "array"}},
                "view": {"type": ["object", "null"], "description": "The grid's layout ([view]): fields, widths, sort_fields, search_field, width; null parts are defaults"},
                "edit": {"type": ["object", "null"], "description": "The edit form's layout ([edit]): tabs of bands of fields, details, width, modal"},
                "keep_history": {"type": "boolean", "description": "Changes of its records are recorded (POST /api/items/{item}/history)"},
                "record_version": {"type": ["string", "null"], "description": "With edit_lock: the field a change names the version it was made to in (an older one is a 409)"},
            }}},
            "client_modules": {"type": "array", "items": text, "description": "Client modules this session is served: \"task\" and item names (GET /api/client/{module}.js)"},
            "lookup_lists": {"type": "array", "items": {"type": "object", "required": ["name", "values"], "properties": {
                "name": text,
                "values": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "integer"}, text]}},
            }}},
        }
    })
}
