//! What every part of the HTML report shares: the report's options, HTML escaping, and
//! plots as captioned figures. The page of benchmark results and the sections of the
//! other files both build on it (and on nothing else of this crate but the plots).

use crate::plot::{self, Chart};
use xccl_schema::rules::BANDWIDTH_EFFICIENCY;
use xccl_schema::Finding;

#[derive(Clone, Debug)]
pub struct Options {
    pub title: String,
    /// The efficiency line drawn under the expected busbw (docs/SOURCES.md [ascend-tuning]).
    pub threshold: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            title: "xccl-bench report".into(),
            threshold: BANDWIDTH_EFFICIENCY,
        }
    }
}

/// HTML-escapes text from the files (host names, notes, arguments).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o += "&amp;",
            '<' => o += "&lt;",
            '>' => o += "&gt;",
            '"' => o += "&quot;",
            '\'' => o += "&#39;",
            c => o.push(c),
        }
    }
    o
}

/// A finding as an item of a findings list: kind, subject, the file it came from (`from`,
/// in italics) where the list mixes files, evidence, then `after` (HTML, as it is).
pub(crate) fn finding_item(f: &Finding, from: Option<&str>, after: &str) -> String {
    let from = from.map_or(String::new(), |name| format!(" <i>({})</i>", esc(name)));
    format!(
        "<li data-kind=\"{}\"><b>{}</b> — {}{from}: {}{after}</li>",
        f.kind,
        f.kind,
        esc(&f.subject.to_string()),
        esc(&f.evidence)
    )
}

pub(crate) fn figure(id: &str, caption: &str, chart: &Chart, size: (u32, u32)) -> String {
    figure_svg(id, caption, plot::render(chart, size))
}

/// A drawn SVG (or why it is not drawn) as a captioned figure.
pub(crate) fn figure_svg(id: &str, caption: &str, svg: Result<String, String>) -> String {
    match svg {
        Ok(svg) => format!(
            "<figure id=\"{id}\" class=\"plot\">{svg}<figcaption>{}</figcaption></figure>\n",
            esc(caption)
        ),
        Err(e) => format!(
            "<figure id=\"{id}\"><p>Not drawn: {}</p><figcaption>{}</figcaption></figure>\n",
            esc(&e),
            esc(caption)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
