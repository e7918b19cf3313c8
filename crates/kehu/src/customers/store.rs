//! Queries of the customer archive. Every query that returns customer data
//! takes the caller's `Scope`, so what a user may not see never leaves the
//! database.
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

use super::entity::{
    attachments, contacts, customer_owner_history, customer_shares, customer_terms, customers,
    interactions, visit_plans,
};
use super::model;
use crate::platform::error::{Error, Result};
use crate::platform::reads::{Reads, column_type};

/// Which customers a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every customer (admin, executive and the roles the policy lists).
    All,
    /// Own and shared customers, plus those owned by members of the teams
    /// the user manages (empty for a sales rep).
    Own {
        user_id: i64,
        managed_teams: Vec<i64>,
    },
}

/// The condition that keeps a query inside `scope`.
pub fn visible(scope: &Scope) -> Condition {
    match scope {
        Scope::All => Condition::all(),
        Scope::Own {
            user_id,
            managed_teams,
        } => {
            let shared = Query::select()
                .column(customer_shares::Column::CustomerId)
                .from(customer_shares::Entity)
                .and_where(Expr::col(customer_shares::Column::UserId).eq(*user_id))
                .to_owned();
            let mut any = Condition::any()
                .add(customers::Column::OwnerId.eq(*user_id))
                .add(customers::Column::Id.in_subquery(shared));
            if !managed_teams.is_empty() {
                let members = Query::select()
                    .column("id")
                    .from("users")
                    .and_where(Expr::col("team_id").is_in(managed_teams.iter().copied()))
                    .to_owned();
                any = any.add(customers::Column::OwnerId.in_subquery(members));
            }
            any
        }
    }
}

/// The owners whose customers `scope` holds: the user and the members of
/// the teams it manages, sorted; `None` for [`Scope::All`].
async fn scope_owners(db: &impl ConnectionTrait, scope: &Scope) -> Result<Option<Vec<i64>>> {
    let Scope::Own {
        user_id,
        managed_teams,
    } = scope
    else {
        return Ok(None);
    };
    use crate::platform::schema::users;
    let mut owners = vec![*user_id];
    if !managed_teams.is_empty() {
        owners.extend(
            users::Entity::find()
                .select_only()
                .column(users::Column::Id)
                .filter(users::Column::TeamId.is_in(managed_teams.iter().copied()))
                .into_tuple::<i64>()
                .all(db)
                .await?,
        );
    }
    owners.sort_unstable();
    owners.dedup();
    Ok(Some(owners))
}

