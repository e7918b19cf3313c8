//! The `kehu` command: argument parsing, then calls into the library.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kehu::app::describe;
use kehu::customers::io;
use kehu::platform::app::App;
use kehu::platform::audit::{self, AuditActor};
use kehu::platform::auth::{self, FirstAdmin, NewUser, TeamInput, UserPatch};
use kehu::platform::clock::Clock;
use kehu::platform::config::{Config, Overrides};
use kehu::platform::error::Error;
use kehu::platform::i18n::{self, Lang};
use kehu::platform::sheet::Format;
use kehu::policy::{Policy, store as policy_store};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kehu",
    version,
    about = "Kehu (客户): customer management for Chinese manufacturers and distributors"
)]
struct Cli {
    /// Optional TOML configuration file.
    #[arg(long, global = true, env = "KEHU_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, attachments).
    #[arg(long, global = true, env = "KEHU_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://… to run on PostgreSQL (default: SQLite in the data directory).
    #[arg(long, global = true, env = "KEHU_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "KEHU_BIND")]
        bind: Option<String>,
        /// Policy file to apply at start when it differs from the one in force.
        #[arg(long, env = "KEHU_POLICY")]
        policy: Option<PathBuf>,
        /// The address people reach Kehu at, for printed links (label QR codes).
        #[arg(long, env = "KEHU_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Create the database (and the first admin) or apply pending migrations, and exit.
    Migrate,
    /// Write an online backup of the database to FILE while Kehu keeps running
    /// (SQLite: a database file; PostgreSQL: a pg_dump archive).
    Backup {
        /// The backup file to write; it must not exist yet.
        file: PathBuf,
    },
    /// Restore a backup into an empty data directory (SQLite) or an empty
    /// database (--database-url), after checking its integrity and audit chain.
    Restore {
        /// A file written by `kehu backup` or by the scheduled backup.
        file: PathBuf,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCmd),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Check, show or apply the policy document.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Import records from an Excel (.xlsx) or CSV file.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Export records to an Excel (.xlsx) or CSV file.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Customer property (客供品): find an item by its number, issue, return,
    /// end steps, what is due; the same rules and refusals as the pages.
    #[command(subcommand)]
    Property(PropertyCmd),
    /// Generate realistic demo data: five sales teams with a manager each,
    /// sales reps and customers with contacts and interactions.
    Demo {
        /// Customers to add.
        #[arg(long, default_value_t = 1000)]
        customers: u64,
        /// Sales reps to have (password "orchid-demo-58-lantern", like the managers).
        #[arg(long, default_value_t = 20)]
        reps: u32,
        /// The same seed makes the same customers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Customers per transaction.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
    /// Measure the budgets of DESIGN.md: starts the server on 127.0.0.1 against
    /// --database-url (given on the command line; else a new temporary SQLite
    /// database), adds demo customers up to --customers, and prints a table.
    /// It writes to that database: never point it at production.
    Bench {
        /// Customers the database must hold (demo customers are added up to this).
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Seconds per throughput phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run only these phases (get, search, create), e.g. `--only create`;
        /// all when not given.
        #[arg(long, value_delimiter = ',')]
        only: Vec<kehu::bench::BenchPhase>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import customers: every bad row is listed; nothing is imported if any
    /// row is bad, unless --skip-invalid.
    Customers {
        /// An .xlsx or .csv file with the template's columns.
        file: PathBuf,
        /// Import the good rows and list the bad ones.
        #[arg(long)]
        skip_invalid: bool,
        /// Import rows whose name or phone matches another customer's.
        #[arg(long)]
        confirm_duplicates: bool,
        /// The user who imports (and owns rows without an owner).
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
}

#[derive(Subcommand)]
enum PropertyCmd {
    /// Items whose register, lot or serial number is NUMBER (a scanner's reading).
    Find {
        number: String,
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
    /// Issue to production against a work order.
    Issue {
        /// Register, lot or serial number of exactly one item.
        number: String,
        #[arg(long)]
        quantity: i64,
        /// The storage location it is taken from.
        #[arg(long)]
        from: String,
        /// The production order / work order.
        #[arg(long)]
        order: String,
        /// The order's customer code, when it is not the item's own customer
        /// (needs that customer's written consent on file).
        #[arg(long)]
        order_customer: Option<String>,
        /// Why a newer lot is issued while an older one is available (FIFO).
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
    /// Return from production into a storage location.
    Return {
        number: String,
        #[arg(long)]
        quantity: i64,
        #[arg(long)]
        to: String,
        /// Shots or uses to add to the usage counter.
        #[arg(long)]
        usage: Option<i64>,
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
    /// Return to the customer, scrap, destroy or transfer ownership, with the
    /// customer's written instruction on file (its document id).
    End {
        number: String,
        /// return_to_customer, scrap, destroy or transfer_ownership
        #[arg(long)]
        kind: String,
        #[arg(long)]
        quantity: i64,
        #[arg(long)]
        from: String,
        #[arg(long)]
        document: Option<i64>,
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
    /// What is due within the user's scope.
    Due {
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Export the customers the user may see (format from the extension).
    Customers {
        /// The file to write: .xlsx or .csv.
        file: PathBuf,
        /// The user who exports (needs the export permission; the export is audited).
        #[arg(long = "as", default_value = "admin")]
        as_user: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user (password from standard input, or generated and printed).
    Add {
        name: String,
        /// Role(s): admin, sales_manager, sales_rep, customer_service, quality, warehouse, engineering, finance, executive.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// Team name.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// zh-CN or en.
        #[arg(long)]
        language: Option<String>,
    },
    /// Set a new password (from standard input, or generated and printed).
    Passwd { name: String },
    /// List users.
    List,
    /// Disable a user: sessions end, tokens are revoked for good.
    Disable {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-enable a user (its old sessions and tokens stay ended).
    Enable {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Release a user's login lock-out after too many wrong passwords.
    Unlock { name: String },
    /// Replace a user's roles.
    SetRoles {
        name: String,
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put a user in a team (or `--none` to remove it from its team).
    SetTeam {
        name: String,
        #[arg(long, conflicts_with = "none")]
        team: Option<String>,
        #[arg(long)]
        none: bool,
    },
}

#[derive(Subcommand)]
enum TeamCmd {
    /// Add a team, optionally led by a sales manager.
    Add {
        name: String,
        #[arg(long)]
        manager: Option<String>,
    },
    /// Make a sales manager the team's leader (the one who sees its customers).
    SetManager {
        /// Team name.
        team: String,
        /// The sales manager's user name.
        user: String,
    },
    /// List teams.
    List,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create an API token for a user and print it once.
    Create {
        /// The user the token acts as.
        user: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a user's tokens (never the secrets).
    List { user: String },
    /// Revoke one of a user's tokens by its id.
    Revoke { user: String, id: i64 },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Validate a policy file; prints every problem with its line.
    Check { file: PathBuf },
    /// Print the policy in force.
    Show,
    /// Validate and store a policy file as a new version.
    Apply {
        file: PathBuf,
        /// When it comes into force (default: now): a date such as 2027-01-01
        /// (its start), a date and time 2027-01-01T08:00 in the policy's time
        /// zone, or RFC 3339.
        #[arg(long)]
        effective_from: Option<String>,
        #[arg(long, default_value = "applied with kehu policy apply")]
        comment: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain; exits non-zero naming the first broken entry.
    Verify,
}

#[derive(Args)]
struct Nothing;

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `bench` writes to its database: only a URL typed on its command line
    // counts, never one inherited from KEHU_DATABASE_URL or a config file.
    let url_typed = matches.subcommand().is_some_and(|(_, sub)| {
        sub.value_source("database_url") == Some(clap::parser::ValueSource::CommandLine)
    }) || matches.value_source("database_url")
        == Some(clap::parser::ValueSource::CommandLine);
    BENCH_URL_TYPED.store(url_typed, std::sync::atomic::Ordering::Relaxed);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kehu: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        // `kehu policy show | head` closes the pipe early: not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(err) => eprintln!("kehu: {}", describe(err)),
                None => eprintln!("kehu: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

static BENCH_URL_TYPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn tr(key: &str, args: &[(&str, String)]) -> String {
    i18n::tr(Lang::from_env(), key, args)
}

fn load_config(cli: &Cli, serve: Overrides) -> anyhow::Result<Config> {
    Config::load(
        cli.config.as_deref(),
        &Overrides {
            data_dir: cli.data_dir.clone(),
            database_url: cli.database_url.clone(),
            ..serve
        },
    )
}

/// The existing database for a one-shot command: creates and migrates nothing
/// (only `serve`, `migrate` and `restore` do). A policy file from the
/// environment is for `serve` only.
async fn open(cli: &Cli) -> anyhow::Result<App> {
    let mut config = load_config(cli, Overrides::default())?;
    config.policy = None;
    kehu::app::open(config, Clock::system()).await
}

/// What `serve` and `migrate` do first: create or migrate the database and create `admin` on
/// an empty one, saying so (a generated password on standard error, once).
async fn initialise(config: Config) -> anyhow::Result<App> {
    let app = kehu::app::prepare(
        config,
        Clock::system(),
        std::env::var("KEHU_ADMIN_PASSWORD").ok(),
    )
    .await?;
    report_first_admin(&app.first_admin);
    Ok(app)
}

fn report_first_admin(first: &FirstAdmin) {
    match first {
        FirstAdmin::Generated(pw) => {
            eprintln!("{}", tr("cli.admin_generated", &[("password", pw.clone())]));
        }
        FirstAdmin::Created => eprintln!("{}", tr("cli.admin_created", &[])),
        FirstAdmin::Exists => {}
    }
}

/// A password piped on standard input, or none (then one is generated).
fn password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok(Some(pw).filter(|p| !p.is_empty()))
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEHU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // Colour only for a person at a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve {
            bind,
            policy,
            public_url,
        } => {
            let config = load_config(
                &cli,
                Overrides {
                    bind: bind.clone(),
                    policy: policy.clone(),
                    public_url: public_url.clone(),
                    ..Default::default()
                },
            )?;
            let json_logs = config.log_format == "json";
            init_tracing(json_logs);
            let bind = config.bind.clone();
            let app = initialise(config).await?;
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            let url = format!("http://{addr}");
            if json_logs {
                // One format on standard output, so a log collector parses every line.
                tracing::info!(url = %url, "{}", tr("cli.serving", &[("url", url.clone())]));
            } else {
                println!("{}", tr("cli.serving", &[("url", url)]));
            }
            kehu::serve(app, listener).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            // Creates the database (and the first admin) or brings it up to this version; a
            // policy file from the environment is for `serve` only.
            let mut config = load_config(&cli, Overrides::default())?;
            config.policy = None;
            initialise(config).await?;
            println!("{}", tr("cli.migrated", &[]));
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => {
            let app = open(&cli).await?;
            let taken =
                kehu::platform::backup::take(&app.state, &AuditActor::command_line(), file).await?;
            println!(
                "{}",
                tr(
                    "cli.backup_done",
                    &[
                        ("file", taken.file.display().to_string()),
                        ("size", human_size(taken.bytes)),
                    ]
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let config = load_config(&cli, Overrides::default())?;
            let restored = kehu::platform::backup::restore(&config, file).await?;
            println!(
                "{}",
                tr(
                    "cli.restore_done",
                    &[
                        ("database", restored.database),
                        ("count", restored.audit_entries.to_string()),
                    ]
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User(cmd) => user(&cli, cmd).await,
        Command::Team(cmd) => team(&cli, cmd).await,
        Command::Token(cmd) => token(&cli, cmd).await,
        Command::Policy(cmd) => policy(&cli, cmd).await,
        Command::Import(cmd) => import(&cli, cmd).await,
        Command::Export(cmd) => export(&cli, cmd).await,
        Command::Property(cmd) => property(&cli, cmd).await,
        Command::Demo {
            customers,
            reps,
            seed,
            batch,
        } => {
            let app = open(&cli).await?;
            let opts = kehu::demo::DemoOptions {
                customers: *customers,
                reps: *reps,
                seed: *seed,
                batch: *batch,
            };
            let bar = progress_bar(*customers);
            let report = kehu::demo::generate(&app.state, &cli_actor(), &opts, &mut |done, _| {
                bar.set_position(done)
            })
            .await;
            bar.finish_and_clear();
            let report = report?;
            print_demo_report(&report);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            customers,
            connections,
            seconds,
            seed,
            only,
        } => {
            let opts = kehu::bench::BenchOptions {
                customers: *customers,
                connections: *connections,
                seconds: *seconds,
                seed: *seed,
                only: only.clone(),
            };
            bench(&cli, opts).await
        }
        Command::Audit(AuditCmd::Verify) => {
            let app = open(&cli).await?;
            let report = audit::verify(&app.state.db).await?;
            match report.broken {
                None => {
                    println!(
                        "{}",
                        tr("cli.audit_ok", &[("count", report.entries.to_string())])
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    eprintln!(
                        "{}",
                        tr(
                            "cli.audit_broken",
                            &[
                                ("seq", b.seq.to_string()),
                                ("id", b.id.to_string()),
                                ("reason", b.reason)
                            ]
                        )
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Changes made from the command line are attributed to the operating-system user.
fn cli_actor() -> AuditActor {
    AuditActor::command_line()
}

/// A file size for people: 1.4 MiB.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

async fn team_id_by_name(app: &App, name: &str) -> anyhow::Result<i64> {
    auth::list_teams(&app.state)
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.id)
        .ok_or_else(|| anyhow::anyhow!(tr("cli.team_unknown", &[("team", name.to_owned())])))
}

async fn user(cli: &Cli, cmd: &UserCmd) -> anyhow::Result<ExitCode> {
    let app = open(cli).await?;
    let state = &app.state;
    match cmd {
        UserCmd::Add {
            name,
            roles,
            team,
            display_name,
            language,
        } => {
            let team_id = match team {
                Some(t) => Some(team_id_by_name(&app, t).await?),
                None => None,
            };
            let (u, generated) = auth::create_user(
                state,
                &cli_actor(),
                NewUser {
                    username: name.clone(),
                    display_name: display_name.clone().unwrap_or_default(),
                    password: password_from_stdin()?,
                    roles: roles.clone(),
                    team_id,
                    language: language.clone(),
                },
            )
            .await?;
            println!(
                "{}",
                tr(
                    "cli.user_added",
                    &[("user", u.username.clone()), ("id", u.id.to_string())]
                )
            );
            if let Some(pw) = generated {
                println!("{}", tr("cli.password_generated", &[("password", pw)]));
            }
            report_leads(state, u.id, u.team_id).await?;
        }
        UserCmd::Passwd { name } => {
            let u = auth::get_user_by_name(state, name).await?;
            let generated =
                auth::set_password(state, &cli_actor(), u.id, password_from_stdin()?).await?;
            println!("{}", tr("cli.password_set", &[("user", u.username)]));
            if let Some(pw) = generated {
                println!("{}", tr("cli.password_generated", &[("password", pw)]));
            }
        }
        UserCmd::List => {
            let teams = auth::list_teams(state).await?;
            let mut out = std::io::stdout().lock();
            for u in auth::list_users(state).await? {
                let team = u
                    .team_id
                    .and_then(|id| teams.iter().find(|t| t.id == id))
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| "-".into());
                let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    u.username,
                    u.display_name,
                    roles.join(","),
                    team,
                    if u.active { "active" } else { "disabled" }
                )?;
            }
        }
        UserCmd::Disable { name, reason } | UserCmd::Enable { name, reason } => {
            let active = matches!(cmd, UserCmd::Enable { .. });
            let u = auth::get_user_by_name(state, name).await?;
            let patch = UserPatch {
                version: u.version,
                active: Some(active),
                reason: reason.clone(),
                ..Default::default()
            };
            auth::update_user(state, &cli_actor(), u.id, patch).await?;
            let key = if active {
                "cli.user_enabled"
            } else {
                "cli.user_disabled"
            };
            println!("{}", tr(key, &[("user", u.username)]));
        }
        UserCmd::Unlock { name } => {
            let u = auth::get_user_by_name(state, name).await?;
            let cleared = auth::release_lockout(state, &cli_actor(), u.id).await?;
            println!(
                "{}",
                tr(
                    "cli.user_unlocked",
                    &[("user", u.username), ("count", cleared.to_string())]
                )
            );
        }
        UserCmd::SetRoles {
            name,
            roles,
            reason,
        } => {
            let u = auth::get_user_by_name(state, name).await?;
            let patch = UserPatch {
                version: u.version,
                roles: Some(roles.clone()),
                reason: reason.clone(),
                ..Default::default()
            };
            auth::update_user(state, &cli_actor(), u.id, patch).await?;
            println!("{}", tr("cli.user_updated", &[("user", u.username)]));
        }
        UserCmd::SetTeam { name, team, none } => {
            let u = auth::get_user_by_name(state, name).await?;
            let team_id = match (team, none) {
                (Some(t), _) => Some(team_id_by_name(&app, t).await?),
                (None, true) => None,
                (None, false) => anyhow::bail!(tr("cli.team_or_none", &[])),
            };
            let patch = UserPatch {
                version: u.version,
                team_id: Some(team_id),
                ..Default::default()
            };
            let after = auth::update_user(state, &cli_actor(), u.id, patch).await?;
            println!("{}", tr("cli.user_updated", &[("user", u.username)]));
            report_leads(state, after.id, after.team_id).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Says so when the user now leads its team (a sales manager put in a team
/// without a manager becomes its manager).
async fn report_leads(
    state: &kehu::platform::state::AppState,
    user_id: i64,
    team_id: Option<i64>,
) -> anyhow::Result<()> {
    if let Some(team_id) = team_id {
        let team = auth::get_team(state, team_id).await?;
        if team.manager_id == Some(user_id) {
            println!("{}", tr("cli.user_leads_team", &[("team", team.name)]));
        }
    }
    Ok(())
}

async fn team(cli: &Cli, cmd: &TeamCmd) -> anyhow::Result<ExitCode> {
    let app = open(cli).await?;
    match cmd {
        TeamCmd::Add { name, manager } => {
            let manager_id = match manager {
                Some(m) => Some(auth::get_user_by_name(&app.state, m).await?.id),
                None => None,
            };
            let t = auth::create_team(
                &app.state,
                &cli_actor(),
                TeamInput {
                    name: name.clone(),
                    manager_id,
                    version: None,
                },
            )
            .await?;
            println!(
                "{}",
                tr(
                    "cli.team_added",
                    &[("team", t.name), ("id", t.id.to_string())]
                )
            );
        }
        TeamCmd::SetManager { team, user } => {
            let id = team_id_by_name(&app, team).await?;
            let current = auth::get_team(&app.state, id).await?;
            let manager = auth::get_user_by_name(&app.state, user).await?;
            auth::update_team(
                &app.state,
                &cli_actor(),
                id,
                TeamInput {
                    name: current.name.clone(),
                    manager_id: Some(manager.id),
                    version: Some(current.version),
                },
            )
            .await?;
            println!(
                "{}",
                tr(
                    "cli.team_manager_set",
                    &[("team", current.name), ("user", manager.username)]
                )
            );
        }
        TeamCmd::List => {
            let users = auth::list_users(&app.state).await?;
            for t in auth::list_teams(&app.state).await? {
                let manager = t
                    .manager_id
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map(|u| u.username.clone())
                    .unwrap_or_else(|| "-".into());
                println!("{}\t{}", t.name, manager);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(cli: &Cli, cmd: &TokenCmd) -> anyhow::Result<ExitCode> {
    let app = open(cli).await?;
    match cmd {
        TokenCmd::Create { user, name } => {
            let u = auth::get_user_by_name(&app.state, user).await?;
            let (_, secret) = auth::create_token(&app.state, &cli_actor(), u.id, name).await?;
            println!("{secret}");
        }
        TokenCmd::List { user } => {
            let u = auth::get_user_by_name(&app.state, user).await?;
            for t in auth::list_tokens(&app.state, u.id).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked".to_owned(),
                    (None, Some(e)) => format!("expires {}", e.to_rfc3339()),
                    (None, None) => "no expiry".to_owned(),
                };
                let used = t
                    .last_used_at
                    .map(|u| u.to_rfc3339())
                    .unwrap_or_else(|| "never used".into());
                println!("{}\t{}\t{}…\t{}\t{}", t.id, t.name, t.prefix, used, state);
            }
        }
        TokenCmd::Revoke { user, id } => {
            let u = auth::get_user_by_name(&app.state, user).await?;
            auth::revoke_token(&app.state, &cli_actor(), u.id, *id).await?;
            println!("{}", tr("cli.token_revoked", &[("id", id.to_string())]));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints policy issues as `file:line: field: message`, the form editors jump to.
fn print_issues(file: &std::path::Path, issues: &[kehu::policy::PolicyIssue], lang: Lang) {
    for i in issues {
        let line = i.line.map(|l| l.to_string()).unwrap_or_else(|| "-".into());
        eprintln!(
            "{}:{}: {}: {}",
            file.display(),
            line,
            i.field,
            i.message(lang.as_str())
        );
    }
    eprintln!(
        "{}",
        tr("cli.policy_invalid", &[("count", issues.len().to_string())])
    );
}

async fn policy(cli: &Cli, cmd: &PolicyCmd) -> anyhow::Result<ExitCode> {
    let lang = Lang::from_env();
    match cmd {
        PolicyCmd::Check { file } => {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
            match Policy::from_toml(&text) {
                Ok(_) => {
                    println!(
                        "{}",
                        tr("cli.policy_valid", &[("file", file.display().to_string())])
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(issues) => {
                    print_issues(file, &issues, lang);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        PolicyCmd::Show => {
            let app = open(cli).await?;
            let p = app.state.policy();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                kehu::policy::show_header(p.version, p.effective_from)
            )?;
            write!(out, "{}", kehu::policy::without_show_header(&p.body))?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Apply {
            file,
            effective_from,
            comment,
        } => {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
            // What `policy show` printed above the document is not part of it.
            let text = kehu::policy::without_show_header(&text);
            if let Err(issues) = Policy::from_toml(text) {
                print_issues(file, &issues, lang);
                return Ok(ExitCode::FAILURE);
            }
            let app = open(cli).await?;
            let now = app.state.clock.now();
            let effective_from = match effective_from {
                None => None,
                Some(s) => {
                    let tz = app.state.policy().policy.timezone();
                    match kehu::policy::parse_effective_from(s, tz) {
                        Some(t) => Some(t),
                        None => {
                            anyhow::bail!(tr("cli.effective_from_format", &[("value", s.clone())]))
                        }
                    }
                }
            };
            match policy_store::apply(
                &app.state.db,
                &cli_actor(),
                text,
                effective_from,
                comment,
                now,
            )
            .await
            {
                Ok(v) => {
                    println!(
                        "{}",
                        tr("cli.policy_applied", &[("version", v.version.to_string())])
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("kehu: {}", describe(&e));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// A user acting from the command line (imports, exports), as the service
/// functions see a signed-in user.
async fn actor_named(app: &App, name: &str) -> anyhow::Result<auth::Actor> {
    let u = auth::get_user_by_name(&app.state, name).await?;
    if !u.active {
        anyhow::bail!(tr("cli.user_inactive", &[("user", u.username)]));
    }
    Ok(auth::Actor {
        user_id: u.id,
        username: u.username,
        display_name: u.display_name,
        roles: u.roles,
        team_id: u.team_id,
        language: u.language,
        csrf_token: None,
        session_id: None,
    })
}

fn file_format(file: &std::path::Path) -> anyhow::Result<Format> {
    let name = file.display().to_string();
    Format::from_filename(&name)
        .ok_or_else(|| anyhow::anyhow!(tr("cli.file_format", &[("file", name)])))
}

async fn import(cli: &Cli, cmd: &ImportCmd) -> anyhow::Result<ExitCode> {
    let ImportCmd::Customers {
        file,
        skip_invalid,
        confirm_duplicates,
        as_user,
    } = cmd;
    let format = file_format(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let app = open(cli).await?;
    let actor = actor_named(&app, as_user).await?;
    let lang = Lang::from_env();
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:16} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let shown = bar.clone();
    let progress: io::Progress = Arc::new(move |stage, done, total| {
        let key = match stage {
            io::Stage::Reading => "cli.import_reading",
            io::Stage::Validating => "cli.import_validating",
            io::Stage::Saving => "cli.import_saving",
        };
        shown.set_message(tr(key, &[]));
        shown.set_length(total as u64);
        shown.set_position(done as u64);
    });
    let options = io::ImportOptions {
        skip_invalid: *skip_invalid,
        confirm_duplicates: *confirm_duplicates,
    };
    let result = i18n::with_lang(
        lang,
        io::import(&app.state, &actor, bytes, format, options, progress),
    )
    .await;
    bar.finish_and_clear();
    let report = result?;
    for e in &report.errors {
        eprintln!(
            "{}",
            tr(
                "cli.import_row_error",
                &[
                    ("row", e.row.to_string()),
                    ("column", e.column.clone().unwrap_or_else(|| "-".into())),
                    ("message", e.message.clone()),
                ]
            )
        );
    }
    if report.imported == 0 {
        if report.errors.is_empty() {
            eprintln!("{}", tr("cli.import_nothing", &[]));
        } else {
            eprintln!(
                "{}",
                tr(
                    "cli.import_refused",
                    &[("count", report.bad_rows().to_string())]
                )
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}",
        tr(
            "cli.import_done",
            &[
                ("imported", report.imported.to_string()),
                ("rows", report.rows.to_string()),
            ]
        )
    );
    if report.skipped > 0 {
        println!(
            "{}",
            tr(
                "cli.import_skipped",
                &[("count", report.skipped.to_string())]
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(cli: &Cli, cmd: &ExportCmd) -> anyhow::Result<ExitCode> {
    let ExportCmd::Customers { file, as_user } = cmd;
    let format = file_format(file)?;
    let app = open(cli).await?;
    let actor = actor_named(&app, as_user).await?;
    let download = i18n::with_lang(
        Lang::from_env(),
        io::export(
            &app.state,
            &actor,
            &kehu::customers::CustomerFilter::default(),
            format,
        ),
    )
    .await?;
    std::fs::write(file, &download.bytes).with_context(|| format!("{}", file.display()))?;
    println!(
        "{}",
        tr(
            "cli.export_done",
            &[
                ("count", download.rows.to_string()),
                ("file", file.display().to_string())
            ]
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The one item a number names (refused when none or several match).
async fn property_item(
    app: &App,
    actor: &auth::Actor,
    number: &str,
) -> anyhow::Result<kehu::property::ItemView> {
    let found = kehu::property::find(&app.state, actor, number).await?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!(tr("cli.property_none", &[("number", number.to_owned())])),
        _ => anyhow::bail!(tr(
            "cli.property_several",
            &[
                ("number", number.to_owned()),
                ("count", found.len().to_string())
            ]
        )),
    }
}

fn print_item(i: &kehu::property::ItemView) {
    let places: Vec<String> = i
        .balances
        .iter()
        .map(|b| format!("{} {}", b.location, b.quantity))
        .collect();
    println!(
        "{}\t{}\t{}\t{} {}\t{}\t{}",
        i.register_no
            .clone()
            .unwrap_or_else(|| format!("#{}", i.id)),
        i.customer.name,
        i.item_name,
        i.balance,
        i.unit,
        i.state.as_str(),
        places.join(", ")
    );
    for b in &i.blocks {
        println!("  ! {b}");
    }
}

async fn property(cli: &Cli, cmd: &PropertyCmd) -> anyhow::Result<ExitCode> {
    use kehu::property as p;
    let app = open(cli).await?;
    let lang = Lang::from_env();
    let as_user = match cmd {
        PropertyCmd::Find { as_user, .. }
        | PropertyCmd::Issue { as_user, .. }
        | PropertyCmd::Return { as_user, .. }
        | PropertyCmd::End { as_user, .. }
        | PropertyCmd::Due { as_user } => as_user,
    };
    let actor = actor_named(&app, as_user).await?;
    let state = &app.state;
    let done = i18n::with_lang(lang, async {
        match cmd {
            PropertyCmd::Find { number, .. } => {
                let found = p::find(state, &actor, number).await?;
                if found.is_empty() {
                    anyhow::bail!(tr("cli.property_none", &[("number", number.clone())]));
                }
                for i in found {
                    print_item(&i);
                }
                Ok(None)
            }
            PropertyCmd::Issue {
                number,
                quantity,
                from,
                order,
                order_customer,
                reason,
                ..
            } => {
                let item = property_item(&app, &actor, number).await?;
                let order_customer_id = match order_customer {
                    None => None,
                    Some(code) => {
                        let filter = kehu::customers::CustomerFilter {
                            q: Some(code.clone()),
                            ..Default::default()
                        };
                        let (found, _) = kehu::customers::search(state, &actor, &filter).await?;
                        match found.iter().find(|c| &c.code == code) {
                            Some(c) => Some(c.id),
                            None => anyhow::bail!(tr("property.customer_unknown", &[])),
                        }
                    }
                };
                let input = p::MoveInput {
                    version: Some(item.version),
                    kind: Some("issue".into()),
                    quantity: Some(*quantity),
                    from_location: Some(from.clone()),
                    order_no: Some(order.clone()),
                    order_customer_id,
                    reason: reason.clone(),
                    ..Default::default()
                };
                Ok(Some(p::move_item(state, &actor, item.id, input).await?))
            }
            PropertyCmd::Return {
                number,
                quantity,
                to,
                usage,
                ..
            } => {
                let item = property_item(&app, &actor, number).await?;
                let input = p::MoveInput {
                    version: Some(item.version),
                    kind: Some("return_from_production".into()),
                    quantity: Some(*quantity),
                    to_location: Some(to.clone()),
                    usage: *usage,
                    ..Default::default()
                };
                Ok(Some(p::move_item(state, &actor, item.id, input).await?))
            }
            PropertyCmd::End {
                number,
                kind,
                quantity,
                from,
                document,
                ..
            } => {
                let item = property_item(&app, &actor, number).await?;
                let input = p::EndInput {
                    version: Some(item.version),
                    kind: Some(kind.clone()),
                    quantity: Some(*quantity),
                    from_location: Some(from.clone()),
                    document_id: *document,
                    note: None,
                };
                Ok(Some(p::end(state, &actor, item.id, input).await?))
            }
            PropertyCmd::Due { .. } => {
                let due = p::due(state, &actor).await?;
                for (key, n) in [
                    ("property.list.inspection", due.pending_inspection.len()),
                    ("property.list.care", due.care.len()),
                    ("property.list.idle", due.idle.len()),
                    ("property.list.abnormalities", due.abnormalities.len()),
                    ("property.list.notices", due.late_notices.len()),
                    ("property.list.counts", due.counts.len()),
                ] {
                    println!("{}\t{n}", tr(key, &[]));
                }
                for i in due.care.iter().chain(&due.idle) {
                    print_item(i);
                }
                Ok(None)
            }
        }
    })
    .await?;
    if let Some(item) = done {
        print_item(&item);
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} {per_sec} {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn print_demo_report(r: &kehu::demo::DemoReport) {
    println!(
        "{}",
        tr(
            "cli.demo_done",
            &[
                ("count", r.customers.to_string()),
                ("first", r.first_code.clone().unwrap_or_default()),
                ("last", r.last_code.clone().unwrap_or_default()),
                ("contacts", r.contacts.to_string()),
                ("interactions", r.interactions.to_string()),
                ("seconds", format!("{:.1}", r.seconds)),
                ("rate", format!("{:.0}", r.customers_per_second())),
            ]
        )
    );
    println!("{}", tr("cli.demo_teams", &[("teams", r.teams.join(", "))]));
    println!(
        "{}",
        tr(
            "cli.demo_users",
            &[
                ("password", r.password.to_owned()),
                ("managers", r.managers.join(", ")),
                ("reps", r.reps.join(", ")),
            ]
        )
    );
}

async fn bench(cli: &Cli, opts: kehu::bench::BenchOptions) -> anyhow::Result<ExitCode> {
    use kehu::bench::{self, BenchDb};
    let (customers, seed) = (opts.customers, opts.seed);
    let typed = BENCH_URL_TYPED.load(std::sync::atomic::Ordering::Relaxed);
    let url = cli.database_url.clone().filter(|_| typed);
    if url.is_none() {
        eprintln!("{}", tr("cli.bench_temp_db", &[]));
    }
    let db = BenchDb::new(url)?;
    let have = bench::customer_count(&db).await?;
    if have < customers {
        let missing = customers - have;
        eprintln!(
            "{}",
            tr(
                "cli.bench_loading",
                &[("have", have.to_string()), ("missing", missing.to_string())]
            )
        );
        // A child process loads the data, so that the memory the import
        // used is not counted as the server's.
        let status = std::env::current_exe().ok().map(|exe| {
            std::process::Command::new(exe)
                .arg("--database-url")
                .arg(db.url())
                .arg("demo")
                .arg("--customers")
                .arg(missing.to_string())
                .arg("--seed")
                .arg(seed.to_string())
                .env_remove("KEHU_CONFIG")
                .status()
        });
        match status {
            Some(Ok(s)) if s.success() => {}
            Some(Ok(s)) => anyhow::bail!("kehu demo failed: {s}"),
            _ => {
                let bar = progress_bar(missing);
                let r = bench::load_in_process(&db, missing, seed, &mut |done, _| {
                    bar.set_position(done)
                })
                .await;
                bar.finish_and_clear();
                print_demo_report(&r?);
            }
        }
    }
    let report = bench::measure(&db, &opts, &mut |line| eprintln!("{line}")).await?;
    println!("{}", report.table());
    Ok(ExitCode::SUCCESS)
}
