//! The outermost middleware, in one service: the request's id (a client's own, when it is safe
//! to echo and log, otherwise one of ours) set on the request for the log span and echoed on
//! the reply, and the security headers every reply carries (unless its handler set them).
//!
//! This was five tower layers (a request mapper, tower-http's set and propagate request id, a
//! set-header layer per header), each with a future of its own, a clone of its service and a
//! pass over the headers per request; one service does the same in one step each way
//! (bench/README.md, "Instructions per request").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use tower::{Layer, Service};

use crate::{REQUEST_ID, RequestIds, safe_request_id};

/// The headers every reply gets unless it has them: keep browsers from sniffing types, framing
/// the app or loading foreign code.
const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (header::REFERRER_POLICY, "same-origin"),
];

#[derive(Clone)]
pub(crate) struct FrontLayer {
    ids: RequestIds,
}

impl FrontLayer {
    pub(crate) fn new(ids: RequestIds) -> FrontLayer {
        FrontLayer { ids }
    }
}

impl<S> Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front {
            inner,
            ids: self.ids.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Front<S> {
    inner: S,
    ids: RequestIds,
}

impl<S, B> Service<Request<Body>> for Front<S>
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Send,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let headers = req.headers_mut();
        let mut given = headers.get_all(REQUEST_ID).iter();
        let id = match (given.next(), given.next()) {
            (Some(id), None) if safe_request_id(id.as_bytes()) => Some(id.clone()),
            _ => self.ids.next(),
        };
        match &id {
            Some(id) => {
                headers.insert(REQUEST_ID, id.clone());
            }
            None => {
                headers.remove(REQUEST_ID);
            }
        }
        let reply = self.inner.call(req);
        Box::pin(async move {
            let mut res = reply.await?;
            let headers = res.headers_mut();
            if let Some(id) = id {
                headers.insert(REQUEST_ID, id);
            }
            for (name, value) in SECURITY_HEADERS {
                if !headers.contains_key(&name) {
                    headers.insert(name, HeaderValue::from_static(value));
                }
            }
            Ok(res)
        })
    }
}
