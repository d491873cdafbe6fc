//! [`DownloadSettings`]: the default backend and the hand-off rules, the
//! mirror of DOWNLOADVIEW_BACKEND and DOWNLOADVIEW_RULES.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::file::FileMeta;
use crate::offload::{Backend, HandOff, Rule};

/// The download settings an application keeps in its state and gives to
/// [`DownloadLayer::with_settings`](crate::DownloadLayer::with_settings).
///
/// Load them from TOML or JSON and [`validate`](Self::validate) them at
/// start-up; errors name the rule and the key.
///
/// ```
/// use axum_download::{DownloadSettings};
/// use axum_download::offload::Backend;
///
/// let settings = DownloadSettings::from_toml(r#"
///     backend = "nginx"
///
///     [[rules]]
///     source_url = "/media/optimized/"
///     destination_url = "/x-accel/"
///     expires = 3600
/// "#).unwrap();
/// assert_eq!(settings.backend, Backend::Nginx);
///
/// let bad = DownloadSettings::from_json(r#"{"rules": [{"source_dir": "media", "destination_url": "/x/"}]}"#);
/// assert_eq!(
///     bad.unwrap_err().to_string(),
///     "rule 1: `source_dir` must be absolute, not \"media\""
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DownloadSettings {
    /// The backend of rules that do not name one (DOWNLOADVIEW_BACKEND).
    #[serde(default)]
    pub backend: Backend,
    /// The rules, tried in order; the first that matches wins
    /// (DOWNLOADVIEW_RULES).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The `Cache-Control` of downloads that state no policy of their own
    /// (default [`DEFAULT_CACHE_CONTROL`](crate::DEFAULT_CACHE_CONTROL)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
}

/// The settings as written, before [`DownloadSettings::validate`]: what
/// deserialising reads, so that no invalid [`DownloadSettings`] is ever made.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedSettings {
    #[serde(default)]
    backend: Backend,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    cache_control: Option<String>,
}

impl TryFrom<UncheckedSettings> for DownloadSettings {
    type Error = SettingsError;

    fn try_from(unchecked: UncheckedSettings) -> Result<Self, SettingsError> {
        let settings = Self {
            backend: unchecked.backend,
            rules: unchecked.rules,
            cache_control: unchecked.cache_control,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// Settings that could not be loaded or are invalid. Its message names the
/// rule (from 1), the key and, for a file, the file and the line.
///
/// ```
/// use axum_download::DownloadSettings;
///
/// let err = DownloadSettings::from_toml("backend = \"nginks\"").unwrap_err();
/// assert!(err.to_string().starts_with("unknown variant `nginks`"));
/// ```
#[derive(Debug)]
pub struct SettingsError {
    message: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SettingsError {}

impl SettingsError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl DownloadSettings {
    /// Settings with a default backend and no rules.
    ///
    /// ```
    /// use axum_download::offload::Backend;
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Nginx);
    /// assert!(settings.rules.is_empty());
    /// assert_eq!(settings, DownloadSettings::from_toml("backend = \"nginx\"").unwrap());
    /// ```
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            rules: Vec::new(),
            cache_control: None,
        }
    }

    /// The `Cache-Control` of downloads that state no policy of their own,
    /// e.g. `"public, max-age=3600"` when every download is public.
    ///
    /// ```
    /// use axum_download::offload::Backend;
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Development).cache_control("public, max-age=3600");
    /// settings.validate().unwrap();
    /// assert!(settings.clone().cache_control("").validate().is_err());
    /// ```
    #[must_use]
    pub fn cache_control(mut self, policy: impl Into<String>) -> Self {
        self.cache_control = Some(policy.into());
        self
    }

    /// Adds a rule after the existing ones: the first rule that matches a
    /// file wins.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Nginx)
    ///     .rule(Rule::nginx("/x-accel/private/").source_url("/media/private/"))
    ///     .rule(Rule::nginx("/x-accel/").source_url("/media/"));
    /// assert_eq!(settings.rules.len(), 2);
    /// ```
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Parses and validates TOML settings.
    ///
    /// ```
    /// use axum_download::offload::LimitRate;
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::from_toml(r#"
    ///     backend = "nginx"
    ///     [[rules]]
    ///     source_dir = "/srv/media"
    ///     destination_url = "/x-accel/"
    ///     limit_rate = 65536
    /// "#).unwrap();
    /// assert_eq!(settings.rules[0].limit_rate, Some(LimitRate::BytesPerSecond(65536)));
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        // Read unchecked, then checked: the check's message stays whole,
        // without the location serde would give the whole document.
        let unchecked: UncheckedSettings = toml::from_str(text).map_err(|err| {
            SettingsError::new(err.message().to_owned() + &location(text, err.span()))
        })?;
        Self::try_from(unchecked)
    }