/// `scope` as disjoint conditions whose union is [`visible`]: one per owner
/// (the user and the members of the teams it manages), and one for the
/// customers shared with it that none of them owns (when any are shared
/// with it); none for [`Scope::All`].
/// Each owner's part is a range of the owner's index, which a page sorted
/// by time or name reads in order; the one condition with its `OR`s is not.
pub async fn scope_parts(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Option<Vec<Condition>>> {
    let (Some(owners), Scope::Own { user_id, .. }) = (scope_owners(db, scope).await?, scope) else {
        return Ok(None);
    };
    // The shared customers as a list: few, looked up by id. Given as a
    // subquery, PostgreSQL walked a name range of every owner's customers
    // for them (80 ms for a manager's stretch of 泉州 names).
    let shared: Vec<i64> = customer_shares::Entity::find()
        .select_only()
        .column(customer_shares::Column::CustomerId)
        .filter(customer_shares::Column::UserId.eq(*user_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut parts: Vec<Condition> = owners
        .iter()
        .map(|o| Condition::all().add(customers::Column::OwnerId.eq(*o)))
        .collect();
    if !shared.is_empty() {
        parts.push(
            Condition::all()
                .add(id_among(db.get_database_backend(), &shared))
                .add(customers::Column::OwnerId.is_not_in(owners)),
        );
    }
    Ok(Some(parts))
}

/// The most rows a page merged from scope parts may need from each part.
pub const MAX_MERGED_ROWS: u64 = 2_000;

/// Whether a page in `sort` order may be merged from scope parts: each
/// owner's part is read along an index of the owner in that order (by
/// time, `ix_customers_owner_search`; by name, `ix_customers_owner_name_search`).
pub fn merges_parts(sort: &str) -> bool {
    matches!(
        sort_key(sort).0,
        customers::Column::UpdatedAt | customers::Column::Pinyin
    )
}

/// Whether matches of a text may gather in one stretch of the `sort`
/// order: by name they do (names start with the city, which a text often
/// is), by time they are spread.
pub fn gathers_text(sort: &str) -> bool {
    matches!(sort_key(sort).0, customers::Column::Pinyin)
}

/// Rows from parts each sorted in `sort` order (see [`merges_parts`], and
/// stretches of the name order), merged in that order: `take` of them
/// after `skip`.
pub fn merge_sorted(
    parts: Vec<Vec<customers::Model>>,
    sort: &str,
    skip: u64,
    take: u64,
) -> Vec<customers::Model> {
    let (column, descending, _) = sort_key(sort);
    let mut all: Vec<customers::Model> = parts.into_iter().flatten().collect();
    all.sort_by(|a, b| {
        let ord = if matches!(column, customers::Column::Pinyin) {
            (&a.pinyin, a.id).cmp(&(&b.pinyin, b.id))
        } else {
            (a.updated_at, a.id).cmp(&(b.updated_at, b.id))
        };
        if descending { ord.reverse() } else { ord }
    });
    // Parts are disjoint; a row in two lists would be shown twice.
    all.dedup_by_key(|c| c.id);
    all.into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .collect()
}

pub fn scoped(scope: &Scope) -> Select<customers::Entity> {
    customers::Entity::find().filter(visible(scope))
}

pub async fn get(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: i64,
) -> Result<Option<customers::Model>> {
    Ok(scoped(scope)
        .filter(customers::Column::Id.eq(id))
        .one(db)
        .await?)
}

/// A customer in scope with what its page and API view need besides its
/// row (contacts, business licence, owner's names), in one query: the
/// busiest read of the system.
#[derive(Debug, PartialEq)]
pub struct CustomerWithExtras {
    pub customer: customers::Model,
    pub contacts: usize,
    pub licence: bool,
    pub owner_username: String,
    pub owner_name: String,
}

pub async fn get_with_extras(
    reads: &Reads,
    scope: &Scope,
    id: i64,
) -> Result<Option<CustomerWithExtras>> {
    use sea_orm::QueryTrait;
    let stmt = scoped(scope)
        .filter(customers::Column::Id.eq(id))
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM contacts k WHERE k.customer_id = customers.id)"),
            "x_contacts",
        )
        .expr_as(
            Expr::cust(
                "CAST(CASE WHEN EXISTS (SELECT 1 FROM attachments a WHERE a.customer_id = customers.id \
                 AND a.kind = 'business_licence') THEN 1 ELSE 0 END AS BIGINT)",
            ),
            "x_licence",
        )
        .expr_as(
            Expr::cust("(SELECT u.username FROM users u WHERE u.id = customers.owner_id)"),
            "x_owner_username",
        )
        .expr_as(
            Expr::cust("(SELECT u.display_name FROM users u WHERE u.id = customers.owner_id)"),
            "x_owner_name",
        )
        .build(reads.backend());
    let Some(row) = reads
        .query_one(stmt, &[("", column_type::<customers::Entity>)])
        .await?
    else {
        return Ok(None);
    };
    let contacts: i64 = row.get("x_contacts")?;
    let licence: i64 = row.get("x_licence")?;
    Ok(Some(CustomerWithExtras {
        customer: row.model::<customers::ActiveModel>("")?,
        contacts: usize::try_from(contacts).unwrap_or(0),
        licence: licence != 0,
        owner_username: row
            .get::<Option<String>>("x_owner_username")?
            .unwrap_or_default(),
        owner_name: row
            .get::<Option<String>>("x_owner_name")?
            .unwrap_or_default(),
    }))
}

/// Re-reads a customer inside a write transaction and locks its row until
/// commit (PostgreSQL; SQLite's write transaction already excludes others),
/// so the version compared is the version overwritten.
pub async fn get_for_update(
    db: &impl ConnectionTrait,
    scope: &Scope,
    id: i64,
) -> Result<Option<customers::Model>> {
    Ok(scoped(scope)
        .filter(customers::Column::Id.eq(id))
        .lock_exclusive()
        .one(db)
        .await?)
}

pub async fn contact_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<contacts::Model>> {
    Ok(contacts::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?)
}

/// Unscoped, for duplicate checks and for writes that re-read inside their transaction.
pub async fn get_any(db: &impl ConnectionTrait, id: i64) -> Result<Option<customers::Model>> {
    Ok(customers::Entity::find_by_id(id).one(db).await?)
}

pub async fn by_credit_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<customers::Model>> {
    Ok(customers::Entity::find()
        .filter(customers::Column::CreditCode.eq(code))
        .one(db)
        .await?)
}

pub async fn by_name_norm(
    db: &impl ConnectionTrait,
    norm: &str,
    except: Option<i64>,
) -> Result<Vec<customers::Model>> {
    let mut q = customers::Entity::find().filter(customers::Column::NameNorm.eq(norm));
    if let Some(id) = except {
        q = q.filter(customers::Column::Id.ne(id));
    }
    Ok(q.limit(5).all(db).await?)
}

/// Customers holding any of the given terms exactly (phone duplicates).
pub async fn by_terms(
    db: &impl ConnectionTrait,
    terms: &[String],
    except: Option<i64>,
) -> Result<Vec<customers::Model>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let ids = TermQuery::default()
        .any(terms.iter().cloned())
        .ids(db.get_database_backend());
    let mut q = customers::Entity::find().filter(customers::Column::Id.in_subquery(ids));
    if let Some(id) = except {
        q = q.filter(customers::Column::Id.ne(id));
    }
    Ok(q.limit(5).all(db).await?)
}

/// The tables a bulk write of customers (demo data, an import) fills,
/// which [`crate::platform::db::refresh_after_bulk_write`] vacuums.
pub const BULK_WRITTEN: &[&str] = &["customers", "customer_terms", "contacts", "interactions"];

/// A customer's document key in the SQLite index: the owner in the high 32
/// bits, the customer in the low, so that an owner's customers are one
/// range of keys, which a `MATCH` limited to it reads alone (a team's
/// search costs what its own matches cost, not what the whole index's do).
/// PostgreSQL keeps the owner as a column of the terms' key instead.
pub fn doc_key(owner_id: i64, customer_id: i64) -> Result<i64> {
    if !(0..1 << 31).contains(&owner_id) || !(0..1 << 32).contains(&customer_id) {
        return Err(Error::Internal(anyhow::anyhow!(
            "customer {customer_id} of owner {owner_id} is past the search index's key range"
        )));
    }
    Ok(owner_id << 32 | customer_id)
}

