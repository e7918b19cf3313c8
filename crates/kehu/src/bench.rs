//! `kehu bench`: proves (or disproves) the budgets of DESIGN.md on the machine
//! it runs on. It starts the server in this process on 127.0.0.1:0 against a
//! database, makes sure the database holds enough demo customers, and measures
//! over loopback with its own HTTP client:
//!
//! - GET one customer by id with a bearer token: requests/s, p50 and p99;
//! - customers created per second through `POST /api/v1/customers`;
//! - the same GETs against a bare axum handler that only reads and serialises the row, in the
//!   same run, and Kehu's GET rate as a share of it;
//! - search latency per kind of query (one character, words, pinyin initials, full pinyin,
//!   codes, phone and credit-code prefixes), drawn at random from the data, as an admin, a sales
//!   manager and a sales rep, each kind's p50 also as a multiple of the bare handler's page of
//!   20 customers in the same run;
//! - the server's resident memory (VmRSS) at idle after loading and after the run.
//!
//! Every request goes to 127.0.0.1 only, and every loop is bounded in time and
//! in count. A benchmark is not a test: nothing here asserts on wall-clock time.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};
use serde::Serialize;

use crate::customers::entity::customers;
use crate::demo::{self, Rng};
use crate::platform::audit::AuditActor;
use crate::platform::auth;
use crate::platform::clock::Clock;
use crate::platform::config::Config;

/// Requests one worker sends in one phase at most, whatever the duration.
const MAX_REQUESTS_PER_WORKER: u64 = 5_000_000;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Customers the database must hold before measuring.
    pub customers: u64,
    /// Concurrent connections of the throughput phases.
    pub connections: usize,
    /// Duration of each throughput phase.
    pub seconds: u64,
    /// Seed of the demo data and of the request mix.
    pub seed: u64,
    /// The phases to run; all when empty.
    pub only: Vec<BenchPhase>,
}

/// A measured phase, to run one alone (when profiling it, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchPhase {
    Get,
    Search,
    Create,
}

impl std::str::FromStr for BenchPhase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "get" => Ok(BenchPhase::Get),
            "search" => Ok(BenchPhase::Search),
            "create" => Ok(BenchPhase::Create),
            other => Err(format!("unknown phase {other:?}: get, search or create")),
        }
    }
}

impl BenchOptions {
    fn runs(&self, phase: BenchPhase) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            customers: 100_000,
            connections: 16,
            seconds: 10,
            seed: 1,
            only: Vec::new(),
        }
    }
}

/// The database to run against: the one given, or a fresh SQLite database
/// in a temporary directory that lives as long as this value.
pub struct BenchDb {
    pub config: Config,
    _tmp: Option<tempfile::TempDir>,
}

impl BenchDb {
    pub fn new(database_url: Option<String>) -> anyhow::Result<BenchDb> {
        match database_url {
            Some(url) => {
                let dir = std::env::temp_dir();
                let mut config = Config::for_data_dir(&dir);
                config.database_url = Some(url);
                Ok(BenchDb { config, _tmp: None })
            }
            None => {
                let tmp = tempfile::Builder::new().prefix("kehu-bench-").tempdir()?;
                let mut config = Config::for_data_dir(tmp.path());
                config.database_url = Some(crate::platform::db::sqlite_url(tmp.path()));
                Ok(BenchDb {
                    config,
                    _tmp: Some(tmp),
                })
            }
        }
    }

    pub fn url(&self) -> String {
        self.config.database_url()
    }

    pub fn engine(&self) -> &'static str {
        if self.config.is_sqlite() {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    }
}

/// Customers in the database, preparing it first as `kehu serve` would (creating a SQLite
/// file's directory, migrating, creating `admin`), so a new one counts 0 and the demo data
/// loaded next goes into a database the measuring server can sign in to.
pub async fn customer_count(db: &BenchDb) -> anyhow::Result<u64> {
    let app = crate::app::prepare(db.config.clone(), Clock::system(), None).await?;
    let n = customers::Entity::find().count(&app.state.db).await?;
    app.state.db.clone().close().await?;
    Ok(n)
}

