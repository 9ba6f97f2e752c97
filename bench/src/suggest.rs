//! "did you mean ...?" for mistyped names (engines, programs, modes): the
//! known name nearest by edit distance, when it is near enough to be what
//! was meant.

/// The edit distance between `a` and `b` in characters: how many
/// insertions, deletions, substitutions and swaps of two neighbours turn
/// one into the other (optimal string alignment: swaps are the commonest
/// typo, `odl` for `old`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: `row[j]` is the distance between the
    // first `i` characters of `a` and the first `j` of `b`.
    let mut before: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j - 1] + cost).min(last[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

/// The name of `known` nearest to `given` (ignoring case), if it is
/// within a third of its length (at least 1, at most 3 edits) and no
/// other name is as near: a tie (`fprog3` between `fprog1` and `fprog2`)
/// is no guess worth offering, nor is a name that shares nothing.
pub fn closest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.trim().to_lowercase();
    if given.is_empty() {
        return None;
    }
    // The nearest distance, and the name at it if it is the only one.
    let mut best: Option<(usize, Option<&str>)> = None;
    for name in known {
        let distance = edit_distance(&given, &name.to_lowercase());
        let allowed = (name.chars().count() / 3).clamp(1, 3);
        if distance > allowed {
            continue;
        }
        best = match best {
            Some((d, _)) if distance == d => Some((d, None)),
            Some((d, only)) if distance > d => Some((d, only)),
            _ => Some((distance, Some(name))),
        };
    }
    best.and_then(|(_, name)| name)
}

/// `: did you mean `name`?` for the nearest of `known` to `given`, or
/// nothing: the tail of an "unknown ..." message.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(given, known).map_or(String::new(), |name| format!(": did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ext-jt", "ext-jit"), 1);
        assert_eq!(edit_distance("odl", "old"), 1);
        assert_eq!(edit_distance("ca", "abc"), 3, "no edit of a swapped pair");
        assert_eq!(edit_distance("héllo", "hello"), 1, "characters, not bytes");
    }

    #[test]
    fn near_names_are_suggested_and_far_ones_not() {
        let engines = ["old", "old-jit", "ext", "ext-jit", "rbpf"];
        assert_eq!(closest("ext-jt", engines), Some("ext-jit"));
        assert_eq!(closest("EXT_JIT", engines), Some("ext-jit"));
        assert_eq!(closest("odl", engines), Some("old"), "a swap is one edit");
        assert_eq!(closest("olt", engines), Some("old"));
        assert_eq!(closest("ext", engines), Some("ext"));
        assert_eq!(closest("banana", engines), None);
        assert_eq!(closest("", engines), None);
        assert_eq!(
            closest("fprog3", ["fprog1", "fprog2"]),
            None,
            "a tie: no guess"
        );
        assert_eq!(closest("fprg2", ["fprog1", "fprog2"]), Some("fprog2"));
        assert_eq!(closest("mis", ["hit", "miss"]), Some("miss"));
        assert_eq!(
            did_you_mean("hot", ["hit", "miss"]),
            ": did you mean `hit`?"
        );
        assert_eq!(did_you_mean("cold", ["hit", "miss"]), "");
        assert_eq!(
            did_you_mean("hitt", ["hit", "miss"]),
            ": did you mean `hit`?"
        );
    }
}
