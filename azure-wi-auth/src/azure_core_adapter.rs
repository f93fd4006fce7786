//! Our credential behind the official Rust SDK's `TokenCredential` trait
//! (feature `azure_core`), so Microsoft's own crates (Key Vault, Storage...)
//! get this crate's cache, single flight, refresh and diagnoses.

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    error::ErrorKind,
    time::OffsetDateTime,
};

use crate::{Scope, WorkloadIdentityCredential};

#[async_trait::async_trait]
impl TokenCredential for WorkloadIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scopes = scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| azure_core::Error::new(ErrorKind::Credential, e))?;
        let token = WorkloadIdentityCredential::get_token(self, &scopes)
            .await
            .map_err(|e| azure_core::Error::new(ErrorKind::Credential, e))?;
        Ok(AccessToken::new(
            token.secret().to_owned(),
            OffsetDateTime::from(token.expires_on()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::future::BoxFuture;

    use super::*;
    use crate::{
        WorkloadIdentityConfig,
        transport::{HttpRequest, HttpResponse, Transport},
    };

    #[derive(Debug)]
    struct Entra;

    impl Transport for Entra {
        fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
            Box::pin(async move {
                let body = String::from_utf8(request.body).unwrap_or_default();
                let (status, body) = if body
                    .contains("scope=https%3A%2F%2Fvault.azure.net%2F.default")
                {
                    (
                        200,
                        r#"{"token_type":"Bearer","expires_in":3599,"access_token":"vault-token"}"#,
                    )
                } else {
                    (
                        400,
                        r#"{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal was not found.","error_codes":[500011]}"#,
                    )
                };
                Ok(HttpResponse {
                    status,
                    headers: Vec::new(),
                    body: body.as_bytes().to_vec(),
                })
            })
        }
    }

    #[tokio::test]
    async fn serves_tokens_and_errors_through_the_sdk_trait() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("token");
        std::fs::write(&file, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").expect("write");
        let config = WorkloadIdentityConfig::builder()
            .client_id("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34")
            .tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47")
            .token_file(&file)
            .build()
            .expect("config");
        let credential: Arc<dyn TokenCredential> = Arc::new(
            WorkloadIdentityCredential::builder(config)
                .with_transport(Entra)
                .build()
                .expect("credential"),
        );
        let token = credential
            .get_token(&["https://vault.azure.net/.default"], None)
            .await
            .expect("a token");
        assert_eq!(token.token.secret(), "vault-token");
        assert!(token.expires_on > OffsetDateTime::now_utc());
        let error = credential
            .get_token(&["https://storage.azure.com/.default"], None)
            .await
            .expect_err("refused");
        assert_eq!(*error.kind(), ErrorKind::Credential);
        assert!(error.to_string().contains("AADSTS500011"), "{error}");
    }
}
