//! The page at `/` until the web UI lands: what this server is and where its API is.

use axum::extract::State;
use axum::response::Html;

use crate::AppState;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub async fn index(State(state): State<AppState>) -> Html<String> {
    let task = &state.task;
    let mut items = String::new();
    // The page is served to anyone: with safe mode it names no item (what a user may see
    // depends on their role, known after login); without, only what anonymous requests may view.
    let anonymous = task.access(task.settings.anonymous_role);
    let shown =
        |id: &&jamrs_core::ItemId| !task.settings.safe_mode && anonymous.privileges(**id).view;
    for g in task.groups.iter().filter(|g| g.visible) {
        if !g.items.iter().any(|id| shown(&id)) {
            continue;
        }
        items.push_str(&format!("<li>{}<ul>", escape_html(&g.caption)));
        for id in g.items.iter().filter(shown) {
            let item = task.item(*id);
            items.push_str(&format!(
                "<li><code>{}</code> — {}</li>",
                escape_html(item.name.as_str()),
                escape_html(&item.caption)
            ));
        }
        items.push_str("</ul></li>");
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{caption}</title></head>\
         <body><h1>{caption}</h1><p>This jamrs server answers its JSON API under <code>/api</code>; \
         the contract is at <a href=\"/api/openapi.json\">/api/openapi.json</a>. \
         The web UI is not part of this build yet.</p><ul>{items}</ul></body></html>",
        caption = escape_html(&task.caption),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
