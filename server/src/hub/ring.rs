//! A fixed-capacity ring of serialized frames: the recent history a late joiner receives.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;

pub struct Ring {
    frames: VecDeque<Utf8Bytes>,
    capacity: usize,
}

impl Ring {
    pub fn new(capacity: usize) -> Self {
        Self {
            frames: VecDeque::with_capacity(capacity.min(64)),
            capacity,
        }
    }

    pub fn push(&mut self, frame: Utf8Bytes) {
        if self.capacity == 0 {
            return;
        }
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    /// The newest `n` frames, oldest first.
    pub fn last(&self, n: usize) -> Vec<Utf8Bytes> {
        let skip = self.frames.len().saturating_sub(n);
        self.frames.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i.to_string().into());
        }
        let last: Vec<String> = ring.last(10).iter().map(|f| f.to_string()).collect();
        assert_eq!(last, ["2", "3", "4"]);
        assert_eq!(ring.last(1).len(), 1);
        assert!(ring.last(0).is_empty());
    }
}
