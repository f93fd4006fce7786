//! `secret-sync preflight`: before ESO is replaced, what of a cluster's
//! External Secrets objects secret-sync would not serve, or would serve
//! differently. The decisions here are pure and reuse the controller's own
//! checks ([`crate::store::check`], [`crate::plan::plan`],
//! [`crate::render::validate`] and the template parser with
//! [`crate::keys::FUNCTIONS`]), so the preflight says exactly what the
//! controller's conditions would say; only the reading of the cluster
//! ([`read`]) talks to the API server, and it only gets and lists (the
//! five kinds, and the ConfigMaps templates are kept in; never a Secret).
//!
//! The objects come in as JSON read with the dynamic API: a cluster running
//! ESO has ESO's CRDs, served as `v1` or `v1beta1`, and its objects carry
//! fields this crate's types keep in `unsupported` (or refuse to read,
//! which is a finding too).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::{
    Error,
    api::{AuthType, AzureEnvironment, ExternalSecret, ExternalSecretSpec, SecretStoreSpec},
};

/// The kinds the preflight reads, in the order it reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// A namespaced store.
    SecretStore,
    /// A cluster-wide store.
    ClusterSecretStore,
    /// An ExternalSecret.
    ExternalSecret,
    /// An ExternalSecret made in many namespaces.
    ClusterExternalSecret,
    /// A Secret pushed to a store.
    PushSecret,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 5] = [
        Kind::SecretStore,
        Kind::ClusterSecretStore,
        Kind::ExternalSecret,
        Kind::ClusterExternalSecret,
        Kind::PushSecret,
    ];

    /// The kind's name, as in `kind:`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::SecretStore => "SecretStore",
            Kind::ClusterSecretStore => "ClusterSecretStore",
            Kind::ExternalSecret => "ExternalSecret",
            Kind::ClusterExternalSecret => "ClusterExternalSecret",
            Kind::PushSecret => "PushSecret",
        }
    }
}

/// Whether secret-sync would serve the object at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Not served: the object's condition would say why and nothing is
    /// synced.
    NotServed,
    /// Served, but not as the manifest says (a field that is ignored).
    Differs,
}

/// One thing secret-sync would not serve, or would serve differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The object's kind.
    pub kind: Kind,
    /// Its namespace; `None` for a cluster-scoped object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Where in the object (`spec.provider.vault`, `spec.syncWindows`).
    pub field: String,
    /// What is there, in a few words (`provider vault`, `field not
    /// served`, `template function getHostByName`).
    pub what: String,
    /// Why it is not served: the text the object's condition would carry.
    pub why: String,
    /// Not served, or served differently.
    pub level: Level,
}

/// Everything the preflight found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// How many objects of each kind were read.
    pub checked: BTreeMap<Kind, usize>,
    /// The findings, by kind, namespace, name, then as found.
    pub findings: Vec<Finding>,
    /// What could not be read and was skipped (a kind whose CRD is not
    /// installed), each a sentence.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether every object read would be served: no
    /// [`Level::NotServed`] finding.
    #[must_use]
    pub fn served(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::NotServed)
    }

    /// The report as JSON: `served`, `checked` (by kind), `findings`,
    /// `notes`.
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::json!({
            "served": self.served(),
            "checked": self.checked.iter().map(|(k, n)| (k.name().to_owned(), Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "findings": self.findings,
            "notes": self.notes,
        })
    }

    /// The report as text: each object with findings, then one line per
    /// finding under it, then the notes and a summary line.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut current: Option<(Kind, Option<&str>, &str)> = None;
        for f in &self.findings {
            let object = (f.kind, f.namespace.as_deref(), f.name.as_str());
            if current != Some(object) {
                current = Some(object);
                match &f.namespace {
                    Some(ns) => out.push_str(&format!("{} {ns}/{}\n", f.kind.name(), f.name)),
                    None => out.push_str(&format!("{} {}\n", f.kind.name(), f.name)),
                }
            }
            let level = match f.level {
                Level::NotServed => "not served",
                Level::Differs => "served differently",
            };
            out.push_str(&format!("  {level}: {}: {}: {}\n", f.field, f.what, f.why));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        let checked = Kind::ALL
            .iter()
            .filter_map(|k| self.checked.get(k).map(|n| format!("{n} {}", k.name())))
            .collect::<Vec<_>>();
        let objects = |n: usize| if n == 1 { "object" } else { "objects" };
        let not_served = self.objects_with(Level::NotServed);
        let differs = self.objects_with(Level::Differs);
        let checked = if checked.is_empty() {
            "nothing".to_owned()
        } else {
            checked.join(", ")
        };
        out.push_str(&format!("checked {checked}: "));
        if not_served == 0 && differs == 0 {
            out.push_str("everything is served\n");
        } else {
            out.push_str(&format!(
                "{not_served} {} not served, {differs} served differently\n",
                objects(not_served)
            ));
        }
        out
    }

    /// How many objects have a finding at `level`.
    fn objects_with(&self, level: Level) -> usize {
        let mut objects: Vec<_> = self
            .findings
            .iter()
            .filter(|f| f.level == level)
            .map(|f| (f.kind, f.namespace.as_deref(), f.name.as_str()))
            .collect();
        objects.sort_unstable();
        objects.dedup();
        objects.len()
    }
}