/// Adds demo customers in this process (the CLI prefers a child process, so
/// that the memory the import used does not count as the server's).
pub async fn load_in_process(
    db: &BenchDb,
    customers: u64,
    seed: u64,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> anyhow::Result<demo::DemoReport> {
    let app = crate::app::prepare(db.config.clone(), Clock::system(), None).await?;
    let opts = demo::DemoOptions {
        customers,
        seed,
        ..Default::default()
    };
    Ok(demo::generate(&app.state, &AuditActor::system(), &opts, progress).await?)
}

/// One line of the result table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub measure: String,
    pub result: String,
    pub budget: String,
    /// Whether the budget is met; `None` where no budget applies here.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub engine: String,
    pub customers: u64,
    pub connections: usize,
    pub seconds: u64,
    pub release_build: bool,
    pub figures: Vec<Figure>,
}

impl BenchReport {
    /// The figures as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "Kehu benchmark: {}, {} customers, {} connections, {} s per phase, {} build, {} CPUs\n\n",
            self.engine,
            self.customers,
            self.connections,
            self.seconds,
            if self.release_build {
                "release"
            } else {
                "DEBUG (figures not meaningful)"
            },
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        let w0 = self
            .figures
            .iter()
            .map(|f| f.measure.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        let w1 = self
            .figures
            .iter()
            .map(|f| f.result.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let w2 = self
            .figures
            .iter()
            .map(|f| f.budget.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let pad = |s: &str, w: usize| {
            let n = s.chars().count();
            format!("{s}{}", " ".repeat(w.saturating_sub(n)))
        };
        out.push_str(&format!(
            "| {} | {} | {} | met |\n|{}|{}|{}|-----|\n",
            pad("measure", w0),
            pad("result", w1),
            pad("budget", w2),
            "-".repeat(w0 + 2),
            "-".repeat(w1 + 2),
            "-".repeat(w2 + 2),
        ));
        for f in &self.figures {
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                pad(&f.measure, w0),
                pad(&f.result, w1),
                pad(&f.budget, w2),
                pad(met, 3)
            ));
        }
        out
    }
}

/// Resident memory of this process (Linux), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    pub total: u64,
    /// Of it, pages of the database file that SQLite reads through its
    /// memory map: the operating system's cache of that file, shared with
    /// every process and taken back under memory pressure.
    pub mapped_database: u64,
}

impl Rss {
    /// What the server holds of its own.
    pub fn own(&self) -> u64 {
        self.total.saturating_sub(self.mapped_database)
    }
}

/// This process's [`Rss`], `file` being the SQLite database, if any.
pub fn rss_bytes(file: Option<&Path>) -> Option<Rss> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let file = file.and_then(|f| std::fs::canonicalize(f).ok());
    Some(rss_of_smaps(&smaps, file.as_deref()))
}

/// [`Rss`] from the text of `/proc/<pid>/smaps`: each mapping's header
/// line (address range, permissions, offset, device, inode, path) is
/// followed by its figures, `Rss:` among them, in kB.
fn rss_of_smaps(smaps: &str, file: Option<&Path>) -> Rss {
    let mut rss = Rss {
        total: 0,
        mapped_database: 0,
    };
    let mut in_file = false;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.contains('-') && !first.ends_with(':') {
            // The path is what follows the fifth field, spaces and all.
            let mut rest = line;
            for _ in 0..5 {
                rest = rest.trim_start();
                rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
            }
            in_file = file.is_some_and(|f| Path::new(rest.trim()) == f);
        } else if first == "Rss:" {
            let kb: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            rss.total += kb * 1024;
            if in_file {
                rss.mapped_database += kb * 1024;
            }
        }
    }
    rss
}

/// "393 MiB (340 MiB of it the database file's map)".
fn rss_text(rss: Option<Rss>) -> String {
    match rss {
        Some(r) if r.mapped_database > 0 => format!(
            "{} ({} of it the database file's map)",
            mib(Some(r.total)),
            mib(Some(r.mapped_database))
        ),
        Some(r) => mib(Some(r.total)),
        None => mib(None),
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a".to_owned(),
        |b| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0)),
    )
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

