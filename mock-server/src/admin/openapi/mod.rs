//! The OpenAPI 3.1 document at `GET /__admin/openapi.json`: both providers' endpoints (their
//! envelopes, with examples rendered by the providers' own error constructors) and the whole
//! control API. Schemas come from the wire and control types (`utoipa::ToSchema` derives);
//! the operations are listed once, in `control.rs` and `providers.rs`, by the same route
//! constants the routers use. The `openapi` integration test walks the router and fails,
//! naming the route, when a served route is missing here.

mod control;
mod providers;

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, Info, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};
use utoipa::{IntoParams, ToSchema};

/// The document, written once: it depends on nothing that changes while the server runs.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(serde_json::to_vec(&document()).unwrap_or_else(|e| {
        format!(r#"{{"error":"the OpenAPI document could not be written: {e}"}}"#).into_bytes()
    }))
});

/// `GET /__admin/openapi.json`.
pub(super) async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
}

/// The whole document as JSON.
pub fn document() -> Value {
    let mut doc = Doc::default();
    providers::coze(&mut doc);
    providers::icu(&mut doc);
    control::routes(&mut doc);
    doc.finish()
}

/// The document being assembled: operations and the schemas they name.
#[derive(Default)]
struct Doc {
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// `(path, method, callbacks object)`: utoipa has no builder for callbacks, so they are
    /// put into the JSON at the end.
    callbacks: Vec<(&'static str, &'static str, Value)>,
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc")
            .field("schemas", &self.schemas.len())
            .finish()
    }
}

impl Doc {
    /// Adds one operation (see [`Op`]).
    fn add(&mut self, op: Op) {
        let Op {
            method,
            path,
            mut builder,
            schemas,
            has_params,
        } = op;
        // Every `{name}` of the path is a required string parameter unless described already.
        for name in template_params(path) {
            if !has_params.iter().any(|p| p == name) {
                builder = builder.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(<String as utoipa::PartialSchema>::schema())),
                );
            }
        }
        self.schemas.extend(schemas);
        self.paths
            .add_path_operation(path, vec![method], builder.build());
    }

    fn finish(mut self) -> Value {
        // Nested schemas repeat; keep the first of each name.
        let mut seen = std::collections::BTreeSet::new();
        self.schemas.retain(|(name, _)| seen.insert(name.clone()));
        let components = ComponentsBuilder::new()
            .schemas_from_iter(self.schemas)
            .security_scheme(
                "cozeToken",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "Coze personal access token (`pat_…`). Any token is accepted \
                             unless --tokens names the valid ones.",
                        ))
                        .build(),
                ),
            )
            .security_scheme(
                "adminToken",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "Only with --admin-token: `Authorization: Bearer <token>` or \
                             `X-Admin-Token: <token>`. Health, hosted-audio downloads and the \
                             callback sink's POST stay open.",
                        ))
                        .build(),
                ),
            )
            .build();
        let info = Info::builder()
            .title("asr-mock")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "A deterministic simulator of the Coze transcription API (HTTP and WebSocket) \
                 and the icu recording-file ASR API, with its control API under /__admin/. \
                 A path no route serves answers 404 in the envelope of the path's owner.",
            ))
            .build();
        let api = OpenApiBuilder::new()
            .info(info)
            .paths(self.paths)
            .components(Some(components))
            .build();
        let mut json = serde_json::to_value(&api).unwrap_or(Value::Null);
        for (path, method, callbacks) in self.callbacks {
            if let Some(op) = json.pointer_mut(&format!("/paths/{}/{method}", pointer(path))) {
                op["callbacks"] = callbacks;
            }
        }
        json
    }
}

/// `path` as one JSON-pointer token.
fn pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// The `{name}`s of a path template.
fn template_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
}

/// One operation under construction: a method on a path, with its schemas.
struct Op {
    method: HttpMethod,
    path: &'static str,
    builder: OperationBuilder,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// Parameters described by hand (so the path's own are not added twice).
    has_params: Vec<String>,
}

impl Op {
    fn new(method: HttpMethod, path: &'static str, tag: &str, summary: &str) -> Op {
        let id = operation_id(&method, path);
        Op {
            method,
            path,
            builder: OperationBuilder::new()
                .tag(tag)
                .summary(Some(summary))
                .operation_id(Some(id)),
            schemas: Vec::new(),
            has_params: Vec::new(),
        }
    }

    fn get(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new(HttpMethod::Get, path, tag, summary)
    }

    fn post(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new(HttpMethod::Post, path, tag, summary)
    }

    fn put(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new(HttpMethod::Put, path, tag, summary)
    }

