//! The log hubs one engine's watcher follows: an internal subscription to the log hub of
//! each running container a log rule selects (the hub a viewer of that container shares:
//! one Docker stream however many read), merged into one stream of frames. Unfollowing (the
//! container stopped or went, no log rule selects it any more) drops its subscription, and
//! the hub goes with its last reader. Frames are read, never kept.

use super::{judge::Armed, select::Subject};
use crate::live::hub::{Subscription, published::Published, queue::RecvError};
use futures::{
    StreamExt,
    stream::{AbortHandle, Abortable, BoxStream, SelectAll},
};
use std::{collections::HashMap, sync::Arc};

/// What a followed container's hub said.
pub enum Read {
    /// A frame: its lines are read by [`Published::read_lines`].
    Frame(Published),
    /// Lines were dropped for this reader (it fell behind).
    Lagged(u64),
    /// The stream ended (the container stopped, or the engine went away).
    Ended,
}

/// One followed container: whom its lines are about, and the log rules that select it.
pub struct Followed {
    pub subject: Subject,
    pub rules: Vec<Arc<Armed>>,
    generation: u64,
    abort: AbortHandle,
}

type Tagged = (String, u64, Read);

#[derive(Default)]
pub struct Followers {
    streams: SelectAll<Abortable<BoxStream<'static, Tagged>>>,
    followed: HashMap<String, Followed>,
    generation: u64,
}

impl Followers {
    pub fn is_followed(&self, id: &str) -> bool {
        self.followed.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&Followed> {
        self.followed.get(id)
    }

    /// The ids followed now.
    pub fn ids(&self) -> Vec<String> {
        self.followed.keys().cloned().collect()
    }

    /// Follows `subject`'s container through `subscription` for `rules`, replacing what
    /// followed it before.
    pub fn follow(&mut self, subject: Subject, rules: Vec<Arc<Armed>>, subscription: Subscription) {
        self.unfollow(&subject.id);
        self.generation += 1;
        let generation = self.generation;
        let id = subject.id.clone();
        let reads = futures::stream::unfold(Some(subscription), read)
            .map(move |read| (id.clone(), generation, read))
            .boxed();
        let (abort, registration) = AbortHandle::new_pair();
        self.streams.push(Abortable::new(reads, registration));
        self.followed.insert(
            subject.id.clone(),
            Followed {
                subject,
                rules,
                generation,
                abort,
            },
        );
    }

    /// A followed container as it is now, and the rules that select it (its subscription
    /// stays).
    pub fn set_rules(&mut self, subject: Subject, rules: Vec<Arc<Armed>>) {
        if let Some(followed) = self.followed.get_mut(&subject.id) {
            followed.subject = subject;
            followed.rules = rules;
        }
    }

    /// Chooses each followed container's rules again (`choose`), letting go of those no
    /// rule selects any more.
    pub fn rechoose(&mut self, choose: impl Fn(&Subject) -> Vec<Arc<Armed>>) {
        let mut gone = Vec::new();
        for (id, followed) in &mut self.followed {
            followed.rules = choose(&followed.subject);
            if followed.rules.is_empty() {
                gone.push(id.clone());
            }
        }
        for id in gone {
            self.unfollow(&id);
        }
    }

    /// Stops following `id`: its subscription is dropped as its stream is next polled.
    pub fn unfollow(&mut self, id: &str) {
        if let Some(followed) = self.followed.remove(id) {
            followed.abort.abort();
        }
    }

    pub fn clear(&mut self) {
        if self.followed.is_empty() && self.streams.is_empty() {
            return;
        }
        for (_, followed) in self.followed.drain() {
            followed.abort.abort();
        }
        // Dropped now, not when next polled: with no log rule the set is not polled.
        self.streams = SelectAll::new();
    }

    /// The next thing a followed container's hub said, with its id; never with nothing
    /// followed. What an unfollowed container's stream still said is skipped, and an
    /// ended one is no longer followed.
    pub async fn next(&mut self) -> (String, Read) {
        loop {
            if self.streams.is_empty() {
                std::future::pending::<()>().await;
            }
            let Some((id, generation, read)) = self.streams.next().await else {
                continue;
            };
            if self
                .followed
                .get(&id)
                .is_none_or(|f| f.generation != generation)
            {
                continue;
            }
            if matches!(read, Read::Ended) {
                self.followed.remove(&id);
            }
            return (id, read);
        }
    }
}

/// One step of a followed hub: its next frame; the stream ends after its end.
async fn read(subscription: Option<Subscription>) -> Option<(Read, Option<Subscription>)> {
    let mut subscription = subscription?;
    match subscription.cursor.recv().await {
        Ok(frame) if frame.ending().is_some() => Some((Read::Ended, None)),
        Ok(frame) => Some((Read::Frame(frame), Some(subscription))),
        Err(RecvError::Lagged { missed, .. }) => {
            subscription.count_lagged(missed);
            Some((Read::Lagged(missed), Some(subscription)))
        }
        Err(RecvError::Closed) => Some((Read::Ended, None)),
    }
}
