//! Line diffs between two versions of a file (a stack's version against its current files):
//! the longest common subsequence of lines, after the common start and end are set aside.

/// One line of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// The most table cells the middle of a diff may take (4 bytes each); a larger middle is
/// shown as all removed, then all added, which is still true, only less precise.
const MAX_CELLS: usize = 1 << 20;

/// How `old` becomes `new`, line by line.
pub fn lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let start = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (middle_a, middle_b) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    let mut out: Vec<Line> = a[..start].iter().map(|l| Line::Same(l)).collect();
    if middle_a.len().saturating_mul(middle_b.len()) <= MAX_CELLS {
        common(middle_a, middle_b, &mut out);
    } else {
        out.extend(middle_a.iter().map(|l| Line::Removed(l)));
        out.extend(middle_b.iter().map(|l| Line::Added(l)));
    }
    out.extend(a[a.len() - end..].iter().map(|l| Line::Same(l)));
    out
}

/// The classic table: `table[i][j]` is the longest common run of `a[i..]` and `b[j..]`.
fn common<'a>(a: &[&'a str], b: &[&'a str], out: &mut Vec<Line<'a>>) {
    let width = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            table[i * width + j] = match a[i] == b[j] {
                true => table[(i + 1) * width + j + 1] + 1,
                false => table[(i + 1) * width + j].max(table[i * width + j + 1]),
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(Line::Same(a[i]));
            (i, j) = (i + 1, j + 1);
        } else if table[(i + 1) * width + j] >= table[i * width + j + 1] {
            out.push(Line::Removed(a[i]));
            i += 1;
        } else {
            out.push(Line::Added(b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed(l)));
    out.extend(b[j..].iter().map(|l| Line::Added(l)));
}

/// Lines changed: how many removed and added.
pub fn counts(diff: &[Line]) -> (usize, usize) {
    diff.iter().fold((0, 0), |(r, a), line| match line {
        Line::Removed(_) => (r + 1, a),
        Line::Added(_) => (r, a + 1),
        Line::Same(_) => (r, a),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Line::*;

    #[test]
    fn one_changed_line_among_same_ones() {
        let diff = lines("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(diff, vec![Same("a"), Removed("b"), Added("B"), Same("c")]);
        assert_eq!(counts(&diff), (1, 1));
    }

    #[test]
    fn insertions_and_removals_keep_what_is_common() {
        let diff = lines("x\na\nb\nc\ny", "x\nb\nq\nc\nd\ny");
        assert_eq!(
            diff,
            vec![
                Same("x"),
                Removed("a"),
                Same("b"),
                Added("q"),
                Same("c"),
                Added("d"),
                Same("y")
            ]
        );
    }

    #[test]
    fn empty_sides_and_equal_files() {
        assert_eq!(lines("", "a\nb"), vec![Added("a"), Added("b")]);
        assert_eq!(lines("a", ""), vec![Removed("a")]);
        assert_eq!(counts(&lines("a\nb", "a\nb")), (0, 0));
    }

    #[test]
    fn a_middle_too_large_for_the_table_is_removed_then_added() {
        let old: String = (0..1100).map(|i| format!("o{i}\n")).collect();
        let new: String = (0..1100).map(|i| format!("n{i}\n")).collect();
        let diff = lines(&old, &new);
        assert_eq!(counts(&diff), (1100, 1100));
        assert_eq!(diff[0], Removed("o0"));
        assert_eq!(diff[1100], Added("n0"));
    }
}