/// What an object is called in findings.
struct Object<'a> {
    kind: Kind,
    namespace: Option<String>,
    name: String,
    findings: &'a mut Vec<Finding>,
}

impl Object<'_> {
    fn add(
        &mut self,
        level: Level,
        field: impl Into<String>,
        what: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.findings.push(Finding {
            kind: self.kind,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            field: field.into(),
            what: what.into(),
            why: why.into(),
            level,
        });
    }

    fn not_served(
        &mut self,
        field: impl Into<String>,
        what: impl Into<String>,
        why: impl Into<String>,
    ) {
        self.add(Level::NotServed, field, what, why);
    }
}

/// The ConfigMaps ExternalSecrets' `templateFrom` names, by namespace and
/// name: their `data`, or `None` when the ConfigMap does not exist. One
/// that could not be read is absent (and its templates not checked).
pub type ConfigMaps = BTreeMap<(String, String), Option<BTreeMap<String, String>>>;

/// What the preflight read of a cluster.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Each kind's objects as read (JSON, any served version).
    pub objects: Vec<(Kind, Vec<Value>)>,
    /// The ConfigMaps holding templates.
    pub config_maps: ConfigMaps,
    /// What could not be read, each a sentence.
    pub notes: Vec<String>,
}

/// The ConfigMaps (namespace, name) the ExternalSecrets and PushSecrets
/// among `objects` read templates from: what [`read`] gets besides the
/// objects.
#[must_use]
pub fn config_maps_named(objects: &[(Kind, Vec<Value>)]) -> Vec<(String, String)> {
    let mut named = Vec::new();
    for (kind, items) in objects {
        let at = match kind {
            Kind::ExternalSecret => "/spec/target/template/templateFrom",
            Kind::PushSecret => "/spec/template/templateFrom",
            _ => continue,
        };
        for item in items {
            let Some(namespace) = item.pointer("/metadata/namespace").and_then(Value::as_str)
            else {
                continue;
            };
            let Some(from) = item.pointer(at).and_then(Value::as_array) else {
                continue;
            };
            for name in from
                .iter()
                .filter_map(|f| f.pointer("/configMap/name").and_then(Value::as_str))
            {
                named.push((namespace.to_owned(), name.to_owned()));
            }
        }
    }
    named.sort();
    named.dedup();
    named
}