    /// Parses and validates JSON settings.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Expires};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::from_json(r#"{
    ///     "backend": "nginx",
    ///     "rules": [{"source_url": "/media/", "destination_url": "/x-accel/", "expires": "off"}]
    /// }"#).unwrap();
    /// assert_eq!(settings.backend, Backend::Nginx);
    /// assert_eq!(settings.rules[0].expires, Some(Expires::Off));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, SettingsError> {
        let unchecked: UncheckedSettings =
            serde_json::from_str(text).map_err(|err| SettingsError::new(err.to_string()))?;
        Self::try_from(unchecked)
    }

    /// Reads a `.toml` or `.json` file (blocking: call it at start-up).
    ///
    /// ```
    /// use axum_download::DownloadSettings;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("downloads.toml");
    /// std::fs::write(&path, "backend = \"x-sendfile\"")?;
    /// let settings = DownloadSettings::from_file(&path)?;
    /// assert_eq!(settings.backend.to_string(), "x-sendfile");
    /// assert!(DownloadSettings::from_file(dir.path().join("missing.toml")).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SettingsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|err| SettingsError::new(format!("{}: {err}", path.display())))?;
        let parsed = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json(&text),
            Some("toml") => Self::from_toml(&text),
            _ => Err(SettingsError::new(
                "the file name must end in .toml or .json",
            )),
        };
        parsed.map_err(|err| SettingsError::new(format!("{}: {err}", path.display())))
    }

    /// Checks every rule; the error names the rule (from 1) and the key:
    /// "rule 2: `source_dir` must be absolute, not \"media\"".
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::XSendfile)
    ///     .rule(Rule::default().source_dir("/srv/media"))
    ///     .rule(Rule::default().source_dir("media"));
    /// let err = settings.validate().unwrap_err();
    /// assert_eq!(err.to_string(), "rule 2: `source_dir` must be absolute, not \"media\"");
    /// ```
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (index, rule) in self.rules.iter().enumerate() {
            let fail = |err: String| SettingsError::new(format!("rule {}: {err}", index + 1));
            rule.validate(self.backend)
                .map_err(|err| fail(err.to_string()))?;
            if rule.source_url.is_none() && rule.source_dir.is_none() && !rule.catch_all {
                return Err(fail(
                    "needs `source_url` or `source_dir`, or `catch_all = true` to hand off \
                     every file"
                        .to_owned(),
                ));
            }
        }
        if let Some(policy) = &self.cache_control {
            if policy.trim().is_empty() || http::HeaderValue::from_str(policy).is_err() {
                return Err(SettingsError::new(format!(
                    "`cache_control` must be a header value like \"private, no-cache\", not {policy:?}"
                )));
            }
        }
        Ok(())
    }

    /// The hand-off of the first rule matching `meta`, if any.
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, HandOff, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Nginx)
    ///     .rule(Rule::nginx("/x-accel/").source_url("/media/"));
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.url = Some("/media/a.txt".to_owned());
    /// assert!(matches!(settings.target(&meta), Some(HandOff::Nginx { uri, .. }) if uri == "/x-accel/a.txt"));
    /// meta.url = Some("/static/a.txt".to_owned());
    /// assert_eq!(settings.target(&meta), None);
    /// ```
    #[must_use]
    pub fn target(&self, meta: &FileMeta) -> Option<HandOff> {
        let target = self
            .rules
            .iter()
            .find_map(|rule| rule.target(meta, self.backend));
        if target.is_none() && !self.rules.is_empty() {
            crate::report::no_rule_matched(meta.url.as_deref(), meta.local_path.as_deref());
        }
        target
    }
}