/// The low 32 bits of a [`doc_key`]: the customer.
pub const DOC_CUSTOMER_BITS: i64 = 0xFFFF_FFFF;

/// Replaces a customer's search terms; `was_owner` is the owner they were
/// written under (the document's key on SQLite).
pub async fn set_terms(
    db: &impl ConnectionTrait,
    customer_id: i64,
    was_owner: i64,
    owner_id: i64,
    terms: &[String],
) -> Result<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "DELETE FROM customer_search WHERE rowid = ?",
            [doc_key(was_owner, customer_id)?.into()],
        ))
        .await?;
    } else {
        customer_terms::Entity::delete_many()
            .filter(customer_terms::Column::CustomerId.eq(customer_id))
            .exec(db)
            .await?;
    }
    insert_terms(db, &[(customer_id, owner_id, terms)]).await
}

/// Inserts the search terms of new customers, each `(customer, owner,
/// terms)`, as one parameter: the statement is the same whatever the
/// number of rows, so each engine prepares it once (a multi-row VALUES
/// list is new SQL for every count).
///
/// SQLite gets one document per customer in its FTS5 index, keyed by
/// [`doc_key`]; PostgreSQL one `customer_terms` row per term, in key order
/// so that a large batch fills index pages one after another.
pub async fn insert_terms(db: &impl ConnectionTrait, docs: &[(i64, i64, &[String])]) -> Result<()> {
    if docs.iter().all(|(_, _, terms)| terms.is_empty()) {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let (sql, values): (&str, Vec<sea_orm::Value>) = if backend == sea_orm::DbBackend::Postgres {
        let mut rows: Vec<(&str, i64, i64)> = docs
            .iter()
            .flat_map(|(id, owner, terms)| terms.iter().map(|t| (t.as_str(), *owner, *id)))
            .collect();
        rows.sort_unstable();
        // Space-separated lists (a term never holds a space, see `model`):
        // PostgreSQL splits them in half the time it parses JSON.
        let list = |f: &dyn Fn(&(&str, i64, i64)) -> String| {
            rows.iter().map(f).collect::<Vec<_>>().join(" ")
        };
        (
            "INSERT INTO customer_terms (term, owner_id, customer_id) \
             SELECT t, o, i FROM unnest(string_to_array($1, ' '), \
             string_to_array($2, ' ')::bigint[], string_to_array($3, ' ')::bigint[]) AS u(t, o, i)",
            vec![
                list(&|r| r.0.to_owned()).into(),
                list(&|r| r.1.to_string()).into(),
                list(&|r| r.2.to_string()).into(),
            ],
        )
    } else {
        let mut rows: Vec<(i64, String)> = Vec::with_capacity(docs.len());
        for (id, owner, terms) in docs.iter().filter(|(_, _, terms)| !terms.is_empty()) {
            rows.push((doc_key(*owner, *id)?, terms.join(" ")));
        }
        let json = serde_json::to_string(&rows).map_err(|e| Error::Internal(e.into()))?;
        (
            "INSERT INTO customer_search (rowid, terms) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
            vec![json.into()],
        )
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await?;
    Ok(())
}

/// Display names of users by id, in one query (the owners of a page of customers).
pub async fn display_names(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    use crate::platform::schema::users;
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

/// A query of the search index: a customer matches when, for every group,
/// it holds at least one of the group's terms (exactly, or as a prefix),
/// and, when the query has a scope, it is owned by one of the scope's
/// owners or shared with its user.
///
/// The scope is read as the index's key (see [`doc_key`]), one range per
/// owner, so that a team's or a rep's search reads only its own matches;
/// the customers shared with the user that none of the owners owns are
/// one more part, found by the user's `s:` term.
///
/// SQLite answers with a `MATCH` of its FTS5 index per part, which
/// intersects the terms' lists as it streams them and stops where the
/// query's `LIMIT` does; PostgreSQL with the first group's entries of
/// `customer_terms` for the part's owners, each tested for the other groups
/// in the same index: put the rarest group (the text) first.
#[derive(Debug, Clone, Default)]
pub struct TermQuery {
    groups: Groups,
    scope: Option<IndexScope>,
    /// Terms a customer must hold none of.
    excluded: Vec<String>,
}

/// Groups of terms: a customer holds one term of each.
type Groups = Vec<Vec<(String, bool)>>;

/// Which owners' customers one part of a [`TermQuery`] reads.
#[derive(Debug, Clone)]
enum Owners {
    /// Those of these owners (a range of the index's key each).
    Of(Vec<i64>),
    /// Those of any other owner (none listed: every customer).
    NotOf(Vec<i64>),
}

/// The owners whose customers a [`TermQuery`] is limited to, and the user
/// whose shared customers it also holds.
#[derive(Debug, Clone)]
struct IndexScope {
    owners: Vec<i64>,
    user_id: i64,
}

/// A query of every customer in `scope` (no group yet).
pub async fn scope_query(db: &impl ConnectionTrait, scope: &Scope) -> Result<TermQuery> {
    let (Some(owners), Scope::Own { user_id, .. }) = (scope_owners(db, scope).await?, scope) else {
        return Ok(TermQuery::default());
    };
    Ok(TermQuery {
        groups: Vec::new(),
        scope: Some(IndexScope {
            owners,
            user_id: *user_id,
        }),
        excluded: Vec::new(),
    })
}

impl TermQuery {
    /// Whether the query has no group and no scope (every customer matches).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.scope.is_none()
    }

    /// Every one of `terms`, exactly.
    pub fn all(mut self, terms: impl IntoIterator<Item = String>) -> TermQuery {
        self.groups
            .extend(terms.into_iter().map(|t| vec![(t, false)]));
        self
    }

    /// Any one of `terms`, exactly.
    pub fn any(mut self, terms: impl IntoIterator<Item = String>) -> TermQuery {
        self.groups
            .push(terms.into_iter().map(|t| (t, false)).collect());
        self
    }

    /// The groups of `other` too, and its scope when this has none.
    pub fn and(mut self, other: TermQuery) -> TermQuery {
        self.groups.extend(other.groups);
        self.scope = self.scope.or(other.scope);
        self.excluded.extend(other.excluded);
        self
    }

    /// None of `terms` (a query that has a group: the index reads the
    /// groups' matches and leaves out those that hold one).
    pub fn none(mut self, terms: impl IntoIterator<Item = String>) -> TermQuery {
        self.excluded.extend(terms);
        self
    }

    /// Any one of `terms` exactly, or a term that starts with one of
    /// `prefixes`.
    pub fn any_or_prefix(
        mut self,
        terms: impl IntoIterator<Item = String>,
        prefixes: impl IntoIterator<Item = String>,
    ) -> TermQuery {
        let exact = terms.into_iter().map(|t| (t, false));
        self.groups.push(
            exact
                .chain(prefixes.into_iter().map(|p| (p, true)))
                .collect(),
        );
        self
    }

    /// A term that starts with `prefix`.
    pub fn prefix(mut self, prefix: String) -> TermQuery {
        self.groups.push(vec![(prefix, true)]);
        self
    }

    /// The FTS5 query of `groups`: joined by `AND`, terms in a group by
    /// `OR`, each term a quoted string (`"` doubled), a prefix followed by
    /// `*`; then `NOT` any of `excluded`.
    fn fts5(groups: &[Vec<(String, bool)>], excluded: &[String]) -> String {
        let group = |group: &[(String, bool)]| {
            let terms: Vec<String> = group
                .iter()
                .map(|(t, prefix)| {
                    let quoted = format!("\"{}\"", t.replace('"', "\"\""));
                    if *prefix { quoted + " *" } else { quoted }
                })
                .collect();
            format!("({})", terms.join(" OR "))
        };
        let all = groups
            .iter()
            .map(|g| group(g))
            .collect::<Vec<_>>()
            .join(" AND ");
        if excluded.is_empty() {
            return all;
        }
        let none: Vec<(String, bool)> = excluded.iter().map(|t| (t.clone(), false)).collect();
        format!("({all}) NOT {}", group(&none))
    }

    /// The parts the query is answered in: the groups each part matches and
    /// the owners it reads. Without a group, an owner's part matches its `o:`
    /// term, so that every part has a term to look up.
    fn parts(&self) -> Vec<(Groups, Owners)> {
        let Some(scope) = &self.scope else {
            return vec![(self.groups.clone(), Owners::NotOf(Vec::new()))];
        };
        let mut parts = Vec::with_capacity(scope.owners.len() + 1);
        for owner in &scope.owners {
            let mut groups = self.groups.clone();
            if groups.is_empty() {
                groups.push(vec![(model::owner_term(*owner), false)]);
            }
            parts.push((groups, Owners::Of(vec![*owner])));
        }
        // The user's shared customers are few: their term leads the part.
        let mut shared = vec![vec![(model::shared_term(scope.user_id), false)]];
        shared.extend(self.groups.iter().cloned());
        parts.push((shared, Owners::NotOf(scope.owners.clone())));
        parts
    }

    /// The ids of the matching customers, each once (a subquery).
    pub fn ids(&self, backend: sea_orm::DbBackend) -> sea_orm::sea_query::SelectStatement {
        use sea_orm::sea_query::{Alias, UnionType};
        if self.is_empty() {
            return ids_where(Condition::all());
        }
        if self.groups.iter().any(Vec::is_empty) {
            return ids_where(nothing());
        }
        let mut parts = self.parts().into_iter().map(|(groups, owners)| {
            if backend == sea_orm::DbBackend::Sqlite {
                fts5_part(&groups, &self.excluded, owners)
            } else {
                postgres_part(&groups, &self.excluded, owners)
            }
        });
        let Some(mut all) = parts.next() else {
            return ids_where(nothing());
        };
        for part in parts {
            all.union(UnionType::All, part);
        }
        // One statement to limit, count or test `IN`, whatever the parts.
        Query::select()
            .column(Alias::new("customer_id"))
            .from_subquery(all, Alias::new("parts"))
            .to_owned()
    }

    /// The matching customers' ids, up to `limit` of them.
    pub async fn ids_up_to(&self, reads: &Reads, limit: u64) -> Result<Vec<i64>> {
        let backend = reads.backend();
        let mut q = self.ids(backend);
        q.limit(limit);
        let rows = reads.query_all(backend.build(&q), &[]).await?;
        rows.iter()
            .map(|r| r.get::<i64>("customer_id").map_err(Error::from))
            .collect()
    }

    /// How many customers match, counted up to `limit` and no further.
    pub async fn count_up_to(&self, reads: &Reads, limit: u64) -> Result<u64> {
        count_ids_up_to(reads, self.ids(reads.backend()), limit).await
    }
}

/// One part of a [`TermQuery`] on SQLite: a `MATCH` of the groups, within
/// the owners' key ranges or outside them.
fn fts5_part(
    groups: &[Vec<(String, bool)>],
    excluded: &[String],
    owners: Owners,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::Alias;
    let rowid = || Expr::col(Alias::new("rowid"));
    let mut q = Query::select();
    q.expr_as(
        rowid().bit_and(DOC_CUSTOMER_BITS),
        Alias::new("customer_id"),
    )
    .from(Alias::new("customer_search"))
    .and_where(Expr::cust_with_values(
        "customer_search MATCH ?",
        [TermQuery::fts5(groups, excluded)],
    ));
    match owners {
        Owners::Of(owners) => {
            let mut any = Condition::any();
            for o in owners {
                let first = o << 32;
                any = any.add(rowid().between(first, first | DOC_CUSTOMER_BITS));
            }
            q.cond_where(any);
        }
        Owners::NotOf(others) if !others.is_empty() => {
            q.and_where(rowid().right_shift(32).is_not_in(others));
        }
        Owners::NotOf(_) => {}
    }
    q
}

/// One part of a [`TermQuery`] on PostgreSQL: the first group's entries of
/// the owners or of any other owner, each tested for the other groups by
/// the full key (term, owner, customer).
///
/// Each term of the first group is read as its own index range, joined by
/// `UNION ALL`, a customer counted under the first term it holds, so that
/// a `LIMIT` stops the read early. (Asked as one `DISTINCT` over an `OR`,
/// the planner walked every entry in customer order instead.)
fn postgres_part(
    groups: &[Vec<(String, bool)>],
    excluded: &[String],
    owners: Owners,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, UnionType};
    let table = |i: usize| Alias::new(format!("t{i}"));
    let holds = |i: usize, group: &[(String, bool)]| {
        let term = || Expr::col((table(i), customer_terms::Column::Term));
        // Exact terms as one `IN`, which PostgreSQL looks up as one
        // index scan (an `OR` of equalities it does not).
        let exact: Vec<String> = group
            .iter()
            .filter(|(_, prefix)| !prefix)
            .map(|(t, _)| t.clone())
            .collect();
        let mut any = Condition::any();
        match exact.len() {
            0 => {}
            1 => any = any.add(term().eq(exact[0].clone())),
            _ => any = any.add(term().is_in(exact)),
        }
        for (t, _) in group.iter().filter(|(_, prefix)| *prefix) {
            any = any.add(
                Condition::all()
                    .add(term().gte(t.clone()))
                    .add(term().lt(prefix_end(t))),
            );
        }
        any
    };
    let owner = |i: usize| Expr::col((table(i), Alias::new("owner_id")));
    // The first group's customer also holds `group` (as table `t{i}`).
    let also = |i: usize, group: &[(String, bool)]| {
        Query::select()
            .expr(Expr::val(1))
            .from_as(customer_terms::Entity, table(i))
            .and_where(owner(i).equals((table(0), Alias::new("owner_id"))))
            .and_where(
                Expr::col((table(i), customer_terms::Column::CustomerId))
                    .equals((table(0), customer_terms::Column::CustomerId)),
            )
            .cond_where(holds(i, group))
            .to_owned()
    };
    let first = &groups[0];
    let mut all: Option<sea_orm::sea_query::SelectStatement> = None;
    for (j, alternative) in first.iter().enumerate() {
        let mut q = Query::select();
        q.column((table(0), customer_terms::Column::CustomerId))
            .from_as(customer_terms::Entity, table(0))
            .cond_where(holds(0, std::slice::from_ref(alternative)));
        match &owners {
            Owners::Of(owners) => {
                q.and_where(owner(0).is_in(owners.clone()));
            }
            Owners::NotOf(others) if !others.is_empty() => {
                q.and_where(owner(0).is_not_in(others.clone()));
            }
            Owners::NotOf(_) => {}
        }
        // A customer holding an earlier term of the group is counted there.
        for (k, earlier) in first[..j].iter().enumerate() {
            let other = groups.len() + k;
            q.and_where(Expr::exists(also(other, std::slice::from_ref(earlier))).not());
        }
        // Several of a customer's terms may start with a prefix: its
        // entries, read first as the range (`OFFSET 0` keeps the subquery
        // apart), are made distinct.
        if alternative.1 {
            q.column((table(0), Alias::new("owner_id"))).offset(0);
            let mut distinct = Query::select();
            distinct
                .distinct()
                .column((table(0), customer_terms::Column::CustomerId))
                .from_subquery(q, table(0));
            q = distinct;
        }
        for (i, group) in groups.iter().enumerate().skip(1) {
            q.and_where(Expr::exists(also(i, group)));
        }
        if !excluded.is_empty() {
            let none: Vec<(String, bool)> = excluded.iter().map(|t| (t.clone(), false)).collect();
            let i = groups.len() + first.len();
            q.and_where(Expr::exists(also(i, &none)).not());
        }
        match all.as_mut() {
            None => all = Some(q),
            Some(all) => {
                all.union(UnionType::All, q);
            }
        }
    }
    all.unwrap_or_else(|| ids_where(nothing()))
}

/// How many ids a term query yields, counted up to `limit` (read from the
/// term index alone, and no further than `limit` entries).
async fn count_ids_up_to(
    reads: &Reads,
    ids: sea_orm::sea_query::SelectStatement,
    limit: u64,
) -> Result<u64> {
    let capped = Query::select()
        .expr(Expr::val(1))
        .from_subquery(ids, "ids")
        .limit(limit)
        .to_owned();
    let stmt = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(capped, "capped")
        .to_owned();
    let row = reads.query_one(reads.backend().build(&stmt), &[]).await?;
    let n: i64 = match row {
        Some(r) => r.get("n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The upper bound of a prefix range: every string that starts with
/// `prefix` sorts below it (a range an index serves, unlike `LIKE 'x%'`,
/// which SQLite compares without case and so cannot look up).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Customers whose `column` (the customer code, the credit code) starts
/// with `prefix`: a range of the column's index, or, for a prefix that
/// many customers share (`walk`), a test of each row while the list walks
/// its sort index.
pub fn starts_with(column: customers::Column, prefix: &str, walk: bool) -> Condition {
    if walk {
        use sea_orm::sea_query::Func;
        // Both arguments `int`: PostgreSQL has no `substr(text, int, bigint)`.
        let n = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        let head = Func::cust(sea_orm::sea_query::Alias::new("SUBSTR"))
            .arg(Expr::col((customers::Entity, column)))
            .arg(1i32)
            .arg(n);
        Condition::all().add(Expr::expr(head).eq(prefix))
    } else {
        Condition::all()
            .add(column.gte(prefix))
            .add(column.lt(prefix_end(prefix)))
    }
}

/// The customer's id is one of `ids`, sent as one text parameter: the
/// statement stays one prepared statement whatever the number, and no
/// engine's limit on parameters applies. Both engines read it as a set of
/// ids to look up (PostgreSQL's `= ANY(array)` it tests row by row against
/// the whole array while walking a sort index: 0.8 s for 4,000 ids).
pub fn id_among(backend: sea_orm::DbBackend, ids: &[i64]) -> Condition {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = if backend == sea_orm::DbBackend::Postgres {
        r#""customers"."id" IN (SELECT unnest(string_to_array($1, ',')::bigint[]))"#
    } else {
        r#""customers"."id" IN (SELECT value FROM json_each('[' || ? || ']'))"#
    };
    Condition::all().add(Expr::cust_with_values(sql, [list]))
}

/// `id IN (ids)`.
pub fn id_in(ids: sea_orm::sea_query::SelectStatement) -> Condition {
    Condition::all().add(Expr::col((customers::Entity, customers::Column::Id)).in_subquery(ids))
}

/// The ids of the customers meeting `cond` (a subquery).
pub fn ids_where(cond: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(customers::Column::Id)
        .from(customers::Entity)
        .cond_where(cond)
        .to_owned()
}

/// How many customers' `column` starts with `prefix`, counted up to
/// `limit` (the column's index alone).
pub async fn starts_with_count(
    reads: &Reads,
    column: customers::Column,
    prefix: &str,
    limit: u64,
) -> Result<u64> {
    count_ids_up_to(reads, ids_where(starts_with(column, prefix, false)), limit).await
}

/// `haystack` contains `needle`: a plain byte search (SQLite's `instr`,
/// PostgreSQL's `strpos`), several times cheaper per row than `LIKE '%…%'`,
/// which folds case character by character.
fn contains(backend: sea_orm::DbBackend, haystack: customers::Column, needle: String) -> Condition {
    Condition::all().add(position(backend, haystack, needle).gt(0))
}

/// Where `needle` first occurs in the column, from 1; 0 when it does not.
fn position(backend: sea_orm::DbBackend, haystack: customers::Column, needle: String) -> Expr {
    use sea_orm::sea_query::Func;
    let name = if backend == sea_orm::DbBackend::Postgres {
        "STRPOS"
    } else {
        "INSTR"
    };
    let call = Func::cust(sea_orm::sea_query::Alias::new(name))
        .arg(Expr::col((customers::Entity, haystack)))
        .arg(needle);
    Expr::expr(call)
}

/// A row whose full or short name contains `text` ([`model::search_text`]
/// form), checked on the row's `name_text`.
pub fn name_contains(backend: sea_orm::DbBackend, text: &str) -> Condition {
    contains(backend, customers::Column::NameText, text.to_owned())
}

/// A row whose full or short name starts with `text` ([`model::search_text`]
/// form): `name_text` starts with it, or holds it right after the space
/// that separates the two names.
pub fn name_starts(backend: sea_orm::DbBackend, text: &str) -> Condition {
    let name = customers::Column::NameText;
    Condition::any()
        .add(position(backend, name, text.to_owned()).eq(1))
        .add(contains(backend, name, format!(" {text}")))
}

/// A row with a reading of its names whose initials or full pinyin start
/// with `pinyin`, checked on the row's `pinyin_text`.
pub fn pinyin_prefix(backend: sea_orm::DbBackend, pinyin: &str) -> Condition {
    contains(backend, customers::Column::PinyinText, format!(" {pinyin}"))
}

/// A condition no customer meets.
pub fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// The most customers that may rank first for one exact code or phone.
pub const MAX_EXACT_MATCHES: u64 = 100;

/// `limit` rows of the query from `offset`.
pub async fn rows(
    reads: &Reads,
    query: Select<customers::Entity>,
    offset: u64,
    limit: u64,
) -> Result<Vec<customers::Model>> {
    Ok(reads
        .all::<customers::ActiveModel>(query.offset(offset).limit(limit))
        .await?)
}

/// `limit` rows of the query in `sort` order from `offset`, read in two
/// steps in one statement: the ids along the sort index, then their rows.
/// Selecting only ids, a walk of an index that holds the search columns
/// tests each entry there (PostgreSQL's index-only scan); selecting whole
/// rows, PostgreSQL visits the table for every entry it tests: a manager's
/// 市瓯海 walked 4,130 of an owner's entries in 1.8 ms instead of 84 ms at a
/// million customers. SQLite tests the index entry first either way.
pub async fn sorted_rows(
    reads: &Reads,
    query: Select<customers::Entity>,
    sort: &str,
    offset: u64,
    limit: u64,
) -> Result<Vec<customers::Model>> {
    use sea_orm::QueryTrait;
    let ids = order(query, sort)
        .select_only()
        .column(customers::Column::Id)
        .offset(offset)
        .limit(limit)
        .into_query();
    let page = customers::Entity::find().filter(customers::Column::Id.in_subquery(ids));
    rows(reads, order(page, sort), 0, limit).await
}

/// The name order keys (`pinyin`) of the customers `ids`, in no order.
pub async fn name_keys(reads: &Reads, ids: &[i64]) -> Result<Vec<String>> {
    use sea_orm::QueryTrait;
    let backend = reads.backend();
    let q = customers::Entity::find()
        .select_only()
        .column(customers::Column::Pinyin)
        .filter(id_among(backend, ids))
        .into_query();
    let rows = reads.query_all(backend.build(&q), &[]).await?;
    rows.iter()
        .map(|r| r.get::<String>("pinyin").map_err(Error::from))
        .collect()
}

/// The customers whose name order key lies in `stretch`: a range of the
/// name index, as the stretch's `p:` term holds them.
pub fn in_stretch(stretch: &model::NameStretch) -> Condition {
    let key = customers::Column::Pinyin;
    if stretch.whole {
        return Condition::all().add(key.eq(stretch.start.clone()));
    }
    let mut range = Condition::all().add(key.gte(stretch.start.clone()));
    if let Some(end) = stretch.end() {
        range = range.add(key.lt(end));
    }
    range
}

/// The highest customer id: about how many customers there are, read from
/// the index end (a count would read every row).
pub async fn max_id(reads: &Reads) -> Result<u64> {
    let top = reads
        .one::<customers::ActiveModel>(
            customers::Entity::find()
                .order_by_desc(customers::Column::Id)
                .limit(1),
        )
        .await?;
    Ok(top.map_or(0, |c| u64::try_from(c.id).unwrap_or(0)))
}

/// What a list `sort` orders by: its column, whether descending, and
/// whether ties (same pinyin, same second) go in id order so that pages
/// never overlap. `updated` is oldest first; anything else is the list's
/// default, newest first.
fn sort_key(sort: &str) -> (customers::Column, bool, bool) {
    use customers::Column as C;
    match sort {
        "code" => (C::Code, false, false),
        "-code" => (C::Code, true, false),
        "name" => (C::Pinyin, false, true),
        "-name" => (C::Pinyin, true, true),
        "created" => (C::Id, false, false),
        "-created" => (C::Id, true, false),
        "updated" => (C::UpdatedAt, false, true),
        _ => (C::UpdatedAt, true, true),
    }
}

pub fn order(query: Select<customers::Entity>, sort: &str) -> Select<customers::Entity> {
    use sea_orm::sea_query::Order;
    let (column, descending, ties_by_id) = sort_key(sort);
    let order = if descending { Order::Desc } else { Order::Asc };
    let query = query.order_by(column, order.clone());
    if ties_by_id {
        query.order_by(customers::Column::Id, order)
    } else {
        query
    }
}

/// Rows among the first `rows` of the list in `sort` order, over every
/// customer or over those meeting `among` (a scope part: an owner's): the
/// sort column up to its value at that row, a range of the sort index,
/// which a walk reads to its end and no further. Every row of equal value
/// is within, so the rows are still the order's first ones; with fewer
/// rows than `rows`, all are.
pub fn within_first(sort: &str, rows: u64, among: Option<&Condition>) -> Condition {
    use sea_orm::sea_query::{Alias, Func, Order, SubQueryStatement};
    let (column, descending, _) = sort_key(sort);
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut first = Query::select();
    first
        .column(column)
        .from(customers::Entity)
        .order_by(column, order)
        .limit(Ord::max(rows, 1));
    if let Some(among) = among {
        first.cond_where(among.clone());
    }
    let w = Alias::new("w");
    let last = Expr::col((w.clone(), column));
    let at = Query::select()
        .expr(if descending {
            Func::min(last)
        } else {
            Func::max(last)
        })
        .from_subquery(first.to_owned(), w)
        .to_owned();
    let at = Expr::SubQuery(None, Box::new(SubQueryStatement::from(at)));
    let col = Expr::col((customers::Entity, column));
    Condition::all().add(if descending { col.gte(at) } else { col.lte(at) })
}

/// How many contacts a customer has and whether a business licence is
/// attached, in one query (what completeness needs on every read).
pub async fn extras_of(db: &impl ConnectionTrait, customer_id: i64) -> Result<(usize, bool)> {
    let backend = db.get_database_backend();
    let p = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?1"
    };
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM contacts WHERE customer_id = {p}) AS n, \
         CASE WHEN EXISTS (SELECT 1 FROM attachments WHERE customer_id = {p} \
         AND kind = 'business_licence') THEN 1 ELSE 0 END AS licence"
    );
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [customer_id.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => {
            let n: i64 = r.try_get("", "n")?;
            let licence: i32 = r.try_get("", "licence")?;
            (usize::try_from(n).unwrap_or(0), licence != 0)
        }
        None => (0, false),
    })
}