/// The report for what was read of a cluster.
#[must_use]
pub fn report(cluster: &Cluster) -> Report {
    let objects = &cluster.objects;
    let mut report = Report {
        notes: cluster.notes.clone(),
        ..Report::default()
    };
    for (kind, items) in objects {
        *report.checked.entry(*kind).or_default() += items.len();
        for item in items {
            report
                .findings
                .extend(check(*kind, item, &cluster.config_maps));
        }
    }
    // An ExternalSecret whose store is not served is not served either.
    let unserved_stores: Vec<(Kind, Option<String>, String)> = report
        .findings
        .iter()
        .filter(|f| {
            f.level == Level::NotServed
                && matches!(f.kind, Kind::SecretStore | Kind::ClusterSecretStore)
        })
        .map(|f| (f.kind, f.namespace.clone(), f.name.clone()))
        .collect();
    for (kind, items) in objects {
        for item in items {
            let references: Vec<(&Value, String)> = match kind {
                Kind::ExternalSecret => item
                    .pointer("/spec/secretStoreRef")
                    .map(|r| (r, "spec.secretStoreRef".to_owned()))
                    .into_iter()
                    .collect(),
                Kind::ClusterExternalSecret => item
                    .pointer("/spec/externalSecretSpec/secretStoreRef")
                    .map(|r| (r, "spec.externalSecretSpec.secretStoreRef".to_owned()))
                    .into_iter()
                    .collect(),
                // Stores chosen by labels are not followed.
                Kind::PushSecret => item
                    .pointer("/spec/secretStoreRefs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, r)| (r, format!("spec.secretStoreRefs[{i}]")))
                    .collect(),
                _ => continue,
            };
            for (reference, field) in references {
                let Some(name) = reference.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let cluster =
                    reference.get("kind").and_then(Value::as_str) == Some("ClusterSecretStore");
                let namespace = item.pointer("/metadata/namespace").and_then(Value::as_str);
                let (store, store_ns) = if cluster {
                    (Kind::ClusterSecretStore, None)
                } else if matches!(kind, Kind::ExternalSecret | Kind::PushSecret) {
                    (Kind::SecretStore, namespace.map(str::to_owned))
                } else {
                    // A ClusterExternalSecret's SecretStore is looked up in
                    // each namespace it writes to.
                    continue;
                };
                if unserved_stores.contains(&(store, store_ns.clone(), name.to_owned())) {
                    let mut object = Object {
                        kind: *kind,
                        namespace: namespace.map(str::to_owned),
                        name: name_of(item),
                        findings: &mut report.findings,
                    };
                    let at = match &store_ns {
                        Some(ns) => format!("{} {ns}/{name}", store.name()),
                        None => format!("{} {name}", store.name()),
                    };
                    object.not_served(
                        field,
                        format!("store {at}"),
                        format!("its store {at} is not served (see the store's findings)"),
                    );
                }
            }
        }
    }
    report
        .findings
        .sort_by(|a, b| (a.kind, &a.namespace, &a.name).cmp(&(b.kind, &b.namespace, &b.name)));
    report
}

fn name_of(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The findings for one object of `kind`, read as JSON, with the
/// ConfigMaps its templates may be kept in.
#[must_use]
pub fn check(kind: Kind, object: &Value, config_maps: &ConfigMaps) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut at = Object {
        kind,
        namespace: object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned),
        name: name_of(object),
        findings: &mut findings,
    };
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    match kind {
        Kind::SecretStore => check_store(&mut at, spec, false),
        Kind::ClusterSecretStore => check_store(&mut at, spec, true),
        Kind::ExternalSecret => {
            check_external_secret(&mut at, object, spec, "spec.", config_maps);
        }
        Kind::ClusterExternalSecret => {
            let spec = spec
                .get("externalSecretSpec")
                .cloned()
                .unwrap_or(Value::Null);
            // Its ExternalSecrets' namespaces are many: the ConfigMaps
            // are not looked up.
            let none = ConfigMaps::new();
            check_external_secret(&mut at, object, spec, "spec.externalSecretSpec.", &none);
        }
        Kind::PushSecret => check_push_secret(&mut at, spec, config_maps),
    }
    findings
}

/// A PushSecret: the fields not served, its templates as the controller
/// parses them, its `dataTo` as the controller checks it.
fn check_push_secret(at: &mut Object<'_>, spec: Value, config_maps: &ConfigMaps) {
    let spec: crate::api::PushSecretSpec = match serde_json::from_value(spec) {
        Ok(spec) => spec,
        Err(e) => {
            at.not_served(
                "spec",
                "not readable as secret-sync's PushSecret",
                e.to_string(),
            );
            return;
        }
    };
    let mut fields = crate::api::unsupported_names("spec.", &spec.unsupported);
    fields.extend(crate::api::unsupported_names(
        "spec.selector.",
        &spec.selector.unsupported,
    ));
    if let Some(template) = &spec.template {
        fields.extend(crate::api::unsupported_names(
            "spec.template.",
            &template.unsupported,
        ));
    }
    for field in fields {
        let why = format!("secret-sync does not serve {field} of a PushSecret");
        at.not_served(field, "field not served", why);
    }
    if let Some(template) = &spec.template {
        template_texts(at, template, "spec.template");
        if let Some(namespace) = at.namespace.clone() {
            config_map_templates(at, template, "spec.template", &namespace, config_maps);
        }
    }
    for (i, data_to) in spec.data_to.iter().enumerate() {
        for (j, rewrite) in data_to.rewrite.iter().enumerate() {
            if let Some(transform) = &rewrite.transform {
                let field = format!("spec.dataTo[{i}].rewrite[{j}].transform.template");
                parse_template(at, &field, "t", &transform.template);
            }
        }
    }
    if let Err(why) = crate::push_data::check_data_to(&spec) {
        at.not_served("spec.dataTo", "refused", why);
    }
}

