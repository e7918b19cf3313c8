//! Test support shared by the integration suites of the library and the CLI:
//! a fresh database per test (SQLite in a temporary directory, or a new
//! PostgreSQL database when `KEHU_TEST_DATABASE_URL` is set) and a server on
//! port 0 with a controllable clock.
use std::net::SocketAddr;

use sea_orm::{ConnectionTrait, Database};

use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::state::AppState;

/// The password of `admin` in every test server.
pub const ADMIN_PASSWORD: &str = "violet-harbor-73-quilt";

/// The password [`TestServer::add_user`] gives a user: strong enough for the default policy,
/// without the user name in it, and different for every user.
pub fn password_of(name: &str) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    format!("Kq7-walnut-{}", &digest[..10])
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub data_dir: tempfile::TempDir,
    /// `None` for SQLite in `data_dir`.
    pub url: Option<String>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// SQLite, or PostgreSQL when `KEHU_TEST_DATABASE_URL` names a server
    /// database to create test databases from.
    pub async fn new() -> anyhow::Result<TestDb> {
        let data_dir = tempfile::tempdir()?;
        let Ok(base) = std::env::var("KEHU_TEST_DATABASE_URL") else {
            return Ok(TestDb {
                data_dir,
                url: None,
                pg: None,
            });
        };
        let name = format!(
            "kehu_t_{}",
            crate::platform::auth::password::random_secret(9)
                .to_ascii_lowercase()
                .replace(['-', '_'], "x")
        );
        let admin = Database::connect(&base).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await?;
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{}", &base[..i], name),
            None => anyhow::bail!("KEHU_TEST_DATABASE_URL must end in /DATABASE"),
        };
        Ok(TestDb {
            data_dir,
            url: Some(url),
            pg: Some((base, name)),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub fn config(&self) -> Config {
        let mut c = Config::for_data_dir(self.data_dir.path());
        c.database_url = self.url.clone();
        c
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside async code: use a runtime of our own on a thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(db) = Database::connect(&base).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = db.close().await;
                }
            });
        })
        .join();
    }
}

/// A running server on 127.0.0.1:0 with its own database.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    pub db: TestDb,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with_clock(Clock::system()).await
    }

    pub async fn start_with_clock(clock: Clock) -> anyhow::Result<TestServer> {
        Self::start_with(clock, |_| {}).await
    }

    /// A server whose configuration `configure` changes first (e.g. a public URL).
    pub async fn start_with(
        clock: Clock,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestServer> {
        let db = TestDb::new().await?;
        let mut config = db.config();
        configure(&mut config);
        let app =
            crate::app::prepare(config, clock.clone(), Some(ADMIN_PASSWORD.to_owned())).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = app.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(TestServer {
            base: format!("http://{addr}"),
            state: app.state,
            clock,
            db,
            task,
        })
    }

    /// Applies the policy in force with `from` replaced by `to` (which must occur), effective now.
    pub async fn edit_policy(&self, from: &str, to: &str) -> anyhow::Result<()> {
        let p = self.state.policy();
        anyhow::ensure!(p.body.contains(from), "the policy has no {from:?}");
        let text = p.body.replacen(from, to, 1);
        crate::policy::store::apply(
            &self.state.db,
            &crate::platform::audit::AuditActor::system(),
            &text,
            None,
            "edited by a test",
            self.clock.now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.state.reload_policy().await?;
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with its own cookie jar, not signed in.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    }

    /// A client signed in through the API.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<reqwest::Client> {
        let c = self.client();
        let r = c
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?;
        anyhow::ensure!(
            r.status() == 201,
            "login of {username} failed: {}",
            r.status()
        );
        Ok(c)
    }

    pub async fn admin(&self) -> anyhow::Result<reqwest::Client> {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Adds a user with the given roles; returns its id. The password is [`password_of`]`(name)`.
    pub async fn add_user(
        &self,
        name: &str,
        roles: &[&str],
        team_id: Option<i64>,
    ) -> anyhow::Result<i64> {
        let (u, _) = crate::platform::auth::create_user(
            &self.state,
            &crate::platform::audit::AuditActor::system(),
            crate::platform::auth::NewUser {
                username: name.into(),
                display_name: name.into(),
                password: Some(password_of(name)),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                team_id,
                language: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(u.id)
    }

    /// An API token acting as `user_id`.
    pub async fn token(&self, user_id: i64) -> anyhow::Result<String> {
        let (_, raw) = crate::platform::auth::create_token(
            &self.state,
            &crate::platform::audit::AuditActor::system(),
            user_id,
            "test",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(raw)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An API caller with a bearer token (tokens outlive the days tests move the clock by).
pub struct Caller {
    pub client: reqwest::Client,
    pub token: String,
    pub base: String,
}

/// A status and the JSON body (`Null` when the body is not JSON).
pub type Answer = (reqwest::StatusCode, serde_json::Value);

impl Caller {
    /// A new user with `roles` and a token acting as it; returns the caller and the user's id.
    pub async fn new(s: &TestServer, name: &str, roles: &[&str]) -> anyhow::Result<(Caller, i64)> {
        Self::in_team(s, name, roles, None).await
    }

    /// [`Caller::new`] in a team.
    pub async fn in_team(
        s: &TestServer,
        name: &str,
        roles: &[&str],
        team: Option<i64>,
    ) -> anyhow::Result<(Caller, i64)> {
        let id = s.add_user(name, roles, team).await?;
        Ok((Self::for_user(s, id).await?, id))
    }

    /// A caller acting as an existing user.
    pub async fn for_user(s: &TestServer, user_id: i64) -> anyhow::Result<Caller> {
        Ok(Caller {
            client: s.client(),
            token: s.token(user_id).await?,
            base: s.base.clone(),
        })
    }

    /// The first administrator.
    pub async fn admin(s: &TestServer) -> anyhow::Result<Caller> {
        Self::for_user(s, 1).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn answer(r: reqwest::Response) -> anyhow::Result<Answer> {
        let st = r.status();
        Ok((st, r.json().await.unwrap_or(serde_json::Value::Null)))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Self::answer(r).await
    }

    /// A page (or file) as text.
    pub async fn page(&self, path: &str) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let st = r.status();
        Ok((st, r.text().await?))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<Answer> {
        let r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        Self::answer(r).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    /// A multipart form: text fields and one file.
    pub async fn multipart(
        &self,
        path: &str,
        texts: &[(&str, &str)],
        file: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Answer> {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in texts {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((name, data)) = file {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(data).file_name(name.to_owned()),
            );
        }
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await?;
        Self::answer(r).await
    }
}

/// The fields an error body names, in order.
pub fn fields(v: &serde_json::Value) -> Vec<String> {
    v["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