/// What one phase measured.
struct Phase {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    hist: Histogram<u64>,
    first_error: Option<String>,
    /// The slowest requests measured, slowest first, with their paths: what
    /// a tail is made of, to look at.
    slowest: Vec<(u64, String)>,
}

/// How many of the slowest requests a phase keeps.
const SLOWEST_KEPT: usize = 3;

/// Keeps `list` the [`SLOWEST_KEPT`] slowest of itself and `(micros, path)`.
fn keep_slowest(list: &mut Vec<(u64, String)>, micros: u64, path: &str) {
    let full = list.len() == SLOWEST_KEPT && list.last().is_some_and(|(m, _)| *m >= micros);
    if full || list.iter().any(|(m, p)| p == path && *m >= micros) {
        return;
    }
    list.retain(|(_, p)| p != path);
    let at = list.partition_point(|(m, _)| *m >= micros);
    list.insert(at, (micros, path.to_owned()));
    list.truncate(SLOWEST_KEPT);
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn p(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }
}

fn new_hist() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?)
}

/// What a worker sends next: a method, a path and maybe a JSON body.
type NextRequest =
    Arc<dyn Fn(&mut Rng, u64) -> (reqwest::Method, String, Option<String>) + Send + Sync>;

/// Runs `connections` workers, each on its own connection, for `duration`
/// (and at most `MAX_REQUESTS_PER_WORKER` requests each).
async fn phase(
    base: &str,
    token: &str,
    connections: usize,
    duration: Duration,
    seed: u64,
    expect: reqwest::StatusCode,
    next: NextRequest,
) -> anyhow::Result<Phase> {
    // The first requests open connections and fill caches: they run, but
    // only what follows a warm-up is counted.
    let warmup = (duration / 5).min(Duration::from_secs(1));
    let measured_from = Instant::now() + warmup;
    let deadline = measured_from + duration;
    let mut tasks = Vec::new();
    for w in 0..connections {
        let client = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        let base = base.to_owned();
        let auth = format!("Bearer {token}");
        let next = next.clone();
        let w64 = u64::try_from(w).unwrap_or(0);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::for_item(seed, w64);
            let mut hist = new_hist()?;
            let (mut ok, mut errors, mut first_error) = (0_u64, 0_u64, None);
            let mut slowest = Vec::new();
            let mut i = 0_u64;
            while Instant::now() < deadline && i < MAX_REQUESTS_PER_WORKER {
                let (method, path, body) = next(&mut rng, w64 * MAX_REQUESTS_PER_WORKER + i);
                i += 1;
                let mut req = client
                    .request(method, format!("{base}{path}"))
                    .header("authorization", &auth);
                if let Some(b) = body {
                    req = req.header("content-type", "application/json").body(b);
                }
                let t = Instant::now();
                let res = req.send().await;
                let outcome = match res {
                    Ok(r) => {
                        let status = r.status();
                        let bytes = r.bytes().await;
                        match bytes {
                            Ok(_) if status == expect => Ok(()),
                            Ok(b) => Err(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&b)
                                    .chars()
                                    .take(300)
                                    .collect::<String>()
                            )),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                match outcome {
                    Ok(()) if t < measured_from => {}
                    Ok(()) => {
                        ok += 1;
                        hist.saturating_record(micros.max(1));
                        keep_slowest(&mut slowest, micros, &path);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            anyhow::Ok((ok, errors, hist, first_error, slowest))
        }));
    }
    let mut total = Phase {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        hist: new_hist()?,
        first_error: None,
        slowest: Vec::new(),
    };
    for t in tasks {
        let (ok, errors, hist, first_error, slowest) = t.await??;
        for (micros, path) in slowest {
            keep_slowest(&mut total.slowest, micros, &path);
        }
        total.ok += ok;
        total.errors += errors;
        total.hist.add(&hist)?;
        if total.first_error.is_none() {
            total.first_error = first_error;
        }
    }
    total.elapsed = measured_from.elapsed();
    Ok(total)
}

/// Starts the server on the database and measures. `log` receives progress lines.
pub async fn measure(
    db: &BenchDb,
    opts: &BenchOptions,
    log: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<BenchReport> {
    let app = crate::app::prepare(db.config.clone(), Clock::system(), None).await?;
    let state = app.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = app.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let base = format!("http://{addr}");
    let result = run_phases(&state, &base, db, opts, log).await;
    server.abort();
    result
}

async fn run_phases(
    state: &crate::platform::state::AppState,
    base: &str,
    db: &BenchDb,
    opts: &BenchOptions,
    log: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<BenchReport> {
    let backend = state.db.get_database_backend();
    let row = state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM customers",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no customer statistics"))?;
    let count: i64 = row.try_get("", "n")?;
    let lo: i64 = row.try_get::<Option<i64>>("", "lo")?.unwrap_or(0);
    let hi: i64 = row.try_get::<Option<i64>>("", "hi")?.unwrap_or(0);
    anyhow::ensure!(count > 0, "the database holds no customers");
    let admin = auth::store::user_by_name(&state.db, "admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no admin user"))?;
    let (_, token) = auth::create_token(state, &AuditActor::system(), admin.id, "bench").await?;

    // Idle: the server is up on the loaded database and has answered one request.
    let warm = reqwest::Client::new()
        .get(format!("{base}/api/v1/customers/{lo}"))
        .bearer_auth(&token)
        .send()
        .await?;
    anyhow::ensure!(
        warm.status().is_success(),
        "warm-up GET failed: {}",
        warm.status()
    );
    let db_file = crate::platform::db::sqlite_file(&db.url());
    let rss_idle = rss_bytes(db_file.as_deref());
    log(&format!(
        "server on {base}, {count} customers, RSS at idle {}",
        rss_text(rss_idle)
    ));

    let secs = Duration::from_secs(opts.seconds.max(1));
    let conns = opts.connections.max(1);
    let mut figures = Vec::new();
    let scale_note = |n: u64| {
        if n >= 1_000_000 {
            String::new()
        } else {
            " (budget is at 1,000,000)".to_owned()
        }
    };
    let n_customers = u64::try_from(count).unwrap_or(0);

    let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
    if opts.runs(BenchPhase::Get) {
        // (a) GET one customer.
        log("GET /api/v1/customers/{id} …");
        let next: NextRequest = Arc::new(move |rng: &mut Rng, _| {
            let id = lo + i64::try_from(rng.next_u64() % span).unwrap_or(0);
            (
                reqwest::Method::GET,
                format!("/api/v1/customers/{id}"),
                None,
            )
        });
        let get = phase(
            base,
            &token,
            conns,
            secs,
            opts.seed,
            reqwest::StatusCode::OK,
            next.clone(),
        )
        .await?;
        report_errors(log, "GET", &get);
        // The bare stack in the same run: axum and the same driver read the same rows and
        // serialise them, with nothing else per request. Kehu's GET is reported as its share.
        log("the same GETs against a bare axum handler …");
        let (bare_base, bare_task) = bare_server(db).await?;
        let bare = phase(
            &bare_base,
            &token,
            conns,
            secs,
            opts.seed,
            reqwest::StatusCode::OK,
            next,
        )
        .await;
        bare_task.abort();
        let bare = bare?;
        report_errors(log, "bare GET", &bare);

        figures.push(Figure {
            measure: format!("GET one customer, {conns} connections"),
            result: format!("{:.0} req/s", get.rate()),
            budget: "≥ 20,000 req/s".into(),
            met: Some(get.rate() >= 20_000.0 && get.errors == 0),
        });
        figures.push(Figure {
            measure: "GET one customer p50 / p99".into(),
            result: format!("{} / {}", ms(get.p(0.5)), ms(get.p(0.99))),
            budget: "p99 < 5 ms".into(),
            met: Some(get.p(0.99) < 5_000),
        });
        let ratio = get.rate() / bare.rate().max(1e-9);
        figures.push(Figure {
            measure: format!("bare axum + Kehu's read of the same rows, {conns} connections"),
            result: format!("{:.0} req/s", bare.rate()),
            budget: String::new(),
            met: None,
        });
        figures.push(Figure {
            measure: "GET one customer: Kehu / bare stack".into(),
            result: format!("{ratio:.2}"),
            budget: "≥ 0.60".into(),
            met: Some(ratio >= 0.60 && get.errors == 0),
        });
    }

    if opts.runs(BenchPhase::Search) {
        // (b) Search as people type it: queries of every kind drawn at random from the data,
        // in the scopes of an admin, a sales manager and a sales rep.
        let pools = query_pools(state, lo, span, opts.seed).await?;
        let budget_ms = if state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            40
        } else {
            20
        };
        let search_secs = Duration::from_secs((opts.seconds / 4).max(1));
        let mut scopes = vec![("admin", token.clone())];
        for (scope, name) in [("manager", "mgr_east"), ("rep", "rep01")] {
            if let Some(u) = auth::store::user_by_name(&state.db, name).await? {
                let (_, t) =
                    auth::create_token(state, &AuditActor::system(), u.id, "bench").await?;
                scopes.push((scope, t));
            }
        }
        // The bare stack in the same run, at one connection: a page of 20 rows read along an
        // index and serialised. Each kind's p50 is reported as a multiple of its p50.
        let (bare_base, bare_task) = bare_server(db).await?;
        let bare = phase(
            &bare_base,
            &token,
            1,
            search_secs,
            opts.seed,
            reqwest::StatusCode::OK,
            Arc::new(|_: &mut Rng, _| {
                let path = "/api/v1/customers?per_page=20".to_owned();
                (reqwest::Method::GET, path, None)
            }),
        )
        .await;
        bare_task.abort();
        let bare = bare?;
        report_errors(log, "bare page", &bare);
        figures.push(Figure {
            measure: "bare axum + Kehu's read of a page of 20 customers, 1 conn p50 / p99".into(),
            result: format!("{} / {}", ms(bare.p(0.5)), ms(bare.p(0.99))),
            budget: String::new(),
            met: None,
        });
        let bare_p50 = bare.p(0.5).max(1) as f64;
        for (kind, pool) in &pools {
            let examples: Vec<String> = pool
                .iter()
                .take(4)
                .map(|p| urlencoding::decode(p).map_or_else(|_| p.clone(), |d| d.into_owned()))
                .collect();
            log(&format!(
                "search {kind}: {} queries, e.g. {}",
                pool.len(),
                examples.join(" ")
            ));
            let paths: Arc<Vec<String>> = Arc::new(
                pool.iter()
                    .map(|q| format!("/api/v1/customers?{q}&per_page=20"))
                    .collect(),
            );
            for (scope, scope_token) in &scopes {
                let paths = paths.clone();
                let s = phase(
                    base,
                    scope_token,
                    1,
                    search_secs,
                    opts.seed,
                    reqwest::StatusCode::OK,
                    Arc::new(move |rng: &mut Rng, _| {
                        let path = paths[rng.below(paths.len())].clone();
                        (reqwest::Method::GET, path, None)
                    }),
                )
                .await?;
                report_errors(log, "search", &s);
                let slowest: Vec<String> = s
                    .slowest
                    .iter()
                    .map(|(micros, path)| {
                        let q = path.trim_start_matches("/api/v1/customers?");
                        let q = urlencoding::decode(q).unwrap_or_else(|_| q.into());
                        format!("{q} {}", ms(*micros))
                    })
                    .collect();
                log(&format!("  {scope}: slowest {}", slowest.join(", ")));
                // A phase in which no request finished has no figure, and met no budget.
                let result = if s.ok == 0 {
                    format!("no answer within {} s", search_secs.as_secs())
                } else {
                    format!(
                        "{} / {} ({:.0} req/s; p50 {:.1}× bare)",
                        ms(s.p(0.5)),
                        ms(s.p(0.99)),
                        s.rate(),
                        s.p(0.5) as f64 / bare_p50
                    )
                };
                figures.push(Figure {
                    measure: format!("search {kind}, {scope}, 1 conn p50 / p99"),
                    result,
                    budget: format!("p99 < {budget_ms} ms{}", scale_note(n_customers)),
                    met: Some(s.ok > 0 && s.p(0.99) < budget_ms * 1000 && s.errors == 0),
                });
            }
        }
    }

    if opts.runs(BenchPhase::Create) {
        // (c) Creates through the API: unique names and credit codes.
        log("POST /api/v1/customers …");
        let base_pos = demo::EXTERNAL_CODE_BASE + n_customers;
        let seed = opts.seed;
        let counter = Arc::new(AtomicU64::new(0));
        let create = phase(
            base,
            &token,
            conns,
            secs,
            opts.seed,
            reqwest::StatusCode::CREATED,
            Arc::new(move |rng: &mut Rng, _| {
                let k = counter.fetch_add(1, Ordering::Relaxed);
                let name = demo::company_name(rng);
                let body = serde_json::json!({
                    "full_name": format!("{}第{}分公司", name.full, k + 1),
                    "short_name": name.short,
                    "credit_code": demo::credit_code(seed, base_pos + k),
                    "customer_type": "dealer",
                    "industry": name.industry,
                    "region": name.region,
                    "address": format!("{}市人民路{}号", name.city, k % 999 + 1),
                    "legal_representative": demo::person_name(rng),
                    "registered_capital": "5000000",
                    "contact_name": demo::person_name(rng),
                    "contact_phone": demo::mobile(rng),
                    "contact_title": "采购经理",
                    "confirm_duplicates": true,
                });
                (
                    reqwest::Method::POST,
                    "/api/v1/customers".to_owned(),
                    Some(body.to_string()),
                )
            }),
        )
        .await?;
        report_errors(log, "POST", &create);
        figures.push(Figure {
            measure: format!("create customer (POST), {conns} connections"),
            result: format!(
                "{:.0} /s (p50 {}, p99 {})",
                create.rate(),
                ms(create.p(0.5)),
                ms(create.p(0.99))
            ),
            budget: "≥ 2,000 /s".into(),
            met: Some(create.rate() >= 2_000.0 && create.errors == 0),
        });
    }

    // (d) Memory.
    let rss_after = rss_bytes(db_file.as_deref());
    // The budget is the server's own memory: the database file's mapped
    // pages are the file cache that a read call would have copied from.
    figures.push(Figure {
        measure: "server RSS at idle after loading".into(),
        result: rss_text(rss_idle),
        budget: format!(
            "< 150 MiB without the file's map{}",
            scale_note(n_customers)
        ),
        met: rss_idle.map(|r| r.own() < 150 * 1024 * 1024),
    });
    figures.push(Figure {
        measure: "server RSS after the run (incl. bench client)".into(),
        result: rss_text(rss_after),
        budget: String::new(),
        met: None,
    });
    Ok(BenchReport {
        engine: db.engine().to_owned(),
        customers: n_customers,
        connections: conns,
        seconds: opts.seconds,
        release_build: !cfg!(debug_assertions),
        figures,
    })
}

