//! "Did you mean …" suggestions.

/// The candidate closest to `name`, when it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let score = if c.to_ascii_lowercase() == lower {
            1.0
        } else {
            strsim::jaro_winkler(&lower, &c.to_ascii_lowercase())
        };
        if score >= 0.85 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_typos_only() {
        let c = ["httpMethod", "uri", "type", "requestTemplates"];
        assert_eq!(super::closest("httpMetod", c), Some("httpMethod"));
        assert_eq!(
            super::closest("requesttemplates", c),
            Some("requestTemplates")
        );
        assert_eq!(super::closest("banana", c), None);
    }
}
