use std::collections::HashMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

#[test]
fn a_token_request_keeps_its_path_and_query_under_the_proxy() {
    let entra = url("https://login.microsoftonline.com/72f988bf/oauth2/v2.0/token?x=1");
    for (proxy, expected) in [
        (
            "https://10.0.0.1:443",
            "https://10.0.0.1/72f988bf/oauth2/v2.0/token?x=1",
        ),
        (
            "https://proxy.example:8443/base/",
            "https://proxy.example:8443/base/72f988bf/oauth2/v2.0/token?x=1",
        ),
        (
            "https://proxy.example/base",
            "https://proxy.example/base/72f988bf/oauth2/v2.0/token?x=1",
        ),
    ] {
        let proxy = TokenProxy::new(proxy).unwrap();
        let rewritten = proxy.rewrite(&entra);
        assert_eq!(rewritten.as_str(), expected);
        // A retried request, already under the proxy, is left alone.
        assert_eq!(proxy.rewrite(&rewritten), rewritten);
    }
}

#[test]
fn the_proxy_url_must_be_plain_https() {
    for (bad, says) in [
        ("http://10.0.0.1", "must use the 'https' scheme, not 'http'"),
        (
            "https://user:pw@10.0.0.1",
            "must not contain username or password",
        ),
        ("https://10.0.0.1/#frag", "must not contain a fragment"),
        ("https://10.0.0.1/?a=b", "must not contain query parameters"),
        ("not a url", "is not a URL"),
    ] {
        let error = TokenProxy::new(bad).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(
                error,
                Error::TokenProxy {
                    variable: "AZURE_KUBERNETES_TOKEN_PROXY",
                    ..
                }
            ),
            "{bad}: {text}"
        );
        assert!(text.contains(says), "{bad}: {text}");
    }
}

#[test]
fn the_environment_gives_the_mode_only_with_the_proxy_url() {
    assert_eq!(TokenProxy::from_env_with(env(&[])).unwrap(), None);
    let proxy = TokenProxy::from_env_with(env(&[
        ("AZURE_KUBERNETES_TOKEN_PROXY", "https://10.0.0.1:443"),
        ("AZURE_KUBERNETES_SNI_NAME", "ib.aks.example"),
        (
            "AZURE_KUBERNETES_CA_FILE",
            "/var/run/secrets/azure/tokens/ca-cert/ca.crt",
        ),
        ("AZURE_KUBERNETES_CA_DATA", ""),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(proxy.sni(), Some("ib.aks.example"));
    assert_eq!(
        proxy.ca(),
        &TokenProxyCa::File("/var/run/secrets/azure/tokens/ca-cert/ca.crt".into())
    );
}

#[test]
fn stray_or_conflicting_variables_are_named() {
    for (vars, variable, says) in [
        (
            vec![("AZURE_KUBERNETES_SNI_NAME", "ib.aks.example")],
            "AZURE_KUBERNETES_SNI_NAME",
            "AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint-related",
        ),
        (
            vec![("AZURE_KUBERNETES_CA_DATA", "pem")],
            "AZURE_KUBERNETES_CA_DATA",
            "AZURE_KUBERNETES_TOKEN_PROXY is not set",
        ),
        (
            vec![
                ("AZURE_KUBERNETES_TOKEN_PROXY", "https://10.0.0.1"),
                ("AZURE_KUBERNETES_CA_FILE", "/ca.crt"),
                ("AZURE_KUBERNETES_CA_DATA", "pem"),
            ],
            "AZURE_KUBERNETES_CA_DATA",
            "both AZURE_KUBERNETES_CA_FILE and AZURE_KUBERNETES_CA_DATA are set",
        ),
        (
            vec![("AZURE_KUBERNETES_TOKEN_PROXY", "http://10.0.0.1")],
            "AZURE_KUBERNETES_TOKEN_PROXY",
            "'https'",
        ),
    ] {
        let error = TokenProxy::from_env_with(env(&vars)).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, Error::TokenProxy { variable: v, .. } if *v == variable),
            "{vars:?}: {text}"
        );
        assert!(
            text.starts_with(variable) && text.contains(says),
            "{vars:?}: {text}"
        );
    }
}

#[test]
fn an_unusable_ca_is_refused_when_the_credential_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "").unwrap();
    let proxy = TokenProxy::new("https://10.0.0.1").unwrap();
    for (ca, variable, says) in [
        (
            TokenProxyCa::File(empty),
            "AZURE_KUBERNETES_CA_FILE",
            "is empty",
        ),
        (
            TokenProxyCa::File(dir.path().join("missing.crt")),
            "AZURE_KUBERNETES_CA_FILE",
            "failed to read CA file",
        ),
        (
            TokenProxyCa::Data("not pem".into()),
            "AZURE_KUBERNETES_CA_DATA",
            "holds no PEM certificate",
        ),
    ] {
        let error = TokenProxyTransport::new(proxy.clone().with_ca(ca)).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with(variable) && text.contains(says), "{text}");
    }
}
