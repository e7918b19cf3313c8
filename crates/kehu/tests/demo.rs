//! `kehu demo` on SQLite or (with `KEHU_TEST_DATABASE_URL`) PostgreSQL: the
//! customers it writes in bulk obey the same rules as those created one by
//! one (valid credit codes, gap-free codes, search terms, audit chain).
use kehu::customers::entity::{contacts, customers};
use kehu::customers::model;
use kehu::demo::{self, DemoOptions};
use kehu::platform::audit::{self, AuditActor};
use kehu::testing::TestServer;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;

type R = anyhow::Result<()>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_is_valid_numbered_searchable_and_audited() -> R {
    let s = TestServer::start().await?;
    let db = &s.state.db;
    let opts = DemoOptions {
        customers: 300,
        reps: 6,
        seed: 7,
        // Several batches, so codes must continue across numbering reservations.
        batch: 120,
    };
    let report = demo::generate(&s.state, &AuditActor::system(), &opts, &mut |_, _| {}).await?;
    assert_eq!(report.customers, 300);
    assert_eq!(report.reps.len(), 6);
    assert_eq!(report.teams.len(), 5);

    let all = customers::Entity::find()
        .order_by_asc(customers::Column::Id)
        .all(db)
        .await?;
    assert_eq!(all.len(), 300);

    // Valid, distinct credit codes.
    let mut codes = std::collections::HashSet::new();
    for c in &all {
        let code = c.credit_code.clone().expect("credit code");
        assert_eq!(
            model::validate_credit_code(&code).as_deref(),
            Ok(code.as_str())
        );
        assert!(codes.insert(code));
        assert_eq!(c.mnemonic, model::pinyin_keys(&c.full_name).initials);
        assert_eq!(c.name_norm, model::normalize_name(&c.full_name));
    }

    // Consecutive customer codes in id order, from the policy's format.
    let policy = s.state.policy();
    let today = s
        .state
        .clock
        .now()
        .with_timezone(&policy.policy.timezone())
        .date_naive();
    let format = policy.policy.number_format("customer").expect("format");
    for (i, c) in all.iter().enumerate() {
        assert_eq!(c.code, format.render(today, 1 + i as u64), "customer {i}");
    }
    assert_eq!(report.first_code.as_deref(), Some(all[0].code.as_str()));
    assert_eq!(report.last_code.as_deref(), Some(all[299].code.as_str()));

    // On PostgreSQL the tables written were vacuumed (index-only scans
    // need the visibility map; autovacuum may be off, as on CI's server).
    if s.db.is_postgres() {
        use sea_orm::ConnectionTrait;
        for table in kehu::customers::store::BULK_WRITTEN {
            let row = db
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    db.get_database_backend(),
                    "SELECT COUNT(*) AS n FROM pg_stat_user_tables \
                     WHERE relname = $1 AND last_vacuum IS NOT NULL",
                    [(*table).into()],
                ))
                .await?
                .map(|r| r.try_get::<i64>("", "n"))
                .transpose()?;
            assert_eq!(row, Some(1), "{table} vacuumed");
        }
    }

    // 1–3 contacts each, valid mobiles.
    let contacts = contacts::Entity::find().all(db).await?;
    assert_eq!(contacts.len() as u64, report.contacts);
    assert!(contacts.len() >= 300 && contacts.len() <= 900);
    for ct in &contacts {
        for p in ct.phones.split(", ") {
            assert_eq!(model::normalize_phone(p).as_deref(), Ok(p));
        }
    }

    // Searchable through the API by pinyin initials and by name substring.
    let admin = s.admin().await?;
    let target = &all[137];
    for q in [
        target.mnemonic.clone(),
        target.full_name.chars().skip(2).take(4).collect::<String>(),
    ] {
        let page: Value = admin
            .get(s.url("/api/v1/customers"))
            .query(&[("q", q.as_str()), ("per_page", "200")])
            .send()
            .await?
            .json()
            .await?;
        let found = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["code"] == target.code.as_str());
        assert!(found, "{q:?} does not find {}: {page}", target.full_name);
    }
    // A common bigram: the list walks its sort index and probes the term's
    // holders as a set. Same page and total as sorting every holder.
    let mut holders: std::collections::HashMap<String, Vec<&customers::Model>> = Default::default();
    for c in &all {
        for t in model::search_terms(&c.full_name, c.short_name.as_deref()) {
            if t.chars().count() == 4 && t.starts_with("n:") {
                holders.entry(t).or_default().push(c);
            }
        }
    }
    let (term, mut expected) = holders
        .into_iter()
        .max_by_key(|(t, h)| (h.len(), t.clone()))
        .expect("a bigram");
    assert!(
        expected.len().pow(2) > 50 * all.len(),
        "{term} is held by {} of {}: too few to walk the sort index",
        expected.len(),
        all.len()
    );
    expected.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id)));
    for page_no in ["1", "2"] {
        let page: Value = admin
            .get(s.url("/api/v1/customers"))
            .query(&[("q", &term[2..]), ("per_page", "20"), ("page", page_no)])
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(
            page["total"].as_u64(),
            Some(expected.len() as u64),
            "{term}: {page}"
        );
        let got: Vec<i64> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_i64())
            .collect();
        let skip = if page_no == "1" { 0 } else { 20 };
        let want: Vec<i64> = expected.iter().skip(skip).take(20).map(|c| c.id).collect();
        assert_eq!(got, want, "{term} page {page_no}");
    }
    // The full view of a demo customer works (owner, completeness).
    let one: Value = admin
        .get(s.url(&format!("/api/v1/customers/{}", target.id)))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(one["code"], target.code.as_str());
    assert!(
        one["owner"]["username"]
            .as_str()
            .unwrap_or("")
            .starts_with("rep")
    );

    // A rep sees exactly the customers it owns.
    let rep = s.login("rep01", demo::DEMO_PASSWORD).await?;
    let rep_id = kehu::platform::auth::store::user_by_name(db, "rep01")
        .await?
        .expect("rep01")
        .id;
    let owned = customers::Entity::find()
        .filter(customers::Column::OwnerId.eq(rep_id))
        .count(db)
        .await?;
    assert!(owned > 0);
    let page: Value = rep
        .get(s.url("/api/v1/customers"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(page["total"].as_u64(), Some(owned));

    // A second run reuses the staff, continues the numbers, and one audit
    // entry per batch keeps the chain intact.
    let again = demo::generate(
        &s.state,
        &AuditActor::system(),
        &DemoOptions {
            customers: 50,
            ..opts
        },
        &mut |_, _| {},
    )
    .await?;
    assert_eq!(again.first_code, Some(format.render(today, 301)));
    assert_eq!(customers::Entity::find().count(db).await?, 350);
    let (entries, total) = audit::list(
        db,
        &audit::AuditFilter {
            action: Some("demo_import".into()),
            ..Default::default()
        },
        kehu::platform::list::Paging::new(Some(1u64), Some(50u64)),
    )
    .await?;
    assert_eq!(total, 4, "3 batches, then 1");
    assert!(entries.iter().all(|e| e.entity_type == "customer_batch"));
    let verify = audit::verify(db).await?;
    assert_eq!(verify.broken, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_makes_the_same_customers() -> R {
    let mut names = Vec::new();
    for _ in 0..2 {
        let s = TestServer::start().await?;
        let opts = DemoOptions {
            customers: 40,
            reps: 2,
            seed: 11,
            batch: 5000,
        };
        demo::generate(&s.state, &AuditActor::system(), &opts, &mut |_, _| {}).await?;
        let rows = customers::Entity::find()
            .order_by_asc(customers::Column::Id)
            .all(&s.state.db)
            .await?;
        names.push(
            rows.into_iter()
                .map(|c| (c.full_name, c.credit_code, c.legal_representative))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(names[0], names[1]);
    Ok(())
}

/// `kehu bench --only create` measures creates alone: no GET or search
/// figures, and every create of the phase succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_only_the_phases_asked_for() -> R {
    use kehu::bench::{self, BenchDb, BenchOptions, BenchPhase};
    assert!(
        "nonsense"
            .parse::<BenchPhase>()
            .is_err_and(|e| e.contains("get, search or create"))
    );
    let test_db = kehu::testing::TestDb::new().await?;
    let url = match &test_db.url {
        Some(url) => url.clone(),
        None => kehu::platform::db::sqlite_url(test_db.data_dir.path()),
    };
    let db = BenchDb::new(Some(url))?;
    bench::load_in_process(&db, 30, 3, &mut |_, _| {}).await?;
    let opts = BenchOptions {
        customers: 30,
        connections: 2,
        seconds: 1,
        seed: 3,
        only: vec![BenchPhase::Create],
    };
    let report = bench::measure(&db, &opts, &mut |_| {}).await?;
    let measures: Vec<&str> = report.figures.iter().map(|f| f.measure.as_str()).collect();
    assert!(
        measures.iter().any(|m| m.starts_with("create customer")),
        "{measures:?}"
    );
    assert!(
        !measures
            .iter()
            .any(|m| m.starts_with("GET") || m.starts_with("search")),
        "{measures:?}"
    );
    let conn = kehu::platform::db::connect(&db.url()).await?;
    let created = customers::Entity::find().count(&conn).await?;
    assert!(created > 30, "no customer was created: {created}");
    Ok(())
}
