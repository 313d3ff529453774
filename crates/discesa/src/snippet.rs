//! Pieces of user input short enough to quote in an error message: a formula of 10,000
//! characters or a huge CSV cell is cut to about [`MAX_SHOWN`] characters, around the place the
//! message names.

/// Most characters of user input an error message quotes.
pub const MAX_SHOWN: usize = 120;

/// `text` whole when short, else its first characters and how many were left out.
pub fn short(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_SHOWN {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_SHOWN - 20).collect();
    format!("{head}… ({n} characters)")
}

/// The characters of `text` around `start..end` (character positions, 0-based), at most about
/// [`MAX_SHOWN`] of them, with `…` where it was cut; returns (before, part, after).
pub fn around(text: &str, start: usize, end: usize) -> (String, String, String) {
    let chars: Vec<char> = text.chars().collect();
    let start = start.min(chars.len());
    let end = end.clamp(start, chars.len());
    let part_end = end.min(start + MAX_SHOWN / 2);
    let room = MAX_SHOWN.saturating_sub(part_end - start) / 2;
    let from = start.saturating_sub(room);
    let to = (part_end + room).min(chars.len());
    let mut before: String = chars[from..start].iter().collect();
    if from > 0 {
        before.insert(0, '…');
    }
    let mut part: String = chars[start..part_end].iter().collect();
    if part_end < end {
        part.push('…');
    }
    let mut after: String = chars[part_end.max(end.min(to))..to].iter().collect();
    if to < chars.len() {
        after.push('…');
    }
    (before, part, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut() {
        assert_eq!(short("x + 1"), "x + 1");
        let long = "x+".repeat(5000);
        let s = short(&long);
        assert!(s.chars().count() < MAX_SHOWN + 10, "{s}");
        assert!(s.ends_with("(10000 characters)"), "{s}");
    }

    #[test]
    fn around_keeps_the_named_place_and_cuts_both_sides() {
        let text = format!("{}$${}", "a".repeat(5000), "b".repeat(5000));
        let (before, part, after) = around(&text, 5000, 5002);
        assert_eq!(part, "$$");
        assert!(before.starts_with('…') && before.ends_with('a'));
        assert!(after.starts_with('b') && after.ends_with('…'));
        let shown = before.chars().count() + part.chars().count() + after.chars().count();
        assert!(shown <= MAX_SHOWN + 2, "{shown}");
        // Short text is whole.
        assert_eq!(
            around("x+1)", 3, 4),
            ("x+1".to_string(), ")".to_string(), String::new())
        );
        // A huge marked part is cut too.
        let (_, part, after) = around(&text, 0, 10002);
        assert!(part.chars().count() <= MAX_SHOWN / 2 + 1 && part.ends_with('…'));
        assert!(after.chars().count() <= MAX_SHOWN);
    }
}