    fn delete(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new(HttpMethod::Delete, path, tag, summary)
    }

    fn describe(mut self, text: &str) -> Op {
        self.builder = self.builder.description(Some(text));
        self
    }

    /// A `$ref` to `T`, registering it and the schemas it names.
    fn schema<T: ToSchema>(&mut self) -> RefOr<Schema> {
        T::schemas(&mut self.schemas);
        self.schemas.push((T::name().into_owned(), T::schema()));
        RefOr::Ref(Ref::from_schema_name(T::name()))
    }

    /// The query parameters of `T`.
    fn query<T: IntoParams>(mut self) -> Op {
        for param in T::into_params(|| Some(ParameterIn::Query)) {
            self.builder = self.builder.parameter(param);
        }
        self
    }

    /// A parameter described by hand.
    fn param(mut self, param: utoipa::openapi::path::Parameter) -> Op {
        self.has_params.push(param.name.clone());
        self.builder = self.builder.parameter(param);
        self
    }

    /// A required body of `T` in each of `media_types`.
    fn body<T: ToSchema>(mut self, media_types: &[&str]) -> Op {
        let schema = self.schema::<T>();
        let mut body = RequestBodyBuilder::new().required(Some(Required::True));
        for media in media_types {
            body = body.content(
                *media,
                ContentBuilder::new().schema(Some(schema.clone())).build(),
            );
        }
        self.builder = self.builder.request_body(Some(body.build()));
        self
    }

    /// A required JSON body of `T`.
    fn json_body<T: ToSchema>(self) -> Op {
        self.body::<T>(&["application/json"])
    }

    /// A body of `schema` (multipart, raw bytes).
    fn raw_body(self, media: &str, schema: Schema, description: &str) -> Op {
        self.raw_body_in(&[media], schema, description)
    }

    /// A body of `schema` in each of `media_types`.
    fn raw_body_in(mut self, media_types: &[&str], schema: Schema, description: &str) -> Op {
        let mut body = RequestBodyBuilder::new()
            .description(Some(description))
            .required(Some(Required::True));
        for media in media_types {
            body = body.content(
                *media,
                ContentBuilder::new().schema(Some(schema.clone())).build(),
            );
        }
        self.builder = self.builder.request_body(Some(body.build()));
        self
    }

    /// A JSON answer of `T` with `status`.
    fn answer<T: ToSchema>(self, status: impl ToString, description: &str) -> Op {
        self.answer_with::<T>(status, description, Vec::new())
    }

    /// A JSON answer of `T` with `status` and named examples.
    fn answer_with<T: ToSchema>(
        mut self,
        status: impl ToString,
        description: &str,
        examples: Vec<(String, Value)>,
    ) -> Op {
        let schema = self.schema::<T>();
        let mut content = ContentBuilder::new().schema(Some(schema));
        if !examples.is_empty() {
            content = content.examples_from_iter(examples.into_iter().map(|(name, value)| {
                (
                    name,
                    utoipa::openapi::example::ExampleBuilder::new()
                        .value(Some(value))
                        .build(),
                )
            }));
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content("application/json", content.build());
        self.builder = self.builder.response(status.to_string(), response.build());
        self
    }

    /// An answer with no body, or one of another type.
    fn answer_plain(mut self, status: &str, description: &str, media: Option<&str>) -> Op {
        let mut response = ResponseBuilder::new().description(description);
        if let Some(media) = media {
            response =
                response.content(media, ContentBuilder::new().schema(Some(binary())).build());
        }
        self.builder = self.builder.response(status, response.build());
        self
    }

    fn security(mut self, scheme: &str, optional: bool) -> Op {
        if optional {
            self.builder = self.builder.security(SecurityRequirement::default());
        }
        self.builder = self
            .builder
            .security(SecurityRequirement::new::<_, _, &str>(scheme, []));
        self
    }
}

/// `get_v1_audio_transcriptions`: unique per (method, path).
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let method = serde_json::to_value(method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let path: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{method}{}", path.trim_end_matches('_'))
        .replace("__", "_")
        .replace("__", "_")
}

/// A string of bytes.
fn binary() -> Schema {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .content_media_type("application/octet-stream")
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_distinct_id_and_answers() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "{method} {path}: {id} twice");
                assert!(
                    !op["responses"].as_object().unwrap().is_empty(),
                    "{method} {path} answers nothing"
                );
            }
        }
    }

    #[test]
    fn every_schema_named_is_defined() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (at, _) in text.match_indices("#/components/schemas/") {
            let rest = &text[at + "#/components/schemas/".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is named but not defined"
            );
        }
    }
}
