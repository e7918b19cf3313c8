//! Languages: the caller's language is fixed once per request (user preference,
//! then the `lang` cookie, then Accept-Language, then policy default) and kept in
//! a task-local, so errors and pages translate without threading it everywhere.
use std::borrow::Cow;

/// Supported UI languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first supported language of an Accept-Language header, by q order.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut langs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::parse(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        langs.sort_by(|a, b| b.0.total_cmp(&a.0));
        langs.first().map(|l| l.1)
    }

    /// The CLI's language: `KEHU_LANG`, then `LANG`, else Chinese.
    pub fn from_env() -> Lang {
        std::env::var("KEHU_LANG")
            .ok()
            .and_then(|v| Lang::parse(&v))
            .or_else(|| std::env::var("LANG").ok().and_then(|v| Lang::parse(&v)))
            .unwrap_or(Lang::Zh)
    }
}

/// What the code serving one request needs to know about it without being
/// handed it: its language, whether it is a page or the API, who is signed
/// in and the CSRF token its forms must carry.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub lang: Lang,
    pub page: bool,
    pub path: String,
    pub actor: Option<crate::platform::auth::Actor>,
    pub csrf: String,
    /// The policy's time zone, for showing times.
    pub tz: chrono::FixedOffset,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

/// Runs a future with the request's context in scope.
pub async fn scope<F: std::future::Future>(ctx: RequestCtx, f: F) -> F::Output {
    CTX.scope(ctx, f).await
}

/// Runs a future in a language outside any request (the command line), so
/// that service functions translate their messages into it.
pub async fn with_lang<F: std::future::Future>(lang: Lang, f: F) -> F::Output {
    let ctx = RequestCtx {
        lang,
        page: false,
        path: String::new(),
        actor: None,
        csrf: String::new(),
        tz: tz(),
    };
    CTX.scope(ctx, f).await
}

/// Runs CPU-heavy work (reading a large spreadsheet) on the blocking pool,
/// keeping the current request's context (its language) for that work.
pub async fn spawn_blocking<F, R>(f: F) -> Result<R, tokio::task::JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = request();
    tokio::task::spawn_blocking(move || within(ctx, f)).await
}

/// Runs `f` in a request's context (from [`request`]), as on another thread
/// that works for that request.
pub fn within<R>(ctx: Option<RequestCtx>, f: impl FnOnce() -> R) -> R {
    match ctx {
        Some(ctx) => CTX.sync_scope(ctx, f),
        None => f(),
    }
}

/// The language of the request being served (Chinese outside a request).
pub fn current() -> Lang {
    CTX.try_with(|c| c.lang).unwrap_or(Lang::Zh)
}

/// The request being served, if any.
pub fn request() -> Option<RequestCtx> {
    CTX.try_with(|c| c.clone()).ok()
}

/// Translates a catalogue key, replacing `%{name}` with the arguments.
pub fn tr(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let text: Cow<'_, str> = rust_i18n::t!(key, locale = lang.as_str());
    let mut out = text.into_owned();
    for (name, value) in args {
        out = out.replace(&format!("%{{{name}}}"), value);
    }
    out
}

/// Translates in the current request's language.
pub fn t(key: &str) -> String {
    tr(current(), key, &[])
}

/// The current request's display time zone (China Standard Time outside a request).
pub fn tz() -> chrono::FixedOffset {
    CTX.try_with(|c| c.tz)
        .ok()
        .or_else(|| chrono::FixedOffset::east_opt(8 * 3600))
        .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_highest_supported() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("fr;q=1, zh-CN;q=0.8, en;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }

    #[test]
    fn catalogue_has_both_languages() {
        assert_eq!(tr(Lang::En, "app.name", &[]), "Kehu");
        assert_eq!(tr(Lang::Zh, "app.name", &[]), "客户");
        assert_eq!(
            tr(
                Lang::En,
                "error.password_too_short",
                &[("min", "10".into())]
            ),
            "must be at least 10 characters"
        );
    }
}