fn report_errors(log: &mut (dyn FnMut(&str) + Send), what: &str, p: &Phase) {
    if p.errors > 0 {
        log(&format!(
            "{what}: {} errors; first: {}",
            p.errors,
            p.first_error.as_deref().unwrap_or("?")
        ));
    }
}

/// The bare stack: a minimal server that reads rows the way Kehu reads them
/// (`platform::reads`: inline SQLite connections, the sqlx pool on PostgreSQL) and serialises
/// them, with no token, scope, owner, counts or middleware. It answers one customer
/// (`/api/v1/customers/{id}`, for GET) and a page of the 20 customers updated last
/// (`/api/v1/customers`, whatever the query, for search).
async fn bare_server(db: &BenchDb) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;
    use sea_orm::{QueryOrder, QuerySelect};
    async fn page(
        State(reads): State<Arc<crate::platform::reads::Reads>>,
    ) -> axum::response::Response {
        let newest = customers::Entity::find()
            .order_by_desc(customers::Column::UpdatedAt)
            .order_by_desc(customers::Column::Id)
            .limit(20);
        match reads.all::<customers::ActiveModel>(newest).await {
            Ok(rows) => {
                let items: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id,
                            "code": c.code,
                            "full_name": c.full_name,
                            "short_name": c.short_name,
                            "mnemonic": c.mnemonic,
                            "customer_type": c.customer_type,
                            "stage": c.stage,
                            "region": c.region,
                            "grade": c.grade,
                            "owner_id": c.owner_id,
                            "updated_at": c.updated_at,
                        })
                    })
                    .collect();
                axum::Json(serde_json::json!({ "items": items })).into_response()
            }
            Err(_) => reqwest::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    async fn one(
        State(reads): State<Arc<crate::platform::reads::Reads>>,
        Path(id): Path<i64>,
    ) -> axum::response::Response {
        match reads
            .one::<customers::ActiveModel>(customers::Entity::find_by_id(id))
            .await
        {
            Ok(Some(c)) => axum::Json(serde_json::json!({
                "id": c.id,
                "code": c.code,
                "full_name": c.full_name,
                "short_name": c.short_name,
                "mnemonic": c.mnemonic,
                "credit_code": c.credit_code,
                "customer_type": c.customer_type,
                "stage": c.stage,
                "region": c.region,
                "address": c.address,
                "owner_id": c.owner_id,
                "tags": c.tags,
                "grade": c.grade,
            }))
            .into_response(),
            Ok(None) => reqwest::StatusCode::NOT_FOUND.into_response(),
            Err(_) => reqwest::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let url = db.url();
    let conn = crate::platform::db::connect(&url).await?;
    let reads = Arc::new(crate::platform::reads::Reads::new(conn, &url));
    let router = axum::Router::new()
        .route("/api/v1/customers", axum::routing::get(page))
        .route("/api/v1/customers/{id}", axum::routing::get(one))
        .with_state(reads);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((format!("http://{addr}"), task))
}

/// Kinds of search people type, each with queries drawn from the customers of the database
/// (so every run asks for words of every frequency, not three chosen ones): one character, a
/// two-character word, a four-character word (often the commonest, 有限公司), pinyin initials of
/// two and three letters, the full pinyin of a city, a customer code, the start of a phone
/// number and of a credit code.
async fn query_pools(
    state: &crate::platform::state::AppState,
    lo: i64,
    span: u64,
    seed: u64,
) -> anyhow::Result<Vec<(&'static str, Vec<String>)>> {
    use crate::customers::entity::contacts;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let kinds = [
        "one character",
        "two-character word",
        "three-character word",
        "four-character word",
        "initials, 2 letters",
        "initials, 3 letters",
        "full pinyin of a city",
        "full pinyin of a surname",
        "customer code",
        "phone prefix",
        "credit code prefix",
    ];
    let mut pools: Vec<Vec<String>> = vec![Vec::new(); kinds.len()];
    let mut rng = Rng::for_item(seed, 7);
    for _ in 0..400 {
        let id = lo + i64::try_from(rng.next_u64() % span).unwrap_or(0);
        let Some(c) = customers::Entity::find_by_id(id).one(&state.db).await? else {
            continue;
        };
        let name: Vec<char> = c.full_name.chars().collect();
        let sub = |rng: &mut Rng, len: usize| -> Option<String> {
            (name.len() >= len).then(|| {
                let at = rng.below(name.len() - len + 1);
                name[at..at + len].iter().collect()
            })
        };
        pools[0].extend(sub(&mut rng, 1));
        pools[1].extend(sub(&mut rng, 2));
        pools[2].extend(sub(&mut rng, 3));
        pools[3].extend(sub(&mut rng, 4));
        if c.mnemonic.len() >= 3 && c.mnemonic.chars().all(|ch| ch.is_ascii_lowercase()) {
            pools[4].push(c.mnemonic[..2].to_owned());
            pools[5].push(c.mnemonic[..3].to_owned());
        }
        let city: String = name.iter().take(2).collect();
        let full = crate::customers::model::pinyin_keys(&city).full;
        if !full.is_empty() {
            pools[6].push(full);
        }
        // A surname as people type it, e.g. "zhang" (a legal representative's).
        if let Some(surname) = c
            .legal_representative
            .as_deref()
            .and_then(|n| n.chars().next())
        {
            let full = crate::customers::model::pinyin_keys(&surname.to_string()).full;
            if !full.is_empty() {
                pools[7].push(full);
            }
        }
        pools[8].push(c.code.clone());
        if let Some(contact) = contacts::Entity::find()
            .filter(contacts::Column::CustomerId.eq(c.id))
            .one(&state.db)
            .await?
        {
            let digits: String = contact
                .phones
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if digits.len() >= 7 {
                pools[9].push(digits[..7].to_owned());
            }
        }
        if let Some(cc) = c.credit_code.as_deref().filter(|cc| cc.len() >= 8) {
            pools[10].push(cc[..8].to_owned());
        }
    }
    let mut out: Vec<(&'static str, Vec<String>)> = kinds
        .into_iter()
        .zip(pools)
        .filter(|(_, p)| !p.is_empty())
        .map(|(kind, pool)| {
            let paths = pool
                .iter()
                .map(|q| format!("q={}", urlencoding::encode(q)))
                .collect();
            (kind, paths)
        })
        .collect();
    // Every kind again, each query with a sort and, for some, a filter of
    // the list, as people narrow a long list down.
    let sorts = [
        "code", "-code", "name", "-name", "created", "-created", "updated",
    ];
    let stages: Vec<String> = customers::Entity::find()
        .select_only()
        .column(customers::Column::Stage)
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut mixed = Vec::new();
    for (_, paths) in &out {
        for path in paths.iter().take(60) {
            let mut p = format!("{path}&sort={}", rng.pick(&sorts));
            if rng.chance(30) && !stages.is_empty() {
                p.push_str(&format!("&stage={}", rng.pick(&stages)));
            }
            mixed.push(p);
        }
    }
    out.push(("any kind, sorted and filtered", mixed));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Rss, SLOWEST_KEPT, keep_slowest, rss_of_smaps};

    #[test]
    fn resident_memory_is_split_at_the_database_files_map() {
        let smaps = "\
55d0c0000000-55d0c3000000 r-xp 00000000 fe:00 123 /usr/bin/kehu
Size:              49152 kB
Rss:                8000 kB
7f7c80000000-7f7cffff0000 r--s 00000000 fe:00 5398533                    /data/my kehu.db
Size:            2097088 kB
Rss:              300000 kB
7f7d00000000-7f7d00100000 rw-p 00000000 00:00 0
Rss:               40000 kB
7f7e971a6000-7f7e971ae000 rw-s 00000000 fe:00 5398539 /data/kehu.db-shm
Rss:                  32 kB
VmFlags: rd sh mr mw me ms sd
";
        let rss = rss_of_smaps(smaps, Some(Path::new("/data/my kehu.db")));
        assert_eq!(
            rss,
            Rss {
                total: 348_032 * 1024,
                mapped_database: 300_000 * 1024
            }
        );
        assert_eq!(rss.own(), 48_032 * 1024);
        assert_eq!(rss_of_smaps(smaps, None).mapped_database, 0);
    }

    #[test]
    fn the_slowest_requests_are_kept_slowest_first_once_per_path() {
        let mut list = Vec::new();
        for (micros, path) in [
            (5, "a"),
            (9, "b"),
            (1, "c"),
            (7, "d"),
            (8, "a"),
            (2, "e"),
            (3, "b"),
        ] {
            keep_slowest(&mut list, micros, path);
        }
        let kept: Vec<(u64, &str)> = list.iter().map(|(m, p)| (*m, p.as_str())).collect();
        assert_eq!(kept, [(9, "b"), (8, "a"), (7, "d")]);
        assert_eq!(list.len(), SLOWEST_KEPT);
    }
}