pub async fn contacts_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<contacts::Model>> {
    Ok(contacts::Entity::find()
        .filter(contacts::Column::CustomerId.eq(customer_id))
        .order_by_asc(contacts::Column::Id)
        .all(db)
        .await?)
}

pub async fn contact(db: &impl ConnectionTrait, id: i64) -> Result<Option<contacts::Model>> {
    Ok(contacts::Entity::find_by_id(id).one(db).await?)
}

pub async fn interactions_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<interactions::Model>> {
    Ok(interactions::Entity::find()
        .filter(interactions::Column::CustomerId.eq(customer_id))
        .order_by_desc(interactions::Column::OccurredOn)
        .order_by_desc(interactions::Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

pub async fn visit_plans_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<visit_plans::Model>> {
    Ok(visit_plans::Entity::find()
        .filter(visit_plans::Column::CustomerId.eq(customer_id))
        .order_by_desc(visit_plans::Column::PlannedOn)
        .all(db)
        .await?)
}

pub async fn visit_plan(db: &impl ConnectionTrait, id: i64) -> Result<Option<visit_plans::Model>> {
    Ok(visit_plans::Entity::find_by_id(id).one(db).await?)
}

pub async fn attachments_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<attachments::Model>> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::CustomerId.eq(customer_id))
        .order_by_desc(attachments::Column::Id)
        .all(db)
        .await?)
}

