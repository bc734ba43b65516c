//! Fuzzy matching for the search box: every word of the query must appear in a name, as a
//! piece of it or at least as its letters in order, and names rank by how well they match.

/// Where a match starts counts: at the start of the name or of one of its parts.
fn boundary(text: &[char], i: usize) -> bool {
    i == 0 || matches!(text[i - 1], '-' | '_' | '.' | '/' | ':' | ' ' | '@')
}

/// How well one lowercase `word` matches the lowercase `text`, if at all. A piece of the
/// name always beats letters in order; within each, earlier and at a boundary is better.
fn word_score(word: &[char], text: &[char]) -> Option<i64> {
    if word.is_empty() {
        return Some(0);
    }
    if word.len() > text.len() {
        return None;
    }
    let pieces = (0..=text.len() - word.len()).filter(|&i| text[i..i + word.len()] == *word);
    let piece = pieces
        .map(|i| {
            let whole = (i == 0 && word.len() == text.len()) as i64;
            10_000 + 2_000 * whole + 500 * boundary(text, i) as i64 - i.min(100) as i64
        })
        .max();
    if piece.is_some() {
        return piece;
    }
    // Letters in order: each found as early as possible, scored for runs and boundaries.
    let mut score = 0;
    let mut from = 0;
    let mut previous = None;
    for c in word {
        let at = (from..text.len()).find(|&i| text[i] == *c)?;
        score += 10;
        if previous.is_some_and(|p| p + 1 == at) {
            score += 15;
        }
        if boundary(text, at) {
            score += 20;
        }
        score -= (at - from).min(10) as i64;
        previous = Some(at);
        from = at + 1;
    }
    Some(score)
}

/// The score of `text` for `query` (case-insensitive), `None` when a word does not match.
/// A blank query matches nothing: there is nothing to rank by.
pub fn score(query: &str, text: &str) -> Option<i64> {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let mut words = query.split_whitespace().peekable();
    words.peek()?;
    let mut total = 0;
    for word in words {
        let word: Vec<char> = word.to_lowercase().chars().collect();
        total += word_score(&word, &text)?;
    }
    // Between equal matches, the shorter name is the nearer one.
    Some(total * 100 - text.len().min(99) as i64)
}

/// The indexes of `names` that match `query`, best first (ties in the order given).
pub fn rank<'a>(query: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let mut found: Vec<(i64, usize)> = names
        .into_iter()
        .enumerate()
        .filter_map(|(i, name)| score(query, name).map(|s| (s, i)))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_in_order_match_and_others_do_not() {
        assert!(score("bticker", "berth-e2e-ticker").is_some());
        assert!(score("BE2T", "berth-e2e-ticker").is_some());
        assert!(score("tickerb", "berth-e2e-ticker").is_none());
        assert!(score("web db", "shop-web-1").is_none());
        assert!(score("web 1", "shop-web-1").is_some());
        assert!(score("", "anything").is_none());
        assert!(score("   ", "anything").is_none());
    }

    #[test]
    fn the_nearest_names_rank_first() {
        let names = [
            "berth-e2e-solo",
            "web-old",
            "shop-web-1",
            "web",
            "wide-eyed-bird",
        ];
        let order: Vec<&str> = rank("web", names).into_iter().map(|i| names[i]).collect();
        // The whole name, then a piece at the start, then a piece at a boundary, then
        // letters in order.
        assert_eq!(order, ["web", "web-old", "shop-web-1", "wide-eyed-bird"]);
        let order: Vec<&str> = rank("e2so", names).into_iter().map(|i| names[i]).collect();
        assert_eq!(order, ["berth-e2e-solo"]);
    }
}
