//! Where a container's lines divide into those one reader gets and those another does:
//! a hub's history and its followed lines, a viewer's fetched history and the hub's lines.

/// Where a container's lines divide into older and newer: every line sorting before `key`,
/// and the first `at_key` lines sorting equal to it (timestamps repeat), are on the older
/// side. Lines come in order, so once one is past, all that follow are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boundary {
    pub key: String,
    pub at_key: usize,
}

impl Boundary {
    /// Strictly before `key`.
    pub fn before(key: String) -> Self {
        Self { key, at_key: 0 }
    }

    /// A reader of lines in order against this boundary.
    pub fn reader(&self) -> BoundaryReader {
        BoundaryReader {
            boundary: self.clone(),
            seen_at_key: 0,
        }
    }
}

/// Tells, line by line, whether a line is on the older side of a [`Boundary`].
pub struct BoundaryReader {
    boundary: Boundary,
    seen_at_key: usize,
}

impl BoundaryReader {
    pub fn older(&mut self, key: &str) -> bool {
        match key.cmp(self.boundary.key.as_str()) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal if self.seen_at_key < self.boundary.at_key => {
                self.seen_at_key += 1;
                true
            }
            _ => false,
        }
    }
}
