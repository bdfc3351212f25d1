//! Stage 1, **load**: read the root document and every file it references through `$ref`,
//! keep each as a spanned tree, and resolve references (local JSON pointers and relative
//! files) with cycle detection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::codes;
use crate::diag::Diagnostics;
use crate::placeholders::Vars;
use crate::source::{FileId, SourceDb, Span};
use crate::tree::{self, Node, NodeValue};

/// Where a node is: a file and a JSON pointer inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    /// The file.
    pub file: FileId,
    /// RFC 6901 pointer (`""` = the file's root).
    pub pointer: String,
}

impl Pointer {
    /// A pointer one level deeper.
    pub fn join(&self, token: &str) -> Pointer {
        let mut p = self.pointer.clone();
        p.push('/');
        p.push_str(&tree::escape_pointer_token(token));
        Pointer {
            file: self.file,
            pointer: p,
        }
    }
}

/// The loaded document set.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The text of every file.
    pub db: SourceDb,
    /// The parsed tree of every file that parsed.
    trees: HashMap<FileId, Node>,
    /// The root file (`None` when it could not be read at all).
    pub root: Option<FileId>,
    /// CloudFormation and Terraform placeholders left without a value (`placeholders.rs`).
    pub placeholders: Vec<crate::placeholders::Placeholder>,
}

/// The root file could not be read: `specgate check` exits with status 2.
#[derive(Debug)]
pub struct Fatal(pub String);

/// Most files one document may pull in through `$ref`.
const MAX_FILES: usize = 1000;
/// Longest chain of `$ref` → `$ref` → … that is followed.
const MAX_REF_CHAIN: usize = 64;

impl Loaded {
    /// Loads `path` and everything it references. An unreadable root is [`Fatal`]; everything
    /// else is a diagnostic.
    pub fn load(path: &Path, vars: &Vars, diags: &mut Diagnostics) -> Result<Loaded, Fatal> {
        let text = read_text(path).map_err(Fatal)?;
        Ok(Self::load_text(path, text, vars, diags))
    }

    /// Loads a root document from memory; relative `$ref`s resolve against `path`'s folder.
    /// Placeholders are rendered with `vars` as each file is read.
    pub fn load_text(path: &Path, text: String, vars: &Vars, diags: &mut Diagnostics) -> Loaded {
        let mut l = Loaded::default();
        let root = l.db.add(path, text);
        l.root = Some(root);
        let mut queue = vec![root];
        while let Some(id) = queue.pop() {
            let Some(mut node) = tree::parse(id, l.db.file(id), diags) else {
                continue;
            };
            if id == root && crate::swagger2::is_swagger2(&node) {
                crate::swagger2::upgrade(&mut node, diags);
            }
            crate::placeholders::render(&mut node, l.db.file(id), vars, &mut l.placeholders, diags);
            let mut refs = Vec::new();
            collect_file_refs(&node, &mut refs);
            l.trees.insert(id, node);
            let base = l.db.file(id).path.parent().map(Path::to_path_buf);
            for (target, span) in refs {
                let file_part = target.split('#').next().unwrap_or_default();
                let full = base.clone().unwrap_or_default().join(file_part);
                let full = normalize(&full);
                if l.db.find(&full).is_some() {
                    continue;
                }
                if l.db.files().count() >= MAX_FILES {
                    diags.error(
                        &codes::TOO_LARGE,
                        span,
                        format!("more than {MAX_FILES} files referenced"),
                    );
                    return l;
                }
                match read_text(&full) {
                    Ok(t) => queue.push(l.db.add(full, t)),
                    Err(e) => {
                        diags
                            .error(&codes::IO, span, format!("cannot read the file this `$ref` names: {e}"))
                            .label("referenced here")
                            .help("relative references resolve against the folder of the file that contains them");
                    }
                }
            }
        }
        l
    }

    /// The tree of a file.
    pub fn tree(&self, file: FileId) -> Option<&Node> {
        self.trees.get(&file)
    }

    /// The root tree.
    pub fn root_tree(&self) -> Option<&Node> {
        self.tree(self.root?)
    }