/// A store through [`crate::store::check`], again after each refusal that
/// leaves more to check (the auth type, the environment), so every
/// reason is listed at once.
fn check_store(at: &mut Object<'_>, spec: Value, cluster: bool) {
    let mut spec: SecretStoreSpec = match serde_json::from_value(spec) {
        Ok(spec) => spec,
        Err(e) => {
            at.not_served("spec", "not readable as secret-sync's store", e.to_string());
            return;
        }
    };
    if let Some(class) = spec.controller.as_deref().filter(|c| !c.is_empty()) {
        // external-secrets/external-secrets
        // `pkg/controllers/secretstore/common.go` `ShouldProcessStore`.
        at.add(
            Level::Differs,
            "spec.controller",
            format!("controller class {class}"),
            format!(
                "secret-sync has no controller class and serves this store as any other; ESO serves it only from a controller started with --controller-class={class}"
            ),
        );
    }
    // Each repair makes the next check pass that refusal; a bound, should
    // a check ever refuse the same thing twice.
    for _ in 0..4 {
        let error = match crate::store::check(&spec, cluster) {
            Ok(store) => {
                for warning in store.warnings {
                    at.add(
                        Level::Differs,
                        "spec.provider.azurekv.serviceAccountRef.namespace",
                        "ignored field",
                        warning,
                    );
                }
                namespace_regexes(at, &spec);
                return;
            }
            Err(e) => e,
        };
        let why = error.to_string();
        match error {
            Error::NotAzureKv { provider } => {
                let field = if provider == "none" {
                    "spec.provider".to_owned()
                } else {
                    format!("spec.provider.{provider}")
                };
                at.not_served(field, format!("provider {provider}"), why);
                return;
            }
            Error::NotWorkloadIdentity { auth_type } => {
                at.not_served(
                    "spec.provider.azurekv.authType",
                    format!("authType {auth_type}"),
                    why,
                );
                if let Some(azurekv) = spec.provider.azurekv.as_mut() {
                    azurekv.auth_type = AuthType::WorkloadIdentity;
                }
            }
            Error::UnsupportedEnvironment(environment) => {
                at.not_served(
                    "spec.provider.azurekv.environmentType",
                    format!("environmentType {environment}"),
                    why,
                );
                if let Some(azurekv) = spec.provider.azurekv.as_mut() {
                    azurekv.environment_type = AzureEnvironment::PublicCloud;
                }
            }
            Error::Unsupported { fields } => {
                unsupported_fields(at, "", &fields);
                return;
            }
            other => {
                at.not_served("spec", "refused", other.to_string());
                return;
            }
        }
    }
}

/// Each `conditions[].namespaceRegexes` entry through
/// [`crate::store::allows`] on its own: the controller compiles them only
/// when an ExternalSecret uses the store, and one that does not compile
/// (as Go's `regexp` would compile it) fails every ExternalSecret of the
/// store.
fn namespace_regexes(at: &mut Object<'_>, spec: &SecretStoreSpec) {
    for (i, condition) in spec.conditions.iter().enumerate() {
        for (j, pattern) in condition.namespace_regexes.iter().enumerate() {
            let alone = crate::api::ClusterStoreCondition {
                namespace_selector: None,
                namespaces: Vec::new(),
                namespace_regexes: vec![pattern.clone()],
            };
            if let Err(e) = crate::store::allows(&[alone], "", &BTreeMap::new()) {
                at.not_served(
                    format!("spec.conditions[{i}].namespaceRegexes[{j}]"),
                    "not a regular expression",
                    e.to_string(),
                );
            }
        }
    }
}

