//! What every list shares: the `{"items": […], "total": N}` shape and the one clamp of paging,
//! so no page number, however large, makes an offset overflow or a query scan without end.
use serde::{Deserialize, Serialize};

/// `{"items": […], "total": N}`, the shape of every collection.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn all(items: Vec<T>) -> Self {
        let total = items.len() as u64;
        Page { items, total }
    }
}

/// Rows per page when the caller does not say.
pub const DEFAULT_PER_PAGE: u64 = 50;
/// The most rows one page may have (a printed register asks for this many).
pub const MAX_PER_PAGE: u64 = 500;
/// The last page anyone may ask for; a larger number asks for this one.
pub const MAX_PAGE: u64 = 100_000;

/// The paging parameters of a list that has no filter struct of its own.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (a larger one than the last page gives an empty page).
    #[serde(default, deserialize_with = "super::http::extract::blank::opt")]
    pub page: Option<u64>,
    /// Items per page (at most 500).
    #[serde(default, deserialize_with = "super::http::extract::blank::opt")]
    pub per_page: Option<u64>,
}

impl PageParams {
    pub fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }
}

/// A page of a list, clamped: 1 ≤ page ≤ [`MAX_PAGE`], 1 ≤ per_page ≤ [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Paging {
    /// The page a caller asked for, as query parameters of any integer type give it.
    pub fn new(page: Option<impl TryInto<u64>>, per_page: Option<impl TryInto<u64>>) -> Paging {
        // A negative or zero number is the first page (or one row), as a typo usually means.
        let page = page.map_or(1, |p| p.try_into().unwrap_or(1));
        let per_page = per_page.map_or(DEFAULT_PER_PAGE, |p| p.try_into().unwrap_or(1));
        Paging {
            page: page.clamp(1, MAX_PAGE),
            per_page: per_page.clamp(1, MAX_PER_PAGE),
        }
    }

    /// Rows before this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.per_page
    }

    /// How many pages `total` rows make (at least one).
    pub fn pages(&self, total: u64) -> u64 {
        total.div_ceil(self.per_page).clamp(1, MAX_PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_clamped_so_offsets_never_overflow() {
        let p = Paging::new(Some(u64::MAX), Some(u64::MAX));
        assert_eq!((p.page, p.per_page), (MAX_PAGE, MAX_PER_PAGE));
        assert_eq!(p.offset(), (MAX_PAGE - 1) * MAX_PER_PAGE);
        let p = Paging::new(Some(i64::MIN), Some(-5i64));
        assert_eq!((p.page, p.per_page, p.offset()), (1, 1, 0));
        let p = Paging::new(None::<u64>, None::<u64>);
        assert_eq!((p.page, p.per_page), (1, DEFAULT_PER_PAGE));
        let p = Paging::new(Some(3u64), Some(20u64));
        assert_eq!((p.offset(), p.pages(41), p.pages(0)), (40, 3, 1));
    }
}