/// The users a customer is shared with.
pub async fn shared_with(db: &impl ConnectionTrait, customer_id: i64) -> Result<Vec<i64>> {
    Ok(customer_shares::Entity::find()
        .select_only()
        .column(customer_shares::Column::UserId)
        .filter(customer_shares::Column::CustomerId.eq(customer_id))
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

pub async fn shares_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<customer_shares::Model>> {
    Ok(customer_shares::Entity::find()
        .filter(customer_shares::Column::CustomerId.eq(customer_id))
        .all(db)
        .await?)
}

pub async fn owner_history(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<customer_owner_history::Model>> {
    Ok(customer_owner_history::Entity::find()
        .filter(customer_owner_history::Column::CustomerId.eq(customer_id))
        .order_by_asc(customer_owner_history::Column::Id)
        .all(db)
        .await?)
}

/// Ids of the teams a user manages.
pub async fn managed_teams(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<i64>> {
    use crate::platform::schema::teams;
    Ok(teams::Entity::find()
        .filter(teams::Column::ManagerId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

pub async fn blob_exists(db: &impl ConnectionTrait, sha256: &str) -> Result<bool> {
    let q = Query::select()
        .expr(Expr::val(1))
        .from("attachment_blobs")
        .and_where(Expr::col("sha256").eq(sha256))
        .to_owned();
    Ok(db.query_one(&q).await?.is_some())
}

pub async fn insert_blob(db: &impl ConnectionTrait, sha256: &str, data: Vec<u8>) -> Result<()> {
    let q = Query::insert()
        .into_table("attachment_blobs")
        .columns(["sha256", "data"])
        .values_panic([sha256.into(), data.into()])
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

pub async fn blob(db: &impl ConnectionTrait, sha256: &str) -> Result<Option<Vec<u8>>> {
    let q = Query::select()
        .column("data")
        .from("attachment_blobs")
        .and_where(Expr::col("sha256").eq(sha256))
        .to_owned();
    match db.query_one(&q).await? {
        Some(row) => Ok(Some(row.try_get("", "data")?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::QueryTrait;

    /// A code prefix must stay a range both engines look up in the code's
    /// index: `LIKE 'C2026%'` is a scan of every customer on SQLite.
    #[test]
    fn a_code_prefix_is_an_index_range() {
        for backend in [sea_orm::DbBackend::Sqlite, sea_orm::DbBackend::Postgres] {
            let stmt = customers::Entity::find()
                .filter(starts_with(customers::Column::Code, "C2026", false))
                .build(backend);
            assert!(!stmt.sql.contains("LIKE"), "{}", stmt.sql);
            assert!(
                stmt.sql.contains(r#""code" >= "#) && stmt.sql.contains(r#""code" < "#),
                "{}",
                stmt.sql
            );
            assert_eq!(
                stmt.values,
                Some(sea_orm::Values(vec![
                    "C2026".into(),
                    "C2026\u{10FFFF}".into()
                ]))
            );
        }
    }
}
