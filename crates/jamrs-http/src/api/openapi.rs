//! `GET /api/openapi.json`: the API contract, built from the same route list as the router
//! and the same parameter names the engine reads (`OpenParams`, `ApplyParams`).

use serde_json::{Value as Json, json};

/// Every documented route: (method, path, summary). `api::router` serves exactly these; the
/// API tests request each one.
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "post",
        "/api/login",
        "Log in: a session cookie and the user's info",
    ),
    (
        "post",
        "/api/logout",
        "End the session (the cookie stops working everywhere)",
    ),
    ("get", "/api/task", "The metadata this session may see"),
    (
        "post",
        "/api/items/{item}/open",
        "Rows of an item (Jam.py open)",
    ),
    (
        "post",
        "/api/items/{item}/apply",
        "Save changes in one transaction (Jam.py apply)",
    ),
    ("get", "/api/openapi.json", "This document"),
];

pub async fn get() -> axum::Json<Json> {
    axum::Json(document())
}

fn error_responses() -> Json {
    let err = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut r = serde_json::Map::new();
    for (code, what) in [
        (
            "400",
            "Malformed request: unknown field or filter type, wrong shape, limit over the maximum",
        ),
        (
            "404",
            "No such item, or the record or master does not exist",
        ),
        ("409", "The change collides with stored data"),
        ("413", "The body is larger than the server accepts"),
        ("415", "The body is not application/json"),
        ("422", "Values failed validation; `fields` says which"),
        ("500", "Internal error (details only in the server log)"),
    ] {
        let mut e = err.clone();
        e["description"] = json!(what);
        r.insert(code.into(), e);
    }
    Json::Object(r)
}

fn body(schema: &str) -> Json {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn ok(schema: &str) -> Json {
    json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

pub fn document() -> Json {
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in ROUTES {
        let mut op = json!({"summary": summary, "responses": error_responses()});
        let item_param = json!([{"name": "item", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The item's name"}]);
        match *path {
            "/api/task" => op["responses"]["200"] = ok("Task"),
            "/api/login" => {
                op["requestBody"] = body("LoginRequest");
                op["responses"]["200"] = ok("LoginReply");
                op["responses"]["200"]["headers"] = json!({"Set-Cookie": {"description": "jamrs_session=<token>; Path=/; HttpOnly; SameSite=Lax (Secure when configured)", "schema": {"type": "string"}}});
            }
            "/api/logout" => {
                op["responses"]["204"] = json!({"description": "The session is revoked on the server; the cookie is cleared"});
            }
            "/api/items/{item}/open" => {
                op["parameters"] = item_param;
                op["requestBody"] = body("OpenParams");
                op["responses"]["200"] = ok("OpenReply");
            }
            "/api/items/{item}/apply" => {
                op["parameters"] = item_param;
                op["requestBody"] = body("ApplyParams");
                op["responses"]["200"] = ok("ApplyReply");
            }
            "/api/items/{item}/call/{function}" => {
                let mut params = item_param;
                if let Some(list) = params.as_array_mut() {
                    list.push(json!({"name": "function", "in": "path", "required": true, "schema": {"type": "string"}, "description": "A function the item's metadata lists in `callable`"}));
                }
                op["parameters"] = params;
                op["requestBody"] = body("CallRequest");
                op["responses"]["200"] = ok("CallReply");
            }
            _ => {
                op["responses"]["200"] = json!({"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}})
            }
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jamrs API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "JSON API of a jamrs application. Names follow Jam.py: open params are Jam.py's `__` params without the underscores; filter types are Jam.py's FILTER_* numbers (1–30) or names.",
        },
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}

fn schemas() -> Json {
    let value = json!({"description": "null, number, string (dates as YYYY-MM-DD, datetimes as YYYY-MM-DD HH:MM:SS) or boolean"});
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"enum": ["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "validation", "module_error", "too_many_requests", "internal"]},
                    "message": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
                        "field": {"type": "string", "description": "Path of the field at fault, e.g. changes[0].title or changes[0].lines[2].quantity"},
                        "message": {"type": "string"}}}}
                }
            }}
        },
        "Filter": {
            "description": "[field, type, value], type a Jam.py number 1–30 or a name (eq, ne, lt, le, gt, ge, in, not_in, range, isnull, exact, contains, startwith, endwith, contains_all; add _l for the lookup-text variant). An OR group is a list of lists of filters: [[f1, f2], [f3]] means (f1 AND f2) OR f3.",
            "type": "array",
        },
        "OpenParams": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "fields": {"type": "array", "items": {"type": "string"}, "description": "Field names; empty or absent: all"},
                "filters": {"type": "array", "items": {"$ref": "#/components/schemas/Filter"}},
                "order": {"type": "array", "description": "[[field, desc]] or \"field\" / \"-field\"; ordering by a lookup field with expanded sorts by its text"},
                "limit": {"type": "integer", "minimum": 0, "description": "At most the task's max_limit; 0 or absent means max_limit"},
                "offset": {"type": "integer", "minimum": 0},
                "expanded": {"type": "boolean", "description": "Add lookup texts (<field>.text) and calculated fields"},
                "funcs": {"type": "object", "additionalProperties": {"enum": ["count", "sum", "min", "max", "avg"]}},
                "summary": {"type": "boolean", "description": "The first column becomes COUNT(*)"},
                "group_by": {"type": "array", "items": {"type": "string"}},
                "master": {"description": "Required for details: {\"item\": master, \"id\": key} or the key alone"},
                "search": {"description": "{\"field\": name, \"text\": words}: every word must appear"},
                "params": {"type": "object", "description": "User params for server module handlers"}
            }
        },
        "OpenReply": {
            "type": "object",
            "required": ["fields", "rows"],
            "properties": {
                "fields": {"type": "array", "items": {"type": "string"}, "description": "Column names: fields, then calculated fields and <field>.text lookup texts when expanded"},
                "rows": {"type": "array", "items": {"type": "array", "items": value}}
            }
        },
        "Change": {
            "type": "object",
            "required": ["op"],
            "additionalProperties": false,
            "properties": {
                "op": {"enum": ["insert", "update", "delete"]},
                "id": {"type": "integer", "description": "Required for update and delete; ignored on insert"},
                "values": {"type": "object", "additionalProperties": value},
                "details": {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}}, "description": "Changes of detail rows under this record, by detail name; the link to the master is set by the server"}
            }
        },
        "ApplyParams": {
            "type": "object",
            "required": ["changes"],
            "additionalProperties": false,
            "properties": {
                "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
                "params": {"type": "object"},
                "expanded": {"type": "boolean", "description": "Return rows with lookup texts and calculated fields"}
            }
        },
        "ApplyReply": {
            "type": "object",
            "required": ["changes"],
            "properties": {"changes": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "op": {"enum": ["insert", "update", "delete"]},
                    "id": {"type": ["integer", "null"]},
                    "values": {"type": "object", "description": "The final row"},
                    "details": {"type": "object"}
                }
            }}}
        },
        "CallRequest": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"args": {"type": "array", "description": "Positional arguments after the item"}}
        },
        "CallReply": {"type": "object", "required": ["result"], "properties": {"result": {"description": "The function's return value as JSON"}}},
        "Task": {"type": "object", "required": ["task", "groups", "items", "lookup_lists", "privileges", "user"]},
        "LoginRequest": {
            "type": "object",
            "required": ["login", "password"],
            "additionalProperties": false,
            "properties": {"login": {"type": "string"}, "password": {"type": "string"}}
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
        "LoginReply": {"type": "object", "required": ["user"], "properties": {"user": {"$ref": "#/components/schemas/UserInfo"}}},
    })
}
