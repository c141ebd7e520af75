//! Writing values into XML: the only way a value reaches a document's markup.

/// Characters XML 1.0 does not allow in a document at all (controls other than tab, line feed
/// and carriage return, and the two non-characters): a value's are dropped, since no escape
/// can write them.
fn allowed(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Appends `value` as the text of an ODF paragraph (`text:p` or `text:span` content): markup
/// characters escaped, line breaks as `text:line-break`, tabs as `text:tab`, and runs of
/// spaces as `text:s` (which a reader would otherwise collapse to one).
pub fn push_text(out: &mut String, value: &str) {
    let mut spaces = 0usize;
    // Whether the next space starts a run that a reader would drop or fold into the previous
    // white space (at the start of the value, after a break or a tab).
    let mut after_break = true;
    let flush = |out: &mut String, spaces: &mut usize, after_break: bool| {
        if *spaces == 0 {
            return;
        }
        let mut n = *spaces;
        if !after_break {
            out.push(' ');
            n -= 1;
        }
        match n {
            0 => {}
            1 => out.push_str("<text:s/>"),
            n => {
                out.push_str("<text:s text:c=\"");
                out.push_str(&n.to_string());
                out.push_str("\"/>");
            }
        }
        *spaces = 0;
    };
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        if !allowed(c) {
            continue;
        }
        flush(out, &mut spaces, after_break);
        after_break = false;
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<text:line-break/>");
                after_break = true;
            }
            '\n' => {
                out.push_str("<text:line-break/>");
                after_break = true;
            }
            '\t' => {
                out.push_str("<text:tab/>");
                after_break = true;
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    // Trailing spaces are dropped by readers unless written as `text:s`.
    match spaces {
        0 => {}
        1 => out.push_str("<text:s/>"),
        n => out.push_str(&format!("<text:s text:c=\"{n}\"/>")),
    }
}

/// Appends `value` escaped for a double-quoted attribute value.
pub fn push_attr(out: &mut String, value: &str) {
    for c in value.chars().filter(|c| allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &str) -> String {
        let mut s = String::new();
        push_text(&mut s, v);
        s
    }

    #[test]
    fn markup_is_escaped_and_controls_dropped() {
        assert_eq!(
            text("<b>&amp;</b>\u{0}\u{1b}"),
            "&lt;b&gt;&amp;amp;&lt;/b&gt;"
        );
        assert_eq!(text("</text:p><text:p>x"), "&lt;/text:p&gt;&lt;text:p&gt;x");
    }

    #[test]
    fn white_space_survives_as_odf_writes_it() {
        assert_eq!(text("a b"), "a b");
        assert_eq!(text("a  b"), "a <text:s/>b");
        assert_eq!(text("a    b"), "a <text:s text:c=\"3\"/>b");
        assert_eq!(text(" a"), "<text:s/>a");
        assert_eq!(text("a "), "a<text:s/>");
        assert_eq!(text("a  "), "a<text:s text:c=\"2\"/>");
        assert_eq!(
            text("a\nb\r\nc\rd"),
            "a<text:line-break/>b<text:line-break/>c<text:line-break/>d"
        );
        assert_eq!(text("a\tb"), "a<text:tab/>b");
    }

    #[test]
    fn attribute_values_are_escaped() {
        let mut s = String::new();
        push_attr(&mut s, "a\"<&>\n");
        assert_eq!(s, "a&quot;&lt;&amp;&gt;&#10;");
    }
}
