//! Lists sorted by a column chosen in the URL (`?sort=KEY&order=asc|desc`), so a sorted
//! list can be shared and survives a reload. Each list names its columns ([`Column`]); the
//! headers are links, and the server renders the list already sorted.

use leptos::prelude::*;
use std::cmp::Ordering;

/// The columns a list sorts by.
pub trait Column: Copy + PartialEq + Send + Sync + 'static {
    type Row;
    const ALL: &'static [Self];
    /// The column's name in the URL.
    fn key(self) -> &'static str;
    /// Ascending order; ties are broken by the caller's [`Column::tie`].
    fn compare(self, a: &Self::Row, b: &Self::Row) -> Ordering;
    /// The order of rows the column finds equal: by name, so it is stable and visible.
    fn tie(a: &Self::Row, b: &Self::Row) -> Ordering;
}

/// A list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort<C> {
    pub column: C,
    pub descending: bool,
}

impl<C: Column> Sort<C> {
    pub fn of_query(sort: Option<&str>, order: Option<&str>) -> Option<Self> {
        let key = sort?;
        Some(Self {
            column: *C::ALL.iter().find(|c| c.key() == key)?,
            descending: order == Some("desc"),
        })
    }

    /// Sorts `list` by `sort`, or leaves it in its own order without one.
    pub fn apply(sort: Option<Self>, list: &mut [C::Row]) {
        if let Some(Sort { column, descending }) = sort {
            list.sort_by(|a, b| {
                let by = column.compare(a, b).then_with(|| C::tie(a, b));
                match descending {
                    false => by,
                    true => by.reverse(),
                }
            });
        }
    }
}

/// The page's order from its URL, and its path (for the headers' links).
pub fn use_sort<C: Column>() -> (Memo<Option<Sort<C>>>, Memo<String>) {
    let query = leptos_router::hooks::use_query_map();
    let sort =
        Memo::new(move |_| query.with(|q| Sort::of_query(q.get_str("sort"), q.get_str("order"))));
    let location = leptos_router::hooks::use_location();
    (sort, Memo::new(move |_| location.pathname.get()))
}

/// A sortable column's header: a link to the list sorted by it (the other way round when it
/// already is), marked for assistive technology.
pub fn header<C: Column>(
    label: &'static str,
    column: C,
    sort: Memo<Option<Sort<C>>>,
    path: Memo<String>,
) -> impl IntoView {
    let current = move || sort.get().filter(|s| s.column == column);
    let href = move || {
        let descending = current().is_some_and(|s| !s.descending);
        crate::urls::sorted(&path.get(), column.key(), descending)
    };
    let aria = move || {
        current().map(|s| match s.descending {
            true => "descending",
            false => "ascending",
        })
    };
    let arrow = move || match current() {
        Some(s) if s.descending => " ↓",
        Some(_) => " ↑",
        None => "",
    };
    view! {
        <th aria-sort=aria>
            <a href=href class="sort" data-testid=format!("sort-{}", column.key())>
                {label}
                {arrow}
            </a>
        </th>
    }
}
