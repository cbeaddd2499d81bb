//! Diagnostics: every error names file:line:col, shows the source line with the
//! span marked, and says what to do. Rendered with ariadne.

use crate::source::{SourceMap, Span};
use ariadne::{Config, Label, Report, ReportKind};
use std::fmt;

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub message: String,
    pub span: Span,
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Secondary locations, e.g. the call site that instantiated a generic function.
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        Diagnostic {
            label: message.clone(),
            message,
            span,
            help: None,
            notes: vec![],
        }
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    /// Renders as text without colors: `error: ...` then the annotated source.
    pub fn render(&self, sources: &SourceMap) -> String {
        let name = |s: Span| sources.name(s.file).to_string();
        let range = |s: Span| {
            let text = sources.text(s.file);
            // ariadne counts characters, not bytes.
            let start = text[..sources.char_boundary(s.file, s.start)]
                .chars()
                .count();
            let end = text[..sources.char_boundary(s.file, s.end)].chars().count();
            start..end.max(start)
        };
        let (line, col) = sources.line_col(self.span.file, self.span.start);
        let mut report = Report::build(ReportKind::Error, (name(self.span), range(self.span)))
            .with_config(Config::default().with_color(false))
            .with_message(format!(
                "{}:{line}:{col}: {}",
                name(self.span),
                self.message
            ))
            .with_label(Label::new((name(self.span), range(self.span))).with_message(&self.label));
        for (span, text) in &self.notes {
            report = report.with_label(Label::new((name(*span), range(*span))).with_message(text));
        }
        if let Some(h) = &self.help {
            report = report.with_help(h);
        }
        let mut out = Vec::new();
        let cache = ariadne::sources(
            sources
                .files
                .iter()
                .map(|f| (f.name.clone(), f.text.clone())),
        );
        report
            .finish()
            .write(cache, &mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

pub type Result<T> = std::result::Result<T, Diagnostic>;