    /// The node at a pointer.
    pub fn at(&self, p: &Pointer) -> Option<&Node> {
        self.tree(p.file)?.pointer(&p.pointer)
    }

    /// Turns a `$ref` string written in `from` into a pointer (without following it).
    pub fn ref_target(&self, from: FileId, reference: &str) -> Result<Pointer, String> {
        if reference.contains("://") || reference.starts_with("//") {
            return Err(format!(
                "`{reference}` is a URL; only local (`#/…`) and relative-file references are read"
            ));
        }
        let (file_part, frag) = match reference.split_once('#') {
            Some((f, p)) => (f, p),
            None => (reference, ""),
        };
        let file = if file_part.is_empty() {
            from
        } else {
            let base = self.db.file(from).path.parent().map(Path::to_path_buf);
            let full = normalize(&base.unwrap_or_default().join(file_part));
            self.db
                .find(&full)
                .ok_or_else(|| format!("file `{file_part}` could not be read"))?
        };
        let pointer = percent_decode(frag);
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "`#{frag}` is not a JSON pointer (it must start with `#/`)"
            ));
        }
        Ok(Pointer { file, pointer })
    }

    /// A relative-file reference whose file is not loaded (reported while loading).
    fn is_unreadable_file_ref(&self, from: FileId, reference: &str) -> bool {
        let file_part = reference.split('#').next().unwrap_or_default();
        !file_part.is_empty()
            && !reference.contains("://")
            && self.ref_target(from, &format!("{file_part}#")).is_err()
    }

    /// Follows `node` if it is a `{$ref: …}` object — through chains of references — to the
    /// node it stands for. Returns the final node and its pointer. Unresolvable references and
    /// cycles are reported at `at`'s `$ref` and give `None`.
    pub fn deref<'a>(
        &'a self,
        node: &'a Node,
        at: &Pointer,
        diags: &mut Diagnostics,
    ) -> Option<(&'a Node, Pointer)> {
        let mut cur = node;
        let mut cur_ptr = at.clone();
        let mut seen: Vec<Pointer> = Vec::new();
        loop {
            let Some(r) = cur.get("$ref") else {
                return Some((cur, cur_ptr));
            };
            let span = r.span;
            let Some(reference) = r.as_str() else {
                diags.error(
                    &codes::STRUCTURE,
                    span,
                    format!("`$ref` must be a string, found {}", r.type_name()),
                );
                return None;
            };
            let target = match self.ref_target(cur_ptr.file, reference) {
                Ok(t) => t,
                // The file could not be read: loading already reported it at this `$ref`.
                Err(_) if self.is_unreadable_file_ref(cur_ptr.file, reference) => return None,
                Err(msg) => {
                    let code = if reference.contains("://") {
                        &codes::REF_REMOTE
                    } else {
                        &codes::REF_UNRESOLVED
                    };
                    diags.error(code, span, msg).label("this reference");
                    return None;
                }
            };
            if seen.contains(&target) || seen.len() >= MAX_REF_CHAIN {
                diags
                    .error(
                        &codes::REF_CYCLE,
                        span,
                        format!("`$ref: {reference}` leads back to itself"),
                    )
                    .label("this reference is part of a cycle")
                    .help("a reference chain must end at a value that is not a `$ref`");
                return None;
            }
            seen.push(target.clone());
            match self.at(&target) {
                Some(n) => {
                    cur = n;
                    cur_ptr = target;
                }
                None => {
                    let mut d = diags.error(
                        &codes::REF_UNRESOLVED,
                        span,
                        format!("`$ref: {reference}` points at nothing"),
                    );
                    d = d.label("no value at this pointer");
                    if let Some(hint) = self.closest_sibling(&target) {
                        d.help(format!("did you mean `{hint}`?"));
                    }
                    return None;
                }
            }
        }
    }

    /// For an unresolved pointer, the closest existing key at the last level.
    fn closest_sibling(&self, target: &Pointer) -> Option<String> {
        let (parent, last) = target.pointer.rsplit_once('/')?;
        let parent_node = self.tree(target.file)?.pointer(parent)?;
        let keys = parent_node.as_object()?.iter().map(|e| e.key.as_str());
        crate::suggest::closest(&tree::unescape_pointer_token(last), keys)
            .map(|k| format!("#{parent}/{}", tree::escape_pointer_token(k)))
    }

    /// Span of the node at a pointer, or of the closest existing ancestor.
    pub fn span_of(&self, p: &Pointer) -> Span {
        let Some(root) = self.tree(p.file) else {
            return Span::new(p.file, 0, 0);
        };
        let mut ptr = p.pointer.as_str();
        loop {
            if let Some(n) = root.pointer(ptr) {
                return n.span;
            }
            match ptr.rsplit_once('/') {
                Some((parent, _)) => ptr = parent,
                None => return root.span,
            }
        }
    }

    /// Span of the key of the entry at a pointer (falls back to the value's span).
    pub fn key_span_of(&self, p: &Pointer) -> Span {
        if let Some((parent, last)) = p.pointer.rsplit_once('/') {
            if let Some(e) = self
                .tree(p.file)
                .and_then(|t| t.pointer(parent))
                .and_then(|n| n.entry(&tree::unescape_pointer_token(last)))
            {
                return e.key_span;
            }
        }
        self.span_of(p)
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let bytes = bytes
        .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
        .unwrap_or(&bytes)
        .to_vec();
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "`{}`: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Removes `.` and resolvable `..` components without touching the file system, so that
/// `a/../b.yaml` and `b.yaml` are the same file.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

/// `$ref` values that name another file, with their spans.
fn collect_file_refs(node: &Node, out: &mut Vec<(String, Span)>) {
    match &node.value {
        NodeValue::Object(entries) => {
            for e in entries {
                if e.key == "$ref" {
                    if let Some(s) = e.value.as_str() {
                        let file_part = s.split('#').next().unwrap_or_default();
                        if !file_part.is_empty() && !s.contains("://") && !s.starts_with("//") {
                            out.push((s.to_string(), e.value.span));
                        }
                    }
                }
                collect_file_refs(&e.value, out);
            }
        }
        NodeValue::Array(items) => items.iter().for_each(|n| collect_file_refs(n, out)),
        _ => {}
    }
}

/// Decodes `%XX` escapes in a `$ref` fragment (invalid escapes stay as written).
pub(crate) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn relative_file_refs_and_cycles() {
        let dir = std::env::temp_dir().join(format!("sg-load-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        write(&dir, "root.yaml", "a: {$ref: 'sub/s.yaml#/Pet'}\nb: {$ref: '#/c'}\nc: {$ref: '#/b'}\nd: {$ref: 'missing.yaml'}\n");
        write(
            &dir.join("sub"),
            "s.yaml",
            "Pet: {$ref: '../root.yaml#/e'}\n",
        );
        std::fs::write(
            dir.join("root.yaml"),
            std::fs::read_to_string(dir.join("root.yaml")).unwrap() + "e: 5\n",
        )
        .unwrap();
        let mut d = Diagnostics::default();
        let l = Loaded::load(&dir.join("root.yaml"), &Default::default(), &mut d).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d.items()[0].code.id, codes::IO.id);
        let root = l.root.unwrap();
        let at = Pointer {
            file: root,
            pointer: "/a".into(),
        };
        let mut d = Diagnostics::default();
        let (n, p) = l.deref(l.at(&at).unwrap(), &at, &mut d).unwrap();
        assert_eq!(n.as_i64(), Some(5));
        assert_eq!(p.pointer, "/e");
        let at = Pointer {
            file: root,
            pointer: "/b".into(),
        };
        assert!(l.deref(l.at(&at).unwrap(), &at, &mut d).is_none());
        assert_eq!(d.items()[0].code.id, codes::REF_CYCLE.id);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn percent_decoding_in_fragments() {
        assert_eq!(percent_decode("/paths/~1a%7Bb%7D"), "/paths/~1a{b}");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
