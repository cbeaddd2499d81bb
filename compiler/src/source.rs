//! Source files and spans. Every AST node and every diagnostic carries a span.

/// A file's index in the [`SourceMap`].
pub type FileId = u32;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

pub struct SourceFile {
    pub name: String,
    pub text: String,
}

#[derive(Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        (self.files.len() - 1) as FileId
    }
    pub fn name(&self, f: FileId) -> &str {
        &self.files[f as usize].name
    }
    pub fn text(&self, f: FileId) -> &str {
        &self.files[f as usize].text
    }
    /// `offset` moved back to the start of the character it falls in (spans
    /// from byte-level errors may point inside a multi-byte character).
    pub fn char_boundary(&self, f: FileId, offset: u32) -> usize {
        let text = self.text(f);
        let mut at = (offset as usize).min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, f: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(f);
        let before = &text[..self.char_boundary(f, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}