/// " at line L, column C" for a byte span of `text`.
fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" (line {line}, column {column})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offload::{Expires, LimitRate};
    use std::time::Duration;

    #[test]
    fn toml_round_trip() {
        let settings = DownloadSettings::from_toml(
            r#"
            backend = "nginx"
            [[rules]]
            source_url = "/media/"
            destination_url = "/x-accel/"
            buffering = false
            expires = "off"
            limit_rate = 1024
            [[rules]]
            source_dir = "/srv/private"
            backend = "apache"
            "#,
        )
        .unwrap();
        assert_eq!(settings.backend, Backend::Nginx);
        assert_eq!(settings.rules.len(), 2);
        assert_eq!(settings.rules[0].expires, Some(Expires::Off));
        assert_eq!(
            settings.rules[0].limit_rate,
            Some(LimitRate::BytesPerSecond(1024))
        );
        assert_eq!(settings.rules[1].backend, Some(Backend::XSendfile));
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(DownloadSettings::from_json(&json).unwrap(), settings);
    }

    #[test]
    fn json_settings() {
        let settings = DownloadSettings::from_json(
            r#"{"backend": "lighttpd", "rules": [{"source_dir": "/srv", "expires": 60, "backend": "nginx", "destination_url": "/p/"}]}"#,
        )
        .unwrap();
        assert_eq!(settings.backend, Backend::XSendfile);
        assert_eq!(
            settings.rules[0].expires,
            Some(Expires::After(Duration::from_secs(60)))
        );
    }

    #[test]
    fn default_is_development_without_rules() {
        let settings = DownloadSettings::from_toml("").unwrap();
        assert_eq!(settings, DownloadSettings::default());
        assert_eq!(settings.backend, Backend::Development);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = DownloadSettings::from_toml("[[rules]]\nsourc_dir = \"/x\"\n").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `sourc_dir`"),
            "{err}"
        );
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_backend_is_named() {
        let err = DownloadSettings::from_toml("backend = \"caddy\"").unwrap_err();
        assert!(err.to_string().contains("caddy"), "{err}");
    }

    #[test]
    fn bad_expires_is_explained() {
        let err = DownloadSettings::from_json(
            r#"{"rules": [{"destination_url": "/x/", "backend": "nginx", "expires": "soon"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"off\""), "{err}");
    }

    #[test]
    fn invalid_rule_names_index_and_key() {
        let err = DownloadSettings::from_toml(
            r#"
            backend = "nginx"
            [[rules]]
            source_url = "/a/"
            destination_url = "/x/"
            [[rules]]
            source_dir = "relative/dir"
            destination_url = "/y/"
            "#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule 2: `source_dir` must be absolute, not \"relative/dir\""
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let settings = DownloadSettings::new(Backend::Nginx)
            .rule(Rule::nginx("/first/").source_url("/media/a/"))
            .rule(Rule::nginx("/second/").source_url("/media/"));
        let meta = FileMeta {
            url: Some("/media/a/f.txt".to_owned()),
            ..FileMeta::default()
        };
        match settings.target(&meta) {
            Some(HandOff::Nginx { uri, .. }) => assert_eq!(uri, "/first/f.txt"),
            other => panic!("{other:?}"),
        }
    }
}

/// [`DownloadSettings`] shared by [`DownloadLayer`](crate::DownloadLayer),
/// the hand-off macros and your handlers, and replaceable while the server
/// runs: every request sees one whole version, old or new.
///
/// Keep it in your application state and give the same handle to the
/// layer; handlers read it with axum's `FromRef` conventions.
///
/// ```
/// use axum::extract::{FromRef, State};
/// use axum::{routing::get, Router};
/// use axum_download::{DownloadLayer, DownloadSettings, SharedSettings};
/// use axum_download::offload::Backend;
///
/// #[derive(Clone)]
/// struct AppState {
///     downloads: SharedSettings,
/// }
///
/// impl FromRef<AppState> for SharedSettings {
///     fn from_ref(state: &AppState) -> Self {
///         state.downloads.clone()
///     }
/// }
///
/// async fn backend(State(settings): State<SharedSettings>) -> String {
///     settings.load().backend.to_string()
/// }
///
/// let shared = SharedSettings::new(DownloadSettings::new(Backend::Development));
/// let app: Router = Router::new()
///     .route("/backend", get(backend))
///     .layer(DownloadLayer::shared(shared.clone()))
///     .with_state(AppState { downloads: shared.clone() });
///
/// // Later, e.g. on SIGHUP: the next requests use the new settings.
/// let old = shared.replace(DownloadSettings::new(Backend::Nginx)).unwrap();
/// assert_eq!(old.backend, Backend::Development);
/// ```
#[derive(Debug, Clone)]
pub struct SharedSettings(std::sync::Arc<std::sync::RwLock<std::sync::Arc<DownloadSettings>>>);

impl SharedSettings {
    /// Shares `settings` (validate them first, at start-up).
    ///
    /// ```
    /// use axum_download::{DownloadLayer, DownloadSettings, SharedSettings};
    ///
    /// let shared = SharedSettings::new(DownloadSettings::default());
    /// let layer = DownloadLayer::shared(shared.clone());
    /// ```
    #[must_use]
    pub fn new(settings: impl Into<std::sync::Arc<DownloadSettings>>) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(settings.into())))
    }

    /// The current settings.
    ///
    /// ```
    /// use axum_download::offload::Backend;
    /// use axum_download::{DownloadSettings, SharedSettings};
    ///
    /// let shared = SharedSettings::new(DownloadSettings::new(Backend::Nginx));
    /// assert_eq!(shared.load().backend, Backend::Nginx);
    /// ```
    #[must_use]
    pub fn load(&self) -> std::sync::Arc<DownloadSettings> {
        match self.0.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Validates `settings` and, when they are valid, makes them the
    /// current ones and returns the previous; invalid settings change
    /// nothing.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::{DownloadSettings, SharedSettings};
    ///
    /// let shared = SharedSettings::new(DownloadSettings::new(Backend::Development));
    /// let invalid = DownloadSettings::new(Backend::Nginx).rule(Rule::default().source_url("/media/"));
    /// assert!(shared.replace(invalid).is_err());
    /// assert_eq!(shared.load().backend, Backend::Development);
    /// ```
    pub fn replace(
        &self,
        settings: DownloadSettings,
    ) -> Result<std::sync::Arc<DownloadSettings>, SettingsError> {
        settings.validate()?;
        let new = std::sync::Arc::new(settings);
        let mut current = match self.0.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        Ok(std::mem::replace(&mut *current, new))
    }
}

impl From<DownloadSettings> for SharedSettings {
    fn from(settings: DownloadSettings) -> Self {
        Self::new(settings)
    }
}
