//! What every list shares: the `{"items": […], "total": N}` shape and the one clamp of paging,
//! so no page number, however large, makes an offset overflow or a query scan without end.
use serde::{Deserialize, Serialize};

/// `{"items": […], "total": N, "total_capped": false}`, the shape of every collection.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many rows match; with `total_capped`, at least this many (counting stopped there).
    pub total: u64,
    /// True when more than `total` rows match: a list counts only up to the policy's
    /// `limits.list_count_cap` and says "10,000+" beyond it.
    pub total_capped: bool,
}

impl<T> Page<T> {
    pub fn all(items: Vec<T>) -> Self {
        let total = Total::exact(items.len() as u64);
        Page::counted(items, total)
    }

    pub fn counted(items: Vec<T>, total: Total) -> Self {
        Page {
            items,
            total: total.count,
            total_capped: total.capped,
        }
    }
}

/// How many rows a list has: exact up to a cap, beyond it the cap and "more".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: u64,
    /// More than `count` rows match.
    pub capped: bool,
}

impl Total {
    pub fn exact(count: u64) -> Total {
        Total {
            count,
            capped: false,
        }
    }

    /// `n` rows as a list shows them: at most `cap`, and "more" past it.
    pub fn up_to(n: u64, cap: u64) -> Total {
        if n > cap {
            Total {
                count: cap,
                capped: true,
            }
        } else {
            Total::exact(n)
        }
    }

    /// "1,234" or "10,000+".
    pub fn label(&self) -> String {
        let digits = self.count.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(d);
        }
        if self.capped {
            grouped.push('+');
        }
        grouped
    }
}

/// Counts the rows of `select`, reading at most `cap + 1` of them, so a common search term
/// never makes a person wait while every match is counted.
pub async fn count_up_to<E: sea_orm::EntityTrait>(
    reads: &super::reads::Reads,
    select: sea_orm::Select<E>,
    cap: u64,
) -> Result<Total, sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, SelectStatement};
    use sea_orm::{QuerySelect, QueryTrait};
    let inner = select
        .select_only()
        .expr(Expr::val(1))
        .limit(cap.saturating_add(1))
        .into_query();
    let stmt = SelectStatement::new()
        .expr(Expr::cust("COUNT(*) AS n"))
        .from_subquery(inner, "capped")
        .to_owned();
    let stmt = reads.backend().build(&stmt);
    let n: i64 = match reads.query_one(stmt, &[]).await? {
        Some(row) => row.get("n")?,
        None => 0,
    };
    Ok(Total::up_to(u64::try_from(n).unwrap_or(0), cap))
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
    fn totals_are_labelled_with_their_cap() {
        assert_eq!(Total::up_to(9_999, 10_000).label(), "9,999");
        assert_eq!(Total::up_to(10_000, 10_000).label(), "10,000");
        assert_eq!(Total::up_to(10_001, 10_000).label(), "10,000+");
        assert_eq!(Total::exact(0).label(), "0");
        assert_eq!(Total::exact(1_234_567).label(), "1,234,567");
    }

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