/// One finding per field of an [`Error::Unsupported`], each with the text
/// the condition would carry for it alone.
fn unsupported_fields(at: &mut Object<'_>, prefix: &str, fields: &[String]) {
    for field in fields {
        let field = reprefix(prefix, field);
        let why = Error::Unsupported {
            fields: vec![field.clone()],
        }
        .to_string();
        let (path, what) = match field.split_once(' ') {
            // "spec.dataFrom[0] with not exactly one of extract and find"
            Some((path, rest)) => (path.to_owned(), rest.to_owned()),
            None => (field.clone(), "field not served".to_owned()),
        };
        at.not_served(path, what, why);
    }
}

/// `spec.x` as `<prefix>x` (a ClusterExternalSecret's
/// `spec.externalSecretSpec.x`); unchanged for an empty prefix.
fn reprefix(prefix: &str, field: &str) -> String {
    match (prefix, field.strip_prefix("spec.")) {
        ("", _) | (_, None) => field.to_owned(),
        (prefix, Some(rest)) => format!("{prefix}{rest}"),
    }
}

/// An ExternalSecret (or a ClusterExternalSecret's `externalSecretSpec`,
/// `spec_at` naming where it is) through [`crate::plan::plan`], and each of
/// its templates through the template parser.
fn check_external_secret(
    at: &mut Object<'_>,
    object: &Value,
    spec: Value,
    spec_at: &str,
    config_maps: &ConfigMaps,
) {
    let spec: ExternalSecretSpec = match serde_json::from_value(spec) {
        Ok(spec) => spec,
        Err(e) => {
            at.not_served(
                spec_at.trim_end_matches('.'),
                "not readable as secret-sync's ExternalSecret",
                e.to_string(),
            );
            return;
        }
    };
    let metadata = object
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    let mut es = ExternalSecret {
        metadata,
        spec,
        status: None,
    };
    let prefix = if spec_at == "spec." { "" } else { spec_at };
    match crate::plan::plan(&es) {
        Ok(_) => {}
        Err(Error::Unsupported { fields }) => {
            unsupported_fields(at, prefix, &fields);
            // Without the fields named, what else would be refused.
            strip_unsupported(&mut es.spec);
            if let Err(e) = crate::plan::plan(&es) {
                plan_error(at, prefix, e);
            }
        }
        Err(e) => plan_error(at, prefix, e),
    }
    templates(at, &es.spec, spec_at);
    if let (Some(template), Some(namespace)) = (&es.spec.target.template, at.namespace.clone()) {
        let place = format!("{spec_at}target.template");
        config_map_templates(at, template, &place, &namespace, config_maps);
    }
}

fn plan_error(at: &mut Object<'_>, prefix: &str, error: Error) {
    let why = error.to_string();
    match error {
        Error::Unsupported { fields } => unsupported_fields(at, prefix, &fields),
        // The transform's template is reported by `templates`, with its
        // place.
        Error::Rewrite { .. } => {}
        Error::InvalidDuration { field, .. } => {
            at.not_served(reprefix(prefix, field), "not a duration", why);
        }
        Error::InvalidRegexp { field, .. } => {
            at.not_served(reprefix(prefix, field), "not a regular expression", why);
        }
        Error::UnknownObjectType { .. } => {
            at.not_served(
                reprefix(prefix, "spec.data[].remoteRef.key"),
                "remote key",
                why,
            );
        }
        Error::DataFromNotSecret { .. } => {
            at.not_served(
                reprefix(prefix, "spec.dataFrom[].extract.key"),
                "remote key",
                why,
            );
        }
        _ => at.not_served(reprefix(prefix, "spec"), "refused", why),
    }
}

/// Empties every `unsupported` map [`crate::plan::plan`] reads.
fn strip_unsupported(spec: &mut ExternalSecretSpec) {
    spec.unsupported.clear();
    spec.target.unsupported.clear();
    if let Some(template) = spec.target.template.as_mut() {
        template.unsupported.clear();
    }
    for data in &mut spec.data {
        data.unsupported.clear();
        data.remote_ref.unsupported.clear();
    }
    for from in &mut spec.data_from {
        from.unsupported.clear();
        if let Some(extract) = from.extract.as_mut() {
            extract.unsupported.clear();
        }
        if let Some(find) = from.find.as_mut() {
            find.unsupported.clear();
        }
        for rewrite in &mut from.rewrite {
            rewrite.unsupported.clear();
        }
    }
}

