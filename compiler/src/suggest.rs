//! "Did you mean": the candidate nearest to a misspelt name.

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a likely typo: one edit per three characters (so none for names shorter
/// than three, where every other short name is as close).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = word.chars().count() / 3;
    if limit == 0 {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// A help line: `did you mean `x`? Otherwise <hint>` when a candidate is close,
/// else just the hint.
pub fn or_hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    hint: &str,
) -> String {
    match nearest(word, candidates) {
        Some(c) => format!("did you mean `{c}`? Otherwise {hint}"),
        None => hint.to_string(),
    }
}

/// ` Did you mean `x`?` for the nearest candidate, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or(String::new(), |c| format!(" Did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(nearest("wieghts", ["weights", "bias"]), Some("weights"));
        assert_eq!(nearest("mdoel", ["model", "client"]), Some("model"));
        assert_eq!(nearest("conv", ["dense", "predict"]), None);
        assert_eq!(nearest("relu", ["relu"]), None);
    }
}
