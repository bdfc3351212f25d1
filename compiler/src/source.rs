//! Source files and spans.
//!
//! Every value the compiler reads keeps a [`Span`]: which file, and which byte range in it.
//! Diagnostics turn spans into `file:line:col` (1-based line and column, column counted in
//! characters as editors do) and source snippets.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceDb`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// First byte (inclusive).
    pub start: u32,
    /// Last byte (exclusive).
    pub end: u32,
}

impl Span {
    /// A span covering `start..end` in `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user named it (relative paths stay relative, for readable messages).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// Byte offset of the start of every line.
    line_starts: Vec<u32>,
    /// For non-ASCII text: byte offset of every 64th character, so that character indices from
    /// the YAML scanner turn into byte offsets without a scan from the start.
    char_checkpoints: Option<Vec<u32>>,
}

const CHECKPOINT_EVERY: usize = 64;

impl SourceFile {
    fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| (i + 1) as u32),
        );
        let char_checkpoints = if text.is_ascii() {
            None
        } else {
            Some(
                text.char_indices()
                    .step_by(CHECKPOINT_EVERY)
                    .map(|(b, _)| b as u32)
                    .collect(),
            )
        };
        SourceFile {
            path,
            text,
            line_starts,
            char_checkpoints,
        }
    }

    /// Byte offset of the character with index `char_index` (clamped to the end of the text).
    pub fn byte_of_char(&self, char_index: usize) -> usize {
        match &self.char_checkpoints {
            None => char_index.min(self.text.len()),
            Some(cps) => {
                let cp = char_index / CHECKPOINT_EVERY;
                let Some(&base) = cps.get(cp) else {
                    return self.text.len();
                };
                let rest = char_index % CHECKPOINT_EVERY;
                let tail = &self.text[base as usize..];
                tail.char_indices()
                    .nth(rest)
                    .map(|(b, _)| base as usize + b)
                    .unwrap_or(self.text.len())
            }
        }
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line = match self.line_starts.binary_search(&(byte as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let col = self
            .text
            .get(start..byte)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }

    /// Byte range of the 1-based line `line`, without its line break.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let start = self.line_starts[line - 1] as usize;
        let end = self
            .line_starts
            .get(line)
            .map(|&e| e as usize)
            .unwrap_or(self.text.len());
        let mut end_trim = end;
        while end_trim > start && matches!(self.text.as_bytes()[end_trim - 1], b'\n' | b'\r') {
            end_trim -= 1;
        }
        start..end_trim
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// All files read during one compilation: the root document and every file it references.
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        self.files.push(SourceFile::new(path.into(), text));
        FileId((self.files.len() - 1) as u32)
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The id of an already loaded file, compared by path.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    /// `path:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let f = self.file(span.file);
        let (l, c) = f.line_col(span.start as usize);
        format!("{}:{}:{}", f.path.display(), l, c)
    }

    /// All files, in load order.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let mut db = SourceDb::new();
        let id = db.add("a.yaml", "ab\nçé: x\n".to_string());
        let f = db.file(id);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // "x" is after "çé: " = 4 chars, 6 bytes
        assert_eq!(f.line_col(3 + 6), (2, 5));
        assert_eq!(f.byte_of_char(7), 9);
        assert_eq!(f.line_range(2), 3..10);
    }
}
