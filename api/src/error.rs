//! API errors: every failure is a JSON body `{"error": {...}}` with a status
//! that says whose fault it is — 4xx names the field and the problem, 5xx is
//! reserved for the appliance itself failing.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`invalid_field`, `not_found`, …).
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
    /// The request field at fault (`a_to_b.delay`, `ttl`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Topology diagnostics, one per problem (422 on a topology).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::schema::Diagnostic>>, nullable = false)]
    pub details: Option<serde_json::Value>,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body (boxed: errors travel in `Result`s on every path).
    pub detail: Box<ErrorDetail>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Box::new(ErrorDetail { code, message: message.into(), field: None, hint: None, details: None }),
        }
    }

    /// 400: the request is malformed (not JSON, wrong type, unknown field).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: a field has a value the appliance cannot accept.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message);
        e.detail.field = Some(field.into());
        e
    }

    /// 404.
    pub fn not_found(what: &str, name: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no {what} named `{name}`"))
    }

    /// 409: valid but conflicts with the running state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong bearer token");
        e.detail.hint = Some("send `Authorization: Bearer <token>` (faultmesh --token or FAULTMESH_TOKEN)".into());
        e
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("request body larger than {limit} bytes"))
    }

    /// 500: the appliance failed at something it should have done (`code`
    /// says what); the message names the step.
    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }

    /// 503: the data plane did not answer.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.detail.hint = Some(hint.into());
        self
    }

    /// Adds structured detail.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.detail.details = Some(details);
        self
    }

    /// Splits a `message; hint: …` text (from the impairment parsers).
    pub fn invalid_with_hint(field: impl Into<String>, text: &str) -> Self {
        match text.split_once(faultmesh_emulator::impair::HINT_SEP) {
            Some((m, h)) => Self::invalid(field, m).with_hint(h),
            None => Self::invalid(field, text),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: *self.detail })).into_response()
    }
}

/// Parses JSON into `T`, naming the failing field (`a_to_b.delay`).
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("empty body; expected a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        // serde_json appends " at line L column C"; keep it, it helps.
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("body is not valid JSON: {text}"))
        } else if path == "." || path.is_empty() {
            ApiError::bad_request(text)
        } else if text.starts_with("unknown field")
            || text.starts_with("invalid type")
            || text.starts_with("missing field")
        {
            let mut e = ApiError::invalid(path, text);
            e.status = StatusCode::BAD_REQUEST;
            e.detail.code = "bad_field";
            e
        } else {
            ApiError::invalid_with_hint(path, &text)
        }
    })
}

/// Parses a query string into `T`, naming the failing parameter.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let text = e.into_inner().to_string();
        // An unknown or missing parameter names itself in the message; a
        // bad value only through the path.
        let named = text.strip_prefix("unknown field `").and_then(|r| r.split('`').next());
        let field = match named {
            Some(n) => format!("query.{n}"),
            None if path == "." || path.is_empty() => "query".to_string(),
            None => format!("query.{path}"),
        };
        let mut e = ApiError::invalid(field, format!("bad query string: {text}"));
        e.status = StatusCode::BAD_REQUEST;
        e.detail.code = "bad_field";
        e
    })
}