/// `text` parsed as the controller parses a template (the default
/// delimiters, every function of [`crate::keys::FUNCTIONS`]), named
/// `name`; a finding at `field` when it does not parse.
fn parse_template(at: &mut Object<'_>, field: &str, name: &str, text: &str) {
    if let Err(e) = azure_wi_template::Template::parse(
        name,
        text,
        &azure_wi_template::Delims::default(),
        &crate::keys::FUNCTIONS,
    ) {
        let why = e.to_string();
        let what = match why
            .split_once("function \"")
            .and_then(|(_, rest)| rest.split_once("\" not defined"))
        {
            Some((function, _)) => format!("template function {function}"),
            None => "template does not parse".to_owned(),
        };
        at.not_served(field, what, why);
    }
}

/// The templates kept in ConfigMaps (`templateFrom[].configMap`), parsed
/// as the others; a ConfigMap or key that is not there is what the
/// controller's condition would say ([`crate::render::RenderError`]).
/// Templates kept in Secrets are not read: the preflight reads no Secret.
fn config_map_templates(
    at: &mut Object<'_>,
    template: &crate::api::TargetTemplate,
    place: &str,
    namespace: &str,
    config_maps: &ConfigMaps,
) {
    use crate::render::RenderError;
    for (i, from) in template.template_from.iter().enumerate() {
        let Some(reference) = &from.config_map else {
            continue;
        };
        let field = format!("{place}.templateFrom[{i}].configMap");
        let data = match config_maps.get(&(namespace.to_owned(), reference.name.clone())) {
            // Not read (the user may not get ConfigMaps): a note says so.
            None => continue,
            Some(None) => {
                let why = RenderError::SourceMissing {
                    kind: "configmaps",
                    name: reference.name.clone(),
                };
                at.not_served(
                    format!("{field}.name"),
                    format!("ConfigMap {} not found", reference.name),
                    why.to_string(),
                );
                continue;
            }
            Some(Some(data)) => data,
        };
        for (j, item) in reference.items.iter().enumerate() {
            let item_field = format!("{field}.items[{j}]");
            match data.get(&item.key) {
                None => {
                    let why = RenderError::ConfigMapKeyMissing {
                        name: reference.name.clone(),
                        key: item.key.clone(),
                    };
                    at.not_served(
                        format!("{item_field}.key"),
                        format!("key {} not in ConfigMap {}", item.key, reference.name),
                        why.to_string(),
                    );
                }
                Some(text) => parse_template(
                    at,
                    &item_field,
                    &format!("configmap/{}/{}", reference.name, item.key),
                    text,
                ),
            }
        }
    }
}

/// Every template the spec holds, parsed as the controller parses it (the
/// default delimiters, every function of [`crate::keys::FUNCTIONS`]): a
/// function it lacks is Go's "function "x" not defined".
fn templates(at: &mut Object<'_>, spec: &ExternalSecretSpec, spec_at: &str) {
    if let Some(template) = &spec.target.template {
        template_texts(at, template, &format!("{spec_at}target.template"));
    }
    for (i, from) in spec.data_from.iter().enumerate() {
        for (j, rewrite) in from.rewrite.iter().enumerate() {
            if let Some(transform) = &rewrite.transform {
                let field = format!("{spec_at}dataFrom[{i}].rewrite[{j}].transform.template");
                parse_template(at, &field, &field, &transform.template);
            }
        }
    }
}

/// A template's own texts (`data`, `metadata`, literals) parsed, and the
/// template validated, `place` naming where it is.
fn template_texts(at: &mut Object<'_>, template: &crate::api::TargetTemplate, place: &str) {
    let mut parse = |field: String, text: &str| parse_template(at, &field, &field, text);
    for (key, text) in &template.data {
        parse(format!("{place}.data.{key}"), text);
    }
    if let Some(metadata) = &template.metadata {
        for (key, text) in &metadata.labels {
            parse(format!("{place}.metadata.labels.{key}"), text);
        }
        for (key, text) in &metadata.annotations {
            parse(format!("{place}.metadata.annotations.{key}"), text);
        }
    }
    for (i, from) in template.template_from.iter().enumerate() {
        if let Some(literal) = &from.literal {
            parse(format!("{place}.templateFrom[{i}].literal"), literal);
        }
    }
    if let Err(e) = crate::render::validate(template) {
        at.not_served(place, "template refused", e.to_string());
    }
}

/// Why the cluster could not be read: nothing can be said of it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// A client for the user's cluster: `kubeconfig` (else `KUBECONFIG`,
/// `~/.kube/config`, or in a pod its ServiceAccount) at `context` (else
/// the current one). `HTTPS_PROXY` is not taken for the API server, as
/// `secret-sync run` does not take it.
///
/// # Errors
///
/// [`ReadError`] naming the kubeconfig and why it cannot be used.
pub async fn connect(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> Result<kube::Client, ReadError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};

    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let (what, config) = match kubeconfig {
        Some(path) => {
            let what = format!("--kubeconfig {}", path.display());
            let config = match Kubeconfig::read_from(path) {
                Ok(file) => kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (what, config)
        }
        None if context.is_some() => (
            "the kubeconfig (KUBECONFIG or ~/.kube/config)".to_owned(),
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| e.to_string()),
        ),
        None => (
            "the kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster)".to_owned(),
            kube::Config::infer().await.map_err(|e| e.to_string()),
        ),
    };
    let mut config = config.map_err(|reason| ReadError(format!("cannot use {what}: {reason}")))?;
    config.proxy_url = None;
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| ReadError(format!("cannot make a client for {url}: {e}")))?;
    client
        .apiserver_version()
        .await
        .map_err(|e| ReadError(format!("cannot reach the API server at {url}: {e}")))?;
    Ok(client)
}

/// Reads every object of each [`Kind`] in the cluster, each kind at its
/// most stable served version (ESO's `v1` or `v1beta1`, ESO's `v1alpha1`
/// PushSecret), and the ConfigMaps ExternalSecrets keep templates in.
/// Only discovery, `list` and `get` requests.
///
/// # Errors
///
/// [`ReadError`] when the API server cannot be reached or refuses a list
/// (naming the permission needed). A kind whose CRD is not installed, or a
/// ConfigMap the user may not get, is a note, not an error.
pub async fn read(client: &kube::Client) -> Result<Cluster, ReadError> {
    use kube::api::{Api, DynamicObject, ListParams};

    let group = match kube::discovery::group(client, crate::api::GROUP).await {
        Ok(group) => Some(group),
        Err(kube::Error::Discovery(_)) => None,
        Err(e) => {
            return Err(ReadError(format!(
                "discovering the API group {}: {e}",
                crate::api::GROUP
            )));
        }
    };
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    for kind in Kind::ALL {
        // Each kind at its own most stable version: the group's preferred
        // version (ESO's v1) has no PushSecret, which is v1alpha1.
        let Some((resource, _)) = group.as_ref().and_then(|g| {
            g.resources_by_stability()
                .into_iter()
                .find(|(r, _)| r.kind == kind.name())
        }) else {
            notes.push(format!(
                "{}: not served by the API server (no {} CRD installed); skipped",
                kind.name(),
                crate::api::GROUP
            ));
            continue;
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let mut items = Vec::new();
        let mut params = ListParams::default().limit(500);
        loop {
            let list = api.list(&params).await.map_err(|e| {
                let what = format!("{}.{}/{}", resource.plural, resource.group, resource.version);
                match e {
                    kube::Error::Api(status) if status.code == 403 => ReadError(format!(
                        "listing {what} in all namespaces is forbidden ({}); the preflight needs get and list on it",
                        status.message
                    )),
                    other => ReadError(format!("listing {what}: {other}")),
                }
            })?;
            for item in list.items {
                items.push(
                    serde_json::to_value(item)
                        .map_err(|e| ReadError(format!("reading a {}: {e}", kind.name())))?,
                );
            }
            match list.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
        objects.push((kind, items));
    }
    let mut config_maps = ConfigMaps::new();
    for (namespace, name) in config_maps_named(&objects) {
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(client.clone(), &namespace);
        match api.get_opt(&name).await {
            Ok(found) => {
                config_maps.insert(
                    (namespace, name),
                    found.map(|c| c.data.unwrap_or_default()),
                );
            }
            Err(kube::Error::Api(status)) if status.code == 403 => notes.push(format!(
                "ConfigMap {namespace}/{name}: getting it is forbidden; the templates it holds are not checked"
            )),
            Err(e) => {
                return Err(ReadError(format!(
                    "getting ConfigMap {namespace}/{name}: {e}"
                )));
            }
        }
    }
    Ok(Cluster {
        objects,
        config_maps,
        notes,
    })
}

#[cfg(test)]
#[path = "preflight_tests.rs"]
mod tests;
